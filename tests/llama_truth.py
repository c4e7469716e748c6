"""Forecast vs measured for the llama.cpp ground-truth table (tests/data/llama_memory.json).

The table is made by scripts/llama_memory_truth.py: one record per tiny model and setting, with every
buffer llama.cpp logged (MiB, two decimals) and the header-only GGUF it ran. Used by
tests/test_llama_truth.py and bench/bench_plan.py.
"""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "data" / "llama_memory.json"
MIB = 1 << 20


def records() -> list[dict[str, Any]]:
    """The measured records that ran (returncode 0 and a compute buffer logged)."""
    if not TABLE.exists():
        return []
    return [r for r in json.loads(TABLE.read_text())["records"] if r.get("returncode") == 0 and r.get("compute_mib")]


def header(rec: dict[str, Any], work: Path) -> Path:
    """The record's header-only GGUF as a plain file (gunzipped into ``work`` when stored compressed)."""
    path = ROOT / rec["gguf"]
    if path.suffix != ".gz":
        return path
    out = work / path.with_suffix("").name
    if not out.exists():
        with gzip.open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return out


@dataclass(frozen=True)
class Row:
    """One record's figures in bytes: measured (llama.cpp's log) and forecast (mfi)."""

    model: str
    settings: dict[str, Any]
    measured: dict[str, float]
    forecast: dict[str, int | None]

    @property
    def ratio(self) -> float | None:
        f, m = self.forecast.get("total"), self.measured["total"]
        return None if f is None or not m else f / m


def measured(rec: dict[str, Any]) -> dict[str, float]:
    """Model, KV (+ recurrent state), compute and output buffers llama.cpp logged, in bytes.

    Exact bytes from llama_get_memory_breakdown where the record has them (``breakdown_bytes``), else
    the MiB llama.cpp printed (two decimals; compute with four).
    """
    output = rec.get("output_mib", 0.0) * MIB
    exact = rec.get("breakdown_bytes")
    if exact:
        model, kv, compute = (sum(b[k] for b in exact.values()) for k in ("model", "context", "compute"))
        return {"model": model, "kv": kv, "compute": compute, "output": output, "total": model + kv + compute + output}
    model = sum(rec["model_mib"].values()) * MIB
    kv = sum(e["mib"] for e in rec["kv_mib"]) * MIB + sum(e["mib"] for e in rec.get("rs_mib", [])) * MIB
    compute = sum((rec.get("compute_mib_4dp") or rec["compute_mib"]).values()) * MIB
    return {"model": model, "kv": kv, "compute": compute, "output": output, "total": model + kv + compute + output}


def forecast(rec: dict[str, Any], work: Path) -> Row:
    """mfi's forecast for one record, from its header-only GGUF and the settings llama.cpp ran with."""
    from mfi import api

    st = rec["settings"]
    parallel, ubatch, batch = st["np"], st["ub"], None
    if rec.get("tool") == "llama-embedding":
        # examples/embedding/embedding.cpp changes what it passes to llama.cpp: -np 1 becomes
        # llama_max_parallel_sequences() (256) sequences, -b at least -c, and -ub = -b for encoders
        parallel = 256 if parallel == 1 else parallel
        batch = ubatch = max(2048, st["ctx"])
    p = api.plan(str(header(rec, work)), ctx=st["ctx"], cache_type=st["cache"], parallel=parallel,
                 swa_full=st["swa_full"], ubatch=ubatch, batch=batch, flash_attn=st["fa"], runtime="llama.cpp")
    m = p.memory
    fc = {"model": m.weights.total, "kv": m.kv.bytes, "compute": m.compute, "output": m.output, "total": m.total}
    return Row(rec["model"], st, measured(rec), fc)

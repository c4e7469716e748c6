"""mfi's llama.cpp memory forecast against llama.cpp's own buffers (tests/data/llama_memory.json).

Issue 12: the total (model + KV and recurrent state + compute + output) within 5 % of what llama.cpp
allocated on the CPU, for every architecture and setting measured; the KV cache to the byte (the log
prints MiB with two decimals, so to within 0.005 MiB).
"""

from __future__ import annotations

import pytest

from llama_truth import MIB, forecast, records

RECORDS = records()


def _id(rec: dict) -> str:
    st = rec["settings"]
    return f"{rec['model']}-c{st['ctx']}-{st['cache']}-fa{st['fa']}-np{st['np']}-ub{st['ub']}" + ("-swafull" if st["swa_full"] else "")


@pytest.mark.skipif(not RECORDS, reason="no ground-truth table (scripts/llama_memory_truth.py)")
@pytest.mark.parametrize("rec", RECORDS, ids=[_id(r) for r in RECORDS])
def test_total_within_five_percent(rec, tmp_path_factory):
    row = forecast(rec, tmp_path_factory.getbasetemp())
    assert row.forecast["total"] is not None, row
    assert abs(row.ratio - 1) <= 0.05, f"{row.model} {row.settings}: forecast {row.forecast} measured {row.measured}"


@pytest.mark.skipif(not RECORDS, reason="no ground-truth table (scripts/llama_memory_truth.py)")
@pytest.mark.parametrize("rec", RECORDS, ids=[_id(r) for r in RECORDS])
def test_kv_cache_to_the_logged_precision(rec, tmp_path_factory):
    row = forecast(rec, tmp_path_factory.getbasetemp())
    assert row.forecast["kv"] is not None
    assert abs(row.forecast["kv"] - row.measured["kv"]) <= 0.01 * MIB * max(1, len(rec["kv_mib"]) + len(rec.get("rs_mib", [])))

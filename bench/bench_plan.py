"""Forecast vs measured: mfi's llama.cpp memory against llama.cpp's own buffers (issue 12).

Reads tests/data/llama_memory.json (made by scripts/llama_memory_truth.py: tiny models of every
architecture, run with llama-completion -lv 4 on the CPU over contexts, cache types, -fa, -np, -ub and
--swa-full) and forecasts each record from its header-only GGUF with ``mfi.api.plan``. Prints one row per
record (model, KV, compute, output, total: forecast / measured) and, per architecture, the worst and
mean ratio of the totals. Target: every total within 5 %.

Run: python bench/bench_plan.py [--arch NAME ...] [--all]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from llama_truth import MIB, forecast, records  # noqa: E402


def _mib(v: float | int | None) -> str:
    return "-" if v is None else f"{v / MIB:9.2f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", nargs="*", help="only these models (the table's model names)")
    ap.add_argument("--all", action="store_true", help="print every record, not only the per-architecture summary")
    ns = ap.parse_args()
    recs = [r for r in records() if not ns.arch or r["model"] in ns.arch]
    if not recs:
        print("no records: run scripts/llama_memory_truth.py first (tests/data/llama_memory.json)")
        return 1
    by_arch: dict[str, list[float]] = defaultdict(list)
    failed: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        if ns.all:
            print(f"{'model':18} {'ctx':>7} {'cache':5} {'fa':3} {'np':>2} {'ub':>4} {'swa':3} "
                  f"{'KV f/m MiB':>21} {'compute f/m MiB':>21} {'output f/m':>21} {'total f/m MiB':>21} ratio")
        for rec in recs:
            try:
                row = forecast(rec, Path(tmp))
            except Exception as e:  # a record mfi cannot forecast is a finding, not a crash of the bench
                failed.append(f"{rec['model']} {rec['settings']}: {e}")
                continue
            st, f, m = row.settings, row.forecast, row.measured
            ratio = row.ratio
            if ratio is not None:
                by_arch[row.model].append(ratio)
            else:
                failed.append(f"{row.model} {st}: no forecast total")
            if ns.all:
                print(f"{row.model:18} {st['ctx']:>7} {st['cache']:5} {st['fa']:3} {st['np']:>2} {st['ub']:>4} "
                      f"{'yes' if st['swa_full'] else 'no':3} {_mib(f['kv'])}/{_mib(m['kv'])} "
                      f"{_mib(f['compute'])}/{_mib(m['compute'])} {_mib(f['output'])}/{_mib(m['output'])} "
                      f"{_mib(f['total'])}/{_mib(m['total'])} {'-' if ratio is None else f'{ratio:.3f}'}")
    print(f"\n{'architecture':18} {'records':>7} {'min':>6} {'max':>6} {'mean':>6}  within 5%")
    for arch, ratios in by_arch.items():
        ok = sum(abs(r - 1) <= 0.05 for r in ratios)
        print(f"{arch:18} {len(ratios):>7} {min(ratios):6.3f} {max(ratios):6.3f} {sum(ratios) / len(ratios):6.3f}  {ok}/{len(ratios)}")
    for line in failed:
        print("no forecast:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

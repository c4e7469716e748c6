"""Benchmark `mfi scan` (and `mfi inspect` where it reads the same file) on the hostile sizes of issue 11.

Cases (items 11 and 12, written by tests/scancorpus.py, sparse where the bytes are zeros): a pickle of
32 strings of 16 MiB; a small zip whose data.pkl inflates to 256 MiB; a 99 MB safetensors header; a
16 MB GGUF of nested empty arrays; a GGUF at the GGUF tensor cap (65,536 tensors); a zip64 end record with a
huge central-directory offset. Each command runs as the only child of a launcher, which prints its
wall time, peak RSS (ru_maxrss of the child) and exit status.

Run: python bench/bench_scan_hostile.py. Target (issue 11): each within 1 s and 200 MiB.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import scancorpus  # noqa: E402

_LAUNCH = r"""
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
dt = time.perf_counter() - t
last = r.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
print(f"{dt:.2f}\t{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024:.0f}\t{r.returncode}\t{last[0][:90]}")
"""

#: Which commands read each case.
_COMMANDS = {
    "gguf_16MB_nested_empty_arrays": ("scan", "inspect"),
    "gguf_at_tensor_cap": ("scan", "inspect"),
    "safetensors_99MB_header": ("scan", "inspect"),
    "zip64_huge_cd_offset": ("scan", "inspect"),
}


def main() -> None:
    """Build the cases in a temporary folder, run each command once, print a table."""
    with tempfile.TemporaryDirectory() as d:
        cases = scancorpus.build_huge(Path(d))
        print(f"{'case':34} {'command':8} {'seconds':>8} {'peak MiB':>9} exit  last stderr line")
        for name, path in cases.items():
            for command in _COMMANDS.get(name, ("scan",)):
                cmd = [sys.executable, "-m", "mfi", command, str(path)]
                out = subprocess.run([sys.executable, "-c", _LAUNCH, *cmd], capture_output=True, text=True, check=True)
                secs, peak, code, line = out.stdout.rstrip("\n").split("\t")
                print(f"{name:34} {command:8} {secs:>8} {peak:>9} {code:>4}  {line}")


if __name__ == "__main__":
    main()

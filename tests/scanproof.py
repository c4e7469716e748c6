"""Load hostile samples with the real loaders, in a subprocess, to prove they run code (issue 11).

Never imported by anything that loads in the test process: ``prove`` starts one child Python per
loader, which loads each sample in turn (catching its errors: a payload runs before the load fails)
and exits. The caller checks which marker files appeared.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

#: The child's program: load every path given with one loader, report errors, never stop early.
_CHILD = r"""
import importlib, sys, traceback
kind, paths = sys.argv[1], sys.argv[2:]
for p in paths:
    try:
        if kind == "pickle":
            import pickle
            with open(p, "rb") as f:
                pickle.load(f)
        elif kind == "torch":
            import torch
            torch.load(p, weights_only=False)
        elif kind == "numpy":
            import numpy
            r = numpy.load(p, allow_pickle=True)
            if hasattr(r, "files"):
                [r[k] for k in r.files]
        elif kind == "joblib":
            import joblib
            joblib.load(p)
        elif kind == "pandas":
            import pandas
            pandas.read_pickle(p)
        elif kind == "import":
            folder, module = p.rsplit(":", 1)
            sys.path.insert(0, folder)
            importlib.import_module(module)
            sys.path.pop(0)
    except BaseException as e:
        print(f"{p}: {type(e).__name__}: {str(e)[:200]}", file=sys.stderr)
"""

#: The module each loader needs in the child.
NEEDS = {"pickle": "pickle", "torch": "torch", "numpy": "numpy", "joblib": "joblib", "pandas": "pandas", "import": "sys"}


def available(loader: str) -> bool:
    """Whether the loader's package is installed (the child uses this same interpreter)."""
    return importlib.util.find_spec(NEEDS[loader]) is not None


def prove(folder: Path, samples, timeout: float = 240) -> dict[str, str]:
    """Run every sample through its loader; returns loader -> the child's stderr (errors per sample)."""
    groups: dict[str, list[str]] = {}
    for s in samples:
        if s.loader is None or not available(s.loader):
            continue
        arg = f"{folder / s.path}:{s.module}" if s.loader == "import" else str(folder / (s.load or s.path))
        groups.setdefault(s.loader, []).append(arg)
    logs = {}
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for loader, paths in groups.items():
        r = subprocess.run([sys.executable, "-c", _CHILD, loader, *paths], capture_output=True, text=True,
                           timeout=timeout, cwd=folder, env=env)  # fmt: skip
        logs[loader] = r.stderr
    return logs

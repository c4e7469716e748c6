"""Everyday output (issue 13): piping, 80-column layout, version, library exports, file type."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from ggufbuild import write_gguf

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo" / "llama-tiny-Q4_K_M.gguf"


def render(renderable, width: int = 80) -> str:
    """A renderable as plain text at a fixed width."""
    from rich.console import Console

    out = StringIO()
    Console(file=out, width=width, color_system=None, highlight=False, soft_wrap=False).print(renderable)
    return out.getvalue()


def mfi_piped(*args: str, env: dict[str, str] | None = None, shell_tail: str = "") -> subprocess.CompletedProcess[str]:
    """Run the real ``mfi`` in a subprocess with stdout a pipe (``shell_tail``: piped on into a shell command)."""
    cmd = [sys.executable, "-m", "mfi", *args]
    full = {**os.environ, "COLUMNS": "80", **(env or {})}
    if shell_tail:
        line = " ".join(map(_quote, cmd)) + " | " + shell_tail + "; echo \"status=${PIPESTATUS[0]}\""
        return subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=full, timeout=60)
    return subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=60)


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


# -- item 4: --version ---------------------------------------------------------------------------


def test_version(cli):
    import mfi

    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"mfi {mfi.__version__}"


# -- item 11: the library's front door ------------------------------------------------------------


def test_library_exports_every_command_lazily():
    code = (
        "import sys, mfi; assert 'mfi.api' not in sys.modules; "
        "import mfi.api as api; "
        "assert all(getattr(mfi, n) is getattr(api, n) for n in ('inspect', 'compare', 'plan', 'scan', 'pull')); "
        "assert sorted(mfi.__all__) == ['__version__', 'compare', 'inspect', 'plan', 'pull', 'scan']"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_file_type_is_the_one_tensor_type_when_undeclared(tmp_path):
    import mfi

    f32 = write_gguf(tmp_path / "f32.gguf", tensors={"a": np.ones((4, 32), np.float32), "b": np.ones(32, np.float32)})
    s = mfi.inspect(f32)
    assert s.quantization.file_type == "F32"
    mixed = write_gguf(tmp_path / "mixed.gguf", tensors={"a": np.ones((4, 32), np.float32), "b": np.ones(32, np.float16)})
    assert mfi.inspect(mixed).quantization.file_type is None


def test_file_type_f32_in_json_and_terminal(tmp_path, cli):
    import json

    f32 = write_gguf(tmp_path / "f32.gguf", tensors={"a": np.ones((4, 32), np.float32)})
    doc = json.loads(cli("inspect", str(f32), "--json").stdout)
    assert doc["quantization"]["file_type"] == "F32"
    out = cli("inspect", str(f32)).stdout
    assert "F32 (32.00 bpw)" in out and "\nDtypes" in out

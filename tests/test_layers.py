"""The import lines between layers hold: readers know no terminal, renderers read no bytes."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "mfi"

# layer (a subpackage or module of mfi) -> imports it must never make
FORBIDDEN = {
    "formats": ("rich", "typer", "click", "mfi.render", "mfi.cli", "mfi.api", "mfi.summary"),
    "sources": ("rich", "typer", "click", "mfi.render", "mfi.cli", "mfi.formats", "mfi.summary"),
    "summary": ("rich", "typer", "click", "mfi.render", "mfi.cli"),
    "render": ("mfi.formats", "mfi.sources", "mfi.api", "mfi.cli", "typer", "click"),
    "records": ("rich", "typer", "mfi.formats", "mfi.render"),
}


def _imports(path: Path) -> set[str]:
    """Absolute module names a file imports (relative imports resolved against its package)."""
    pkg = ["mfi", *path.relative_to(SRC).parent.parts]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _files(layer: str) -> list[Path]:
    sub = SRC / layer
    return sorted(sub.rglob("*.py")) if sub.is_dir() else [SRC / f"{layer}.py"]


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer):
    for path in _files(layer):
        bad = sorted(m for m in _imports(path) for f in FORBIDDEN[layer] if m == f or m.startswith(f + "."))
        assert not bad, f"{path.relative_to(SRC)} imports {bad}"

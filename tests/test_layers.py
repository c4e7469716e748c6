"""The import lines between layers and features hold (lazy imports inside functions included).

- no import cycle anywhere in ``src/mfi``;
- each top-level part of mfi imports only the parts listed in ``ALLOWED``: readers know no terminal,
  renderers read no bytes and see only records, features (compare, plan, scan, hub) reach each
  other only through ``api`` or records, the CLI knows only ``api``, ``render`` and ``errors``;
- ``render`` imports only record modules (``mfi.records`` and each feature's ``records``);
- ``--json`` output loads no rich, and ``inspect --json`` loads no module it does not use.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "mfi"

#: part of mfi -> the other parts it may import. A part is a subpackage or a top-level module.
ALLOWED = {
    "__init__": {"api"},
    "__main__": {"cli"},
    "cli": {"api", "render", "errors"},
    "api": {"targets", "errors", "records", "sources", "formats", "summary", "compare", "plan", "scan", "hub"},
    "render": {"records", "compare.records", "plan.records", "scan.records", "hub.records"},
    "hub": {"errors", "limits", "records", "targets", "sources", "formats", "summary"},
    "compare": {"errors", "limits", "records", "sources", "formats", "summary"},
    "plan": {"errors", "limits", "records", "sources", "formats", "summary"},
    "scan": {"errors", "limits", "records", "targets", "sources", "formats"},
    "summary": {"errors", "limits", "records", "targets", "sources", "formats"},
    "formats": {"errors", "limits", "records", "sources"},
    "targets": {"errors", "limits"},
    "sources": {"errors", "limits"},
    "records": set(),
    "errors": set(),
    "limits": set(),
    "data": set(),
    "_gguf_constants": set(),
}
#: Third-party modules that only the CLI and the terminal renderers may import.
TERMINAL_ONLY = ("rich", "typer", "click")


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in SRC.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """Absolute names a file imports anywhere (relative imports resolved; ``from x import mod`` gives ``x.mod``)."""
    pkg = _module(path).split(".")
    if path.name != "__init__.py":
        pkg = pkg[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:
                out.add(f"{mod}.{a.name}" if f"{mod}.{a.name}" in MODULES else mod)
    return out


def _part(module: str) -> str:
    """``mfi.plan.records`` -> ``plan``; ``mfi.api`` -> ``api``."""
    return module.split(".")[1] if "." in module else "__init__"


def _graph() -> dict[str, set[str]]:
    return {m: {i for i in _imports(p) if i in MODULES and i != m} for m, p in MODULES.items()}


def test_every_part_is_listed():
    assert {_part(m) for m in MODULES} <= set(ALLOWED)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_allowed_arrows(module):
    part = _part(module)
    for imported in _imports(MODULES[module]):
        if imported.startswith("mfi.") and imported in MODULES or imported == "mfi":
            other = _part(imported)
            if other == part:
                continue
            target = imported.removeprefix("mfi.")
            ok = other in ALLOWED[part] or any(target == a or target.startswith(a + ".") for a in ALLOWED[part])
            assert ok, f"{module} imports {imported}: {part} may import only {sorted(ALLOWED[part])}"
        top = imported.split(".")[0]
        if top in TERMINAL_ONLY:
            assert part == "cli" or module.startswith("mfi.render.terminal") or module == "mfi.render.output", (
                f"{module} imports {imported}"
            )


def test_render_imports_only_records():
    for module, path in MODULES.items():
        if _part(module) == "render":
            outside = {i for i in _imports(path) if i in MODULES and _part(i) != "render"}
            assert all(i == "mfi.records" or i.endswith(".records") for i in outside), (module, outside)


def test_no_import_cycle():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert cycles == []


def _loaded_after(args: list[str]) -> set[str]:
    code = (
        "import sys, io, contextlib\n"
        "from mfi.cli import app\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    try: app({args!r})\n"
        "    except SystemExit: pass\n"
        "print('\\n'.join(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


@pytest.mark.parametrize("command", ["inspect", "plan", "scan", "compare"])
def test_json_output_loads_no_rich(models, command):
    target = str(models / "llama-tiny-Q8_0.gguf")
    args = [command, target] + ([str(models / "llama-tiny")] if command == "compare" else []) + ["--json"]
    loaded = _loaded_after(args)
    assert "mfi.render.json" in loaded  # the command really ran
    assert not {m for m in loaded if m == "rich" or m.startswith("rich.")}


def test_inspect_json_loads_only_what_it_uses(models):
    loaded = _loaded_after(["inspect", str(models / "llama-tiny-Q8_0.gguf"), "--json"])
    unused = ("numpy", "gguf", "safetensors", "huggingface_hub", "modelscope", "httpx2", "jinja2", "rich",
              "mfi.hub", "mfi.scan", "mfi.compare", "mfi.render.terminal", "mfi.render.markdown", "mfi.formats.safetensors",
              "mfi.formats.pickle", "mfi.formats.torch", "mfi.sources.http")  # fmt: skip
    assert not {m for m in loaded for u in unused if m == u or m.startswith(u + ".")}
    assert {"mfi.formats.gguf", "mfi.summary.build", "mfi.plan.memory", "mfi.render.json.inspect"} <= loaded

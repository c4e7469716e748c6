"""Generate src/mfi/data/transformers_architectures.json from the installed transformers package.

Reads the package's source with ``ast`` (no import of torch or of transformers' models): the model
classes each ``models/*/modeling_*.py`` exports in ``__all__``, and the ``model_type`` -> class
tables (``*_MAPPING_NAMES``) of ``models/auto/modeling_auto.py``. Stamped with the version.

    pip install -e '.[dev]' && python scripts/gen_transformers_archs.py
"""

from __future__ import annotations

import ast
import json
import sys
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "mfi" / "data" / "transformers_architectures.json"


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [s for e in node.elts for s in _strings(e)]
    return []


def _mappings(path: Path) -> dict[str, set[str]]:
    """model_type -> classes over every ``*_MAPPING_NAMES = OrderedDict([...])`` table."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and node.value.args):
            continue
        if not any(isinstance(t, ast.Name) and t.id.endswith("MAPPING_NAMES") for t in node.targets):
            continue
        items = node.value.args[0]
        if not isinstance(items, ast.List):
            continue
        for pair in items.elts:
            if isinstance(pair, ast.Tuple) and len(pair.elts) == 2:
                keys = _strings(pair.elts[0])
                if keys:
                    out.setdefault(keys[0], set()).update(_strings(pair.elts[1]))
    return out


def _exported(models: Path) -> set[str]:
    """Class names in ``__all__`` of every modeling_*.py (PyTorch model classes)."""
    names: set[str] = set()
    for path in sorted(models.glob("*/modeling_*.py")):
        if path.name.startswith(("modeling_tf_", "modeling_flax_")):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
                names.update(_strings(node.value))
    return names


def generate() -> dict:
    """The data file's content for the installed transformers."""
    spec = find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("transformers is not installed: pip install -e '.[dev]'")
    root = Path(list(spec.submodule_search_locations)[0])
    mappings = _mappings(root / "models" / "auto" / "modeling_auto.py")
    classes = _exported(root / "models") | {c for cs in mappings.values() for c in cs}
    return {
        "generated_by": "scripts/gen_transformers_archs.py",
        "transformers_version": metadata.version("transformers"),
        "classes": sorted(classes),
        "model_types": {k: sorted(v) for k, v in sorted(mappings.items())},
    }


if __name__ == "__main__":
    OUT.write_text(json.dumps(generate(), indent=0, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")

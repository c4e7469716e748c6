"""Generate src/mfi/data/runtimes.json from the runtimes' published packages, read but never imported.

``pip download --no-deps`` fetches each package into a temporary folder (or ``--from DIR`` reuses the
files a previous run left); the wheels and the llama-cpp-python sdist are opened as archives and their
Python source is read with ``ast`` (C++ with a regular expression). Nothing of a runtime is imported or
executed, so neither torch nor CUDA is needed.

    python scripts/gen_runtime_tables.py [--from DIR] [--keep DIR]

Schema ``mfi.runtimes/1`` (every runtime entry carries ``package``, ``version`` and ``generated``, the
UTC date of the run; lists are sorted):

    {"schema": "mfi.runtimes/1", "generated_by": "scripts/gen_runtime_tables.py",
     "runtimes": {
      "vllm": {package, version, generated,
        "architectures": {hf_arch: [kind, ...]},   # registry.py _*_MODELS tables; kind is the table:
            # text, embedding, late-interaction, reward, token-classification, sequence-classification,
            # multimodal, speculative, transformers-backend (_TRANSFORMERS_SUPPORTED_MODELS)
        "removed": {hf_arch: last_version},         # _PREVIOUSLY_SUPPORTED_MODELS
        "plugins": {hf_arch: where},                # _OOT_SUPPORTED_MODELS (out-of-tree plugin)
        "arch_suffixes": [[suffix, runner, convert]],  # config/model.py _SUFFIX_TO_DEFAULTS
        "quantization": {method: min_capability | null},  # QUANTIZATION_METHODS; get_min_capability
            # of the method's config class when it returns one integer (75 = compute capability 7.5)
        "deprecated_quantization": [method], "load_formats": [format]},
      "sglang": {package, version, generated,
        "architectures": {hf_arch: module},         # srt/models/*.py EntryClass (class __name__)
        "multimodal": [hf_arch], "embedding": [hf_arch],  # configs/model_config.py lists
        "quantization": {method: min_capability | null},  # BASE_QUANTIZATION_METHODS
        "quantization_conditional": {method: condition}},  # methods added under `if <condition>:`
      "xinference": {package, version, generated,
        "families": {name: {"architectures": [..], "model_type": str | null, "abilities": [..],
                            "formats": {model_format: [quantization]}, "hub_ids": [org/repo]}},
        "engines": {engine: {"formats": [model_format], "architectures": [hf_arch] | null}}},
            # engines: the model_format lists of each engine's match_json, and the architecture
            # allow-lists (*SUPPORTED*MODELS, union over their version gates); null = not gated
      "llama.cpp": {package: "llama-cpp-python", version, generated, "llama_cpp_commit": str | null,
        "convert": {hf_arch: gguf_arch},            # convert_hf_to_gguf ModelBase.register -> model_arch
        "convert_via_text_config": [hf_arch],       # converted as the architecture text_config names
        "mmproj": [hf_arch],                        # HF architectures with a projector converter
        "convert_quant_methods": [method],          # quant_method values the converter dequantizes
        "gguf_architectures": [gguf_arch]},         # src/llama-arch.cpp LLM_ARCH_NAMES
      "ollama": {package: null, version: null, generated, "follows": "llama.cpp", "caveat": str},
      "mlx-lm": {package: "mlx-lm", version, generated, "model_types": [module],
        "remapping": {model_type: module}, "arch_remapping": [[model_type, hf_arch, module]],
        "quant_methods": [method]},                 # quant_method values utils.load() handles
      "transformers": {package, version, generated, "gguf_architectures": [gguf_arch],
        "quant_methods": [method]}}}                # integrations/ggml.py, quantizers/auto.py
"""

from __future__ import annotations

import argparse
import ast
import datetime
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "mfi" / "data" / "runtimes.json"
TRANSFORMERS_TABLE = ROOT / "src" / "mfi" / "data" / "transformers_architectures.json"
SCHEMA = "mfi.runtimes/1"


# --- archives -------------------------------------------------------------------------------------


class Archive:
    """The text files of one downloaded wheel or sdist, by path inside the package root."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, bytes] = {}
        if path.suffix == ".whl":
            with zipfile.ZipFile(path) as z:
                for name in z.namelist():
                    if name.endswith((".py", ".json", ".cpp")):
                        self.files[name] = z.read(name)
        else:
            with tarfile.open(path) as t:
                for m in t.getmembers():
                    if m.isfile() and m.name.endswith((".py", ".json", ".cpp", ".md")):
                        f = t.extractfile(m)
                        if f is not None:
                            # strip the sdist's top folder (llama_cpp_python-0.3.36/)
                            self.files[m.name.split("/", 1)[1]] = f.read()

    def text(self, name: str) -> str:
        return self.files[name].decode("utf-8")

    def tree(self, name: str) -> ast.Module:
        return ast.parse(self.text(name))

    def glob(self, folder: str, suffix: str = ".py") -> list[str]:
        """Files directly inside ``folder`` (not in sub-folders), sorted."""
        return sorted(n for n in self.files if str(PurePosixPath(n).parent) == folder and n.endswith(suffix))


def download(spec: str, dest: Path, sdist: bool = False) -> Path:
    """``pip download --no-deps`` one package; returns the archive (reused when already there)."""
    name = re.split(r"[=<>!~]", spec)[0].replace("-", "_").lower()
    found = [p for p in dest.iterdir() if p.name.lower().startswith(name + "-")] if dest.exists() else []
    if not found:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dest), spec]
        if sdist:
            cmd[4:4] = ["--no-binary", ":all:"]
        subprocess.run(cmd, check=True)
        found = [p for p in dest.iterdir() if p.name.lower().startswith(name + "-")]
    if len(found) != 1:
        sys.exit(f"expected one archive for {spec} in {dest}, found {[p.name for p in found]}")
    return found[0]


def version_of(archive: Path) -> str:
    """The version in a wheel's or sdist's file name."""
    stem = archive.name.removesuffix(".tar.gz").removesuffix(".whl")
    return stem.split("-")[1]


# --- ast helpers ----------------------------------------------------------------------------------


def strings(node: ast.AST | None) -> list[str]:
    """String constants of a constant, tuple, list or set (nested), in order."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for e in node.elts for s in strings(e)]
    return []


def assigned(tree: ast.Module, name: str) -> ast.expr | None:
    """The value of the module-level assignment to ``name`` (plain or annotated)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return node.value
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return node.value
    return None


def dict_literal(node: ast.expr | None) -> dict[str, ast.expr]:
    """String keys of a dict literal and their value nodes (``**other`` entries skipped)."""
    if not isinstance(node, ast.Dict):
        return {}
    return {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant) and isinstance(k.value, str)}


def class_defs(tree: ast.Module) -> dict[str, ast.ClassDef]:
    return {n.name: n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}


def single_int_return(cls: ast.ClassDef, method: str) -> int | None:
    """The integer ``method`` returns when every ``return`` in it returns the same integer constant."""
    for node in cls.body:
        if isinstance(node, ast.FunctionDef) and node.name == method:
            values = {r.value.value for r in ast.walk(node) if isinstance(r, ast.Return) and isinstance(r.value, ast.Constant)}
            returns = [r for r in ast.walk(node) if isinstance(r, ast.Return)]
            ints = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
            if returns and len(ints) == 1 and len(values) == 1 and all(isinstance(r.value, ast.Constant) for r in returns):
                return ints.pop()
            return None
    return None


def imports_of(tree: ast.AST, module: str) -> dict[str, str]:
    """Imported name -> module path (``a/b/c.py`` relative to the package root) for ``from`` imports."""
    out: dict[str, str] = {}
    base = PurePosixPath(module).parent
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base
                for _ in range(node.level - 1):
                    parts = parts.parent
                target = parts.joinpath(*(node.module or "").split(".")) if node.module else parts
            else:
                target = PurePosixPath(*(node.module or "").split("."))
            for alias in node.names:
                out[alias.asname or alias.name] = str(target) + ".py"
    return out


def min_capability(pkg: Archive, module: str, cls_name: str, seen: int = 0) -> int | None:
    """``get_min_capability`` of a quantization config class, following base classes by import."""
    if module not in pkg.files:
        module = module.removesuffix(".py") + "/__init__.py"  # `from .gptq import X`: a package
    if module not in pkg.files or seen > 4:
        return None
    tree = pkg.tree(module)
    cls = class_defs(tree).get(cls_name)
    if cls is None:  # re-exported by the package's __init__
        where = imports_of(tree, module).get(cls_name)
        return min_capability(pkg, where, cls_name, seen + 1) if where else None
    if any(isinstance(n, ast.FunctionDef) and n.name == "get_min_capability" for n in cls.body):
        return single_int_return(cls, "get_min_capability")
    imports = imports_of(tree, module)
    for base in cls.bases:
        if isinstance(base, ast.Name):
            where = module if base.id in class_defs(tree) else imports.get(base.id)
            if where:
                found = min_capability(pkg, where, base.id, seen + 1)
                if found is not None:
                    return found
    return None


# --- vLLM -----------------------------------------------------------------------------------------

#: registry.py table -> kind recorded for each architecture in it.
VLLM_TABLES = {
    "_TEXT_GENERATION_MODELS": "text",
    "_EMBEDDING_MODELS": "embedding",
    "_LATE_INTERACTION_MODELS": "late-interaction",
    "_REWARD_MODELS": "reward",
    "_TOKEN_CLASSIFICATION_MODELS": "token-classification",
    "_SEQUENCE_CLASSIFICATION_MODELS": "sequence-classification",
    "_CROSS_ENCODER_MODELS": "sequence-classification",
    "_MULTIMODAL_MODELS": "multimodal",
    "_SPECULATIVE_DECODING_MODELS": "speculative",
    "_TRANSFORMERS_SUPPORTED_MODELS": "transformers-backend",
}


def vllm(pkg: Archive) -> dict[str, Any]:
    """vLLM's model registry, quantization methods and load formats."""
    reg = pkg.tree("vllm/model_executor/models/registry.py")
    archs: dict[str, set[str]] = {}
    for table, kind in VLLM_TABLES.items():
        for arch in dict_literal(assigned(reg, table)):
            archs.setdefault(arch, set()).add(kind)
    removed = {k: v.value for k, v in dict_literal(assigned(reg, "_PREVIOUSLY_SUPPORTED_MODELS")).items() if isinstance(v, ast.Constant)}
    plugins = {k: v.value for k, v in dict_literal(assigned(reg, "_OOT_SUPPORTED_MODELS")).items() if isinstance(v, ast.Constant)}
    suffixes = []
    model_cfg = pkg.tree("vllm/config/model.py")
    for pair in getattr(assigned(model_cfg, "_SUFFIX_TO_DEFAULTS"), "elts", []):
        flat = strings(pair)
        if len(flat) == 3:
            suffixes.append(flat)
    qmod = "vllm/model_executor/layers/quantization/__init__.py"
    qtree = pkg.tree(qmod)
    literal = assigned(qtree, "QuantizationMethods")
    methods = strings(literal.slice) if isinstance(literal, ast.Subscript) else []
    # method -> config class, from get_quantization_config's method_to_config literal and its imports
    classes: dict[str, str] = {}
    for node in ast.walk(qtree):
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == "method_to_config":
            classes = {k: v.id for k, v in dict_literal(node.value).items() if isinstance(v, ast.Name)}
    imports = imports_of(qtree, qmod)
    quant = {m: (min_capability(pkg, imports[classes[m]], classes[m]) if classes.get(m) in imports else None) for m in methods}
    loader = pkg.tree("vllm/model_executor/model_loader/__init__.py")
    lf = assigned(loader, "LoadFormats")
    return {
        "architectures": {k: sorted(v) for k, v in sorted(archs.items())},
        "removed": dict(sorted(removed.items())),
        "plugins": dict(sorted(plugins.items())),
        "arch_suffixes": suffixes,
        "quantization": dict(sorted(quant.items())),
        "deprecated_quantization": sorted(strings(assigned(qtree, "DEPRECATED_QUANTIZATION_METHODS"))),
        "load_formats": sorted(strings(lf.slice)) if isinstance(lf, ast.Subscript) else [],
    }


# --- SGLang ---------------------------------------------------------------------------------------


def _entry_names(tree: ast.Module) -> list[str]:
    """``__name__`` of each class in ``EntryClass`` (a name, or a list of names; aliases followed)."""
    value = assigned(tree, "EntryClass")
    if value is None:
        return []
    names = [e.id for e in (value.elts if isinstance(value, (ast.List, ast.Tuple)) else [value]) if isinstance(e, ast.Name)]
    defs = class_defs(tree)
    imported = {a.asname or a.name: a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    out = []
    for name in names:
        for _ in range(5):  # `Alias = Other` chains
            if name in defs:
                break
            if name in imported:
                name = imported[name]
                break
            target = assigned(tree, name)
            if not isinstance(target, ast.Name):
                break
            name = target.id
        out.append(name)
    return out


def _compared_strings(fn: ast.AST) -> list[str]:
    """String constants on the left of ``"X" in ...`` comparisons (is_generation_model's list)."""
    return [
        n.left.value
        for n in ast.walk(fn)
        if isinstance(n, ast.Compare) and isinstance(n.left, ast.Constant) and isinstance(n.left.value, str)
        and any(isinstance(op, ast.In) for op in n.ops)
    ]


def sglang(pkg: Archive) -> dict[str, Any]:
    """SGLang's model entry classes, multimodal and embedding lists, quantization methods."""
    archs: dict[str, str] = {}
    for path in pkg.glob("sglang/srt/models"):
        for name in _entry_names(pkg.tree(path)):
            archs[name] = PurePosixPath(path).stem
    cfg = pkg.tree("sglang/srt/configs/model_config.py")
    multimodal = strings(assigned(cfg, "multimodal_model_archs"))
    embedding: list[str] = []
    for node in cfg.body:
        if isinstance(node, ast.FunctionDef) and node.name == "is_generation_model":
            embedding = _compared_strings(node)
    qmod = "sglang/srt/layers/quantization/__init__.py"
    qtree = pkg.tree(qmod)
    imports = imports_of(qtree, qmod)

    def caps(d: dict[str, ast.expr]) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for m, v in d.items():
            cls = v.id if isinstance(v, ast.Name) else None
            out[m] = min_capability(pkg, imports[cls], cls) if cls and cls in imports else None
        return out

    base = caps(dict_literal(assigned(qtree, "BASE_QUANTIZATION_METHODS")))
    conditional: dict[str, str] = {}
    for node in qtree.body:
        if isinstance(node, ast.If):
            for call in ast.walk(node):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "update"
                        and isinstance(call.func.value, ast.Name) and call.func.value.id == "BASE_QUANTIZATION_METHODS"):
                    for m in dict_literal(call.args[0] if call.args else None):
                        if m not in base:
                            prev = conditional.get(m)
                            cond = ast.unparse(node.test)
                            conditional[m] = f"{prev} or {cond}" if prev else cond
    return {
        "architectures": dict(sorted(archs.items())),
        "multimodal": sorted(set(multimodal)),
        "embedding": sorted(set(embedding)),
        "quantization": dict(sorted(base.items())),
        "quantization_conditional": dict(sorted(conditional.items())),
    }


# --- Xinference -----------------------------------------------------------------------------------


def xinference(pkg: Archive) -> dict[str, Any]:
    """Xinference's built-in LLM families and what each engine's match_json accepts."""
    families: dict[str, dict[str, Any]] = {}
    for path in pkg.glob("xinference/model/llm/models", ".json"):
        data = json.loads(pkg.text(path))
        for fam in data if isinstance(data, list) else [data]:
            formats: dict[str, set[str]] = {}
            ids: set[str] = set()
            for spec in fam.get("model_specs", []):
                fmt = spec.get("model_format")
                for src in (spec.get("model_src") or {}).values():
                    formats.setdefault(fmt, set()).update(src.get("quantizations") or [])
                    if isinstance(src.get("model_id"), str):
                        ids.add(src["model_id"])
            families[fam["model_name"]] = {
                "architectures": sorted(fam.get("architectures") or []),
                "model_type": fam.get("model_type"),
                "abilities": sorted(fam.get("model_ability") or []),
                "formats": {k: sorted(v) for k, v in sorted(formats.items())},
                "hub_ids": sorted(ids),
            }
    engines: dict[str, dict[str, Any]] = {}
    for engine, module in (("vllm", "vllm"), ("sglang", "sglang"), ("llama.cpp", "llama_cpp"), ("mlx", "mlx"), ("transformers", "transformers")):
        tree = pkg.tree(f"xinference/model/llm/{module}/core.py")
        accepted: set[str] = set()
        for node in ast.walk(tree):
            # `if llm_spec.model_format not in [...]` inside the engines' match_json
            if (isinstance(node, ast.Compare) and isinstance(node.left, ast.Attribute) and node.left.attr == "model_format"
                    and any(isinstance(op, ast.NotIn) for op in node.ops)):
                accepted.update(s for c in node.comparators for s in strings(c))
        lists: set[str] = set()
        gated = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and re.fullmatch(r"\w*SUPPORTED\w*MODELS", t.id) for t in node.targets):
                gated = True
                lists.update(strings(node.value))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_append_unique":
                if node.args and isinstance(node.args[0], ast.Name) and re.fullmatch(r"\w*SUPPORTED\w*MODELS", node.args[0].id):
                    lists.update(s for a in node.args[1:] for s in strings(a))
        engines[engine] = {"formats": sorted(accepted), "architectures": sorted(lists) if gated else None}
    return {"families": dict(sorted(families.items())), "engines": engines}


# --- llama.cpp ------------------------------------------------------------------------------------


def _gguf_arch_names(pkg: Archive) -> dict[str, str]:
    """MODEL_ARCH enum member -> GGUF name, from gguf-py/gguf/constants.py MODEL_ARCH_NAMES."""
    tree = pkg.tree("vendor/llama.cpp/gguf-py/gguf/constants.py")
    node = assigned(tree, "MODEL_ARCH_NAMES")
    out = {}
    if isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values):
            if isinstance(k, ast.Attribute) and isinstance(v, ast.Constant) and isinstance(v.value, str):
                out[k.attr] = v.value
    return out


def _registered(tree: ast.Module) -> tuple[dict[str, list[str]], dict[str, tuple[str | None, list[str]]]]:
    """(class -> registered HF names, class -> (own model_arch member, base class names))."""
    regs: dict[str, list[str]] = {}
    classes: dict[str, tuple[str | None, list[str]]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        for dec in node.decorator_list:
            if (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute) and dec.func.attr == "register"
                    and isinstance(dec.func.value, ast.Name) and dec.func.value.id in ("ModelBase", "Model")):
                regs.setdefault(node.name, []).extend(s for a in dec.args for s in strings(a))
        arch = None
        for stmt in node.body:
            # `model_arch = gguf.MODEL_ARCH.QWEN3` (plain or annotated)
            target: ast.expr
            value: ast.expr | None
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
            elif isinstance(stmt, ast.AnnAssign):
                target, value = stmt.target, stmt.value
            else:
                continue
            if isinstance(target, ast.Name) and target.id == "model_arch" and isinstance(value, ast.Attribute):
                arch = value.attr
        classes[node.name] = (arch, [b.id for b in node.bases if isinstance(b, ast.Name)])
    return regs, classes


def llama_cpp(pkg: Archive) -> dict[str, Any]:
    """HF architectures convert_hf_to_gguf.py registers, their GGUF arch, and what llama.cpp loads."""
    names = _gguf_arch_names(pkg)
    sources = ["vendor/llama.cpp/convert_hf_to_gguf.py", *pkg.glob("vendor/llama.cpp/conversion")]
    regs: dict[str, list[str]] = {}
    classes: dict[str, tuple[str | None, list[str]]] = {}
    for path in sources:
        r, c = _registered(pkg.tree(path))
        regs.update(r)
        classes.update(c)

    def arch_of(cls: str, depth: int = 0) -> str | None:
        own, bases = classes.get(cls, (None, []))
        if own or depth > 8:
            return own
        for b in bases:
            found = arch_of(b, depth + 1)
            if found:
                return found
        return None

    convert: dict[str, str] = {}
    mmproj: set[str] = set()
    for cls, hf_names in regs.items():
        member = arch_of(cls)
        if member is None:
            continue
        for hf in hf_names:
            if member == "MMPROJ":
                mmproj.add(hf)
            elif member in names:
                convert[hf] = names[member]
    # Newer converters gate on conversion/__init__.py's lazy-import maps (get_model_class raises for a
    # name missing there); a name in TEXT_MODEL_MAP with no text class of its own is converted through
    # the architecture its text_config names (base.py get_model_architecture).
    via_text_config: list[str] = []
    if "vendor/llama.cpp/conversion/__init__.py" in pkg.files:
        init = pkg.tree("vendor/llama.cpp/conversion/__init__.py")
        text_map = set(dict_literal(assigned(init, "TEXT_MODEL_MAP")))
        mmproj_map = set(dict_literal(assigned(init, "MMPROJ_MODEL_MAP")))
        convert = {k: v for k, v in convert.items() if k in text_map}
        mmproj &= mmproj_map
        via_text_config = sorted(text_map - set(convert))
    quant_methods: set[str] = set()
    for path in sources:
        for node in ast.walk(pkg.tree(path)):
            if isinstance(node, ast.Compare) and isinstance(node.left, ast.Name) and node.left.id == "quant_method":
                quant_methods.update(s for c in node.comparators for s in strings(c))
    cpp = pkg.text("vendor/llama.cpp/src/llama-arch.cpp")
    block = cpp[cpp.index("LLM_ARCH_NAMES"):]
    block = block[: block.index("};")]
    loads = re.findall(r'\{\s*LLM_ARCH_\w+\s*,\s*"([^"]+)"\s*\}', block)
    # llama-cpp-python's CHANGELOG names the llama.cpp commit each release vendors
    commit = None
    changelog = pkg.files.get("CHANGELOG.md", b"").decode("utf-8")
    section = changelog.split(f"## [{version_of(pkg.path)}]", 1)
    if len(section) == 2:
        m = re.search(r"llama\.cpp@([0-9a-f]{7,40})", section[1].split("\n## ", 1)[0])
        commit = m.group(1) if m else None
    return {
        "llama_cpp_commit": commit,
        "convert": dict(sorted(convert.items())),
        "convert_via_text_config": via_text_config,
        "mmproj": sorted(mmproj),
        "convert_quant_methods": sorted(quant_methods),
        "gguf_architectures": sorted(set(loads)),
    }


# --- MLX-LM ---------------------------------------------------------------------------------------


def mlx_lm(pkg: Archive) -> dict[str, Any]:
    """mlx_lm/models/*.py module names (model_type values), remappings and quant methods it loads."""
    # a model module binds both Model and ModelArgs (utils._get_classes takes arch.Model, arch.ModelArgs);
    # some import their Model from a sibling (solar_open: from .glm4_moe import Model)
    types = []
    for path in pkg.glob("mlx_lm/models"):
        bound: set[str] = set()
        for stmt in pkg.tree(path).body:
            if isinstance(stmt, ast.ClassDef):
                bound.add(stmt.name)
            elif isinstance(stmt, ast.ImportFrom):
                bound.update(a.asname or a.name for a in stmt.names)
        if {"Model", "ModelArgs"} <= bound:
            types.append(PurePosixPath(path).stem)
    utils = pkg.tree("mlx_lm/utils.py")
    remap = {k: v.value for k, v in dict_literal(assigned(utils, "MODEL_REMAPPING")).items() if isinstance(v, ast.Constant)}
    arch_remap = []
    node = assigned(utils, "MODEL_ARCHITECTURE_REMAPPING")
    if isinstance(node, ast.Dict):
        for k, v in zip(node.keys, node.values):
            if k is not None and isinstance(v, ast.Constant):
                arch_remap.append([*strings(k), v.value])
    quant: set[str] = set()
    for n in ast.walk(utils):
        if isinstance(n, ast.Compare) and isinstance(n.left, ast.Name) and n.left.id == "quant_method":
            quant.update(s for c in n.comparators for s in strings(c))
    return {"model_types": sorted(types), "remapping": dict(sorted(remap.items())), "arch_remapping": sorted(arch_remap),
            "quant_methods": sorted(quant)}


# --- transformers (GGUF and quantizers; classes are in transformers_architectures.json) -----------


def transformers(pkg: Archive) -> dict[str, Any]:
    """GGUF architectures transformers can dequantize, and its quantizer names."""
    ggml = pkg.tree("transformers/integrations/ggml.py")
    auto = pkg.tree("transformers/quantizers/auto.py")
    # "general" and "tokenizer" are sections of GGUF keys in that mapping, not architectures
    sections = {"general", "tokenizer"}
    archs = set(dict_literal(assigned(ggml, "GGUF_CONFIG_MAPPING"))) - sections
    return {"gguf_architectures": sorted(archs),
            "quant_methods": sorted(dict_literal(assigned(auto, "AUTO_QUANTIZER_MAPPING")))}


# --- main -----------------------------------------------------------------------------------------


def generate(dest: Path) -> dict[str, Any]:
    """Download (or reuse) every package into ``dest`` and build the data file's content."""
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    # the transformers tables must agree: take the version transformers_architectures.json holds
    tf_version = json.loads(TRANSFORMERS_TABLE.read_text(encoding="utf-8"))["transformers_version"]
    jobs = {
        "vllm": ("vllm", vllm, False),
        "sglang": ("sglang", sglang, False),
        "xinference": ("xinference", xinference, False),
        "llama.cpp": ("llama-cpp-python", llama_cpp, True),
        "mlx-lm": ("mlx-lm", mlx_lm, False),
        "transformers": (f"transformers=={tf_version}", transformers, False),
    }
    runtimes: dict[str, Any] = {}
    for runtime, (spec, reader, sdist) in jobs.items():
        archive = download(spec, dest, sdist)
        entry = {"package": re.split(r"[=<>]", spec)[0], "version": version_of(archive), "generated": today}
        entry.update(reader(Archive(archive)))
        runtimes[runtime] = entry
    runtimes["ollama"] = {
        "package": None, "version": None, "generated": today, "follows": "llama.cpp",
        "caveat": (f"no package holds Ollama's source: this follows llama.cpp {runtimes['llama.cpp']['llama_cpp_commit']}; "
                   "Ollama bundles its own llama.cpp and a Go engine, so a release may lag or lead"),
    }
    return {"schema": SCHEMA, "generated_by": "scripts/gen_runtime_tables.py", "runtimes": runtimes}


def summary(data: dict[str, Any]) -> str:
    """One line per runtime with the figures the table holds."""
    r = data["runtimes"]
    return "\n".join([
        f"vllm {r['vllm']['version']}: {len(r['vllm']['architectures'])} architectures, "
        f"{len(r['vllm']['quantization'])} quantization methods",
        f"sglang {r['sglang']['version']}: {len(r['sglang']['architectures'])} architectures, "
        f"{len(r['sglang']['quantization'])} quantization methods (+{len(r['sglang']['quantization_conditional'])} by platform)",
        f"xinference {r['xinference']['version']}: {len(r['xinference']['families'])} families",
        f"llama.cpp {r['llama.cpp']['llama_cpp_commit']} (llama-cpp-python {r['llama.cpp']['version']}): "
        f"{len(r['llama.cpp']['convert'])} convertible HF architectures, {len(r['llama.cpp']['mmproj'])} with a projector, "
        f"{len(r['llama.cpp']['gguf_architectures'])} GGUF architectures",
        f"mlx-lm {r['mlx-lm']['version']}: {len(r['mlx-lm']['model_types'])} model types",
        f"transformers {r['transformers']['version']}: {len(r['transformers']['gguf_architectures'])} GGUF architectures, "
        f"{len(r['transformers']['quant_methods'])} quantizers",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="src", type=Path, help="reuse the archives in this folder (downloads what is missing)")
    parser.add_argument("--keep", type=Path, help="download into this folder and keep the archives")
    args = parser.parse_args()
    folder = args.src or args.keep
    if folder:
        folder.mkdir(parents=True, exist_ok=True)
        data = generate(folder)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            data = generate(Path(tmp))
    OUT.write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    print(summary(data))
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()

"""Which runtime can load this model, whether it needs the repo's own code, and what its
quantization method implies.

Works on records only: the caller (``plan.assess``, through ``plan.surroundings``) lists the folder and
reads the small JSON files around the weights into a ``Surroundings``. The verdicts come from the tables
generated out of the runtimes' own packages (plan/registry.py, data/runtimes.json): one per runtime,
naming its version.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ..records import ModelSummary
from . import registry
from .records import CodeFile, RemoteCode, Runtimes, Surroundings, Verdict

#: GGUF architectures whose models take images or audio through a separate projector (mmproj) file.
MMPROJ_ARCHS = frozenset({
    "qwen2vl", "qwen3vl", "qwen3vlmoe", "llama4", "mistral3", "gemma3", "gemma3n", "hunyuan_vl",
    "cogvlm", "paddleocr", "deepseek2-ocr", "chameleon",
})  # fmt: skip

#: What each quantization method means for each runtime (as of the runtimes' 2025 releases).
QUANT_IMPLICATIONS: dict[str, dict[str, str]] = {
    "fp8": {
        "vllm": "native FP8 (W8A8 on Ada/Hopper and newer; weight-only Marlin on older GPUs)",
        "sglang": "native FP8",
        "transformers": "loads FP8 weights (fine-grained FP8 needs a CUDA GPU and accelerate)",
        "llama.cpp": "convert_hf_to_gguf dequantizes FP8 first; then quantize to a GGUF type",
    },
    "awq": {
        "vllm": "supported (AWQ / Marlin kernels, CUDA)",
        "sglang": "supported",
        "transformers": "needs the autoawq or gptqmodel package",
        "llama.cpp": "not loadable; convert from the unquantized model instead",
    },
    "gptq": {
        "vllm": "supported (GPTQ / Marlin kernels, CUDA)",
        "sglang": "supported",
        "transformers": "needs gptqmodel (and optimum)",
        "llama.cpp": "not loadable; convert from the unquantized model instead",
    },
    "bitsandbytes": {
        "vllm": "4-bit bitsandbytes supported, slower than AWQ/GPTQ",
        "sglang": "limited",
        "transformers": "needs bitsandbytes and a CUDA GPU",
        "llama.cpp": "not loadable; convert from the unquantized model instead",
    },
    "compressed-tensors": {
        "vllm": "native (llm-compressor's format)",
        "sglang": "supported for common schemes",
        "transformers": "needs the compressed-tensors package",
        "llama.cpp": "not loadable; convert from the unquantized model instead",
    },
    "mxfp4": {
        "vllm": "native MXFP4 on Hopper/Blackwell; dequantized elsewhere",
        "sglang": "supported",
        "transformers": "MXFP4 kernels need triton and a recent GPU; otherwise dequantized to BF16 (4x the memory)",
        "llama.cpp": "GGUF has an MXFP4 type: convert keeps the experts in MXFP4",
    },
}


@cache
def transformers_table() -> dict[str, Any]:
    """The shipped data file generated from transformers (scripts/gen_transformers_archs.py)."""
    text = resources.files("mfi.data").joinpath("transformers_architectures.json").read_text(encoding="utf-8")
    return json.loads(text)


def _auto_map_refs(auto_map: Any, source: str) -> list[tuple[str, str]]:
    """(auto class, reference) pairs; tokenizer entries may be [slow, fast] lists with nulls."""
    out: list[tuple[str, str]] = []
    if not isinstance(auto_map, dict):
        return out
    for key, ref in auto_map.items():
        for r in ref if isinstance(ref, list) else [ref]:
            if isinstance(r, str) and r:
                out.append((f"{source}:{key}", r))
    return out


def remote_code(config: dict[str, Any], tokenizer_config: dict[str, Any], files: tuple[str, ...], builtin: bool | None) -> RemoteCode:
    """auto_map entries of config.json and tokenizer_config.json, the .py files they name."""
    refs = _auto_map_refs(config.get("auto_map"), "config.json") + _auto_map_refs(tokenizer_config.get("auto_map"), "tokenizer_config.json")
    if not refs:
        return RemoteCode(False, False)
    by_file: dict[tuple[str, str], list[str]] = {}
    for key, ref in refs:
        repo, _, local = ref.rpartition("--")
        module = local.rsplit(".", 1)[0] if "." in local else local
        by_file.setdefault((module.replace(".", "/") + ".py", repo), []).append(key)
    names = set(files)
    code = tuple(
        CodeFile(name, repo, (name in names) if not repo else None, tuple(keys)) for (name, repo), keys in by_file.items()
    )
    model_refs = any(k.startswith("config.json:") for k, _ in refs)
    tok_only = not model_refs
    required = (not builtin) if model_refs else True
    note = "loading runs this Python code: transformers needs trust_remote_code=True; read it first"
    if builtin and model_refs:
        note = "the repo ships its own code, but transformers has a built-in class that is used unless trust_remote_code=True"
    elif tok_only:
        note = "the tokenizer needs the repo's own code (trust_remote_code=True)"
    missing = [f.name for f in code if f.present is False]
    if missing:
        note += f"; missing beside the weights: {', '.join(missing)}"
    return RemoteCode(required, True, code, note)


def _repo_id(s: ModelSummary) -> str | None:
    """``owner/name`` of a remote target (``hf://owner/name@rev/path``, ``ms://...`` or plain ``owner/name``)."""
    if s.fetched is None:
        return None
    parts = s.target.split("://", 1)[-1].split("/")
    return f"{parts[0]}/{parts[1].split('@', 1)[0]}" if len(parts) >= 2 else None


def projector(s: ModelSummary, env: Surroundings) -> dict[str, Any]:
    """GGUF only: whether a vision/audio projector (mmproj) is needed, decided from the files, never the name.

    Evidence: ``clip.*`` keys (the file is itself a projector), an architecture that exists only for
    models taking images (MMPROJ_ARCHS), mmproj files beside. Gemma 3 is both: 270M and 1B are
    text-only and their GGUFs carry no vision key, so gemma3 needs a projector only when one lies beside it.
    """
    arch = s.architecture.name
    present = [f for f in env.files if f.startswith("mmproj") and f.endswith(".gguf")]
    clip_keys = sorted(k for k in s.metadata if k.startswith("clip."))
    out: dict[str, Any] = {"needed": None, "present": present}
    if arch == "clip" or clip_keys:
        out["note"] = "this file is a projector (clip keys): load it with --mmproj beside its text model"
    elif arch in MMPROJ_ARCHS and arch != "gemma3":
        out["needed"] = True
    elif arch == "gemma3":
        out["needed"] = bool(present)
        out["note"] = ("images go through the mmproj file beside it" if present else
                       "no mmproj file beside it and no vision keys in it: text only (Gemma 3 from 4B takes images "
                       "through a separate mmproj file)")
    elif arch:
        out["needed"] = False
    return out


def facts(s: ModelSummary, env: Surroundings, mmproj: dict[str, Any]) -> registry.ModelFacts:
    """What the generated runtime tables are looked up by, from the summary and the files beside it."""
    multimodal = bool(mmproj.get("needed")) if s.format == "gguf" else bool({"vision", "audio"} & set(s.architecture.towers))
    return registry.facts_from_config(
        s.format, s.config if s.format != "gguf" else {}, quant_method=s.quantization.method if s.format != "gguf" else None,
        gguf_architecture=s.architecture.name if s.format == "gguf" else None, multimodal=multimodal, repo_id=_repo_id(s),
    )  # fmt: skip


def assess(s: ModelSummary, env: Surroundings | None = None) -> Runtimes:
    """One verdict per runtime (registry.RUNTIMES), remote code, projector files and quantization implications."""
    env = env or Surroundings()
    mmproj = projector(s, env) if s.format == "gguf" else {}
    verdicts = tuple(
        Verdict(v.runtime, v.verdict, v.reason, v.version, v.needs) for v in registry.verdicts(facts(s, env, mmproj))
    )
    if s.format == "gguf":
        return Runtimes(verdicts, RemoteCode(False, False), mmproj)
    config = s.config
    table = transformers_table()
    cls = s.architecture.cls
    model_type = config.get("model_type") if isinstance(config.get("model_type"), str) else None
    builtin = (cls in set(table["classes"])) if cls else (model_type in table["model_types"] if model_type else None)
    rc = remote_code(config, env.tokenizer_config, env.files, builtin)
    method = s.quantization.method
    implications = QUANT_IMPLICATIONS.get((method or "").lower(), {}) if method else {}
    if method and not implications:
        implications = {"all": f"quantization method {method!r}: check each runtime's documentation"}
    return Runtimes(verdicts, rc, {}, dict(implications), method)

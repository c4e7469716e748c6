"""Which runtime can load this model, whether it needs the repo's own code, and what its
quantization method implies.

Works on records only: the caller (``plan.surroundings``) lists the folder and reads the small JSON files
around the weights into a ``Surroundings``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ..formats import tables
from ..records import ModelSummary
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
    out = []
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


def _gguf(s: ModelSummary, env: Surroundings) -> Runtimes:
    arch = s.architecture.name
    known = arch in tables.gguf_architectures() if arch else False
    verdicts = []
    if arch == "clip":
        verdicts.append(Verdict("llama.cpp", "yes", "a vision/audio projector (mmproj): load it with --mmproj beside its model"))
    elif known:
        verdicts.append(Verdict("llama.cpp", "yes", f"architecture {arch} is known to llama.cpp (gguf package list)"))
    else:
        verdicts.append(Verdict("llama.cpp", "no", f"architecture {arch or '?'} is not in the gguf package's list"))
    base = verdicts[0].status
    verdicts.append(Verdict("ollama / LM Studio", base, "llama.cpp inside: support follows the llama.cpp version they bundle"))
    verdicts.append(Verdict("vllm", "unknown", "GGUF loading in vLLM is experimental and covers few architectures"))
    verdicts.append(Verdict("transformers", "unknown", "gguf_file= dequantizes to full precision for some architectures only"))
    projectors = tuple(f for f in env.files if f.startswith("mmproj") and f.endswith(".gguf"))
    needed = True if arch in MMPROJ_ARCHS else (False if arch and arch != "clip" else None)
    mmproj = {"needed": needed, "present": list(projectors)}
    if arch == "gemma3":
        mmproj["note"] = "Gemma 3 1B is text-only; the larger sizes take images through an mmproj file"
    return Runtimes(tuple(verdicts), RemoteCode(False, False), mmproj)


def _safetensors(s: ModelSummary, env: Surroundings) -> Runtimes:
    config = s.config
    table = transformers_table()
    version = table["transformers_version"]
    cls = s.architecture.cls
    model_type = config.get("model_type") if isinstance(config.get("model_type"), str) else None
    builtin = (cls in set(table["classes"])) if cls else (model_type in table["model_types"] if model_type else None)
    rc = remote_code(config, env.tokenizer_config, env.files, builtin)
    verdicts = []
    if builtin:
        verdicts.append(Verdict("transformers", "yes", f"{cls or model_type} is built into transformers {version}"))
    elif rc.offered:
        verdicts.append(Verdict("transformers", "remote-code", f"{cls or model_type} is not built into transformers {version}; the repo's own code is needed"))
    elif cls or model_type:
        verdicts.append(Verdict("transformers", "no", f"{cls or model_type} is not built into transformers {version} and the repo ships no code"))
    else:
        verdicts.append(Verdict("transformers", "unknown", "no architectures or model_type in config.json"))
    vllm_reason = "not checked offline; vLLM covers most built-in decoder architectures" + (
        " and can fall back to the transformers backend" if builtin else ""
    )
    verdicts.append(Verdict("vllm / sglang", "unknown", vllm_reason))
    verdicts.append(Verdict("llama.cpp", "convert", "convert_hf_to_gguf.py first (if the architecture is supported there)"))
    method = s.quantization.method
    implications = QUANT_IMPLICATIONS.get((method or "").lower(), {}) if method else {}
    if method and not implications:
        implications = {"all": f"quantization method {method!r}: check each runtime's documentation"}
    return Runtimes(tuple(verdicts), rc, {}, dict(implications), method)


def assess(s: ModelSummary, env: Surroundings | None = None) -> Runtimes:
    """Runtime verdicts for a summarised model and what lies beside it."""
    env = env or Surroundings()
    return _gguf(s, env) if s.format == "gguf" else _safetensors(s, env)

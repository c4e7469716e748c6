"""Which runtime can serve a model, answered from tables generated out of the runtimes' own packages.

Pure: a ``ModelFacts`` record in, one ``RuntimeVerdict`` per runtime out. The tables are the shipped
data files ``runtimes.json`` (scripts/gen_runtime_tables.py: vLLM, SGLang, Xinference, llama.cpp,
MLX-LM, transformers' GGUF and quantizer lists) and ``transformers_architectures.json``
(scripts/gen_transformers_archs.py), loaded once, on first use. No runtime is imported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

#: The runtimes answered, in the order ``verdicts`` returns them.
RUNTIMES: Final = ("llama.cpp", "ollama", "vllm", "sglang", "xinference", "mlx-lm", "transformers")

#: ``yes``; ``yes with`` (``needs`` says what); ``convert first`` (to GGUF, for llama.cpp and Ollama);
#: ``no``; ``unknown`` when the facts name no architecture to look up.
VerdictKind = Literal["yes", "yes with", "convert first", "no", "unknown"]

Format = Literal["gguf", "safetensors", "pytorch", "mlx"]


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """What the verdicts depend on, read from the model's files by the caller."""

    format: Format
    #: config.json ``architectures`` (HF class names), in order.
    architectures: tuple[str, ...] = ()
    #: config.json ``model_type``.
    model_type: str | None = None
    #: GGUF ``general.architecture``.
    gguf_architecture: str | None = None
    #: ``quantization_config.quant_method`` (``gptq``, ``awq``, ``fp8``, ``bitsandbytes``,
    #: ``compressed-tensors``, ``mxfp4``...), or ``mlx`` for MLX-quantized weights; None when unquantized.
    quant_method: str | None = None
    #: config.json has an ``auto_map`` (the repo offers its own model code).
    remote_code: bool = False
    #: the model takes images or audio (a vision/audio tower, or a GGUF arch that needs a projector).
    multimodal: bool = False
    #: ``owner/name`` on the hub, to find Xinference's built-in family by its model ids.
    repo_id: str | None = None


def facts_from_config(
    fmt: str,
    config: Mapping[str, Any],
    *,
    quant_method: str | None = None,
    gguf_architecture: str | None = None,
    multimodal: bool = False,
    repo_id: str | None = None,
) -> ModelFacts:
    """``ModelFacts`` from a summary's format and its parsed config.json (untrusted: wrong types are
    ignored). ``fmt`` is ``ModelSummary.format``: ``gguf``, ``safetensors`` or ``pytorch``."""
    if fmt not in ("gguf", "safetensors", "pytorch", "mlx"):
        raise ValueError(f"unknown model format {fmt!r}")
    archs = config.get("architectures")
    architectures = tuple(a for a in archs if isinstance(a, str)) if isinstance(archs, list) else ()
    model_type = config.get("model_type")
    qc = config.get("quantization_config")
    if quant_method is None and isinstance(qc, Mapping) and isinstance(qc.get("quant_method"), str):
        quant_method = qc["quant_method"]
    form: Format = "mlx" if fmt == "mlx" else "gguf" if fmt == "gguf" else "pytorch" if fmt == "pytorch" else "safetensors"
    # mlx_lm.utils.load_model: a top-level "quantization" object ({group_size, bits}) is MLX's own
    if quant_method is None and isinstance(config.get("quantization"), Mapping):
        quant_method = "mlx"
        if form == "safetensors":
            form = "mlx"
    auto_map = config.get("auto_map")
    return ModelFacts(
        format=form,
        architectures=architectures,
        model_type=model_type if isinstance(model_type, str) else None,
        gguf_architecture=gguf_architecture,
        quant_method=quant_method,
        remote_code=isinstance(auto_map, Mapping) and bool(auto_map),
        multimodal=multimodal or isinstance(config.get("vision_config"), Mapping) or isinstance(config.get("audio_config"), Mapping),
        repo_id=repo_id,
    )


@dataclass(frozen=True, slots=True)
class RuntimeVerdict:
    """One runtime's answer, for the version its table was generated from."""

    runtime: str
    verdict: VerdictKind
    #: the runtime version the table holds for (``0.33.0``; llama.cpp: its commit and the package).
    version: str
    #: what the user must supply or pass: flags, files, hardware, a conversion step.
    needs: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, slots=True)
class TableStamp:
    """Where one runtime's table came from."""

    runtime: str
    package: str | None
    version: str | None
    generated: str


# --- tables ---------------------------------------------------------------------------------------


def _load(name: str) -> dict[str, Any]:
    text = resources.files("mfi.data").joinpath(name).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"mfi/data/{name}: not a JSON object")
    return data


@cache
def runtime_tables() -> dict[str, Any]:
    """The shipped runtimes.json (schema ``mfi.runtimes/1``)."""
    return _load("runtimes.json")


@cache
def _transformers_classes() -> tuple[frozenset[str], frozenset[str], str]:
    """(built-in classes, built-in model types, version) from transformers_architectures.json."""
    t = _load("transformers_architectures.json")
    return frozenset(t["classes"]), frozenset(t["model_types"]), str(t["transformers_version"])


def _rt(runtime: str) -> dict[str, Any]:
    entry = runtime_tables()["runtimes"][runtime]
    assert isinstance(entry, dict)
    return entry


def _strs(value: Any) -> frozenset[str]:
    return frozenset(str(v) for v in value) if value else frozenset()


def stamps() -> tuple[TableStamp, ...]:
    """Package, version and generation date of every runtime's table (for a footnote)."""
    out = []
    for runtime in RUNTIMES:
        e = _rt(runtime)
        pkg, ver = e.get("package"), e.get("version")
        out.append(TableStamp(runtime, str(pkg) if pkg else None, str(ver) if ver else None, str(e["generated"])))
    return tuple(out)


def _llama_version() -> str:
    e = _rt("llama.cpp")
    return f"{e.get('llama_cpp_commit') or 'unknown commit'} (llama-cpp-python {e['version']})"


def _builtin_in_transformers(f: ModelFacts) -> bool:
    classes, types, _ = _transformers_classes()
    return any(a in classes for a in f.architectures) or (f.model_type in types if f.model_type else False)


def _needs_trust(f: ModelFacts) -> bool:
    """The config class itself is the repo's code: serving runtimes load config.json through it."""
    _, types, _ = _transformers_classes()
    return f.remote_code and not (f.model_type in types if f.model_type else False)


def _capability(cap: int | None, method: str) -> tuple[str, ...]:
    # get_min_capability: 75 means compute capability 7.5; 0 is used by non-CUDA builds (no check)
    if not cap:
        return ()
    return (f"a GPU of compute capability {cap // 10}.{cap % 10} or newer ({method} kernels)",)


def _quant_key(method: str | None) -> str | None:
    return method.strip().lower() if method else None


# --- llama.cpp and Ollama -------------------------------------------------------------------------


def _llama_cpp(f: ModelFacts, runtime: str, version: str, caveat: str = "") -> RuntimeVerdict:
    t = _rt("llama.cpp")
    tail = f"; {caveat}" if caveat else ""
    loads = _strs(t["gguf_architectures"])
    if f.format == "gguf":
        arch = f.gguf_architecture
        if not arch:
            return RuntimeVerdict(runtime, "unknown", version, (), "the GGUF has no general.architecture" + tail)
        if arch == "clip":
            return RuntimeVerdict(runtime, "yes with", version, ("its text model, loaded with this file as --mmproj",),
                                  "a vision/audio projector (clip), not a model on its own" + tail)
        if arch not in loads:
            return RuntimeVerdict(runtime, "no", version, (), f"GGUF architecture {arch} is not in llama.cpp's LLM_ARCH_NAMES" + tail)
        if f.multimodal:
            return RuntimeVerdict(runtime, "yes with", version, ("the vision projector GGUF (mmproj), passed with --mmproj",),
                                  f"GGUF architecture {arch} is known to llama.cpp; images go through a separate projector" + tail)
        return RuntimeVerdict(runtime, "yes", version, (), f"GGUF architecture {arch} is known to llama.cpp" + tail)
    if f.format == "mlx":
        return RuntimeVerdict(runtime, "no", version, (), "llama.cpp reads GGUF; convert the original (non-MLX) model instead" + tail)
    if not f.architectures:
        return RuntimeVerdict(runtime, "unknown", version, (), "config.json names no architecture" + tail)
    convert: dict[str, str] = t["convert"]
    via_text = _strs(t.get("convert_via_text_config"))
    q = _quant_key(f.quant_method)
    if q and q not in _strs(t["convert_quant_methods"]):
        return RuntimeVerdict(runtime, "no", version, (),
                              f"convert_hf_to_gguf.py does not read {q} weights: convert the unquantized original" + tail)
    arch = next((a for a in f.architectures if a in convert or a in via_text), None)
    if arch is None:
        return RuntimeVerdict(runtime, "no", version, (),
                              f"convert_hf_to_gguf.py registers none of {', '.join(f.architectures)}" + tail)
    target = convert.get(arch)
    step = (f"convert_hf_to_gguf.py (writes GGUF architecture {target})" if target
            else "convert_hf_to_gguf.py (converts the language model text_config names)")
    needs = [step]
    reason = f"{arch} is registered in convert_hf_to_gguf.py"
    if f.multimodal:
        if arch in _strs(t["mmproj"]):
            needs.append("convert_hf_to_gguf.py --mmproj for the vision/audio projector, loaded with --mmproj")
        else:
            reason += "; its projector has no converter, so only the text model converts"
    if q:
        reason += f"; the converter dequantizes {q} weights"
    return RuntimeVerdict(runtime, "convert first", version, tuple(needs), reason + tail)


def _ollama(f: ModelFacts) -> RuntimeVerdict:
    t = _rt("ollama")
    version = f"unknown (table follows llama.cpp {_rt('llama.cpp').get('llama_cpp_commit') or '?'})"
    return _llama_cpp(f, "ollama", version, str(t["caveat"]))


# --- vLLM -----------------------------------------------------------------------------------------


def _quant_method_in(q: str, methods: dict[str, Any]) -> str | None:
    """The runtime method serving checkpoint method ``q``: itself, or its Marlin variant, which the
    runtimes pick for GPTQ/AWQ checkpoints (GPTQMarlinConfig.override_quantization_method)."""
    if q in methods:
        return q
    return f"{q}_marlin" if f"{q}_marlin" in methods else None


def _vllm(f: ModelFacts) -> RuntimeVerdict:
    t = _rt("vllm")
    v = str(t["version"])
    if f.format == "gguf":
        if "gguf" in _strs(t["load_formats"]):
            return RuntimeVerdict("vllm", "yes with", v, ("--load-format gguf",), "vLLM has a GGUF loader")
        return RuntimeVerdict("vllm", "no", v, (), f"vLLM {v} has no GGUF loader (load formats: {', '.join(sorted(t['load_formats']))})")
    q = _quant_key(f.quant_method)
    if f.format == "mlx" or q == "mlx":
        return RuntimeVerdict("vllm", "no", v, (), "MLX-quantized weights: vLLM has no mlx quantization method")
    if not f.architectures:
        return RuntimeVerdict("vllm", "unknown", v, (), "config.json names no architecture")
    needs: list[str] = []
    if q:
        quant: dict[str, Any] = t["quantization"]
        m = _quant_method_in(q, quant)
        if m is None:
            return RuntimeVerdict("vllm", "no", v, (), f"vLLM {v} has no quantization method {q!r}")
        needs += _capability(quant[m], m)
        if m in _strs(t["deprecated_quantization"]):
            needs.append(f"a vLLM that still has {m} (deprecated in {v})")
    if _needs_trust(f):
        needs.insert(0, "--trust-remote-code (the config class is the repo's own code)")
    archs: dict[str, list[str]] = t["architectures"]
    for arch in f.architectures:
        if arch in archs:
            kinds = archs[arch]
            how = ("through vLLM's Transformers backend" if kinds == ["transformers-backend"]
                   else f"natively ({', '.join(kinds)})")
            return RuntimeVerdict("vllm", "yes with" if needs else "yes", v, tuple(needs), f"{arch} is in vLLM's model registry, {how}")
    arch = f.architectures[0]
    removed: dict[str, str] = t["removed"]
    if arch in removed:
        return RuntimeVerdict("vllm", "no", v, (), f"{arch} was supported until vLLM {removed[arch]} (use that version or older)")
    plugins: dict[str, str] = t["plugins"]
    if arch in plugins:
        return RuntimeVerdict("vllm", "yes with", v, (f"the out-of-tree plugin {plugins[arch]}", *needs), f"{arch} is served by a vLLM plugin")
    # registry._normalize_arch: a *ForSequenceClassification etc. runs as the converted base model
    for suffix, runner, convert in t["arch_suffixes"]:
        if arch.endswith(suffix):
            for other, _, _ in t["arch_suffixes"]:
                base = arch.replace(suffix, other)
                if base in archs:
                    return RuntimeVerdict("vllm", "yes with" if needs else "yes", v, tuple(needs),
                                          f"{arch} runs as {base} converted for {runner} ({convert})")
            break
    # registry._try_resolve_transformers: the Transformers backend, when the class is compatible
    if _builtin_in_transformers(f) or f.remote_code:
        needs.append("the Transformers backend fallback, which works only if the model class is "
                     "backend-compatible (is_backend_compatible)")
        if f.remote_code and not _builtin_in_transformers(f) and not any("--trust-remote-code" in n for n in needs):
            needs.insert(0, "--trust-remote-code (the model class is the repo's own code)")
        return RuntimeVerdict("vllm", "yes with", v, tuple(needs), f"{arch} is not in vLLM's registry")
    return RuntimeVerdict("vllm", "no", v, (), f"{arch} is not in vLLM's registry and transformers has no class for it")


# --- SGLang ---------------------------------------------------------------------------------------


def _sglang(f: ModelFacts) -> RuntimeVerdict:
    t = _rt("sglang")
    v = str(t["version"])
    quant: dict[str, Any] = t["quantization"]
    conditional: dict[str, str] = t["quantization_conditional"]
    q = _quant_key(f.quant_method)
    if f.format == "gguf":
        arch = f.gguf_architecture or "?"
        if "gguf" in quant and arch in _strs(_rt("transformers")["gguf_architectures"]):
            return RuntimeVerdict("sglang", "yes with", v, ("--load-format gguf --quantization gguf",),
                                  f"SGLang reads GGUF config through transformers, which maps GGUF architecture {arch}")
        return RuntimeVerdict("sglang", "no", v, (), f"SGLang reads GGUF through transformers, which does not map GGUF architecture {arch}")
    needs: list[str] = []
    if f.format == "mlx" or q == "mlx":
        mlx = sorted(m for m in conditional if m.startswith("mlx"))
        if not mlx:
            return RuntimeVerdict("sglang", "no", v, (), "SGLang has no MLX quantization method")
        needs.append(f"Apple silicon ({', '.join(mlx)} only where {conditional[mlx[0]]})")
    elif q:
        m = _quant_method_in(q, quant)
        if m is not None:
            needs += _capability(quant[m], m)
        elif q in conditional:
            needs.append(f"{q} is registered only where {conditional[q]}")
        else:
            return RuntimeVerdict("sglang", "no", v, (), f"SGLang {v} has no quantization method {q!r}")
    if not f.architectures:
        return RuntimeVerdict("sglang", "unknown", v, (), "config.json names no architecture")
    if _needs_trust(f):
        needs.insert(0, "--trust-remote-code (the config class is the repo's own code)")
    archs: dict[str, str] = t["architectures"]
    # registry.resolve_model_cls: the first architecture with an entry class
    for arch in f.architectures:
        if arch in archs:
            kind = ("multimodal" if arch in _strs(t["multimodal"])
                    else "embedding" if arch in _strs(t["embedding"]) else "text")
            return RuntimeVerdict("sglang", "yes with" if needs else "yes", v, tuple(needs),
                                  f"{arch} is an SGLang entry class (sglang.srt.models.{archs[arch]}, {kind})")
    arch = f.architectures[0]
    # registry._normalize_archs appends TransformersForCausalLM as the fallback
    if "TransformersForCausalLM" in archs and (_builtin_in_transformers(f) or f.remote_code):
        if f.remote_code and not _builtin_in_transformers(f) and not any("--trust-remote-code" in n for n in needs):
            needs.insert(0, "--trust-remote-code (the model class is the repo's own code)")
        needs.append("SGLang's Transformers fallback (TransformersForCausalLM), if the class supports it")
        return RuntimeVerdict("sglang", "yes with", v, tuple(needs), f"{arch} has no SGLang entry class")
    return RuntimeVerdict("sglang", "no", v, (), f"{arch} has no SGLang entry class and transformers has no class for it")


# --- Xinference -----------------------------------------------------------------------------------

#: mfi's format and quantization method -> Xinference's ``model_format`` (llm_family.json specs).
_XINF_QUANT_FORMATS: Final = {"gptq": "gptq", "awq": "awq", "fp8": "fp8", "bitsandbytes": "bnb"}


def _xinf_format(f: ModelFacts) -> str | None:
    if f.format == "gguf":
        return "ggufv2"
    if f.format == "mlx" or f.quant_method == "mlx":
        return "mlx"
    q = _quant_key(f.quant_method)
    return _XINF_QUANT_FORMATS.get(q) if q else "pytorch"


@cache
def _hub_ids() -> tuple[dict[str, tuple[str, ...]], tuple[tuple[re.Pattern[str], str], ...]]:
    """Xinference's hub ids: exact (lower-cased) id -> families, and templated ids as patterns
    (GGUF and MLX specs write ``{quantization}`` into the id)."""
    exact: dict[str, list[str]] = {}
    templated: list[tuple[re.Pattern[str], str]] = []
    for name, fam in _rt("xinference")["families"].items():
        for hub_id in fam["hub_ids"]:
            if "{quantization}" in hub_id:
                rx = re.escape(hub_id).replace(re.escape("{quantization}"), "[^/]+")
                templated.append((re.compile(rx, re.IGNORECASE), name))
            else:
                exact.setdefault(hub_id.lower(), []).append(name)
    return {k: tuple(v) for k, v in exact.items()}, tuple(templated)


def _families_by_hub_id(repo_id: str) -> list[str]:
    exact, templated = _hub_ids()
    found = list(exact.get(repo_id.lower(), ()))
    found += [name for rx, name in templated if name not in found and rx.fullmatch(repo_id)]
    return found


def _xinf_engines(f: ModelFacts, fmt: str) -> list[str]:
    """Xinference engines whose match_json accepts this format and architecture, and whose own
    runtime (by this module's other verdicts) can load the model."""
    out = []
    for name, e in sorted(_rt("xinference")["engines"].items()):
        if fmt not in e["formats"]:
            continue
        gate = e["architectures"]
        if gate is not None and not any(a in gate for a in f.architectures):
            continue
        inner = {"llama.cpp": _llama_cpp(f, "llama.cpp", ""), "mlx": _mlx_lm(f), "transformers": _transformers(f)}.get(name)
        if inner is not None and inner.verdict not in ("yes", "yes with"):
            continue
        out.append(name)
    return out


def _xinference(f: ModelFacts) -> RuntimeVerdict:
    t = _rt("xinference")
    v = str(t["version"])
    fmt = _xinf_format(f)
    if fmt is None:
        return RuntimeVerdict("xinference", "no", v, (), f"Xinference has no model format for {f.quant_method} weights")
    families: dict[str, dict[str, Any]] = t["families"]
    found: list[str] = []
    how = ""
    if f.repo_id:
        found = _families_by_hub_id(f.repo_id)
        how = f"hub id {f.repo_id}"
    if not found and f.architectures:
        found = [n for n, fam in families.items() if any(a in fam["architectures"] for a in f.architectures)]
        how = "architecture"
    model_type = f.gguf_architecture if f.format == "gguf" else f.model_type
    if not found and model_type:
        found = [n for n, fam in families.items() if fam.get("model_type") == model_type]
        how = "model_type"
    engines = _xinf_engines(f, fmt)
    engine_text = ", ".join(engines) if engines else "none"
    if found:
        shown = ", ".join(found[:4]) + (f" and {len(found) - 4} more" if len(found) > 4 else "")
        with_fmt = [n for n in found if fmt in families[n]["formats"]]
        if with_fmt and engines:
            return RuntimeVerdict("xinference", "yes", v, (),
                                  f"built-in family {shown} (by {how}) ships {fmt}; engines: {engine_text}")
        if engines:
            return RuntimeVerdict("xinference", "yes with", v, ("register it as a custom model (xinference register)",),
                                  f"built-in family {shown} (by {how}) ships no {fmt} weights; engines for {fmt}: {engine_text}")
        return RuntimeVerdict("xinference", "no", v, (), f"built-in family {shown} (by {how}), but no engine accepts {fmt} for it")
    if engines:
        return RuntimeVerdict("xinference", "yes with", v, ("register it as a custom model (xinference register)",),
                              f"not a built-in family; engines for {fmt}: {engine_text}")
    return RuntimeVerdict("xinference", "no", v, (), f"not a built-in family and no engine accepts {fmt} for this architecture")


# --- MLX-LM ---------------------------------------------------------------------------------------


def _mlx_lm(f: ModelFacts) -> RuntimeVerdict:
    t = _rt("mlx-lm")
    v = str(t["version"])
    if f.format in ("gguf", "pytorch"):
        return RuntimeVerdict("mlx-lm", "no", v, (), "mlx_lm loads model*.safetensors only (utils.load_model)")
    if not f.model_type:
        return RuntimeVerdict("mlx-lm", "unknown", v, (), "config.json names no model_type")
    # utils._get_classes: (model_type, architecture) remapping first, then MODEL_REMAPPING
    module = next((m for mt, a, m in t["arch_remapping"] if mt == f.model_type and a in f.architectures), None)
    module = module or t["remapping"].get(f.model_type, f.model_type)
    if module not in _strs(t["model_types"]):
        return RuntimeVerdict("mlx-lm", "no", v, (), f"model_type {f.model_type} has no module in mlx_lm/models")
    q = _quant_key(f.quant_method)
    if q and q != "mlx" and q not in _strs(t["quant_methods"]):
        return RuntimeVerdict("mlx-lm", "no", v, (), f"mlx_lm does not load {q} weights")
    note = f"; utils.load_model converts {q} weights at load" if q and q != "mlx" else ""
    return RuntimeVerdict("mlx-lm", "yes", v, (), f"mlx_lm.models.{module} serves model_type {f.model_type} on Apple silicon{note}")


# --- transformers ---------------------------------------------------------------------------------


def _transformers(f: ModelFacts) -> RuntimeVerdict:
    t = _rt("transformers")
    _, _, v = _transformers_classes()
    if f.format == "gguf":
        arch = f.gguf_architecture or "?"
        if arch in _strs(t["gguf_architectures"]):
            return RuntimeVerdict("transformers", "yes with", v, ("gguf_file=, which dequantizes every weight to full precision",),
                                  f"transformers maps GGUF architecture {arch}")
        return RuntimeVerdict("transformers", "no", v, (), f"transformers does not map GGUF architecture {arch}")
    q = _quant_key(f.quant_method)
    methods = _strs(t["quant_methods"])
    # bitsandbytes checkpoints are served by the bitsandbytes_4bit / _8bit quantizers
    if q and q not in methods and not any(m.startswith(q + "_") for m in methods):
        return RuntimeVerdict("transformers", "no", v, (), f"transformers has no quantizer for {q}")
    if not f.architectures and not f.model_type:
        return RuntimeVerdict("transformers", "unknown", v, (), "config.json names no architecture or model_type")
    name = f.architectures[0] if f.architectures else f.model_type
    if _builtin_in_transformers(f):
        extra = ("; the repo also ships its own code, used only with trust_remote_code=True" if f.remote_code else "")
        return RuntimeVerdict("transformers", "yes", v, (), f"{name} is built into transformers{extra}")
    if f.remote_code:
        return RuntimeVerdict("transformers", "yes with", v, ("trust_remote_code=True, which runs the repo's Python code",),
                              f"{name} is not built into transformers; the repo ships its own code")
    return RuntimeVerdict("transformers", "no", v, (), f"{name} is not built into transformers and the repo ships no code")


# --- front --------------------------------------------------------------------------------------

_ANSWER: Final[dict[str, Callable[[ModelFacts], RuntimeVerdict]]] = {
    "llama.cpp": lambda f: _llama_cpp(f, "llama.cpp", _llama_version()),
    "ollama": _ollama,
    "vllm": _vllm,
    "sglang": _sglang,
    "xinference": _xinference,
    "mlx-lm": _mlx_lm,
    "transformers": _transformers,
}


def verdict(runtime: str, facts: ModelFacts) -> RuntimeVerdict:
    """One runtime's verdict (``runtime`` is one of ``RUNTIMES``)."""
    return _ANSWER[runtime](facts)


def verdicts(facts: ModelFacts) -> tuple[RuntimeVerdict, ...]:
    """Every runtime's verdict, in ``RUNTIMES`` order."""
    return tuple(verdict(r, facts) for r in RUNTIMES)

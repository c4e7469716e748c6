"""Will it fit: weight bytes, KV cache at a context length, and the largest context a memory holds.

Two runtimes are modelled. ``llama.cpp`` follows what llama.cpp allocates (context padded to 256,
``ggml_row_size`` of the cache type per K/V row, a separate sliding-window cache of
``min(ctx, window + n_ubatch)`` cells, no V for MLA, F32 recurrent state per sequence).
``vllm`` follows a paged cache in the model dtype or fp8 with blocks of 16 tokens. Every figure
carries its formula as ``Term`` rows; docs/memory.md cites the sources.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import cache

from ..errors import UsageError
from ..formats import tables
from ..records import ModelSummary
from ..summary.build import EXPERT  # routed-expert tensor names, one definition
from .records import (
    LLAMA_UBATCH, Estimate, KVCache, LayerGroup, LayerSpec, Layout, Options, Term, Weights, layer_ranges,
)

#: llama.cpp pads the context to this many cells (llama_context: GGML_PAD(n_ctx, 256)).
LLAMA_CTX_PAD = 256
#: vLLM's default KV block size in tokens.
VLLM_BLOCK = 16
#: Cache types llama.cpp accepts for ``--cache-type-k/-v`` (common/arg.cpp kv_cache_types).
LLAMA_CACHE_TYPES = ("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "iq4_nl", "q5_0", "q5_1")
#: vLLM ``--kv-cache-dtype`` values and their bytes per element (``auto`` = the model dtype).
VLLM_CACHE_BYTES = {"fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1, "float16": 2, "f16": 2, "bfloat16": 2, "bf16": 2, "float32": 4, "f32": 4}
_DTYPE_BYTES = {"float16": 2, "bfloat16": 2, "float32": 4, "float8_e4m3fn": 1, "fp8": 1}
#: Typical runtime overhead not computed here: compute buffers, CUDA context, graphs. Labelled
#: as an estimate wherever shown (llama.cpp at -ub 512 with flash attention; vLLM activations,
#: CUDA graphs and the context).
OVERHEAD = {"llama.cpp": 512 << 20, "vllm": 2 << 30}
#: Context lengths of the table, plus the model's maximum.
TABLE_CONTEXTS = (4096, 8192, 32768, 131072)


#: Size units: decimal (SI) and binary (IEC) names; a bare K/M/G/T is binary, as ``-m 24G`` is in
#: most tools. Shown in every error about a size.
SIZE_UNITS = "B; KB, MB, GB, TB = powers of 1000; KiB, MiB, GiB, TiB (or K, M, G, T) = powers of 1024"


def parse_size(text: str) -> int:
    """``24GiB``, ``24G`` (both 24 x 1024^3), ``24GB`` (24 x 1000^3), ``512MiB``, ``100B`` -> bytes.

    A bare number is refused: ``16`` is far likelier to mean 16 GB than 16 bytes, so the unit must be said.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(i?)(B?)|(B))\s*", text, re.IGNORECASE)
    if not m:
        bare = re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", text)
        why = f"{text.strip()!r} has no unit" if bare else f"cannot read {text!r} as a size"
        raise UsageError("memory", f"{why}: write e.g. 16GiB or 16GB ({SIZE_UNITS})")
    number, unit, binary, b, _ = m.groups()
    power = " KMGT".index(unit.upper()) if unit else 0
    base = 1000 if (b and not binary) else 1024
    value = Fraction(number) * base**power  # exact: no float overflow on 400 digits
    return int(value)


#: Context suffixes: ``32k`` = 32 x 1024 (contexts are counted in binary thousands: "128K" = 131,072).
CONTEXT_UNITS = {"k": 1 << 10, "m": 1 << 20}


def parse_context(value: int | str) -> int:
    """A context length from a number or text: ``32768``, ``32k``/``32K`` (32,768), ``128K``, ``1M`` (1,048,576).

    Raises ``UsageError`` naming ``ctx`` for text it cannot read, a fraction of a token, or a length below 1.
    """
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*", value)
        if not m:
            raise UsageError("ctx", f"cannot read {value!r} as a context length (try 32768, 32k or 128K; k = 1024)")
        tokens = Fraction(m.group(1)) * CONTEXT_UNITS.get(m.group(2).lower(), 1)
        if tokens.denominator != 1:
            raise UsageError("ctx", f"{value!r} is not a whole number of tokens (k = 1024)")
        value = int(tokens)
    if value < 1:
        raise UsageError("ctx", "must be at least 1")
    return value


def options(
    *, ctx: int | str | None = None, memory: int | str | None = None, cache_type: str | None = None,
    cache_type_k: str | None = None, cache_type_v: str | None = None, parallel: int = 1, runtime: str | None = None,
    swa_full: bool = False, gpu_memory_utilization: float = 0.9, mem_fraction_static: float | None = None,
) -> Options:  # fmt: skip
    """Memory options from what a user asked: ``ctx`` as a number or text (``32k``), ``memory`` in bytes or as
    text (``24GiB``), ``cache_type`` for K and V.

    Raises ``UsageError`` naming the parameter for a context or parallel count below 1 and for a size it cannot read.
    """
    if parallel < 1:
        raise UsageError("parallel", "must be at least 1")
    # vllm/config/cache.py: gpu_memory_utilization in (0, 1]; SGLang's fraction is a share of the GPU as well
    for name, share in (("gpu_memory_utilization", gpu_memory_utilization), ("mem_fraction_static", mem_fraction_static)):
        if share is not None and not 0 < share <= 1:
            raise UsageError(name, f"must be a share of the GPU above 0 and at most 1, not {share}")
    return Options(
        context=None if ctx is None else parse_context(ctx), parallel=parallel, runtime=runtime, memory=parse_size(memory) if isinstance(memory, str) else memory,
        cache_type_k=cache_type_k or cache_type, cache_type_v=cache_type_v or cache_type, swa_full=swa_full,
        gpu_memory_utilization=gpu_memory_utilization, mem_fraction_static=mem_fraction_static,
    )  # fmt: skip


def pad(n: int, to: int) -> int:
    """``n`` rounded up to a multiple of ``to`` (GGML_PAD)."""
    return (n + to - 1) // to * to


@cache  # called per layer, per K and V, per step of the largest-context search
def ggml_type(name: str) -> tuple[str, int, int]:
    """A cache type by name -> (name, block size, bytes per block), from the gguf package."""
    for tname, block, size in tables.ggml_types().values():
        if tname.lower() == name.lower():
            return tname.lower(), block, size
    raise UsageError("cache_type", f"unknown cache type {name!r} (llama.cpp accepts {', '.join(LLAMA_CACHE_TYPES)})")


def row_size(type_name: str, elements: int) -> tuple[int | None, str]:
    """``ggml_row_size``: bytes of ``elements`` of a type; ``None`` when blocks do not divide it."""
    name, block, size = ggml_type(type_name)
    if elements % block:
        return None, f"{elements} is not a multiple of {name}'s block of {block}"
    return elements // block * size, (f"{elements} x {size}" if block == 1 else f"{elements}/{block} x {size}")


def default_runtime(s: ModelSummary) -> str:
    """llama.cpp for GGUF, vLLM-style for safetensors."""
    return "llama.cpp" if s.format == "gguf" else "vllm"


def _group(rows: list[tuple[LayerSpec, int, int, int, str]]) -> tuple[LayerGroup, ...]:
    groups: dict[tuple, list] = {}
    for spec, cells, k, v, formula in rows:
        groups.setdefault((spec.kind, cells, k, v, formula), []).append(spec.index)
    return tuple(
        LayerGroup(kind, tuple(ix), cells, k, v, len(ix) * cells * (k + v), f"{len(ix)} layers ({layer_ranges(tuple(ix))}) x {formula}")
        for (kind, cells, k, v, formula), ix in groups.items()
    )


def kv_llamacpp(layout: Layout, ctx: int, *, parallel: int = 1, type_k: str = "f16", type_v: str = "f16",
                swa_full: bool = False, n_ubatch: int = LLAMA_UBATCH) -> KVCache:  # fmt: skip
    """Bytes llama.cpp allocates for the KV cache and recurrent state (non-unified, one stream per sequence)."""
    if layout.no_cache:
        return KVCache(ctx, 0, terms=(Term("kv_cache", 0, f"llama.cpp allocates no KV cache for {layout.arch}", "no_cache"),))
    if layout.unknown:
        return KVCache(ctx, None, blocked=layout.unknown)
    n_ctx = pad(ctx, LLAMA_CTX_PAD)
    n_seq = max(parallel, 1)
    per_seq = pad(n_ctx // n_seq, LLAMA_CTX_PAD)
    terms = [
        Term("n_ctx", n_ctx, f"GGML_PAD({ctx}, {LLAMA_CTX_PAD})", "n_ctx"),
        Term("cells per sequence", per_seq, f"GGML_PAD({n_ctx} / {n_seq}, {LLAMA_CTX_PAD})" if n_seq > 1 else "n_ctx", "cells"),
    ]  # fmt: skip
    rows = []
    for spec in layout.layers:
        if spec.kind == "none":
            continue
        if spec.kind == "recurrent":
            r, s = spec.state_r * 4, spec.state_s * 4
            rows.append((spec, n_seq, r, s, f"{n_seq} seq x (r {spec.state_r} + s {spec.state_s}) x 4 B (f32)"))
            continue
        cells = per_seq
        if spec.kind == "swa" and spec.window and not swa_full:
            cells = pad(min(per_seq, spec.window + n_ubatch), LLAMA_CTX_PAD)
        # llama_init_from_model refuses a quantized cache whose block does not divide the head dim.
        for name, t, dim in (("K", type_k, spec.head_dim_k), ("V", type_v, spec.head_dim_v if spec.kind != "mla" else 0)):
            if dim and row_size(t, dim)[0] is None:
                why = f"{name} head dim {dim} is not a multiple of {t}'s block of {ggml_type(t)[1]}"
                return KVCache(ctx, None, terms=tuple(terms), blocked=f"llama.cpp refuses this cache type: {why}")
        k, kf = row_size(type_k, spec.head_dim_k * spec.kv_heads)
        v, vf = (0, "0 (no V)") if spec.kind == "mla" else row_size(type_v, spec.head_dim_v * spec.kv_heads)
        assert k is not None and v is not None  # whole heads of a dividing block
        cell_f = f"{cells * n_seq} cells" if spec.kind != "swa" or swa_full else f"GGML_PAD(min({per_seq}, {spec.window} + {n_ubatch}), 256) = {cells} cells x {n_seq} seq"
        rows.append((spec, cells * n_seq, k, v, f"{cell_f} x (K {kf} + V {vf}) B"))
    groups = _group(rows)
    total = sum(g.bytes for g in groups)
    return KVCache(ctx, total, groups, tuple(terms))


def kv_vllm(layout: Layout, ctx: int, *, parallel: int = 1, cache_bytes: int = 2) -> KVCache:
    """A paged cache: blocks of 16 tokens per sequence, ``cache_bytes`` per element, no padding to 256."""
    if layout.no_cache:
        return KVCache(ctx, 0, terms=(Term("kv_cache", 0, "encoder-only model: no KV cache", "no_cache"),))
    if layout.unknown:
        return KVCache(ctx, None, blocked=layout.unknown)
    n_seq = max(parallel, 1)
    tokens = pad(ctx, VLLM_BLOCK)
    terms = [Term("tokens per sequence", tokens, f"ceil({ctx} / {VLLM_BLOCK}) x {VLLM_BLOCK}", "block")]
    rows = []
    for spec in layout.layers:
        if spec.kind == "none":
            continue
        if spec.kind == "recurrent":
            rows.append((spec, n_seq, spec.state_r * cache_bytes, spec.state_s * cache_bytes, f"{n_seq} seq x (r {spec.state_r} + s {spec.state_s}) x {cache_bytes} B"))
            continue
        cells = tokens
        if spec.kind == "swa" and spec.window:
            cells = min(tokens, pad(spec.window, VLLM_BLOCK) + VLLM_BLOCK)
        k = spec.head_dim_k * spec.kv_heads * cache_bytes
        v = spec.head_dim_v * spec.kv_heads * cache_bytes
        rows.append((spec, cells * n_seq, k, v, f"{cells} tokens x {n_seq} seq x (K {spec.head_dim_k * spec.kv_heads} + V {spec.head_dim_v * spec.kv_heads}) x {cache_bytes} B"))
    groups = _group(rows)
    return KVCache(ctx, sum(g.bytes for g in groups), groups, tuple(terms))


def weights(s: ModelSummary, runtime: str) -> Weights:
    """Exact weight bytes; routed-expert tensors apart, since they can be kept in CPU memory."""
    experts = sum(t.n_bytes or 0 for t in s.tensors if EXPERT.search(t.name))
    if s.format == "gguf" and runtime == "llama.cpp" and isinstance(s.format_info.get("data_bytes"), int):
        total = s.format_info["data_bytes"]
        formula = "tensor-data span of the file(s): file size - data offset"
    else:
        total = s.quantization.total_bytes
        formula = "sum of tensor bytes from the tensor table"
    terms = [Term("weights", total, formula, "weights")]
    if experts:
        terms.append(Term("routed experts", experts, "bytes of *_exps / experts.N tensors (can stay in CPU memory)", "experts_bytes"))
    acc = None if total is None else total - experts
    return Weights(total, acc, experts, tuple(terms))


def _cache_type(opts: Options, runtime: str, layout: Layout) -> tuple[str, str, int]:
    """(K type, V type, vLLM bytes per element) for the runtime."""
    if runtime == "llama.cpp":
        # -ctk and -ctv each default to f16 (common/common.h cache_type_k/v): one does not set the other
        k = (opts.cache_type_k or "f16").lower()
        v = (opts.cache_type_v or "f16").lower()
        for t in (k, v):
            if t not in LLAMA_CACHE_TYPES:
                raise UsageError("cache_type", f"llama.cpp cache type {t!r} is not one of {', '.join(LLAMA_CACHE_TYPES)}")
        return k, v, 0
    if opts.cache_type_k and opts.cache_type_v and opts.cache_type_k.lower() != opts.cache_type_v.lower():
        raise UsageError("cache_type", "vLLM has one cache dtype for K and V (--kv-cache-dtype): give cache_type, not one per side")
    name = (opts.cache_type_k or opts.cache_type_v or "auto").lower()
    if name == "auto":
        dtype = (layout.dtype or "bfloat16").lower()
        return dtype, dtype, _DTYPE_BYTES.get(dtype, 2)
    if name not in VLLM_CACHE_BYTES:
        raise UsageError("cache_type", f"vLLM cache dtype {name!r} is not one of auto, {', '.join(VLLM_CACHE_BYTES)}")
    return name, name, VLLM_CACHE_BYTES[name]


def kv_at(layout: Layout, ctx: int, opts: Options, runtime: str) -> KVCache:
    """The KV cache of either runtime at one context length."""
    k, v, nbytes = _cache_type(opts, runtime, layout)
    if runtime == "llama.cpp":
        return kv_llamacpp(layout, ctx, parallel=opts.parallel, type_k=k, type_v=v, swa_full=opts.swa_full, n_ubatch=opts.n_ubatch)
    return kv_vllm(layout, ctx, parallel=opts.parallel, cache_bytes=nbytes)


def largest_context(layout: Layout, budget: int, opts: Options, runtime: str, limit: int) -> int | None:
    """Largest context (a multiple of 256 for llama.cpp, 16 for vLLM) whose KV cache fits ``budget``."""
    step = LLAMA_CTX_PAD if runtime == "llama.cpp" else VLLM_BLOCK
    lo, hi = 0, limit // step
    while lo < hi:  # KV bytes never shrink as the context grows
        mid = (lo + hi + 1) // 2
        got = kv_at(layout, mid * step, opts, runtime).bytes
        if got is not None and got <= budget:
            lo = mid
        else:
            hi = mid - 1
    return lo * step or None


def estimate(s: ModelSummary, layout: Layout, opts: Options) -> Estimate:
    """Weights, KV cache at the chosen context, a table over common contexts, and what fits."""
    runtime = opts.runtime or default_runtime(s)
    if runtime not in ("llama.cpp", "vllm"):
        raise UsageError("runtime", f"unknown runtime {runtime!r} (llama.cpp or vllm)")
    if opts.parallel < 1:
        raise UsageError("parallel", "must be at least 1")
    k, v, _ = _cache_type(opts, runtime, layout)
    ctx = opts.context if opts.context is not None else (layout.max_context or 4096)
    if ctx < 1:
        raise UsageError("ctx", "must be at least 1")
    w = weights(s, runtime)
    kv = kv_at(layout, ctx, opts, runtime)
    contexts = sorted({c for c in TABLE_CONTEXTS if not layout.max_context or c <= layout.max_context} | ({layout.max_context} if layout.max_context else set()))
    table = tuple(kv_at(layout, c, opts, runtime) for c in contexts)
    overhead = OVERHEAD[runtime]
    notes = list(layout.notes)
    if runtime == "llama.cpp" and v != "f16" and v not in ("f32", "bf16"):
        notes.append("a quantized V cache needs flash attention (-fa on)")
    if runtime == "vllm":
        notes.append("vLLM reserves --gpu-memory-utilization (0.9) of the device up front and fills it with KV blocks")
    if opts.parallel > 1 and runtime == "llama.cpp":
        notes.append(f"-c is the total context: {opts.parallel} sequences share it (n_ctx / n_seq cells each)")
    fits = fits_note = None
    if opts.memory is not None:
        budget = opts.memory - (w.total or 0) - overhead
        limit = layout.max_context or max(ctx, 131072)
        if w.total is None:
            fits_note = "weight bytes unknown"
        elif kv.bytes is None:
            fits_note = "the KV cache has no figure with these options"
        elif budget < 0:
            fits_note = "the weights and overhead alone exceed the memory"
        else:
            fits = largest_context(layout, budget, opts, runtime, limit)
            fits_note = "up to the model's maximum context" if fits and fits + (LLAMA_CTX_PAD if runtime == "llama.cpp" else VLLM_BLOCK) > limit else None
    cache = k if k == v else f"K {k}, V {v}"
    cache_f = f"K {k}, V {v}" + ("; row = elements / block x bytes per block (ggml_row_size)" if runtime == "llama.cpp" else " (vLLM kv-cache dtype)")
    terms = (
        Term("cache type", k if k == v else f"{k}/{v}", cache_f, "cache_type"),
        *w.terms,
        *kv.terms,
        *(Term(f"layers {layer_ranges(g.layers)} ({g.kind})", g.bytes, g.formula, f"kind.{g.kind}") for g in kv.groups),
        Term("kv_cache", kv.bytes, " + ".join(fmt_bytes(g.bytes) for g in kv.groups) or "0", "kv_cache"),
        Term("overhead (typical, not computed)", overhead, f"{runtime}: compute buffers, CUDA context", "overhead"),
    )
    not_counted = (
        "compute buffers and activations (given only as the typical overhead line)",
        "the vision/audio projector when loaded separately (mmproj)",
        "the CUDA/driver context and memory fragmentation",
    )
    return Estimate(runtime, cache, ctx, w, kv, overhead, table, fits, fits_note, not_counted, tuple(notes), terms)


def fmt_bytes(n: int | None) -> str:
    """Bytes with thousands separators (formulas show exact figures)."""
    return "?" if n is None else f"{n:,}"

"""Which quantization fits: one row per GGUF model of a folder or repo, or per dtype choice of one model.

A row holds weights, KV cache at the asked context, compute, the total, whether it fits the memory,
and the largest context that does. The recommendation is the largest choice (by weight bytes) that fits
at that context: more bits, same memory. Pure: plans in, records out (``api.plan`` reads the files).
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Sequence

from ..records import ModelSummary
from . import memory, serving
from .records import Choice, Choices, Layout, Options, Plan

_SPLIT = re.compile(r"-\d{5}-of-\d{5}$")


def names(first_files: Sequence[str]) -> list[str]:
    """Short names for GGUF models: the file stems with their common prefix (cut at ``-``, ``.`` or ``_``) removed.

    ``Qwen3-8B-Q4_K_M.gguf``, ``Qwen3-8B-UD-Q5_K_XL.gguf`` -> ``Q4_K_M``, ``UD-Q5_K_XL``; split parts
    name their model once (``-00001-of-00003`` dropped). Falls back to the whole stem when nothing is left.
    """
    stems = [_SPLIT.sub("", posixpath.basename(f).removesuffix(".gguf")) for f in first_files]
    prefix = posixpath.commonprefix(stems) if len(stems) > 1 else ""
    cut = max(prefix.rfind(c) for c in "-._") + 1 if prefix else 0
    out = [s[cut:] or s for s in stems]
    if len(set(out)) < len(out):  # two folders holding the same file name: keep the folder
        return [f.removesuffix(".gguf") for f in first_files]
    return out


def row(name: str, files: tuple[str, ...], plan: Plan, memory_bytes: int | None) -> Choice:
    """One choice from the plan of its model."""
    m = plan.memory
    total = m.total
    fits = None if memory_bytes is None or total is None else total <= memory_bytes
    return Choice(
        name=name, files=files, weights_bytes=m.weights.total, kv_cache_bytes=m.kv.bytes, compute_bytes=None,
        total_bytes=total, fits=fits, max_context=m.fits, runtime=m.runtime, cache_type=m.cache_type,
    )  # fmt: skip


def recommend(rows: Sequence[Choice]) -> str | None:
    """The largest choice (weight bytes) that fits, or ``None``."""
    fitting = [r for r in rows if r.fits and r.weights_bytes is not None]
    return max(fitting, key=lambda r: r.weights_bytes or 0).name if fitting else None


COMPUTE_NOTE = ("compute_bytes is not computed yet: each total counts the runtime's typical overhead instead "
                "(the same total as the memory section)")  # fmt: skip


def of_models(rows: Sequence[Choice], context: int, memory_bytes: int | None, source: str) -> Choices:
    """The quantization table of several GGUF models found in ``source`` (a folder or repo)."""
    return Choices(context, memory_bytes, tuple(rows), recommend(rows), "quantization", (COMPUTE_NOTE,), source)


def pick(choices: Choices) -> int:
    """Index of the row whose full plan is shown: the recommended one, else the smallest."""
    names_ = [r.name for r in choices.rows]
    if choices.recommended in names_:
        return names_.index(choices.recommended)
    sizes = [r.weights_bytes if r.weights_bytes is not None else 1 << 62 for r in choices.rows]
    return sizes.index(min(sizes))


def of_dtypes(s: ModelSummary, layout: Layout, opts: Options, plan: Plan) -> Choices | None:
    """A safetensors model across the runtime's choices: weights as loaded (vLLM: in the model dtype, or its
    quantization method) or quantized at load (``--quantization fp8``), times the KV-cache dtypes (``auto``,
    ``fp8``; llama.cpp: f16, q8_0, q4_0, weights as stored)."""
    runtime = plan.memory.runtime
    files = tuple(f.path for f in s.files if f.role == "weights")
    stored = plan.memory.weights.total
    if runtime == "llama.cpp":
        weights_rows = [("as stored", stored)]
        caches = ["f16", "q8_0", "q4_0"]
    else:
        dtype, act = serving.load_dtype(layout)
        # as vLLM loads them: float tensors in the model dtype (float32 downcast), quantized ones as stored
        weights_rows = [(s.quantization.method or dtype, serving.weights_loaded(s, act))]
        online = serving.fp8_online_bytes(s)
        if online is not None and not s.quantization.method:
            weights_rows.append(("fp8 (--quantization fp8)", online))
        caches = ["auto", "fp8"]
    rows = []
    for wname, wbytes in weights_rows:
        for cache in caches:
            o = dataclasses.replace(opts, cache_type_k=cache, cache_type_v=cache)
            try:
                est = memory.estimate(s, layout, o)
            except ValueError:  # a cache type this runtime refuses for this model
                continue
            overhead = est.overhead
            kv = est.kv.bytes
            total = None if wbytes is None or kv is None else wbytes + kv + overhead
            fits = max_ctx = None
            if opts.memory is not None and total is not None and wbytes is not None:
                fits = total <= opts.memory
                budget = opts.memory - wbytes - overhead
                limit = layout.max_context or max(est.context, 131072)
                max_ctx = memory.largest_context(layout, budget, o, runtime, limit) if budget >= 0 else None
            rows.append(Choice(f"weights {wname}, cache {est.cache_type}", files, wbytes, kv, None, total, fits, max_ctx,
                               runtime, est.cache_type))  # fmt: skip
    if not rows:
        return None
    return Choices(plan.memory.context, opts.memory, tuple(rows), recommend(rows), "dtype", (COMPUTE_NOTE,))

"""vLLM and SGLang memory as they size it at start-up: what is left for the KV cache, its capacity in
tokens, the concurrency at a context length, the largest ``max_model_len`` that fits, and the error
the runtime would raise. Follows the code of the versions in data/runtimes.json (vLLM 0.33.0,
SGLang 0.5.23), read, never imported:

vLLM
  * ``v1/worker/utils.py request_memory``: the budget is ``ceil(total x --gpu-memory-utilization)``.
  * ``v1/worker/gpu_worker.py determine_available_memory``: KV memory = budget - weights - the
    profiled activation peak - CUDA graph memory (both measured there; estimated here).
  * ``v1/kv_cache_interface.py``: ``AttentionSpec.page_size_bytes`` = block_size x num_kv_heads x
    (head_size + head_size_v) x dtype bytes (MLA: one latent "head", no V);
    ``FullAttentionSpec.max_memory_usage_bytes`` = cdiv(max_model_len, block) pages;
    ``SlidingWindowSpec.max_admission_blocks_per_request`` = cdiv(min(window - 1 + in-flight tokens,
    max_model_len), block) + 1, in-flight = 2 (async scheduling) x max_num_batched_tokens.
  * ``v1/core/kv_cache_planning.py``: ``get_kv_cache_groups`` (one group when every layer has the
    same spec or type; hybrid models in groups of the smaller layer count,
    ``_get_kv_cache_groups_uniform_page_size``), ``_get_kv_cache_bytes_per_block`` (the largest
    group's pages per block), ``get_kv_cache_configs`` (num_blocks = memory // bytes per block; the
    null block held back before the check), ``_check_enough_kv_cache_memory`` (the errors),
    ``_estimate_max_model_len_from_groups`` (binary search).
  * ``v1/core/kv_cache_utils.py get_kv_cache_capacity``: tokens = int(num_blocks / blocks per
    request x max_model_len), concurrency = num_blocks / blocks per request.
  * ``config/model.py _get_and_verify_max_len``: a max_model_len above the one derived from config.json
    is refused before any of this.

SGLang
  * ``arg_groups/memory_hook.py _handle_gpu_memory_settings``: the default ``mem_fraction_static``
    = round((gpu_mem - reserved) / gpu_mem, 3), reserved (MB) = 512 + 1.5 x max(chunked_prefill_size,
    2048) + 128 + 2 x decode max_bs + 8 x prefill graph sizes (tp 1, CUDA), the GPU-size tiers there.
  * ``mem_cache/kv_cache_configurator.py _profile_available_bytes``: rest = free after loading -
    total x (1 - mem_fraction_static); ``pool_configurator.py DefaultPoolConfigurator``:
    max_total_num_tokens = rest // cell_size, cell_size = kv_heads x (head_dim + v_head_dim) x layers x
    dtype bytes (MLA: kv_lora_rank + qk_rope_head_dim per layer); ``HybridSWAPoolConfigurator``: the
    sliding layers' bytes count swa_full_tokens_ratio (0.8) times, and their pool holds that share of tokens.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from ..records import ModelSummary
from ..summary.build import EXPERT  # routed-expert tensor names, one definition
from ..summary.fields import positive
from .records import Layout, Serving, Term

GIB = 1 << 30
MIB = 1 << 20
#: vLLM ``--block-size`` default on CUDA (CacheConfig.block_size) and SGLang's default page size.
VLLM_BLOCK = 16
#: vLLM ``--gpu-memory-utilization`` default (config/cache.py).
VLLM_UTILIZATION = 0.9
#: Bytes per element of the dtypes vLLM and SGLang load weights and keep caches in.
_BYTES = {"float16": 2, "half": 2, "bfloat16": 2, "float32": 4, "float": 4, "fp8": 1, "fp8_e4m3": 1, "fp8_e5m2": 1}
#: SGLang ``--swa-full-tokens-ratio`` fallback (arg_groups/fields/schedule.py): SWA-pool tokens per full-pool token.
SWA_FULL_TOKENS_RATIO = 0.8
#: Float tensor types a checkpoint stores; vLLM casts them to the model dtype at load.
_FLOAT_TYPES = {"F64", "F32", "F16", "BF16"}
_NOT_LINEAR = re.compile(r"embed|lm_head|wte|wpe|norm|(^|\.)output\.weight$", re.IGNORECASE)


def gib(n: int) -> str:
    """vLLM's ``format_gib``: GiB rounded to two places (utils/mem_utils.py)."""
    return f"{round(n / GIB, 2)}"


def cdiv(a: int, b: int) -> int:
    """Ceiling division, as vLLM's ``cdiv``."""
    return -(-a // b)


def load_dtype(layout: Layout, dtype: str | None = None) -> tuple[str, int]:
    """The dtype vLLM loads in: ``--dtype`` or config.json's, float32 downcast to bfloat16
    (config/model.py ``_resolve_auto_dtype``) -> (name, bytes)."""
    name = (dtype or layout.dtype or "bfloat16").lower()
    if name in ("auto",):
        name = (layout.dtype or "bfloat16").lower()
    if name in ("float32", "float"):
        name = "bfloat16"
    return name, _BYTES.get(name, 2)


def weights_loaded(s: ModelSummary, dtype_bytes: int) -> int | None:
    """Weight bytes after loading: float tensors cast to the model dtype, packed/quantized tensors as stored.

    Quantized checkpoints (fp8, gptq, awq, compressed-tensors, bitsandbytes, mxfp4) load their packed
    weights unchanged (Marlin repacking keeps the size); their scales stay as stored.
    """
    total = 0
    quantized = bool(s.quantization.method)
    for t in s.tensors:
        if t.n_bytes is None:
            return None
        if t.dtype in _FLOAT_TYPES and not (quantized and re.search(r"scale|zero", t.name)):
            total += math.prod(t.shape) * dtype_bytes
        else:
            total += t.n_bytes
    return total


def fp8_online_bytes(s: ModelSummary) -> int | None:
    """Weights under ``--quantization fp8`` of an unquantized checkpoint: linear and routed-expert weights
    in 1 byte (quantization/fp8.py ``get_quant_method``: LinearBase and RoutedExperts), the rest (embeddings,
    lm_head, norms, biases) in 2. Per-tensor scales (4 B each) are left out."""
    if s.format not in ("safetensors", "pytorch") or not s.tensors:
        return None
    total = 0
    for t in s.tensors:
        if t.dtype not in _FLOAT_TYPES:
            return None
        n = math.prod(t.shape)
        linear = t.name.endswith(".weight") and (len(t.shape) == 2 or (len(t.shape) == 3 and EXPERT.search(t.name)))
        total += n if linear and not _NOT_LINEAR.search(t.name) else 2 * n
    return total


@dataclass(frozen=True, slots=True)
class _Group:
    """One vLLM KV cache group: its spec kind, window, layers and page bytes per layer."""

    kind: str
    window: int | None
    layers: int
    page: int


def _specs(layout: Layout, cache_bytes: int, block: int) -> list[tuple[str, int | None, int]] | str:
    """(kind, window, page bytes) per cached layer, or why vLLM's specs are not modelled here."""
    out: list[tuple[str, int | None, int]] = []
    for spec in layout.layers:
        if spec.kind == "none":
            continue
        if spec.kind == "recurrent":
            return "recurrent (Mamba) state: vLLM's MambaSpec pages are not modelled"
        heads = 1 if spec.kind == "mla" else spec.kv_heads
        v = 0 if spec.kind == "mla" else spec.head_dim_v
        out.append((spec.kind, spec.window if spec.kind == "swa" else None, block * heads * (spec.head_dim_k + v) * cache_bytes))
    return out


def kv_groups(layout: Layout, cache_bytes: int, block: int = VLLM_BLOCK) -> list[_Group] | str:
    """vLLM's KV cache groups (``get_kv_cache_groups``), or why they are not modelled."""
    specs = _specs(layout, cache_bytes, block)
    if isinstance(specs, str):
        return specs
    if not specs:
        return []
    kinds = {(k, w) for k, w, _ in specs}
    if len(kinds) == 1:  # uniform spec or uniform type (UniformTypeKVCacheSpecs): one group of every layer
        kind, window = next(iter(kinds))
        return [_Group(kind, window, len(specs), sum(p for _, _, p in specs))]
    if len({p for _, _, p in specs}) > 1:
        return "hybrid layers with different page sizes: vLLM's unify_kv_cache_spec_page_size is not modelled"
    page = specs[0][2]
    buckets: dict[tuple[str, int | None], int] = {}
    for k, w, _ in specs:
        buckets[(k, w)] = buckets.get((k, w), 0) + 1
    group_size = min(buckets.values())
    if max(buckets.values()) < group_size * 1.5:
        group_size = max(buckets.values())
    groups: list[_Group] = []
    for (k, w), n in buckets.items():  # cdiv(n, group_size) groups, the last one padded
        groups += [_Group(k, w, group_size, group_size * page) for _ in range(cdiv(n, group_size))]
    return groups


def blocks_per_request(groups: list[_Group], max_model_len: int, in_flight: int, block: int = VLLM_BLOCK) -> int:
    """Blocks one request at ``max_model_len`` takes from the shared pool, summed over groups."""
    total = 0
    for g in groups:
        if g.kind == "swa" and g.window:
            total += cdiv(min(g.window - 1 + in_flight, max_model_len), block) + 1
        else:
            total += cdiv(max_model_len, block)
    return total


def vllm_batch_defaults(memory: int) -> tuple[int, int]:
    """``vllm serve`` defaults (engine/arg_utils.py ``get_batch_defaults``, OPENAI_API_SERVER):
    (max_num_batched_tokens, max_num_seqs) by device memory."""
    if memory >= 160 * GIB:
        return 16384, 1024
    if memory >= 70 * GIB:
        return 8192, 1024
    return 2048, 256


def activation_peak(s: ModelSummary, tokens: int, seqs: int, act_bytes: int) -> tuple[int | None, str]:
    """An estimate of the profile run's peak (vLLM measures it in ``profile_run``): the larger of one
    layer's live tensors for ``tokens`` tokens (residual, hidden, gate_up and its activation) and the
    dummy sampler run's logits (``seqs`` rows x vocabulary in the model dtype, then float32 twice)."""
    a = s.architecture
    if not (a.hidden_size and a.vocab_size):
        return None, "hidden size or vocabulary unknown"
    inter = a.expert_intermediate_size * (a.experts_used or 1) if a.experts and a.expert_intermediate_size else (a.intermediate_size or 4 * a.hidden_size)
    forward = tokens * (2 * a.hidden_size + 3 * inter) * act_bytes
    rows = min(seqs, tokens)
    sampler = rows * a.vocab_size * (act_bytes + 8)
    formula = (f"max(forward {tokens} tokens x (2 x {a.hidden_size} + 3 x {inter}) x {act_bytes} B, "
               f"sampler {rows} rows x {a.vocab_size} x ({act_bytes} + 4 + 4) B)")  # fmt: skip
    return max(forward, sampler), formula


def _fits_len(groups: list[_Group], memory: int, limit: int, in_flight: int) -> int:
    """``_estimate_max_model_len_from_groups``: the largest length whose blocks fit, 0 when none does."""
    per_block = max(g.page for g in groups)

    def fits(n: int) -> bool:
        return per_block * blocks_per_request(groups, n, in_flight) <= memory

    if not fits(1):
        return 0
    lo, hi, best = 1, limit, 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if fits(mid):
            best, lo = mid, mid + 1
        else:
            hi = mid - 1
    return best


#: config.json keys vLLM derives the maximum length from, the smallest winning
#: (transformers_utils/model_arch_config_convertor.py derive_max_model_len_and_key).
_MAX_LEN_KEYS = ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
                 "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len")  # fmt: skip
#: RoPE types whose ``factor`` vLLM does not multiply in (max_position_embeddings is already scaled).
_ROPE_UNSCALED = ("su", "longrope", "llama3", "yarn", "deepseek_yarn", "deepseek_llama_scaling")
#: The caution vLLM appends to its max_model_len error (config/model.py).
_LONG_LEN_WARNING = (
    "VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution. If the model uses relative position encoding "
    "(RoPE), positions exceeding derived_max_model_len lead to nan. If the model uses absolute position encoding, "
    "positions exceeding derived_max_model_len will cause a CUDA array out-of-bounds error."
)


def derived_max_len(s: ModelSummary) -> tuple[int | float | None, str | None, int | None]:
    """vLLM's derived max_model_len, the key it came from and config.json's model_max_length
    (config/model.py ``_get_and_verify_max_len``: smallest length key, tokenizer model_max_length,
    times the RoPE factor except for already-scaled types and Gemma 3)."""
    config = s.config
    nested = config.get("text_config")
    text: dict[str, Any] = nested if isinstance(nested, dict) else config
    derived: int | float | None = None
    key = None
    for k in _MAX_LEN_KEYS:
        v = positive(text.get(k))
        if v is not None and (derived is None or v < derived):
            derived, key = v, k
    mml = positive(text.get("model_max_length"))
    if mml is not None:
        derived, key = mml, "model_max_length"
    if derived is None:
        return None, None, None
    tok = s.sidecars.get("tokenizer_config.json")
    tok_max = tok.get("model_max_length") if isinstance(tok, dict) else None
    if isinstance(tok_max, (int, float)) and not isinstance(tok_max, bool) and tok_max > 0:
        derived = min(derived, tok_max)
    rope = text.get("rope_parameters") or text.get("rope_scaling")
    model_type = str(text.get("model_type") or config.get("model_type") or "")
    if isinstance(rope, dict) and "gemma3" not in model_type:
        rope_type = rope.get("rope_type") or rope.get("type")
        factor = rope.get("factor")
        if rope_type not in _ROPE_UNSCALED and isinstance(factor, (int, float)) and not isinstance(factor, bool) and factor > 0:
            derived = derived * factor
    return derived, key, mml


def vllm(
    s: ModelSummary, layout: Layout, memory: int, max_model_len: int, *, utilization: float = VLLM_UTILIZATION,
    kv_cache_dtype: str = "auto", dtype: str | None = None, max_num_batched_tokens: int | None = None,
    max_num_seqs: int | None = None, version: str | None = None,
) -> Serving:  # fmt: skip
    """vLLM's start-up sizing on one GPU of ``memory`` bytes at ``--max-model-len max_model_len``."""
    name, act = load_dtype(layout, dtype)
    cache = kv_cache_dtype.lower()
    cache_bytes = act if cache == "auto" else _BYTES.get(cache, 0)
    if not cache_bytes:
        raise ValueError(f"unknown vLLM kv-cache dtype {kv_cache_dtype!r}")
    batched, seqs = vllm_batch_defaults(memory)
    batched = max_num_batched_tokens or batched
    seqs = max_num_seqs or seqs
    in_flight = 2 * batched  # VllmConfig.max_in_flight_tokens: 2 concurrent batches with async scheduling
    budget = math.ceil(memory * utilization)
    w = weights_loaded(s, act)
    peak, peak_f = activation_peak(s, batched, seqs, act)
    terms = [
        Term("requested memory", budget, f"ceil({memory:,} x {utilization}) (request_memory)"),
        Term("weights as loaded", w, f"float tensors in {name} ({act} B), quantized tensors as stored"),
        Term("activation peak (estimate)", peak, peak_f + "; vLLM measures it in profile_run"),
    ]
    not_counted = ("CUDA graph memory (profile_cudagraph_memory measures it)",
                   "non-torch memory: CUDA context, cuBLAS/NCCL workspaces",
                   "kernel workspaces and compile buffers beyond the activation estimate")  # fmt: skip
    head = Serving("vllm", version, memory, max_model_len, budget, w, peak, name if cache == "auto" else cache,
                   terms=tuple(terms), not_counted=not_counted)  # fmt: skip
    groups = kv_groups(layout, cache_bytes)
    why = ("no KV cache (encoder-only model)" if layout.no_cache else layout.unknown or
           (groups if isinstance(groups, str) else "weights or activation peak unknown" if w is None or peak is None else None))  # fmt: skip
    if why is not None or isinstance(groups, str) or w is None or peak is None:
        return replace(head, note=why)
    available = budget - w - peak
    per_block = max(g.page for g in groups)
    per_req = blocks_per_request(groups, max_model_len, in_flight)
    needed = per_block * per_req
    check = available - per_block  # the null block BlockPool holds back (get_kv_cache_configs)
    terms += [
        Term("available KV cache memory", available, f"{budget:,} - {w:,} - {peak:,} (determine_available_memory)"),
        Term("bytes per block", per_block, f"{len(groups)} group(s); largest group: {groups[0].layers} layers x "
             f"{groups[0].page // groups[0].layers:,} B page ({VLLM_BLOCK} tokens)"),
        Term("blocks per request", per_req, f"at max_model_len {max_model_len:,}; sliding-window groups hold "
             f"window - 1 + {in_flight} in-flight tokens + 1 block"),
        Term("KV cache for one request", needed, f"{per_block:,} x {per_req}"),
    ]  # fmt: skip
    derived, key, mml = derived_max_len(s)
    # the largest length vLLM accepts (the derived one) whose KV cache fits
    limit = int(derived) if derived is not None else max(max_model_len, layout.max_context or 0)
    largest = _fits_len(groups, check, limit, in_flight) if check > 0 else 0
    error = None
    if check <= 0:
        error = ("No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when "
                 "initializing the engine.")  # fmt: skip
        return replace(head, kv_available=available, bytes_per_block=per_block, terms=tuple(terms), error=error)
    if needed > check:
        est = f"Based on the available memory, the estimated maximum model length is {largest}. " if largest > 0 else ""
        error = (f"To serve at least one request with the model's max seq len ({max_model_len}), ({gib(needed)} GiB KV "
                 f"cache is needed, which is larger than the available KV cache memory ({gib(check)} GiB). {est}"
                 "Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when initializing the engine.")
    if derived is not None and max_model_len > derived and (mml is None or max_model_len > mml):
        error = (f"User-specified max_model_len ({max_model_len}) is greater than the derived max_model_len ({key}="
                 f"{derived} or model_max_length={mml} in model's config.json). To allow overriding this maximum, set "
                 f"the env var VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. {_LONG_LEN_WARNING}")  # fmt: skip
    num_blocks = available // per_block
    concurrency = num_blocks / per_req
    tokens = int(concurrency * max_model_len)
    terms += [
        Term("num_blocks", num_blocks, f"{available:,} // {per_block:,}"),
        Term("KV cache capacity", tokens, f"int({num_blocks} / {per_req} x {max_model_len}) tokens (get_kv_cache_capacity)"),
    ]
    return replace(head, kv_available=available, bytes_per_block=per_block, num_blocks=num_blocks, capacity_tokens=tokens,
                   concurrency=concurrency, largest_context=largest or None, terms=tuple(terms), error=error)


def _prefill_graph_sizes(max_bs: int) -> int:
    """How many prefill CUDA graph sizes SGLang captures up to ``max_bs`` tokens
    (arg_groups/cuda_graph_hook.py generate_prefill_cuda_graph_batch_sizes)."""
    sizes = [*range(4, 33, 4), *range(48, 257, 16), *range(288, 513, 32), *range(576, 1025, 64),
             *range(1280, 4097, 256), *range(4608, max_bs + 1, 512)]  # fmt: skip
    return sum(1 for x in sizes if x <= max_bs)


def sglang_mem_fraction(memory: int, *, mla: bool = False) -> tuple[float, str]:
    """SGLang's default ``mem_fraction_static`` for one CUDA GPU of ``memory`` bytes (tp 1, text model)."""
    gpu_mb = memory / MIB
    tiers = ((20, 2048, 8), (35, 4096, 48), (60, 4096, 32), (90, 8192, 256), (160, 8192, 256))
    chunk, max_bs = next(((c, b) for limit, c, b in tiers if gpu_mb < limit * 1024), (16384, 512))
    prefill = 1.5 * 1024 if mla else 8 * _prefill_graph_sizes(chunk if not mla else min(8192, chunk))
    reserved = 512 + max(chunk, 2048) * 1.5 + 1 / 8 * 1024 + max_bs * 2 + prefill
    if gpu_mb > 60 * 1024:
        reserved = max(reserved, 10 * 1024)
    fraction = round((gpu_mb - reserved) / gpu_mb, 3)
    formula = (f"round(({gpu_mb:g} - {reserved:g}) / {gpu_mb:g}, 3): reserved MB = 512 + 1.5 x {max(chunk, 2048)} "
               f"+ 128 + 2 x {max_bs} + {prefill:g} (prefill graphs)")  # fmt: skip
    return fraction, formula


def sglang(
    s: ModelSummary, layout: Layout, memory: int, context: int, *, mem_fraction_static: float | None = None,
    kv_cache_dtype: str = "auto", version: str | None = None,
) -> Serving:  # fmt: skip
    """SGLang's KV pool on one GPU of ``memory`` bytes, all of it free before loading."""
    name, act = load_dtype(layout)
    cache = kv_cache_dtype.lower()
    cache_bytes = act if cache == "auto" else _BYTES.get(cache, 0)
    if not cache_bytes:
        raise ValueError(f"unknown SGLang kv-cache dtype {kv_cache_dtype!r}")
    mla = any(spec.kind == "mla" for spec in layout.layers)
    if mem_fraction_static is None:
        fraction, f_formula = sglang_mem_fraction(memory, mla=mla)
    else:
        fraction, f_formula = mem_fraction_static, "given"
    w = weights_loaded(s, act)
    budget = int(memory * max(fraction, 0))
    terms = [Term("mem_fraction_static", fraction, f_formula + " (_handle_gpu_memory_settings)"),
             Term("weights as loaded", w, f"float tensors in {name} ({act} B), quantized tensors as stored")]  # fmt: skip
    head = Serving("sglang", version, memory, context, budget, w, None, name if cache == "auto" else cache, terms=tuple(terms),
                   not_counted=("activations and CUDA graphs: inside the 1 - mem_fraction_static SGLang reserves",
                                "the CUDA context, which makes free memory before loading smaller than the card"))  # fmt: skip
    kinds = {spec.kind for spec in layout.layers if spec.kind != "none"}
    hybrid = "swa" in kinds
    if layout.no_cache or layout.unknown or not kinds or w is None or kinds - ({"full", "swa"} if hybrid else {"full", "mla"}):
        odd = kinds - ({"full", "swa"} if hybrid else {"full", "mla"})
        why = ("no KV cache" if layout.no_cache else layout.unknown or
               ("weights unknown" if w is None else f"layers of kind {', '.join(sorted(odd))}{' beside sliding ones' if hybrid else ''}: "
                "SGLang's pools for them are not modelled"))  # fmt: skip
        return replace(head, note=why)

    def per_token(kind: str) -> int:
        return sum((1 if spec.kind == "mla" else spec.kv_heads) * (spec.head_dim_k + (0 if spec.kind == "mla" else spec.head_dim_v))
                   for spec in layout.layers if spec.kind == kind) * cache_bytes  # fmt: skip

    full, swa = per_token("full") + per_token("mla"), per_token("swa")
    # HybridSWAPoolConfigurator: a full-pool token carries swa_full_tokens_ratio SWA-pool tokens
    cell: int | float = full + SWA_FULL_TOKENS_RATIO * swa if full and swa else full or swa
    cell_f = (f"{full:,} (full layers) + {SWA_FULL_TOKENS_RATIO} x {swa:,} (sliding layers; swa_full_tokens_ratio) "
              "(HybridSWAPoolConfigurator)" if full and swa else
              "per token: kv heads x (K + V head dims) x layers x dtype bytes (DefaultPoolConfigurator)")  # fmt: skip
    rest = budget - w
    terms += [Term("rest memory", rest, f"{memory:,} x {fraction} - {w:,} (_profile_available_bytes, all memory free before loading)"),
              Term("cell size", cell, cell_f)]  # fmt: skip
    if fraction <= 0:
        return replace(head, kv_available=rest, terms=tuple(terms),
                       error=f"the default mem_fraction_static is {fraction} for this memory: SGLang's reserve for "
                       "activations and CUDA graphs exceeds it; pass --mem-fraction-static")  # fmt: skip
    if rest <= 0:
        minimum = 1 - (memory - w) / memory
        error: str | None = (f"Loaded weights leave no GPU memory for the KV cache under --mem-fraction-static={fraction}. "
                 f"Raise --mem-fraction-static above {math.ceil(minimum * 1000) / 1000:.3f}")
        return replace(head, kv_available=rest, terms=tuple(terms), error=error)
    tokens = int(rest // cell)
    # managers/tp_worker.py: max_req_len = min(context_len - 1, max_total_num_tokens - 1); asserts it is > 0
    max_req = min(context - 1, tokens - 1)
    terms += [Term("max_total_num_tokens", tokens, f"int({rest:,} // {cell:,})"),
              Term("longest request", max_req, f"min({context} - 1, {tokens} - 1) (tp_worker.py)")]  # fmt: skip
    error = "Memory pool size is too small" if max_req <= 0 else None
    if full and swa:
        swa_tokens = int(tokens * SWA_FULL_TOKENS_RATIO)
        window = min(spec.window or 0 for spec in layout.layers if spec.kind == "swa")
        terms.append(Term("SWA pool tokens", swa_tokens, f"int({tokens} x {SWA_FULL_TOKENS_RATIO}) (_solve_pool_sizes)"))
        if window + 1 >= swa_tokens:  # validate_swa_pool_size, page size 1
            error = (f"SWA pool ({swa_tokens} tokens) cannot hold even one request: the prefill admission floor is "
                     f"sliding_window_size ({window}) + page_size (1). Increase --swa-full-tokens-ratio or the total KV budget.")
    return replace(head, kv_available=rest, bytes_per_block=cell if isinstance(cell, int) else None, capacity_tokens=tokens,
                   concurrency=tokens / context, largest_context=min(tokens - 1, layout.max_context or tokens) if tokens > 1 else None,
                   terms=tuple(terms), error=error)

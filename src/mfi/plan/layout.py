"""What each layer keeps per token: attention kind, KV heads, head dims, window, recurrent state.

One normalised ``Layout`` from GGUF keys or from config.json (``config.*`` in the summary's
metadata), so the same model read from either format gives the same KV-cache figures. The rules
follow llama.cpp (src/llama-hparams.cpp, src/llama-model.cpp, src/llama-kv-cache.cpp); docs/memory.md
cites each one.

Every value read from the file is checked before use (``_int``, ``_count``, ``_str``): a value of the
wrong type or sign makes the figure unknown, never a crash or a negative size. A layer count above
``limits.MAX_LAYERS`` raises ``LimitError`` (``deploy.plan`` turns it into an unknown layout and a
warning, so ``inspect`` still answers).
"""

from __future__ import annotations

from typing import Any

from ..errors import LimitError
from ..formats import tables
from ..limits import MAX_LAYERS
from ..records import ArrayValue, ModelSummary
from ..summary.architecture import config_field, text_config
from ..summary.fields import count as _count, positive as _int, text as _str
from .records import LayerSpec, Layout

#: llama.cpp allocates no KV cache for these GGUF architectures (llama_model::create_memory).
NO_CACHE_GGUF = frozenset({
    "bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "neo-bert", "modern-bert",
    "gemma-embedding", "wavtokenizer-dec", "dream", "llada", "llada-moe", "rnd1", "t5encoder",
})  # fmt: skip
#: config.json model types of encoder-only models (bidirectional attention, no KV cache).
ENCODER_CONFIG = frozenset({
    "bert", "roberta", "xlm-roberta", "distilbert", "nomic_bert", "modernbert", "neobert", "electra",
    "camembert", "deberta", "deberta-v2", "jina_bert", "new", "mpnet", "albert",
})  # fmt: skip
#: llama.cpp's built-in sliding-window patterns: layer i is sliding iff i % n < n - 1
#: (llama_hparams::set_swa_pattern; gemma2 2, gemma3 6, cohere2 4, gpt-oss 2).
SWA_PATTERN_GGUF = {"gemma2": 2, "gemma3": 6, "cohere2": 4, "gpt-oss": 2}
#: The same defaults for config.json model types without ``layer_types`` or a pattern key.
SWA_PATTERN_CONFIG = {"gemma2": 2, "gemma3": 6, "gemma3_text": 6, "cohere2": 4}
#: Purely recurrent GGUF architectures (llm_arch_is_recurrent).
RECURRENT_GGUF = frozenset({"mamba", "mamba2", "rwkv6", "rwkv6qwen2", "rwkv7", "arwkv7"})
#: Hybrid GGUF architectures (llm_arch_is_hybrid); recurrent layers have 0 KV heads unless noted.
HYBRID_GGUF = frozenset({
    "jamba", "falcon-h1", "plamo2", "granitehybrid", "lfm2", "lfm2moe", "nemotron_h", "nemotron_h_moe",
    "qwen3next", "qwen35", "qwen35moe", "kimi-linear",
})  # fmt: skip
#: Hybrids whose recurrent layers are every layer but each ``full_attention_interval``-th.
INTERVAL_GGUF = frozenset({"qwen3next", "qwen35", "qwen35moe"})
_RECURRENT_TYPES = ("linear_attention", "mamba", "conv", "recurrent", "linear")


def _check_layers(n: int, key: str, source: str) -> None:
    """Refuse a layer count above the cap before any per-layer list is built."""
    if n > MAX_LAYERS:
        raise LimitError(source, f"{key} = {n:,} exceeds the cap of {MAX_LAYERS:,} layers (MAX_LAYERS)")


def _per_layer(v: Any, n: int) -> list[Any] | None:
    """A scalar broadcast to n layers, or a complete per-layer array."""
    if isinstance(v, ArrayValue):
        return list(v.samples) if v.complete and v.count == n else None
    if isinstance(v, (list, tuple)):
        return list(v) if len(v) == n else None
    return None if v is None else [v] * n


def from_summary(s: ModelSummary) -> Layout:
    """The layout of a summarised model, from GGUF keys or config.json (``LimitError`` past a cap)."""
    if s.format == "gguf":
        return from_gguf(s.metadata, source=s.target)
    config = s.config
    if not config:
        return Layout(None, unknown="no config.json beside the weights")
    source = next((f.path for f in s.files if f.path.endswith("config.json") and f.role == "config"), s.target)
    return from_config(config, source=source)


def _recurrent_state(d_conv: int, d_inner: int, d_state: int, n_group: int) -> tuple[int, int]:
    # llama_hparams::n_embd_r / n_embd_s: conv state (d_conv - 1) x (d_inner + 2 n_group d_state),
    # SSM state d_state x d_inner.
    return (max(d_conv - 1, 0) * (d_inner + 2 * n_group * d_state), d_state * d_inner)


def from_gguf(md: dict[str, Any], *, source: str = "GGUF metadata") -> Layout:
    """Layer facts from GGUF keys, with llama.cpp's own defaults where a key is absent."""
    c = tables.gguf_constants().Keys
    arch = md.get(c.General.ARCHITECTURE)
    if not isinstance(arch, str):
        return Layout(None, unknown="no general.architecture key")

    def key(template: str) -> Any:
        return md.get(template.format(arch=arch))

    n = _int(key(c.LLM.BLOCK_COUNT))
    ctx = _int(key(c.LLM.CONTEXT_LENGTH))
    if arch in NO_CACHE_GGUF:
        return Layout(arch, no_cache=True, max_context=ctx, notes=(f"llama.cpp keeps no KV cache for {arch}",))
    if not n:
        return Layout(arch, max_context=ctx, unknown=f"{arch}.block_count missing or not a positive integer")
    _check_layers(n, f"{arch}.block_count", source)
    for template in (c.Attention.HEAD_COUNT, c.Attention.HEAD_COUNT_KV):
        raw = key(template)
        if isinstance(raw, ArrayValue) and not raw.complete:
            return Layout(arch, max_context=ctx, unknown=f"{template.format(arch=arch)} has {raw.count} per-layer values; only samples were read")
    bad = [t.format(arch=arch) for t in (c.LLM.EMBEDDING_LENGTH, c.Attention.KEY_LENGTH, c.Attention.VALUE_LENGTH)
           if key(t) is not None and _int(key(t)) is None]  # fmt: skip
    if bad:
        return Layout(arch, max_context=ctx, unknown=f"{', '.join(bad)} not a positive integer")
    heads = _per_layer(key(c.Attention.HEAD_COUNT), n)
    kv = _per_layer(key(c.Attention.HEAD_COUNT_KV), n) or heads
    embd = _int(key(c.LLM.EMBEDDING_LENGTH))
    if not heads or not kv or not all(_count(h) is not None for h in heads + kv):
        return Layout(arch, max_context=ctx, unknown="attention head counts missing or not per-layer")
    h0 = max(heads) or 1
    hk = _int(key(c.Attention.KEY_LENGTH)) or (embd // h0 if embd else None)
    hv = _int(key(c.Attention.VALUE_LENGTH)) or hk
    if hk is None or hv is None:
        return Layout(arch, max_context=ctx, unknown="head dimension unknown (no key_length or embedding_length)")
    hk_swa = _int(key(c.Attention.KEY_LENGTH_SWA)) or hk
    hv_swa = _int(key(c.Attention.VALUE_LENGTH_SWA)) or hv
    notes: list[str] = []
    mla = _int(key(c.Attention.KEY_LENGTH_MLA)) is not None and _int(key(c.Attention.VALUE_LENGTH_MLA)) is not None
    if mla:
        notes.append("MLA: K holds the compressed latent (key_length = kv_lora_rank + rope dims), no V cache")
    window = _int(key(c.Attention.SLIDING_WINDOW))
    swa = [False] * n
    pattern = key(c.Attention.SLIDING_WINDOW_PATTERN)
    if window:
        if isinstance(pattern, ArrayValue) or isinstance(pattern, (list, tuple)):
            flags = _per_layer(pattern, n)
            if flags and all(isinstance(x, (bool, int)) for x in flags):
                swa = [bool(x) for x in flags]
                notes.append(f"sliding layers from {arch}.attention.sliding_window_pattern")
            else:
                notes.append(f"{arch}.attention.sliding_window_pattern is not {n} flags: all layers counted as full")
        elif p := _int(pattern):
            swa = [i % p < p - 1 for i in range(n)]
            notes.append(f"sliding iff layer % {p} < {p - 1} ({arch}.attention.sliding_window_pattern)")
        elif arch in SWA_PATTERN_GGUF:
            p = SWA_PATTERN_GGUF[arch]
            swa = [i % p < p - 1 for i in range(n)]
            notes.append(f"no pattern key: llama.cpp's built-in {arch} pattern, sliding iff layer % {p} < {p - 1}")
        else:
            notes.append(f"sliding_window {window} is not used by llama.cpp for {arch}: all layers counted as full")
    recurrent = [arch in RECURRENT_GGUF] * n
    state = (0, 0)
    if arch in HYBRID_GGUF or arch in RECURRENT_GGUF:
        if arch in INTERVAL_GGUF:
            interval = _int(md.get(c.LLM.FULL_ATTENTION_INTERVAL.format(arch=arch))) or 4
            recurrent = [(i + 1) % interval != 0 for i in range(n)]
            notes.append(f"recurrent iff (layer + 1) % {interval} != 0 ({arch}.full_attention_interval)")
        elif arch == "falcon-h1":
            recurrent = [True] * n  # every layer has both attention and an SSM
        elif arch in HYBRID_GGUF:
            recurrent = [k == 0 for k in kv]
        d_conv = _int(key(c.SSM.CONV_KERNEL))
        d_inner = _int(key(c.SSM.INNER_SIZE))
        d_state = _int(key(c.SSM.STATE_SIZE))
        if d_conv is not None and d_inner is not None and d_state is not None:
            state = _recurrent_state(d_conv, d_inner, d_state, _int(key(c.SSM.GROUP_COUNT)) or 0)
        else:
            notes.append("recurrent state size not computed (no ssm.* keys for this architecture)")
    layers = []
    for i in range(n):
        if recurrent[i]:
            layers.append(LayerSpec(i, "recurrent", state_r=state[0], state_s=state[1]))
            if arch != "falcon-h1":
                continue
        if kv[i] == 0:
            if not recurrent[i]:
                layers.append(LayerSpec(i, "none"))
            continue
        if mla:
            layers.append(LayerSpec(i, "mla", kv[i], hk, 0))
        elif swa[i]:
            layers.append(LayerSpec(i, "swa", kv[i], hk_swa, hv_swa, window))
        else:
            layers.append(LayerSpec(i, "full", kv[i], hk, hv))
    return Layout(arch, tuple(layers), max_context=ctx, notes=tuple(notes))


def _layer_kinds(text: dict[str, Any], model_type: str, n: int, window: int | None) -> tuple[list[str], list[str]]:
    """Per-layer kind from ``layer_types``, a pattern key, or the model type's default."""
    notes: list[str] = []
    types = text.get("layer_types")
    if isinstance(types, list) and len(types) == n and all(isinstance(t, str) for t in types):
        kinds = []
        for t in types:
            if t in ("sliding_attention", "chunked_attention"):
                kinds.append("swa" if window else "full")
            elif any(r in t for r in _RECURRENT_TYPES):
                kinds.append("recurrent")
            else:
                kinds.append("full")
        notes.append("layer kinds from layer_types")
        return kinds, notes
    if model_type == "jamba":
        period, offset = _int(text.get("attn_layer_period")) or 8, _count(text.get("attn_layer_offset"))
        offset = 4 if offset is None else offset
        notes.append(f"attention iff layer % {period} == {offset} (attn_layer_period/offset)")
        return ["full" if i % period == offset else "recurrent" for i in range(n)], notes
    if model_type in ("qwen3_next",):
        interval = _int(text.get("full_attention_interval")) or 4
        notes.append(f"recurrent iff (layer + 1) % {interval} != 0 (full_attention_interval)")
        return ["recurrent" if (i + 1) % interval else "full" for i in range(n)], notes
    if not window:
        return ["full"] * n, notes
    pattern = _int(text.get("sliding_window_pattern")) or SWA_PATTERN_CONFIG.get(model_type)
    if pattern:
        notes.append(f"sliding iff layer % {pattern} < {pattern - 1}")
        return ["swa" if i % pattern < pattern - 1 else "full" for i in range(n)], notes
    notes.append(f"sliding_window {window} without a per-layer pattern: llama.cpp ignores it; counted as full")
    return ["full"] * n, notes


def _config_state(text: dict[str, Any], model_type: str, hidden: int | None) -> tuple[int, int] | None:
    """Recurrent state elements per sequence per layer, in llama.cpp's terms."""
    if model_type == "qwen3_next" or "linear_key_head_dim" in text:
        k, v = _int(text.get("linear_key_head_dim")), _int(text.get("linear_value_head_dim"))
        nk, nv = _int(text.get("linear_num_key_heads")), _int(text.get("linear_num_value_heads"))
        conv = _int(text.get("linear_conv_kernel_dim"))
        if k is None or v is None or nk is None or nv is None or conv is None:
            return None
        # convert_hf_to_gguf: ssm.d_state = key head dim, group_count = key heads, inner = v dim x v heads
        return _recurrent_state(conv, v * nv, k, nk)
    d_conv = _int(text.get("mamba_d_conv", text.get("conv_kernel")))
    d_state = _int(text.get("mamba_d_state", text.get("state_size")))
    expand = _int(text.get("mamba_expand", text.get("expand")))
    if d_conv is None or d_state is None or expand is None or not hidden:
        return None
    return _recurrent_state(d_conv, expand * hidden, d_state, _int(text.get("n_groups")) or 0)


def from_config(config: dict[str, Any], *, source: str = "config.json") -> Layout:
    """Layer facts from config.json (text_config nesting, layer_types, MLA and hybrid keys)."""
    text = text_config(config)
    model_type = _str(text.get("model_type")) or _str(config.get("model_type"))
    ctx = _int(config_field(text, "context_length")[1])
    dtype = text.get("torch_dtype", text.get("dtype", config.get("torch_dtype", config.get("dtype"))))
    dtype = dtype if isinstance(dtype, str) else None
    if model_type in ENCODER_CONFIG or _str(config.get("model_type")) in ENCODER_CONFIG:
        return Layout(model_type, no_cache=True, max_context=ctx, dtype=dtype, notes=("encoder-only model: no KV cache",))
    layers_key, n = config_field(text, "layers")
    n, heads = _int(n), _int(config_field(text, "attention_heads")[1])
    if not n or not heads:
        return Layout(model_type, max_context=ctx, dtype=dtype,
                      unknown="config.json lacks num_hidden_layers or num_attention_heads (or they are not positive integers)")  # fmt: skip
    _check_layers(n, layers_key or "num_hidden_layers", source)
    found = {f: config_field(text, f) for f in ("kv_heads", "head_dim", "hidden_size")}
    found["v_head_dim"] = ("v_head_dim", text.get("v_head_dim"))
    bad = [k for k, v in found.values() if k is not None and v is not None and _int(v) is None]
    if bad:
        return Layout(model_type, max_context=ctx, dtype=dtype, unknown=f"config.json: {', '.join(bad)} not a positive integer")
    kv = _int(found["kv_heads"][1]) or heads
    hidden = _int(found["hidden_size"][1])
    hd = _int(found["head_dim"][1]) or (hidden // heads if hidden else None)
    if hd is None:
        return Layout(model_type, max_context=ctx, dtype=dtype, unknown="head dimension unknown")
    hv = _int(text.get("v_head_dim")) if "v_head_dim" in text and not text.get("kv_lora_rank") else hd
    window = _int(text.get("sliding_window"))
    if text.get("use_sliding_window") is False:
        window = None
    kinds, notes = _layer_kinds(text, model_type, n, window)
    lora = _int(text.get("kv_lora_rank"))
    rope = _count(text.get("qk_rope_head_dim"))
    state = None
    if "recurrent" in kinds:
        state = _config_state(text, model_type, hidden)
        if state is None:
            notes.append("recurrent state size not computed (unknown state keys)")
    layers = []
    for i, kind in enumerate(kinds):
        if kind == "recurrent":
            r, s = state or (0, 0)
            layers.append(LayerSpec(i, "recurrent", state_r=r, state_s=s))
        elif lora and rope is not None:
            layers.append(LayerSpec(i, "mla", 1, lora + rope, 0))
        elif kind == "swa":
            layers.append(LayerSpec(i, "swa", kv, hd, hv or hd, window))
        else:
            layers.append(LayerSpec(i, "full", kv, hd, hv or hd))
    if lora and rope is not None:
        notes.append("MLA: K holds the compressed latent (kv_lora_rank + qk_rope_head_dim), no V cache")
    return Layout(model_type, tuple(layers), max_context=ctx, dtype=dtype, notes=tuple(notes))

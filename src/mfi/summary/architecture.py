"""Architecture fields normalised to one set of names, from config.json or from GGUF keys."""

from __future__ import annotations

from typing import Any

from ..formats import tables
from ..records import Architecture, ArrayValue
from .fields import mapping, number, positive

# config.json spells the same field several ways across model families; first match wins.
_CONFIG_ALIASES: dict[str, tuple[str, ...]] = {
    "layers": ("num_hidden_layers", "n_layer", "num_layers", "n_layers"),
    "hidden_size": ("hidden_size", "n_embd", "d_model", "dim"),
    "intermediate_size": ("intermediate_size", "ffn_dim", "n_inner", "ffn_hidden_size"),
    "attention_heads": ("num_attention_heads", "n_head", "num_heads", "n_heads"),
    "kv_heads": ("num_key_value_heads", "num_kv_heads", "n_kv_heads", "multi_query_group_num"),
    "head_dim": ("head_dim", "kv_channels"),
    "vocab_size": ("vocab_size", "padded_vocab_size"),
    "context_length": ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length", "n_ctx"),
    "experts": ("num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts"),
    "experts_used": ("num_experts_per_tok", "num_experts_per_token", "moe_top_k", "top_k_experts"),
    "expert_intermediate_size": ("moe_intermediate_size", "expert_intermediate_size"),
    "norm_eps": ("rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon", "norm_eps"),
}

_TOWER_ALIASES: dict[str, tuple[str, ...]] = {
    "model_type": ("model_type",),
    "layers": ("depth", "num_hidden_layers", "num_layers", "encoder_layers"),
    "hidden_size": ("hidden_size", "embed_dim", "d_model", "width"),
    "intermediate_size": ("intermediate_size",),
    "attention_heads": ("num_heads", "num_attention_heads", "encoder_attention_heads"),
    "patch_size": ("patch_size",),
    "image_size": ("image_size",),
    "out_hidden_size": ("out_hidden_size", "projection_dim"),
}


def _first(d: dict[str, Any], names: tuple[str, ...]) -> Any:
    return config_key(d, names)[1]


def config_key(d: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, Any]:
    """(the key, its value) of the first of ``names`` that ``d`` sets, or ``(None, None)``."""
    for n in names:
        v = d.get(n)
        if v is not None:
            return n, v
    return None, None


def config_field(text: dict[str, Any], field: str) -> tuple[str | None, Any]:
    """The raw value of a normalised field (``layers``, ``kv_heads``...) in a (text) config, by the alias table.

    The one place config.json's spellings are known: ``from_config`` here and ``plan.layout`` both
    read through it, so every alias inspect accepts feeds compare and plan too.
    """
    return config_key(text, _CONFIG_ALIASES[field])


def text_config(config: dict[str, Any]) -> dict[str, Any]:
    """The part of a config that describes the language model (nested in multimodal configs)."""
    for key in ("text_config", "llm_config", "language_config", "thinker_config"):
        sub = config.get(key)
        if isinstance(sub, dict) and sub:
            return sub
    return config


def from_config(config: dict[str, Any]) -> Architecture:
    """Normalise a transformers config.json."""
    text = text_config(config)
    f = {field: positive(_first(text, names)) for field, names in _CONFIG_ALIASES.items() if field != "norm_eps"}
    norm_eps = number(_first(text, _CONFIG_ALIASES["norm_eps"]))
    if f["vocab_size"] is None:
        f["vocab_size"] = positive(config.get("vocab_size"))
    if f["kv_heads"] is None:  # transformers' own default: plain multi-head attention
        f["kv_heads"] = f["attention_heads"]
    if f["head_dim"] is None and f["hidden_size"] and f["attention_heads"]:
        f["head_dim"] = f["hidden_size"] // f["attention_heads"]
    # transformers 5 moved rope_theta and rope_scaling into rope_parameters.
    rope_params = mapping(text.get("rope_parameters"))
    rope_theta = number(text.get("rope_theta", rope_params.get("rope_theta")))
    scaling = text.get("rope_scaling") or {k: v for k, v in rope_params.items() if k != "rope_theta"} or None
    if isinstance(scaling, dict) and scaling.get("rope_type", scaling.get("type")) == "default" and len(scaling) == 1:
        scaling = None
    window = text.get("sliding_window")
    if text.get("use_sliding_window") is False:  # qwen2 configs carry a window they do not use
        window = None
    architectures = config.get("architectures")
    architectures = architectures if isinstance(architectures, list) else []
    towers = {}
    for key, label in (("vision_config", "vision"), ("audio_config", "audio")):
        sub = config.get(key)
        if isinstance(sub, dict):
            towers[label] = {k: v for k, v in ((k, _first(sub, n)) for k, n in _TOWER_ALIASES.items()) if v is not None}
    tie = config.get("tie_word_embeddings", text.get("tie_word_embeddings"))
    model_type = config.get("model_type")
    return Architecture(
        name=model_type if isinstance(model_type, str) else None,
        cls=architectures[0] if architectures and isinstance(architectures[0], str) else None,
        rope_theta=float(rope_theta) if rope_theta is not None else None,
        rope_scaling=scaling if isinstance(scaling, dict) else None,
        sliding_window=positive(window),
        tie_word_embeddings=tie if isinstance(tie, bool) else None,
        towers=towers,
        norm_eps=norm_eps,
        **f,
    )


def _scalar(v: Any) -> Any:
    """A GGUF value as one number: per-layer arrays (OpenELM, Gemma 3n) give their maximum."""
    if isinstance(v, ArrayValue):
        nums = [x for x in v.samples if isinstance(x, (int, float))]
        return max(nums) if nums and v.complete else None
    return v


def from_gguf(metadata: dict[str, Any], tensor_names: set[str]) -> Architecture:
    """Normalise GGUF keys (``{arch}.block_count``...) to the same fields."""
    c = tables.gguf_constants().Keys
    arch = metadata.get(c.General.ARCHITECTURE)
    if not isinstance(arch, str):
        return Architecture()

    def raw(template: str) -> Any:
        return _scalar(metadata.get(template.format(arch=arch)))

    def key(template: str) -> Any:  # a count: a positive integer or unknown
        return positive(raw(template))

    def real(template: str) -> float | None:
        return number(raw(template))

    heads = key(c.Attention.HEAD_COUNT)
    hidden = key(c.LLM.EMBEDDING_LENGTH)
    head_dim = key(c.Attention.KEY_LENGTH) or (hidden // heads if hidden and heads else None)
    kv = key(c.Attention.HEAD_COUNT_KV)
    tokens = metadata.get(c.Tokenizer.LIST)
    vocab = key(c.LLM.VOCAB_SIZE) or (tokens.count if isinstance(tokens, ArrayValue) else None)
    scaling_type = raw(c.Rope.SCALING_TYPE)
    scaling_type = scaling_type if isinstance(scaling_type, str) else None
    scaling: dict[str, Any] | None = None
    if scaling_type and scaling_type != "none":
        scaling = {"rope_type": scaling_type}
        for k, template in (("factor", c.Rope.SCALING_FACTOR), ("original_max_position_embeddings", c.Rope.SCALING_ORIG_CTX_LEN)):
            if real(template) is not None:
                scaling[k] = real(template)
    has_tokens = any(n.startswith("token_embd") for n in tensor_names)
    return Architecture(
        name=arch,
        layers=key(c.LLM.BLOCK_COUNT),
        hidden_size=hidden,
        intermediate_size=key(c.LLM.FEED_FORWARD_LENGTH),
        attention_heads=heads,
        kv_heads=kv if kv is not None else heads,
        head_dim=head_dim,
        vocab_size=vocab,
        context_length=key(c.LLM.CONTEXT_LENGTH),
        rope_theta=real(c.Rope.FREQ_BASE),
        rope_scaling=scaling,
        experts=key(c.LLM.EXPERT_COUNT),
        experts_used=key(c.LLM.EXPERT_USED_COUNT),
        expert_intermediate_size=key(c.LLM.EXPERT_FEED_FORWARD_LENGTH),
        sliding_window=key(c.Attention.SLIDING_WINDOW),
        norm_eps=real(c.Attention.LAYERNORM_RMS_EPS) or real(c.Attention.LAYERNORM_EPS),
        tie_word_embeddings=(has_tokens and "output.weight" not in tensor_names) if tensor_names else None,
    )

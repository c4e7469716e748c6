"""A MiniLM-shaped BERT pair: a Hugging Face folder and the GGUF llama.cpp's converter makes of it.

The GGUF is written as convert_hf_to_gguf.py's BertModel writes one (conversion/bert.py):
``embeddings.position_ids`` and the pooler dropped (filter_tensors), WordPiece tokens re-spelled
with the phantom space (set_vocab: ``##x`` -> ``x``, other non-control tokens get ``\u2581``),
``tokenizer.ggml.pre`` named by the tokenizer's hash (``jina-v2-en`` for MiniLM), and ``bos``/``eos``
taken from ``cls``/``sep`` (gguf SpecialVocab._load). Weights stay F32 and bit-identical.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LAYERS, HIDDEN, HEADS, FFN, POSITIONS = 2, 32, 4, 64, 64
#: bert-base-uncased's special ids, which MiniLM keeps.
PAD, UNK, CLS, SEP, MASK = 0, 100, 101, 102, 103
WORDS = ["the", "##s", "model", "##ing", "file", "in", "##side", "a", "##ed", "run"]


def vocab() -> list[str]:
    """The WordPiece vocabulary in id order."""
    toks = ["[PAD]"] + [f"[unused{i}]" for i in range(UNK - 1)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    return toks + WORDS


def weights(seed: int = 0) -> dict[str, np.ndarray]:
    """The HF BertModel tensors (with position_ids and the pooler, as sentence-transformers ships them)."""
    rng = np.random.default_rng(seed)
    V = len(vocab())

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(np.float32) * 0.02

    w = {
        "embeddings.word_embeddings.weight": r(V, HIDDEN),
        "embeddings.position_embeddings.weight": r(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": r(2, HIDDEN),
        "embeddings.LayerNorm.weight": np.ones(HIDDEN, np.float32),
        "embeddings.LayerNorm.bias": np.zeros(HIDDEN, np.float32),
        "embeddings.position_ids": np.arange(POSITIONS, dtype=np.int64)[None, :],
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name, (rows, cols) in {
            "attention.self.query": (HIDDEN, HIDDEN), "attention.self.key": (HIDDEN, HIDDEN),
            "attention.self.value": (HIDDEN, HIDDEN), "attention.output.dense": (HIDDEN, HIDDEN),
            "intermediate.dense": (FFN, HIDDEN), "output.dense": (HIDDEN, FFN),
        }.items():  # fmt: skip
            w[p + name + ".weight"] = r(rows, cols)
            w[p + name + ".bias"] = r(rows)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            w[p + norm + ".weight"] = np.ones(HIDDEN, np.float32)
            w[p + norm + ".bias"] = np.zeros(HIDDEN, np.float32)
    w["pooler.dense.weight"] = r(HIDDEN, HIDDEN)
    w["pooler.dense.bias"] = r(HIDDEN)
    return w


def write_hf(folder: Path) -> Path:
    """config.json, tokenizer.json (WordPiece), tokenizer_config.json and model.safetensors."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    toks = vocab()
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": HIDDEN, "num_hidden_layers": LAYERS,
        "num_attention_heads": HEADS, "intermediate_size": FFN, "vocab_size": len(toks),
        "max_position_embeddings": POSITIONS, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": PAD,
        "hidden_act": "gelu",
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config))
    special = [PAD, UNK, CLS, SEP, MASK]
    tokenizer = {
        "version": "1.0",
        "added_tokens": [{"id": i, "content": toks[i], "special": True} for i in special],
        "normalizer": {"type": "BertNormalizer", "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "vocab": {t: i for i, t in enumerate(toks)}},
    }
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    tc = {"cls_token": "[CLS]", "sep_token": "[SEP]", "mask_token": "[MASK]", "pad_token": "[PAD]", "unk_token": "[UNK]", "do_lower_case": True}
    (folder / "tokenizer_config.json").write_text(json.dumps(tc))
    save_file(weights(), str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def write_gguf(path: Path) -> Path:
    """The f32 GGUF convert_hf_to_gguf.py writes of ``write_hf``'s folder."""
    import gguf

    toks = vocab()
    control = {PAD, UNK, CLS, SEP, MASK}
    # BertModel.set_vocab's phantom(): control tokens as they are, "##x" -> "x", others "\u2581" + tok
    phantom = [t if i in control else (t[2:] if t.startswith("##") else "\u2581" + t) for i, t in enumerate(toks)]
    types = [gguf.TokenType.CONTROL if i in control else gguf.TokenType.NORMAL for i in range(len(toks))]
    w = gguf.GGUFWriter(str(path), "bert")
    w.add_block_count(LAYERS)
    w.add_context_length(POSITIONS)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_layer_norm_eps(1e-12)
    w.add_causal_attention(False)
    w.add_pooling_type(gguf.PoolingType.MEAN)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_token_type_count(2)
    w.add_tokenizer_model("bert")
    w.add_tokenizer_pre("jina-v2-en")
    w.add_token_list(phantom)
    w.add_token_types(types)
    for role, i in (("bos", CLS), ("eos", SEP), ("unknown", UNK), ("seperator", SEP), ("padding", PAD), ("mask", MASK)):
        # SpecialVocab.add_to_gguf's keys (gguf Keys.Tokenizer); it has no key for cls, which is written as bos
        w.add_uint32(f"tokenizer.ggml.{role}_token_id", i)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, LAYERS)
    for name, array in weights().items():
        if name in ("embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"):
            continue
        target = names.get_name(name, try_suffixes=(".weight", ".bias"))
        assert target is not None, name
        w.add_tensor(target, array)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path

"""A header-true, data-sparse GGUF shaped like Qwen3-8B Q4_K_M: real names, shapes, types and sizes.

Tensor data is a hole in a sparse file (the file is truncated to its real length), so the
summary, plan and screens see real-sized figures without writing gigabytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Qwen3-8B's config.json values.
LAYERS, HIDDEN, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB, CTX = 36, 4096, 32, 8, 128, 12288, 151936, 40960


def write_qwen3_8b(path: Path) -> Path:
    """Write the file; returns ``path``."""
    import gguf

    Q4, Q6, F32 = gguf.GGMLQuantizationType.Q4_K, gguf.GGMLQuantizationType.Q6_K, gguf.GGMLQuantizationType.F32
    w = gguf.GGUFWriter(str(path), "qwen3")
    w.add_name("Qwen3 8B")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    w.add_block_count(LAYERS)
    w.add_context_length(CTX)
    w.add_embedding_length(HIDDEN)
    w.add_feed_forward_length(FFN)
    w.add_head_count(HEADS)
    w.add_head_count_kv(KV_HEADS)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_rope_freq_base(1_000_000.0)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list([f"t{i}" for i in range(VOCAB - 3)] + ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    w.add_eos_token_id(VOCAB - 1)
    w.add_pad_token_id(VOCAB - 3)
    w.add_bos_token_id(VOCAB - 3)
    w.add_chat_template("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}")

    def info(name: str, shape: tuple[int, ...], qtype: gguf.GGMLQuantizationType) -> None:
        block, size = gguf.GGML_QUANT_SIZES[qtype]
        n = int(np.prod(shape))
        # shape as numpy (slowest first, in bytes for quantized types); the writer stores ne[] reversed
        if qtype == F32:
            w.add_tensor_info(name, shape, np.dtype(np.float32), n * 4, raw_dtype=qtype)
        else:
            byte_shape = (*shape[:-1], shape[-1] // block * size)
            w.add_tensor_info(name, byte_shape, np.dtype(np.uint8), n // block * size, raw_dtype=qtype)

    info("token_embd.weight", (VOCAB, HIDDEN), Q4)
    for i in range(LAYERS):
        b = f"blk.{i}."
        info(b + "attn_norm.weight", (HIDDEN,), F32)
        info(b + "attn_q.weight", (HEADS * HEAD_DIM, HIDDEN), Q4)
        info(b + "attn_k.weight", (KV_HEADS * HEAD_DIM, HIDDEN), Q4)
        info(b + "attn_v.weight", (KV_HEADS * HEAD_DIM, HIDDEN), Q6 if i % 4 == 0 else Q4)
        info(b + "attn_output.weight", (HIDDEN, HEADS * HEAD_DIM), Q4)
        info(b + "attn_q_norm.weight", (HEAD_DIM,), F32)
        info(b + "attn_k_norm.weight", (HEAD_DIM,), F32)
        info(b + "ffn_norm.weight", (HIDDEN,), F32)
        info(b + "ffn_gate.weight", (FFN, HIDDEN), Q4)
        info(b + "ffn_up.weight", (FFN, HIDDEN), Q4)
        info(b + "ffn_down.weight", (HIDDEN, FFN), Q6 if i % 4 == 0 else Q4)
    info("output_norm.weight", (HIDDEN,), F32)
    info("output.weight", (VOCAB, HIDDEN), Q6)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    total = path.stat().st_size
    align = 32
    total += (-total) % align
    with open(path, "r+b") as f:
        # the data section: each tensor's bytes padded to the alignment, as the writer would place them
        for t in w.tensors[0].values() if w.tensors else ():
            total += t.nbytes + (-t.nbytes) % align
        f.truncate(total)
    return path

"""KV cache and weight figures pinned to hand-computed values (llama.cpp rules, docs/memory.md).

Each model below is a real model's shape (layer count, heads, head dims, windows, MLA ranks,
recurrent state sizes) written as config.json and as the GGUF keys convert_hf_to_gguf.py writes;
the arithmetic of every expected value is spelled out beside it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mfi import api

from mfi.plan.assess import assess
from mfi.plan import layout
from mfi.plan import memory
from mfi.plan.records import Options

F16 = 2  # bytes per f16 element
K4, K32 = 4096, 32768

# ---- configs (config.json) and the GGUF keys of the same models -------------------------------

LLAMA3_8B = dict(model_type="llama", architectures=["LlamaForCausalLM"], num_hidden_layers=32, hidden_size=4096,
                 num_attention_heads=32, num_key_value_heads=8, intermediate_size=14336, vocab_size=128256,
                 max_position_embeddings=131072, torch_dtype="bfloat16")  # fmt: skip
QWEN3_8B = dict(model_type="qwen3", architectures=["Qwen3ForCausalLM"], num_hidden_layers=36, hidden_size=4096,
                num_attention_heads=32, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                sliding_window=None, use_sliding_window=False, torch_dtype="bfloat16")  # fmt: skip
QWEN3_30B_A3B = dict(model_type="qwen3_moe", architectures=["Qwen3MoeForCausalLM"], num_hidden_layers=48,
                     hidden_size=2048, num_attention_heads=32, num_key_value_heads=4, head_dim=128,
                     num_experts=128, num_experts_per_tok=8, moe_intermediate_size=768,
                     max_position_embeddings=40960, torch_dtype="bfloat16")  # fmt: skip
GEMMA3_27B = dict(model_type="gemma3", architectures=["Gemma3ForConditionalGeneration"],
                  text_config=dict(model_type="gemma3_text", num_hidden_layers=62, hidden_size=5376,
                                   num_attention_heads=32, num_key_value_heads=16, head_dim=128,
                                   sliding_window=1024, max_position_embeddings=131072),
                  vision_config=dict(model_type="siglip_vision_model", num_hidden_layers=27, hidden_size=1152))  # fmt: skip
DEEPSEEK_V3 = dict(model_type="deepseek_v3", architectures=["DeepseekV3ForCausalLM"], num_hidden_layers=61,
                   hidden_size=7168, num_attention_heads=128, num_key_value_heads=128, kv_lora_rank=512,
                   q_lora_rank=1536, qk_rope_head_dim=64, qk_nope_head_dim=128, v_head_dim=128,
                   n_routed_experts=256, num_experts_per_tok=8, max_position_embeddings=163840)  # fmt: skip
QWEN3_NEXT = dict(model_type="qwen3_next", architectures=["Qwen3NextForCausalLM"], num_hidden_layers=48,
                  hidden_size=2048, num_attention_heads=16, num_key_value_heads=2, head_dim=256,
                  full_attention_interval=4, linear_conv_kernel_dim=4, linear_key_head_dim=128,
                  linear_value_head_dim=128, linear_num_key_heads=16, linear_num_value_heads=32,
                  max_position_embeddings=262144)  # fmt: skip
JAMBA = dict(model_type="jamba", architectures=["JambaForCausalLM"], num_hidden_layers=32, hidden_size=4096,
             num_attention_heads=32, num_key_value_heads=8, attn_layer_period=8, attn_layer_offset=4,
             mamba_d_conv=4, mamba_d_state=16, mamba_expand=2, max_position_embeddings=262144)  # fmt: skip
QWEN3_VL_8B = dict(model_type="qwen3_vl", architectures=["Qwen3VLForConditionalGeneration"],
                   text_config=dict(model_type="qwen3_vl_text", num_hidden_layers=36, hidden_size=4096,
                                    num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                                    max_position_embeddings=262144),
                   vision_config=dict(model_type="qwen3_vl", depth=27, hidden_size=1152))  # fmt: skip
BERT = dict(model_type="bert", architectures=["BertModel"], num_hidden_layers=12, hidden_size=768,
            num_attention_heads=12, max_position_embeddings=512)  # fmt: skip


def gguf_keys(arch: str, **kv) -> dict:
    """GGUF metadata as the reader returns it: ``{arch}.`` prefixed keys plus general.architecture."""
    return {"general.architecture": arch, **{f"{arch}.{k}": v for k, v in kv.items()}}


GGUF = {
    "llama": gguf_keys("llama", block_count=32, embedding_length=4096, **{"attention.head_count": 32, "attention.head_count_kv": 8}),
    "qwen3": gguf_keys("qwen3", block_count=36, embedding_length=4096, **{"attention.head_count": 32, "attention.head_count_kv": 8,
                       "attention.key_length": 128, "attention.value_length": 128}),
    "qwen3_moe": gguf_keys("qwen3moe", block_count=48, embedding_length=2048, **{"attention.head_count": 32,
                           "attention.head_count_kv": 4, "attention.key_length": 128, "attention.value_length": 128}),
    # gemma3 GGUFs carry the window but no pattern key: llama.cpp's built-in 5:1 pattern applies.
    "gemma3": gguf_keys("gemma3", block_count=62, embedding_length=5376, **{"attention.head_count": 32,
                        "attention.head_count_kv": 16, "attention.key_length": 128, "attention.value_length": 128,
                        "attention.sliding_window": 1024}),
    # convert_hf_to_gguf turns MLA into MQA: one KV head, key_length = kv_lora_rank + rope dims.
    "deepseek_v3": gguf_keys("deepseek2", block_count=61, embedding_length=7168, **{"attention.head_count": 128,
                             "attention.head_count_kv": 1, "attention.key_length": 576, "attention.value_length": 512,
                             "attention.key_length_mla": 192, "attention.value_length_mla": 128,
                             "attention.kv_lora_rank": 512, "rope.dimension_count": 64}),
    "qwen3_next": gguf_keys("qwen3next", block_count=48, embedding_length=2048, full_attention_interval=4,
                            **{"attention.head_count": 16, "attention.head_count_kv": 2, "attention.key_length": 256,
                               "attention.value_length": 256, "ssm.conv_kernel": 4, "ssm.state_size": 128,
                               "ssm.group_count": 16, "ssm.inner_size": 4096, "ssm.time_step_rank": 32}),
    "jamba": gguf_keys("jamba", block_count=32, embedding_length=4096, **{"attention.head_count": 32,
                       "attention.head_count_kv": [0, 0, 0, 0, 8, 0, 0, 0] * 4, "ssm.conv_kernel": 4,
                       "ssm.state_size": 16, "ssm.inner_size": 8192, "ssm.time_step_rank": 256}),
    "qwen3_vl": gguf_keys("qwen3vl", block_count=36, embedding_length=4096, **{"attention.head_count": 32,
                          "attention.head_count_kv": 8, "attention.key_length": 128, "attention.value_length": 128}),
    "bert": gguf_keys("bert", block_count=12, embedding_length=768, **{"attention.head_count": 12}),
}  # fmt: skip

CONFIGS = {"llama": LLAMA3_8B, "qwen3": QWEN3_8B, "qwen3_moe": QWEN3_30B_A3B, "gemma3": GEMMA3_27B,
           "deepseek_v3": DEEPSEEK_V3, "qwen3_next": QWEN3_NEXT, "jamba": JAMBA, "qwen3_vl": QWEN3_VL_8B, "bert": BERT}  # fmt: skip

# ---- hand-computed llama.cpp KV bytes (f16 cache, one sequence) ---------------------------------
# full layer: cells x (K row + V row), K row = head_dim x kv_heads x 2 bytes.
EXPECTED = {
    # 32 layers x ctx x (128*8*2 + 128*8*2 = 4096 B)
    "llama": (32 * K4 * 4096, 32 * K32 * 4096),
    # 36 layers x ctx x 4096 B
    "qwen3": (36 * K4 * 4096, 36 * K32 * 4096),
    # 48 layers x ctx x (128*4*2 * 2 = 2048 B)
    "qwen3_moe": (48 * K4 * 2048, 48 * K32 * 2048),
    # 10 full layers (i % 6 == 5 among 62) x ctx x (128*16*2 * 2 = 8192 B)
    # + 52 sliding layers x GGML_PAD(min(ctx, 1024 + 512), 256) = 1536 cells x 8192 B
    "gemma3": (10 * K4 * 8192 + 52 * 1536 * 8192, 10 * K32 * 8192 + 52 * 1536 * 8192),
    # 61 layers x ctx x K only: (512 + 64) x 1 head x 2 B = 1152 B (MLA keeps no V)
    "deepseek_v3": (61 * K4 * 1152, 61 * K32 * 1152),
    # 12 attention layers (3, 7, ..., 47) x ctx x (256*2*2 * 2 = 2048 B)
    # + 36 recurrent layers x 1 seq x 4 B x (r = 3 x (4096 + 2*16*128) = 24576, s = 128 x 4096 = 524288)
    "qwen3_next": (12 * K4 * 2048 + 36 * 4 * (24576 + 524288), 12 * K32 * 2048 + 36 * 4 * (24576 + 524288)),
    # 4 attention layers (4, 12, 20, 28) x ctx x 4096 B
    # + 28 Mamba layers x 4 B x (r = 3 x 8192 = 24576, s = 16 x 8192 = 131072)
    "jamba": (4 * K4 * 4096 + 28 * 4 * (24576 + 131072), 4 * K32 * 4096 + 28 * 4 * (24576 + 131072)),
    # the text model of Qwen3-VL-8B: 36 layers x ctx x 4096 B, same as Qwen3-8B
    "qwen3_vl": (36 * K4 * 4096, 36 * K32 * 4096),
    # encoders keep no KV cache
    "bert": (0, 0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("source", ["config", "gguf"])
def test_llamacpp_kv_bytes_match_hand_computed(name, source):
    lay = layout.from_config(CONFIGS[name]) if source == "config" else layout.from_gguf(GGUF[name])
    assert lay.unknown is None
    got = tuple(memory.kv_llamacpp(lay, ctx).bytes for ctx in (K4, K32))
    assert got == EXPECTED[name]


def test_literal_figures_of_two_models():
    # the same arithmetic as EXPECTED, as numbers a reader can check against llama.cpp's log line
    assert memory.kv_llamacpp(layout.from_config(LLAMA3_8B), K32).bytes == 4 * 1024**3  # "4096.00 MiB"
    assert memory.kv_llamacpp(layout.from_config(QWEN3_8B), K4).bytes == 576 * 1024**2  # "576.00 MiB"


def test_context_is_padded_to_256():
    lay = layout.from_config(QWEN3_8B)
    # -c 35000 becomes 35072 cells: 36 x 35072 x 4096 B
    kv = memory.kv_llamacpp(lay, 35000)
    assert kv.bytes == 36 * 35072 * 4096
    assert any(t.name == "n_ctx" and t.value == 35072 and "GGML_PAD(35000, 256)" in t.formula for t in kv.terms)


def test_quantized_cache_row_sizes():
    lay = layout.from_config(QWEN3_8B)
    # q8_0: 34 bytes per 32 elements -> a 1024-element row is 1088 B; q4_0: 18 per 32 -> 576 B
    assert memory.kv_llamacpp(lay, K32, type_k="q8_0", type_v="q8_0").bytes == 36 * K32 * (1088 + 1088)
    assert memory.kv_llamacpp(lay, K32, type_k="q8_0", type_v="q4_0").bytes == 36 * K32 * (1088 + 576)
    assert memory.kv_llamacpp(lay, K32, type_k="bf16", type_v="bf16").bytes == 36 * K32 * 4096


def test_quantized_cache_on_odd_head_dim_has_no_number():
    # phi-2 style: head_dim 80 is not a multiple of q4_0's block of 32
    lay = layout.from_config(dict(model_type="phi", num_hidden_layers=32, hidden_size=2560, num_attention_heads=32))
    kv = memory.kv_llamacpp(lay, K4, type_k="q4_0", type_v="q4_0")
    assert kv.bytes is None and "80" in kv.blocked and "block of 32" in kv.blocked
    assert memory.kv_llamacpp(lay, K4).bytes == 32 * K4 * (80 * 32 * 2 * 2)


def test_swa_full_and_parallel():
    lay = layout.from_config(GEMMA3_27B)
    # --swa-full: sliding layers get the whole context too: 62 x ctx x 8192 B
    assert memory.kv_llamacpp(lay, K32, swa_full=True).bytes == 62 * K32 * 8192
    # -np 4 with -c 32768: 4 streams of GGML_PAD(32768 / 4, 256) = 8192 cells; sliding layers
    # get GGML_PAD(min(8192, 1024 + 512), 256) = 1536 cells per stream
    assert memory.kv_llamacpp(lay, K32, parallel=4).bytes == 10 * 4 * 8192 * 8192 + 52 * 4 * 1536 * 8192


def test_gemma3_pattern_and_groups():
    lay = layout.from_gguf(GGUF["gemma3"])
    kinds = [spec.kind for spec in lay.layers]
    assert [i for i, k in enumerate(kinds) if k == "full"] == [5, 11, 17, 23, 29, 35, 41, 47, 53, 59]
    kv = memory.kv_llamacpp(lay, K32)
    assert {(g.kind, len(g.layers), g.cells) for g in kv.groups} == {("swa", 52, 1536), ("full", 10, K32)}


def test_sliding_window_without_pattern_is_ignored_like_llama_cpp():
    mistral = dict(model_type="mistral", num_hidden_layers=32, hidden_size=4096, num_attention_heads=32,
                   num_key_value_heads=8, sliding_window=4096)  # fmt: skip
    lay = layout.from_config(mistral)
    assert {s.kind for s in lay.layers} == {"full"} and any("ignores" in n for n in lay.notes)
    assert memory.kv_llamacpp(lay, K32).bytes == 32 * K32 * 4096


def test_layer_types_drive_the_pattern():
    # gpt-oss-20b: 24 layers alternating sliding (128) and full, 8 KV heads of 64
    oss = dict(model_type="gpt_oss", num_hidden_layers=24, hidden_size=2880, num_attention_heads=64,
               num_key_value_heads=8, head_dim=64, sliding_window=128,
               layer_types=["sliding_attention", "full_attention"] * 12)  # fmt: skip
    gg = gguf_keys("gpt-oss", block_count=24, embedding_length=2880, **{"attention.head_count": 64,
                   "attention.head_count_kv": 8, "attention.key_length": 64, "attention.value_length": 64,
                   "attention.sliding_window": 128})  # fmt: skip
    # 12 full x ctx x (64*8*2*2 = 2048 B) + 12 sliding x GGML_PAD(128 + 512, 256) = 768 cells x 2048 B
    want = 12 * K32 * 2048 + 12 * 768 * 2048
    assert memory.kv_llamacpp(layout.from_config(oss), K32).bytes == want
    assert memory.kv_llamacpp(layout.from_gguf(gg), K32).bytes == want


def test_vllm_style_cache():
    lay = layout.from_config(QWEN3_8B)
    # model dtype bf16, no padding to 256, blocks of 16: 4100 tokens -> 4112
    assert memory.kv_vllm(lay, 4100).bytes == 36 * 4112 * 4096
    # fp8: one byte per element
    assert memory.kv_vllm(lay, K32, cache_bytes=1).bytes == 36 * K32 * 2048
    # MLA in vLLM: one latent of 576 per token per layer
    assert memory.kv_vllm(layout.from_config(DEEPSEEK_V3), K4).bytes == 61 * K4 * 576 * 2


def test_largest_context_that_fits():
    lay = layout.from_config(QWEN3_8B)  # 147,456 B per token
    opts = Options()
    budget = 36 * 10000 * 4096
    fits = memory.largest_context(lay, budget, opts, "llama.cpp", 40960)
    assert fits == 9984  # 39 x 256; 10240 cells would need 36 x 10240 x 4096 > budget
    assert memory.kv_llamacpp(lay, fits).bytes <= budget < memory.kv_llamacpp(lay, fits + 256).bytes


@pytest.mark.parametrize(("text", "value"), [("24GiB", 24 << 30), ("24G", 24 << 30), ("24GB", 24 * 10**9),
                                             ("512MiB", 512 << 20), ("1000B", 1000), ("1.5GiB", 3 << 29),
                                             ("2KB", 2000), ("2KiB", 2048), ("2K", 2048), ("3 MB", 3 * 10**6), ("1TiB", 1 << 40)])  # fmt: skip
def test_parse_size(text, value):
    assert memory.parse_size(text) == value


def test_parse_size_refuses_nonsense():
    from mfi.errors import UsageError

    with pytest.raises(UsageError):
        memory.parse_size("lots")


@pytest.mark.parametrize("text", ["16", " 16 ", "1.5"])
def test_bare_number_is_not_a_size(text):
    from mfi.errors import UsageError

    with pytest.raises(UsageError, match="has no unit.*KB, MB, GB, TB = powers of 1000; KiB, MiB, GiB") as e:
        memory.parse_size(text)
    assert e.value.source == "memory"


@pytest.mark.parametrize(("text", "value"), [("32768", 32768), ("32k", 32768), ("128K", 131072), (" 4k ", 4096),
                                             ("1M", 1 << 20), ("1.5k", 1536), (4096, 4096)])  # fmt: skip
def test_parse_context(text, value):
    assert memory.parse_context(text) == value


@pytest.mark.parametrize("text", ["32kb", "lots", "0", "0.3k", "-1", ""])
def test_parse_context_refuses(text):
    from mfi.errors import UsageError

    with pytest.raises(UsageError) as e:
        memory.parse_context(text)
    assert e.value.source == "ctx"


# ---- the same model as GGUF and as safetensors, through the real readers -------------------------


def _write_pair(tmp_path, name):
    """A safetensors folder (config.json + one small tensor) and a GGUF with the matching keys."""
    import gguf
    from safetensors.numpy import save_file

    folder = tmp_path / f"{name}-hf"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(CONFIGS[name]))
    save_file({"model.embed_tokens.weight": np.zeros((4, 8), np.float16)}, str(folder / "model.safetensors"))
    keys = dict(GGUF[name])
    arch = keys.pop("general.architecture")
    path = tmp_path / f"{name}.gguf"
    w = gguf.GGUFWriter(str(path), arch)
    for k, v in keys.items():
        if k.startswith(f"{arch}."):
            if isinstance(v, list):
                w.add_array(k, v)
            else:
                w.add_uint32(k, v)
    w.add_tensor("token_embd.weight", np.zeros((4, 8), np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return folder, path


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_gguf_and_safetensors_give_the_same_kv(tmp_path, name):
    folder, path = _write_pair(tmp_path, name)
    figures = []
    for target in (folder, path):
        s = api.inspect(str(target))
        for ctx in (K4, K32):
            p = assess(s, Options(context=ctx, runtime="llama.cpp"))
            figures.append(p.memory.kv.bytes)
    assert figures[:2] == figures[2:] == list(EXPECTED[name])


def test_weights_model_buffer_and_experts(tmp_path):
    import gguf

    path = tmp_path / "moe.gguf"
    w = gguf.GGUFWriter(str(path), "qwen3moe")
    w.add_uint32("qwen3moe.block_count", 1)
    w.add_tensor("token_embd.weight", np.zeros((16, 32), np.float16))  # 1024 B
    w.add_tensor("blk.0.ffn_up_exps.weight", np.zeros((4, 16, 32), np.float16))  # 4096 B
    w.add_tensor("blk.0.attn_q.weight", np.zeros((3, 32), np.float32))  # 384 B, padded to 416 by alignment 32
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    s = api.inspect(str(path))
    est = memory.weights(s, "llama.cpp")
    # the model buffer is the data span (file size - data offset), alignment padding included
    from mfi.formats.gguf import read_gguf
    from mfi.sources import LocalFile

    with LocalFile(path) as src:
        data_offset = read_gguf(src).data_offset
    assert est.total == path.stat().st_size - data_offset
    assert est.total >= 1024 + 4096 + 384
    assert est.offloadable == 4096 and est.accelerator == est.total - 4096
    # a vLLM-style runtime counts tensor bytes exactly
    assert memory.weights(s, "vllm").total == 1024 + 4096 + 384


def test_per_layer_arrays_read_as_samples_make_the_layout_unknown():
    from mfi.records import ArrayValue

    md = gguf_keys("jamba", block_count=72, embedding_length=8192, **{"attention.head_count": 64,
                   "attention.head_count_kv": ArrayValue("UINT32", 72, (0, 0, 0, 0, 8, 0, 0, 0))})  # fmt: skip
    lay = layout.from_gguf(md)
    assert lay.unknown and "72 per-layer values" in lay.unknown
    kv = memory.kv_llamacpp(lay, K4)
    assert kv.bytes is None and kv.blocked == lay.unknown

"""llama.cpp's compute and output buffers (plan/compute.py) and the KV-forecast rules of issue 12.

The three figures of issue 12 are llama.cpp's own log lines ("CPU compute buffer size") on the CPU at
-c 4096, -ub 512, flash attention auto (on): they are reproduced to the byte from the models' shapes.
"""

from __future__ import annotations

import json

import pytest
from ggufbuild import write_gguf

from mfi import api
from mfi.errors import UsageError
from mfi.plan import compute, layout, memory
from mfi.plan.compute import Dims, _Graph, build_graph
from mfi.plan.records import LayerSpec, Layout

MIB = 1 << 20


# ---- the allocator -------------------------------------------------------------------------------


def test_allocator_reuses_in_place_and_frees_after_the_last_consumer():
    g = _Graph()
    a = g.input(100)  # padded to 128 and placed first
    b = g.op(64, a)  # [128, 192)
    c = g.op(64, b, inplace=True)  # reuses b
    d = g.op(320, c)  # c still live: [192, 512)
    g.op(64, d, output=True)  # c freed after d; [128, 192) is the best fit for 64 bytes
    assert g.peak() == 512


def test_an_op_on_a_view_never_runs_in_place():
    # ggml-alloc treats a view's data as external while reserving: rope of a reshape gets new memory
    g = _Graph()
    x = g.input(32)
    q = g.op(256, x)
    g.op(256, g.view(q), inplace=True, output=True)
    assert g.peak() == 32 + 256 + 256


# ---- issue 12's measured figures ------------------------------------------------------------------


def _full(n: int, kv: int, hd: int) -> Layout:
    return Layout("llama", tuple(LayerSpec(i, "full", kv, hd, hd) for i in range(n)))


def test_smollm2_135m_at_4k_is_98_25_mib():
    # 96 MiB of logits (49,152 x 512 x 4) + inp_embd and result_norm (576 x 512 x 4 each)
    d = Dims("llama", 30, 576, 49152, 1536, 9)
    peak = build_graph(d, _full(30, 3, 64), n_ctx=4096, n_seq=1, n_ubatch=512, swa_cells=0, full_cells=4096, fa=True).peak()
    assert peak == 49152 * 512 * 4 + 2 * 576 * 512 * 4 + 2048  # out_ids' 2 KiB slot sits below them
    assert round(peak / MIB, 2) == 98.25


def test_gemma3_270m_at_4k_is_514_50_mib():
    d = Dims("gemma3", 18, 640, 262144, 2048, 4)
    lay = Layout("gemma3", tuple(LayerSpec(i, "swa" if i % 6 < 5 else "full", 1, 256, 256, 512) for i in range(18)))
    peak = build_graph(d, lay, n_ctx=4096, n_seq=1, n_ubatch=512, swa_cells=1024, full_cells=4096, fa=True).peak()
    assert round(peak / MIB, 2) == 514.50


def test_all_minilm_l6_v2_is_5_76_mib():
    d = Dims("bert", 6, 384, 30522, 1536, 12, gated=False)
    peak = build_graph(d, Layout("bert", no_cache=True), n_ctx=512, n_seq=1, n_ubatch=512, swa_cells=0, full_cells=0, fa=True).peak()
    assert round(peak / MIB, 2) == 5.76


def test_without_flash_attention_the_kq_matrix_dominates():
    # 4 heads x 32,768 cells x 512 tokens x 4 B = 256 MiB, soft_max in place; the F32 mask 64 MiB
    d = Dims("qwen2", 2, 128, 2048, 256, 4)
    lay = _full(2, 2, 32)
    on = build_graph(d, lay, n_ctx=32768, n_seq=1, n_ubatch=512, swa_cells=0, full_cells=32768, fa=True).peak()
    off = build_graph(d, lay, n_ctx=32768, n_seq=1, n_ubatch=512, swa_cells=0, full_cells=32768, fa=False).peak()
    assert off - on > 256 * MIB
    assert round(off / MIB, 2) == 321.51  # llama.cpp's log for the same shapes (tests/data/llama_memory.json)


def test_output_buffer_is_logits_of_n_seq_max_outputs():
    d = Dims("llama", 2, 128, 49152, 256, 4)
    assert compute.output_bytes(d, n_seq=1, encoder=False) == 49152 * 4
    assert compute.output_bytes(d, n_seq=2, encoder=False) == 2 * 49152 * 4
    assert compute.output_bytes(d, n_seq=1, encoder=True) == (49152 + 128) * 4


# ---- through the API, the CLI and JSON -------------------------------------------------------------


def _gguf(tmp_path, vocab=256):
    import gguf
    import numpy as np

    V = gguf.GGUFValueType
    kv = {"llama.block_count": (2, V.UINT32), "llama.embedding_length": (64, V.UINT32),
          "llama.feed_forward_length": (128, V.UINT32), "llama.attention.head_count": (4, V.UINT32),
          "llama.attention.head_count_kv": (2, V.UINT32), "llama.context_length": (8192, V.UINT32)}  # fmt: skip
    tensors = {"token_embd.weight": np.zeros((vocab, 64), np.float32), "blk.0.ffn_gate.weight": np.zeros((128, 64), np.float32)}
    return write_gguf(tmp_path / "m.gguf", kv=kv, tensors=tensors, tokens=[f"t{i}" for i in range(vocab)])


def test_plan_total_adds_compute_and_output(tmp_path):
    p = api.plan(_gguf(tmp_path), ctx=4096)
    m = p.memory
    assert m.overhead == 0 and m.compute and m.output == 256 * 4
    assert m.total == m.weights.total + m.kv.bytes + m.compute + m.output
    assert not any("typical" in t.name for t in m.terms)
    assert any("GPU driver" in n for n in m.not_counted) and any("mmproj" in n for n in m.not_counted)


def test_flash_attn_ubatch_and_batch_change_the_compute_buffer(tmp_path):
    path = _gguf(tmp_path)
    on = api.plan(path, ctx=4096).memory.compute
    off = api.plan(path, ctx=4096, flash_attn="off").memory.compute
    assert off > on + 4096 * 512 * 4 * 4 - 1  # the KQ matrix: cells x tokens x heads x 4 B
    small = api.plan(path, ctx=4096, ubatch=128).memory.compute
    assert small < on
    assert api.plan(path, ctx=4096, batch=128).memory.compute == small  # -ub is at most -b
    assert api.plan(path, ctx=4096, flash_attn="auto").memory.compute == on  # auto: on for the CPU


@pytest.mark.parametrize(("kw", "param"), [({"flash_attn": "maybe"}, "flash_attn"), ({"ubatch": 0}, "ubatch"), ({"batch": -1}, "batch")])
def test_bad_compute_options_name_the_parameter(tmp_path, kw, param):
    with pytest.raises(UsageError) as e:
        api.plan(_gguf(tmp_path), **kw)
    assert param in str(e.value)


def test_cli_flags_and_json_keys(tmp_path, cli):
    r = cli("plan", str(_gguf(tmp_path)), "--json", "--ctx", "4096", "--ubatch", "256", "--flash-attn", "off")
    assert r.exit_code == 0, r.stderr
    m = json.loads(r.stdout)["memory"]
    assert m["compute_bytes"] > 4096 * 256 * 4 * 4 and m["output_bytes"] == 1024
    assert m["total_bytes"] == m["weights_bytes"] + m["kv_cache_bytes"] + m["compute_bytes"] + m["output_bytes"]
    assert m["overhead_bytes"] == 0 and m["overhead_is_estimate"] is False
    assert all(row["total_bytes"] for row in m["by_context"])
    r = cli("plan", str(_gguf(tmp_path)), "--flash-attn", "sometimes")
    assert r.exit_code == 2 and "--flash-attn" in r.stderr


def test_largest_context_counts_the_compute_buffer(tmp_path):
    path = _gguf(tmp_path)
    m = api.plan(path, ctx=4096, memory=1 << 30).memory
    at = api.plan(path, ctx=m.fits, flash_attn="auto").memory
    assert at.total <= 1 << 30


# ---- KV forecast: llama.cpp's sliding-window rules ---------------------------------------------------


def _md(arch, n, **kv):
    base = {"block_count": n, "embedding_length": 64, "attention.head_count": 4, "attention.head_count_kv": 2}
    return {"general.architecture": arch, **{f"{arch}.{k}": v for k, v in {**base, **kv}.items()}}


def test_llama4_chunked_layers_live_in_the_sliding_window_cache():
    lay = layout.from_gguf(_md("llama4", 8, **{"attention.sliding_window": 8192}))
    assert [s.kind for s in lay.layers] == ["swa", "swa", "swa", "full"] * 2
    assert {s.window for s in lay.layers if s.kind == "swa"} == {8192}
    # at 32K: 6 chunked layers of GGML_PAD(8192 + 512, 256) = 8704 cells, 2 full of 32768
    kv = memory.kv_llamacpp(lay, 32768)
    row = 2 * 16 * 2 * 2  # K + V, 2 heads of 16, f16
    assert kv.bytes == (6 * 8704 + 2 * 32768) * row
    # the converter writes sliding_window 0 when every layer is full attention
    assert {s.kind for s in layout.from_gguf(_md("llama4", 4, **{"attention.sliding_window": 0})).layers} == {"full"}


def test_llama4_hf_config_follows_the_same_rule():
    cfg = {"model_type": "llama4_text", "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
           "hidden_size": 64, "attention_chunk_size": 4096}  # fmt: skip
    lay = layout.from_config(cfg)
    assert [(s.kind, s.window) for s in lay.layers] == [("swa", 8192)] * 3 + [("full", None)]


def test_exaone4_uses_sliding_windows_only_with_64_layers():
    small = layout.from_gguf(_md("exaone4", 4, **{"attention.sliding_window": 4096}))
    assert {s.kind for s in small.layers} == {"full"} and any("64 layers" in n for n in small.notes)
    big = layout.from_gguf(_md("exaone4", 64, **{"attention.sliding_window": 4096}))
    assert [s.kind for s in big.layers[:4]] == ["swa", "swa", "swa", "full"]
    cfg = {"model_type": "exaone4", "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
           "hidden_size": 64, "sliding_window": 4096, "sliding_window_pattern": 4}  # fmt: skip
    assert {s.kind for s in layout.from_config(cfg).layers} == {"full"}


def test_phi3_sliding_window_is_off_and_dense_first_patterns():
    assert {s.kind for s in layout.from_gguf(_md("phi3", 4, **{"attention.sliding_window": 2048})).layers} == {"full"}
    lay = layout.from_gguf(_md("cohere2moe", 8, **{"attention.sliding_window": 4096}))
    assert [s.kind for s in lay.layers] == ["full", "swa", "swa", "swa"] * 2


# ---- KV forecast: HF folders of recurrent, hybrid and encoder-decoder models --------------------------


def test_mamba_folder_gets_recurrent_state_and_the_converters_context():
    cfg = {"model_type": "mamba", "num_hidden_layers": 2, "hidden_size": 128, "state_size": 16, "expand": 2, "conv_kernel": 4}
    lay = layout.from_config(cfg)
    assert lay.max_context == 2**20 and any("convert_hf_to_gguf" in n for n in lay.notes)
    assert [(s.kind, s.state_r, s.state_s) for s in lay.layers] == [("recurrent", 3 * 256, 16 * 256)] * 2
    # llama.cpp's RS buffer for the same model (tests/data/llama_memory.json): 2 layers x (r + s) x 4 B
    assert memory.kv_llamacpp(lay, 4096).bytes == 2 * (768 + 4096) * 4


def test_mamba2_folder_counts_the_groups():
    cfg = {"model_type": "mamba2", "num_hidden_layers": 2, "hidden_size": 128, "expand": 2, "head_dim": 32,
           "num_heads": 8, "n_groups": 1, "state_size": 16, "conv_kernel": 4}  # fmt: skip
    lay = layout.from_config(cfg)
    assert {(s.state_r, s.state_s) for s in lay.layers} == {(3 * (256 + 2 * 16), 16 * 256)}


def test_granitemoehybrid_conv_state_counts_the_groups():
    cfg = {"model_type": "granitemoehybrid", "num_hidden_layers": 4, "hidden_size": 128, "num_attention_heads": 4,
           "num_key_value_heads": 2, "layer_types": ["mamba", "attention", "mamba", "mamba"], "mamba_n_groups": 2,
           "mamba_d_state": 16, "mamba_expand": 2, "mamba_d_conv": 4, "max_position_embeddings": 32768}  # fmt: skip
    lay = layout.from_config(cfg)
    rec = [s for s in lay.layers if s.kind == "recurrent"]
    assert len(rec) == 3 and {(s.state_r, s.state_s) for s in rec} == {(3 * (256 + 2 * 2 * 16), 16 * 256)}


def test_falcon_h1_layers_hold_attention_and_an_ssm():
    cfg = {"model_type": "falcon_h1", "num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 4,
           "num_key_value_heads": 2, "head_dim": 32, "mamba_d_ssm": 256, "mamba_n_groups": 1, "mamba_d_state": 16,
           "mamba_d_conv": 4, "mamba_expand": 2, "max_position_embeddings": 16384}  # fmt: skip
    lay = layout.from_config(cfg)
    assert [s.kind for s in lay.layers] == ["recurrent", "full", "recurrent", "full"]
    kv = memory.kv_llamacpp(lay, 4096)
    assert kv.bytes == 2 * 4096 * (64 * 2 * 2) + 2 * (3 * (256 + 32) + 16 * 256) * 4


def test_t5_folder_uses_d_kv_and_the_converters_context():
    cfg = {"model_type": "t5", "d_model": 128, "d_kv": 64, "num_layers": 2, "num_heads": 4, "d_ff": 256, "vocab_size": 2048}
    lay = layout.from_config(cfg)
    assert lay.max_context == 512 and any("conversion/t5.py" in n for n in lay.notes)
    assert {(s.kind, s.kv_heads, s.head_dim_k) for s in lay.layers} == {("full", 4, 64)}

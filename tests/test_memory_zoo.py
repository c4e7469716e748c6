"""The generated fixture zoo through plan(): GGUF and safetensors twins agree on the KV cache."""

from __future__ import annotations

import pytest

from mfi import api

from mfi.plan.assess import assess
from mfi.plan.records import Options

PAIRS = [("llama-tiny", "llama-tiny-Q8_0.gguf"), ("qwen3-tiny", "qwen3-tiny-F16.gguf"), ("qwen3-moe-tiny", "qwen3-moe-tiny-Q8_0.gguf")]


def _plan(models, name, **opts):
    return assess(api.inspect(str(models / name)), Options(**opts))


@pytest.mark.parametrize(("folder", "gguf_name"), PAIRS)
def test_twins_give_the_same_kv_figures(models, folder, gguf_name):
    for ctx in (4096, 32768):
        hf = _plan(models, folder, context=ctx, runtime="llama.cpp").memory.kv
        gg = _plan(models, gguf_name, context=ctx).memory.kv
        assert hf.bytes == gg.bytes and hf.bytes
        assert [(g.kind, g.layers, g.cells) for g in hf.groups] == [(g.kind, g.layers, g.cells) for g in gg.groups]


def test_llama_tiny_kv_by_hand(models):
    # 2 layers, 2 KV heads of 64: K row 128 x 2 B = 256 B, V the same -> 512 B per cell per layer
    kv = _plan(models, "llama-tiny-Q8_0.gguf", context=4096).memory.kv
    assert kv.bytes == 2 * 4096 * 512


def test_gemma3_tiny_sliding_pattern(models):
    p = _plan(models, "gemma3-tiny-Q4_0.gguf", context=32768)
    kinds = {g.kind: g.layers for g in p.memory.kv.groups}
    # 6 blocks: layers 0-4 sliding (i % 6 < 5), layer 5 global; window 512 + n_ubatch 512 = 1024 cells
    assert kinds == {"swa": (0, 1, 2, 3, 4), "full": (5,)}
    assert {g.kind: g.cells for g in p.memory.kv.groups} == {"swa": 1024, "full": 32768}


def test_moe_experts_are_offloadable(models):
    # 2 layers x 3 stacked *_exps tensors x (4 experts x 256 x 64) elements in Q8_0 (34 B per 32)
    w = _plan(models, "qwen3-moe-tiny-Q8_0.gguf").memory.weights
    assert w.offloadable == 2 * 3 * (4 * 256 * 64) // 32 * 34
    assert w.accelerator == w.total - w.offloadable
    # the HF folder: 2 layers x 4 experts x 3 matrices x 256 x 64 BF16 elements
    hf = _plan(models, "qwen3-moe-tiny").memory.weights
    assert hf.offloadable == 2 * 4 * 3 * 256 * 64 * 2


def test_qwen3_vl_tiny_capabilities(models):
    p = _plan(models, "qwen3-vl-tiny")
    assert p.capabilities.vision is True and p.capabilities.kind == "chat"
    by = {v.runtime: v for v in p.runtimes.verdicts}
    assert by["transformers"].status == "yes"  # Qwen3VLForConditionalGeneration is built in
    assert by["vllm"].status == "yes" and "multimodal" in by["vllm"].reason
    # the nested text_config drives the KV cache
    assert p.memory.kv.bytes and p.layout.layers


def test_llama_tiny_sampling_from_generation_config(models):
    hf = _plan(models, "llama-tiny").capabilities.sampling
    gg = _plan(models, "llama-tiny-Q8_0.gguf").capabilities.sampling
    assert hf and gg
    assert hf.get("temperature") == pytest.approx(gg.get("temp"))


def test_swa_full_from_the_cli(models, cli):
    import json

    r = cli("plan", str(models / "gemma3-tiny-Q4_0.gguf"), "--ctx", "32768", "--swa-full", "--json")
    assert r.exit_code == 0, r.stderr
    layers = json.loads(r.stdout)["memory"]["layers"]
    assert {g["cells"] for g in layers} == {32768}  # sliding layers cache the whole context too


@pytest.mark.parametrize(
    ("args", "k_row", "v_row", "cache"),
    [(["--cache-type-k", "q8_0"], 136, 256, "K q8_0, V f16"), (["--cache-type-v", "q8_0"], 256, 136, "K f16, V q8_0"),
     (["--cache-type", "q8_0"], 136, 136, "q8_0"), (["--cache-type", "q8_0", "--cache-type-v", "f16"], 136, 256, "K q8_0, V f16")],
    ids=["k-only", "v-only", "both", "both-then-v"],
)  # fmt: skip
def test_k_and_v_cache_types_default_to_f16_independently(models, cli, args, k_row, v_row, cache):
    import json

    # llama.cpp's -ctk and -ctv each default to f16: setting one leaves the other alone.
    r = cli("plan", str(models / "llama-tiny-Q8_0.gguf"), "--ctx", "4096", *args, "--json")
    assert r.exit_code == 0, r.stderr
    m = json.loads(r.stdout)["memory"]
    # 2 KV heads x 64 = 128 elements per row: q8_0 128/32 x 34 = 136 B, f16 128 x 2 = 256 B
    assert [(g["k_row_bytes"], g["v_row_bytes"]) for g in m["layers"]] == [(k_row, v_row)]
    assert m["kv_cache_bytes"] == 2 * 4096 * (k_row + v_row) and m["cache_type"] == cache


def test_vllm_takes_one_cache_dtype(models):
    from mfi.errors import UsageError

    assert _plan(models, "llama-tiny", cache_type_v="fp8").memory.cache_type == "fp8"
    with pytest.raises(UsageError, match="one cache dtype for K and V"):
        _plan(models, "llama-tiny", cache_type_k="fp8", cache_type_v="bf16")


def test_config_aliases_feed_inspect_compare_and_plan_alike(models, tmp_path):
    """Issue 9: one config normaliser. ``n_layers``/``num_heads`` used to give layers in inspect and no KV figure in plan."""
    import json
    import shutil

    folder = tmp_path / "aliased"
    shutil.copytree(models / "llama-tiny", folder)
    config = json.loads((folder / "config.json").read_text())
    config["n_layers"], config["num_heads"] = config.pop("num_hidden_layers"), config.pop("num_attention_heads")
    (folder / "config.json").write_text(json.dumps(config))
    plain, aliased = api.inspect(str(models / "llama-tiny")), api.inspect(str(folder))
    assert (aliased.architecture.layers, aliased.architecture.attention_heads) == (plain.architecture.layers, plain.architecture.attention_heads)
    assert aliased.architecture.layers == 2
    p = api.plan(aliased, ctx=4096, runtime="llama.cpp")
    assert len(p.layout.layers) == 2 and p.layout.unknown is None
    assert p.memory.kv.bytes == api.plan(plain, ctx=4096, runtime="llama.cpp").memory.kv.bytes == 2 * 4096 * 512
    assert not api.compare(str(models / "llama-tiny"), str(folder)).differences

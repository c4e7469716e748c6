"""Issue 12 section 2: vLLM and SGLang size their KV cache as their own start-up code does
(plan/serving.py cites the functions); every figure here is worked out by hand from that code."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from mfi import api
from mfi.plan import serving
from mfi.plan.records import LayerSpec, Layout

#: hidden 64, intermediate 128, vocabulary 1,000; 2 layers of 2 KV heads x 16; float32 checkpoint.
CONFIG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2, "hidden_size": 64,
          "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
          "vocab_size": 1000, "max_position_embeddings": 4096, "torch_dtype": "float32"}  # fmt: skip


def _model(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(CONFIG))
    tensors = {"model.embed_tokens.weight": np.zeros((1000, 64), np.float32),
               "model.layers.0.self_attn.q_proj.weight": np.zeros((64, 64), np.float32)}  # fmt: skip
    save_file(tensors, str(folder / "model.safetensors"))
    return str(folder)


def _by(p):
    return {v.runtime: v for v in p.serving}


def test_weights_as_vllm_loads_them(tmp_path):
    s = api.inspect(_model(tmp_path))
    # float32 is downcast to bfloat16 (_resolve_auto_dtype): (64,000 + 4,096) elements x 2 B
    assert serving.weights_loaded(s, 2) == 136_192
    # --quantization fp8: the linear q_proj in 1 B, the embedding stays in 2 B
    assert serving.fp8_online_bytes(s) == 64_000 * 2 + 4_096


def test_vllm_capacity_and_concurrency_on_one_gib(tmp_path):
    v = _by(api.plan(_model(tmp_path), memory="1GiB", ctx=4096))["vllm"]
    assert (v.version, v.cache_dtype) == ("0.33.0", "bfloat16")
    assert v.budget == 966_367_642  # ceil(1,073,741,824 x 0.9)
    # profile peak estimate: max(2,048 x (2 x 64 + 3 x 128) x 2, 256 x 1,000 x (2 + 4 + 4)) = max(2,097,152, 2,560,000)
    assert (v.weights, v.activation) == (136_192, 2_560_000)
    assert v.kv_available == 966_367_642 - 136_192 - 2_560_000 == 963_671_450
    # one group of both layers: 2 x (16 tokens x 2 heads x (16 + 16) x 2 B = 2,048 B pages)
    assert v.bytes_per_block == 4096
    assert v.num_blocks == 963_671_450 // 4096 == 235_271
    assert v.capacity_tokens == int(235_271 / 256 * 4096) == 3_764_336  # 256 blocks per 4,096-token request
    assert v.concurrency == 235_271 / 256
    assert v.largest_context == 4096 and v.error is None


def test_vllm_refuses_what_it_cannot_hold_and_says_the_length_that_fits(tmp_path):
    v = _by(api.plan(_model(tmp_path), memory="1GiB", ctx=4096, gpu_memory_utilization=0.0034))["vllm"]
    assert v.budget == 3_650_723 and v.kv_available == 954_531
    # check memory = 954,531 - 4,096 (the null block) = 950,435 < 256 x 4,096 = 1,048,576;
    # 232 blocks fit: 232 x 16 = 3,712 tokens (_estimate_max_model_len_from_groups)
    assert v.largest_context == 3712
    assert v.error == (
        "To serve at least one request with the model's max seq len (4096), (0.0 GiB KV cache is needed, which is "
        "larger than the available KV cache memory (0.0 GiB). Based on the available memory, the estimated maximum "
        "model length is 3712. Try increasing `gpu_memory_utilization` or decreasing `max_model_len` when "
        "initializing the engine."
    )
    v = _by(api.plan(_model(tmp_path), memory="1GiB", ctx=4096, gpu_memory_utilization=0.002))["vllm"]
    assert v.kv_available == 2_147_484 - 136_192 - 2_560_000 < 0
    assert v.error.startswith("No available memory for the cache blocks.") and v.capacity_tokens is None


def test_sglang_pool_with_its_default_fraction(tmp_path):
    s = _by(api.plan(_model(tmp_path), memory="16GiB", ctx=4096))["sglang"]
    assert (s.version, s.cache_dtype) == ("0.5.23", "bfloat16")
    # 16 GiB: chunked prefill 2,048, decode max_bs 8, 42 prefill graph sizes:
    # reserved = 512 + 1.5 x 2,048 + 128 + 2 x 8 + 8 x 42 = 4,064 MB; round(12,320 / 16,384, 3) = 0.752
    assert s.terms[0].value == 0.752
    assert s.budget == int(17_179_869_184 * 0.752) == 12_919_261_626
    assert s.kv_available == 12_919_261_626 - 136_192
    assert s.bytes_per_block == 2 * (16 + 16) * 2 * 2 == 256  # cell: kv heads x (K + V) x layers x 2 B
    assert s.capacity_tokens == (12_919_261_626 - 136_192) // 256 == 50_465_333
    assert s.largest_context == 4096 and s.error is None


@pytest.mark.parametrize(("gib", "fraction", "reserved"), [(16, 0.752, 4064), (24, 0.704, 7280), (80, 0.83, 13904)])
def test_sglang_default_fraction_by_gpu_size(gib, fraction, reserved):
    # 24 GiB: 512 + 1.5 x 4,096 + 128 + 2 x 48 + 8 x 50; 80 GiB: 512 + 1.5 x 8,192 + 128 + 2 x 256 + 8 x 58
    got, formula = serving.sglang_mem_fraction(gib << 30)
    assert got == fraction and f"- {reserved})" in formula


def test_sglang_with_a_given_fraction_too_small_for_the_weights(tmp_path):
    s = _by(api.plan(_model(tmp_path), memory="1GiB", ctx=4096, mem_fraction_static=0.0001))["sglang"]
    assert s.kv_available == 107_374 - 136_192  # int(1 GiB x 0.0001) - weights
    assert s.error == ("Loaded weights leave no GPU memory for the KV cache under --mem-fraction-static=0.0001. "
                       "Raise --mem-fraction-static above 0.001")


def _layers(pattern, *, heads=1, dim=256, window=512):
    return Layout("x", tuple(LayerSpec(i, k, heads, dim, 0 if k == "mla" else dim, window if k == "swa" else None)
                             for i, k in enumerate(pattern)))  # fmt: skip


def test_hybrid_sliding_window_groups_as_vllm_makes_them():
    # Gemma 3 style: every 6th layer full, 26 layers = 22 sliding (window 512) + 4 full, 1 KV head of 256
    lay = _layers(["full" if i % 6 == 5 else "swa" for i in range(26)])
    groups = serving.kv_groups(lay, 2)
    # group size = 4 (the smaller count); cdiv(22, 4) = 6 sliding groups + 1 full; page 16 x 1 x 512 x 2 = 16,384
    assert [(g.kind, g.layers) for g in groups] == [("swa", 4)] * 6 + [("full", 4)]
    assert max(g.page for g in groups) == 4 * 16_384
    # at 32,768 tokens with 2 x 2,048 in flight: full 2,048 blocks; sliding cdiv(511 + 4,096, 16) + 1 = 289 each
    assert serving.blocks_per_request(groups, 32768, 4096) == 2048 + 6 * 289 == 3782
    # gpt-oss style 12 + 12: one group each (12 < 1.5 x 12), window 128 at 8,192 tokens
    lay = _layers(["swa", "full"] * 12, heads=8, dim=64, window=128)
    groups = serving.kv_groups(lay, 2)
    assert [(g.kind, g.layers) for g in groups] == [("swa", 12), ("full", 12)]
    assert serving.blocks_per_request(groups, 8192, 4096) == 512 + (264 + 1)


def test_mla_pages_hold_one_latent_and_mamba_is_not_modelled():
    lay = _layers(["mla"] * 3, dim=576)
    assert [(g.kind, g.layers, g.page) for g in serving.kv_groups(lay, 2)] == [("mla", 3, 3 * 16 * 576 * 2)]
    assert "not modelled" in serving.kv_groups(_layers(["recurrent", "full"]), 2)


def test_vllm_batch_defaults_follow_the_gpu_size():
    assert serving.vllm_batch_defaults(24 << 30) == (2048, 256)
    assert serving.vllm_batch_defaults(80 << 30) == (8192, 1024)
    assert serving.vllm_batch_defaults(192 << 30) == (16384, 1024)


def test_plan_json_carries_the_serving_figures(tmp_path, cli):
    r = cli("plan", _model(tmp_path), "--memory", "1GiB", "--ctx", "4k", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    v = {x["runtime"]: x for x in doc["serving"]}["vllm"]
    assert (v["kv_capacity_tokens"], v["max_context"], v["bytes_per_block"], v["num_blocks"]) == (3_764_336, 4096, 4096, 235_271)
    r = cli("plan", _model(tmp_path), "--memory", "1GiB", "--ctx", "4k")
    assert "KV cache capacity 3,764,336 tokens, maximum concurrency 919.03x for 4,096 tokens" in r.stdout
    bad = cli("plan", _model(tmp_path), "--gpu-memory-utilization", "1.5")
    assert bad.exit_code == 2 and "--gpu-memory-utilization: must be a share of the GPU" in bad.stderr


def test_sglang_hybrid_sliding_window_pool(tmp_path):
    s = api.inspect(_model(tmp_path))
    lay = Layout("x", _layers(["swa"] * 5 + ["full"]).layers, max_context=32768, dtype="bfloat16")
    got = serving.sglang(s, lay, 1 << 30, 32768, mem_fraction_static=0.5)
    # per token and layer 1 x (256 + 256) x 2 B = 1,024; cell = 1,024 (full) + 0.8 x 5 x 1,024 (sliding) = 5,120
    assert got.kv_available == (1 << 29) - 136_192 == 536_734_720
    assert got.capacity_tokens == 536_734_720 // 5120 == 104_831 and got.bytes_per_block is None
    assert {t.name: t.value for t in got.terms}["SWA pool tokens"] == int(104_831 * 0.8) == 83_864
    assert got.error is None and got.largest_context == 32768
    tiny = serving.sglang(s, lay, 1 << 30, 32768, mem_fraction_static=0.0007)
    # int(1 GiB x 0.0007) = 751,619; rest 615,427 // 5,120 = 120 tokens; SWA pool int(120 x 0.8) = 96 <= 512 + 1
    assert tiny.capacity_tokens == 120
    assert tiny.error == ("SWA pool (96 tokens) cannot hold even one request: the prefill admission floor is "
                          "sliding_window_size (512) + page_size (1). Increase --swa-full-tokens-ratio or the total KV budget.")


def test_vllm_refuses_a_max_model_len_past_the_derived_one(tmp_path):
    v = _by(api.plan(_model(tmp_path), memory="1GiB", ctx="8k"))["vllm"]
    assert v.error is not None and v.error.startswith(
        "User-specified max_model_len (8192) is greater than the derived max_model_len (max_position_embeddings=4096 "
        "or model_max_length=None in model's config.json). To allow overriding this maximum, set the env var "
        "VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. VLLM_ALLOW_LONG_MAX_MODEL_LEN must be used with extreme caution.")
    assert v.capacity_tokens is not None  # the KV figures stand; vLLM stops at the length check first


def test_derived_max_len_follows_rope_scaling_rules(tmp_path):
    def derived(**extra):
        folder = tmp_path / "r"
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_text(json.dumps({**CONFIG, **extra}))
        save_file({"model.embed_tokens.weight": np.zeros((4, 8), np.float32)}, str(folder / "model.safetensors"))
        return serving.derived_max_len(api.inspect(str(folder)))

    assert derived() == (4096, "max_position_embeddings", None)
    assert derived(rope_scaling={"rope_type": "dynamic", "factor": 2.0}) == (8192.0, "max_position_embeddings", None)
    assert derived(rope_scaling={"rope_type": "yarn", "factor": 4.0})[0] == 4096  # yarn: already scaled
    assert derived(model_type="gemma3_text", rope_scaling={"rope_type": "linear", "factor": 8.0})[0] == 4096
    assert derived(model_max_length=2048, n_positions=1024) == (2048, "model_max_length", 2048)

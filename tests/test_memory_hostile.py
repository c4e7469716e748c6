"""The memory plan on hostile or broken values: caps, wrong types, wrong signs, markup, bad options.

Every value from config.json or GGUF keys is untrusted: a wrong type or sign makes the figure
unknown (never a crash or a negative size), a layer count past ``MAX_LAYERS`` makes the plan's
layout unknown with a warning, and ``inspect`` still answers.
"""

from __future__ import annotations

import json

import gguf
import numpy as np
import pytest
from ggufbuild import write_gguf
from safetensors.numpy import save_file

from mfi import api, limits

from mfi.plan.assess import assess
from mfi.errors import LimitError
from mfi.plan import layout
from mfi.plan import memory
from mfi.plan.records import Options

V = gguf.GGUFValueType
LLAMA = dict(model_type="llama", architectures=["LlamaForCausalLM"], num_hidden_layers=2, hidden_size=64,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096)  # fmt: skip
# 2 layers x 4096 cells x (K 2 heads x 16 x 2 B + V the same = 128 B)
LLAMA_KV_4K = 2 * 4096 * 128


def _folder(tmp_path, drop=(), **changes):
    folder = tmp_path / "model"
    folder.mkdir()
    config = {k: v for k, v in {**LLAMA, **changes}.items() if k not in drop}
    (folder / "config.json").write_text(json.dumps(config))
    save_file({"model.embed_tokens.weight": np.zeros((4, 8), np.float16)}, str(folder / "model.safetensors"))
    return folder


def _gguf_md(**kv):
    base = {"block_count": 2, "embedding_length": 64, "attention.head_count": 4, "attention.head_count_kv": 2}
    return {"general.architecture": "llama", **{f"llama.{k}": v for k, v in {**base, **kv}.items()}}


# ---- the layer-count cap ----------------------------------------------------------------------


@pytest.mark.timeout(10)
def test_config_layer_count_past_the_cap_raises_a_limit_error_naming_the_file():
    with pytest.raises(LimitError) as e:
        layout.from_config({**LLAMA, "num_hidden_layers": 300_000_000}, source="x/config.json")
    assert str(e.value) == "x/config.json: num_hidden_layers = 300,000,000 exceeds the cap of 4,096 layers (MAX_LAYERS)"


@pytest.mark.timeout(10)
def test_gguf_block_count_past_the_cap_raises_a_limit_error():
    with pytest.raises(LimitError, match=r"llama.block_count = 2,147,483,648 exceeds the cap"):
        layout.from_gguf(_gguf_md(block_count=2**31), source="m.gguf")


def test_layer_count_at_the_cap_is_accepted():
    lay = layout.from_config({**LLAMA, "num_hidden_layers": limits.MAX_LAYERS})
    assert len(lay.layers) == limits.MAX_LAYERS and lay.unknown is None


@pytest.mark.timeout(20)
def test_inspect_json_still_answers_past_the_cap(tmp_path, cli):
    folder = _folder(tmp_path, num_hidden_layers=300_000_000)
    r = cli("inspect", str(folder), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["memory"]["kv_cache_bytes"] is None and doc["memory"]["total_bytes"] is None
    assert "exceeds the cap of 4,096 layers" in doc["memory"]["kv_cache_blocked"]
    assert doc["plan_warnings"] == [f"{folder / 'config.json'}: num_hidden_layers = 300,000,000 exceeds the cap of 4,096 layers (MAX_LAYERS)"]
    assert doc["architecture"]["layers"] == 300_000_000  # the summary still reports what the file says


@pytest.mark.timeout(20)
def test_plan_on_a_gguf_with_two_billion_blocks(tmp_path, cli):
    kv = {"llama.block_count": (2**31, V.UINT32), "llama.embedding_length": (64, V.UINT32), "llama.attention.head_count": (4, V.UINT32)}
    path = write_gguf(tmp_path / "huge.gguf", kv=kv)
    r = cli("plan", str(path), "--json", "--memory", "24GiB")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["memory"]["kv_cache_bytes"] is None and doc["memory"]["fits_context"] is None
    assert doc["plan_warnings"] == [f"{path}: llama.block_count = 2,147,483,648 exceeds the cap of 4,096 layers (MAX_LAYERS)"]
    text = cli("plan", str(path))
    assert text.exit_code == 0 and "warning: " in text.stdout and "MAX_LAYERS" in text.stdout


# ---- wrong types and signs in config.json -----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "unknown"),
    [
        ({"num_hidden_layers": "32"}, "lacks num_hidden_layers"),
        ({"num_hidden_layers": -3}, "lacks num_hidden_layers"),
        ({"num_hidden_layers": 0}, "lacks num_hidden_layers"),
        ({"num_hidden_layers": True}, "lacks num_hidden_layers"),
        ({"num_attention_heads": [4]}, "lacks num_hidden_layers or num_attention_heads"),
        ({"num_key_value_heads": -2}, "num_key_value_heads not a positive integer"),
        ({"num_key_value_heads": {"a": 1}}, "num_key_value_heads not a positive integer"),
        ({"head_dim": -128}, "head_dim not a positive integer"),
        ({"hidden_size": "64"}, "hidden_size not a positive integer"),
        ({"v_head_dim": 1.5}, "v_head_dim not a positive integer"),
    ],
    ids=["layers-str", "layers-negative", "layers-zero", "layers-bool", "heads-list", "kv-negative", "kv-dict",
         "head-dim-negative", "hidden-str", "v-head-dim-float"],
)  # fmt: skip
def test_config_values_of_the_wrong_type_or_sign_make_the_layout_unknown(changes, unknown):
    lay = layout.from_config({**LLAMA, **changes})
    assert lay.unknown is not None and unknown in lay.unknown and lay.layers == ()
    kv = memory.kv_llamacpp(lay, 4096)
    assert kv.bytes is None and kv.blocked == lay.unknown


@pytest.mark.parametrize(
    "changes",
    [{"model_type": []}, {"model_type": {"x": 1}}, {"text_config": [1, 2]}, {"torch_dtype": ["bf16"]},
     {"layer_types": [{"a": 1}, "full_attention"], "sliding_window": 128}, {"sliding_window": -5},
     {"sliding_window": "4096"}, {"max_position_embeddings": -1}, {"use_sliding_window": "no"}],
    ids=["model-type-list", "model-type-dict", "text-config-list", "dtype-list", "layer-types-dict", "window-negative",
         "window-str", "max-ctx-negative", "use-swa-str"],
)  # fmt: skip
def test_ignorable_config_values_of_the_wrong_type_leave_a_plain_full_attention_layout(changes):
    lay = layout.from_config({**LLAMA, **changes})
    assert [(s.kind, s.kv_heads, s.head_dim_k) for s in lay.layers] == [("full", 2, 16)] * 2
    assert memory.kv_llamacpp(lay, 4096).bytes == LLAMA_KV_4K


def test_wrong_typed_model_type_through_the_plan(tmp_path):
    folder = _folder(tmp_path, drop=("architectures",), model_type=["llama"])
    p = assess(api.inspect(str(folder)), Options(context=4096))
    assert p.memory.kv.bytes == LLAMA_KV_4K
    assert {v.runtime: v.status for v in p.runtimes.verdicts}["transformers"] == "unknown"


def test_jamba_attention_offset_zero_is_kept():
    jamba = dict(model_type="jamba", num_hidden_layers=8, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                 attn_layer_period=4, attn_layer_offset=0, mamba_d_conv=4, mamba_d_state=16, mamba_expand=2)  # fmt: skip
    lay = layout.from_config(jamba)
    assert [s.index for s in lay.layers if s.kind == "full"] == [0, 4]


def test_negative_recurrent_state_keys_leave_the_state_uncomputed():
    jamba = dict(model_type="jamba", num_hidden_layers=8, hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
                 mamba_d_conv=-4, mamba_d_state=16, mamba_expand=2)  # fmt: skip
    lay = layout.from_config(jamba)
    assert all(s.state_r == s.state_s == 0 for s in lay.layers if s.kind == "recurrent")
    assert any("recurrent state size not computed" in n for n in lay.notes)


# ---- wrong types and signs in GGUF keys -------------------------------------------------------


@pytest.mark.parametrize(
    ("kv", "unknown"),
    [
        ({"block_count": -2}, "block_count missing or not a positive integer"),
        ({"block_count": "2"}, "block_count missing or not a positive integer"),
        ({"attention.head_count_kv": -2}, "head counts missing"),
        ({"attention.head_count_kv": [2, -2]}, "head counts missing"),
        ({"attention.head_count": "4"}, "head counts missing"),
        ({"embedding_length": -64}, "llama.embedding_length not a positive integer"),
        ({"attention.key_length": "16"}, "llama.attention.key_length not a positive integer"),
        ({"attention.value_length": -16}, "llama.attention.value_length not a positive integer"),
    ],
    ids=["blocks-negative", "blocks-str", "kv-negative", "kv-array-negative", "heads-str", "embd-negative",
         "key-length-str", "value-length-negative"],
)  # fmt: skip
def test_gguf_values_of_the_wrong_type_or_sign_make_the_layout_unknown(kv, unknown):
    lay = layout.from_gguf(_gguf_md(**kv))
    assert lay.unknown is not None and unknown in lay.unknown
    assert memory.kv_llamacpp(lay, 4096).bytes is None


def test_gguf_wrong_typed_sliding_pattern_is_ignored_with_a_note():
    lay = layout.from_gguf(_gguf_md(**{"attention.sliding_window": 128, "attention.sliding_window_pattern": ["x", "y"]}))
    assert [s.kind for s in lay.layers] == ["full", "full"]
    assert any("is not 2 flags" in n for n in lay.notes)


def test_gguf_negative_kv_heads_through_the_reader(tmp_path):
    kv = {"llama.block_count": (2, V.UINT32), "llama.embedding_length": (64, V.UINT32),
          "llama.attention.head_count": (4, V.UINT32), "llama.attention.head_count_kv": (-2, V.INT32)}  # fmt: skip
    p = assess(api.inspect(str(write_gguf(tmp_path / "neg.gguf", kv=kv))), Options(context=4096))
    assert p.memory.kv.bytes is None and "head counts" in p.memory.kv.blocked

"""`mfi compare` where llama.cpp's converter does more than rename: split/transposed experts, fused
tensors kept fused, Gemma norms shifted by one, multimodal prefixes between two HF checkpoints.

Each GGUF side is written the way convert_hf_to_gguf.py writes it (the numpy lines below mirror the
converter's torch lines quoted beside them), so a faithful match compares exactly.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from mfi import api
from mfi.compare import values as weights


def _u32():
    import gguf

    return gguf.GGUFValueType.UINT32


def _hf(folder: Path, tensors: dict[str, np.ndarray], config: dict) -> Path:
    from safetensors.numpy import save_file

    folder.mkdir()
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def _q8(a: np.ndarray):
    import gguf

    return gguf.quants.quantize(np.ascontiguousarray(a, np.float32), gguf.GGMLQuantizationType.Q8_0), gguf.GGMLQuantizationType.Q8_0


# -- gpt-oss: experts stored (experts, in, out), gate/up interleaved ------------------------------

E, H, INTER, HEADS, KV, HD, V = 4, 64, 32, 4, 2, 16, 96


def _gpt_oss_hf(rng) -> dict[str, np.ndarray]:
    def r(*shape):
        return (rng.standard_normal(shape) * 0.02).astype(np.float32)

    t = {"model.embed_tokens.weight": r(V, H), "model.norm.weight": 1 + r(H), "lm_head.weight": r(V, H)}
    for b in range(2):
        p = f"model.layers.{b}."
        t |= {
            p + "input_layernorm.weight": 1 + r(H), p + "post_attention_layernorm.weight": 1 + r(H),
            p + "self_attn.q_proj.weight": r(HEADS * HD, H), p + "self_attn.q_proj.bias": r(HEADS * HD),
            p + "self_attn.k_proj.weight": r(KV * HD, H), p + "self_attn.k_proj.bias": r(KV * HD),
            p + "self_attn.v_proj.weight": r(KV * HD, H), p + "self_attn.v_proj.bias": r(KV * HD),
            p + "self_attn.o_proj.weight": r(H, HEADS * HD), p + "self_attn.o_proj.bias": r(H),
            p + "self_attn.sinks": r(HEADS),
            p + "mlp.router.weight": r(E, H), p + "mlp.router.bias": r(E),
            p + "mlp.experts.gate_up_proj": r(E, H, 2 * INTER), p + "mlp.experts.gate_up_proj_bias": r(E, 2 * INTER),
            p + "mlp.experts.down_proj": r(E, INTER, H), p + "mlp.experts.down_proj_bias": r(E, H),
        }  # fmt: skip
    return t


def _gpt_oss_gguf(path: Path, hf: dict[str, np.ndarray], quantize: bool) -> Path:
    """The GGUF GptOssModel.modify_tensors writes (without MXFP4), experts optionally in Q8_0."""
    from ggufbuild import write_gguf

    q = _q8 if quantize else (lambda a: np.ascontiguousarray(a))
    g = {"token_embd.weight": hf["model.embed_tokens.weight"], "output_norm.weight": hf["model.norm.weight"],
         "output.weight": hf["lm_head.weight"]}  # fmt: skip
    for b in range(2):
        p, k = f"model.layers.{b}.", f"blk.{b}."
        g |= {k + "attn_norm.weight": hf[p + "input_layernorm.weight"], k + "post_attention_norm.weight": hf[p + "post_attention_layernorm.weight"]}
        for hf_name, gg in (("q_proj", "attn_q"), ("k_proj", "attn_k"), ("v_proj", "attn_v"), ("o_proj", "attn_output")):
            g[k + gg + ".weight"], g[k + gg + ".bias"] = hf[p + f"self_attn.{hf_name}.weight"], hf[p + f"self_attn.{hf_name}.bias"]
        g[k + "attn_sinks.weight"] = hf[p + "self_attn.sinks"]
        g[k + "ffn_gate_inp.weight"], g[k + "ffn_gate_inp.bias"] = hf[p + "mlp.router.weight"], hf[p + "mlp.router.bias"]
        gate_up = hf[p + "mlp.experts.gate_up_proj"].transpose(0, 2, 1)  # data_torch.transpose(-1, -2)
        g[k + "ffn_gate_exps.weight"] = q(gate_up[:, ::2, :])  # data_torch[:, ::2, :]
        g[k + "ffn_up_exps.weight"] = q(gate_up[:, 1::2, :])  # data_torch[:, 1::2, :]
        bias = hf[p + "mlp.experts.gate_up_proj_bias"]
        g[k + "ffn_gate_exps.bias"], g[k + "ffn_up_exps.bias"] = bias[..., ::2], bias[..., 1::2]
        g[k + "ffn_down_exps.weight"] = q(hf[p + "mlp.experts.down_proj"].transpose(0, 2, 1))
        g[k + "ffn_down_exps.bias"] = hf[p + "mlp.experts.down_proj_bias"]
    kv = {"gpt-oss.block_count": (2, _u32()), "gpt-oss.attention.head_count": (HEADS, _u32()),
          "gpt-oss.attention.head_count_kv": (KV, _u32()), "gpt-oss.expert_count": (E, _u32())}  # fmt: skip
    return write_gguf(path, arch="gpt-oss", kv=kv, tensors={n: (a if isinstance(a, tuple) else np.ascontiguousarray(a)) for n, a in g.items()})


@pytest.fixture(scope="module")
def gpt_oss(tmp_path_factory):
    out = tmp_path_factory.mktemp("gptoss")
    hf = _gpt_oss_hf(np.random.default_rng(11))
    config = {"model_type": "gpt_oss", "architectures": ["GptOssForCausalLM"], "num_hidden_layers": 2, "hidden_size": H,
              "num_attention_heads": HEADS, "num_key_value_heads": KV, "head_dim": HD, "num_local_experts": E,
              "intermediate_size": INTER, "vocab_size": V}  # fmt: skip
    folder = _hf(out / "gpt-oss-tiny", hf, config)
    return folder, _gpt_oss_gguf(out / "f32.gguf", hf, False), _gpt_oss_gguf(out / "q8.gguf", hf, True)


def test_gpt_oss_split_experts_are_matched(gpt_oss):
    folder, f32, _ = gpt_oss
    c = api.compare(folder, f32)
    # 3 tensors outside blocks + 2 x 17 per block; gate_up_proj and its bias each make two pairs
    assert len(c.left.tensors) == 37 and len(c.pairs) == 37 + 2 * 2 == len(c.right.tensors)
    assert c.only_left == c.only_right == () and c.unpaired == () and c.shape_mismatch == ()
    pairs = {p.key: p for p in c.pairs}
    gate, up = pairs["blk.1.ffn_gate_exps.weight"], pairs["blk.1.ffn_up_exps.weight"]
    assert gate.left == up.left == ("model.layers.1.mlp.experts.gate_up_proj",)
    assert gate.left_shape == gate.right_shape == (E, INTER, H)  # (4, 64, 64) stored, transposed, halved
    assert (gate.split.part, up.split.part, gate.split.parts, gate.split.interleaved, gate.split.transposed) == (0, 1, 2, True, True)
    assert gate.note == "part 1 of 2 (interleaved rows) of model.layers.1.mlp.experts.gate_up_proj, transposed (split by the converter)"
    assert gate.left_bytes == E * H * 2 * INTER * 4 // 2 == gate.right_bytes
    down = pairs["blk.0.ffn_down_exps.weight"]
    assert down.left_shape == down.right_shape == (E, H, INTER) and down.split.parts == 1 and down.split.transposed
    bias = pairs["blk.0.ffn_up_exps.bias"]
    assert bias.left_shape == (E, INTER) and bias.split.axis == -1 and not bias.split.transposed
    assert pairs["blk.0.attn_sinks.weight"].split is None  # a rename only
    assert pairs["blk.0.ffn_down_exps.bias"].left == ("model.layers.0.mlp.experts.down_proj_bias",)


@pytest.mark.parametrize("sample", [None, 7])
def test_gpt_oss_split_values_are_exact(gpt_oss, sample):
    folder, f32, _ = gpt_oss
    c = api.compare(folder, f32, weights=True, sample=sample)
    assert all(v.skipped is None and v.max_abs == 0 and v.cosine == pytest.approx(1.0) for v in c.values), c.values
    got = {v.key: v for v in c.values}
    assert got["blk.0.ffn_gate_exps.weight"].rows_total == E * INTER and got["blk.0.ffn_gate_exps.bias"].rows_total == E
    assert got["blk.0.ffn_gate_exps.weight"].rows == (7 if sample else E * INTER)
    # the same figures with the GGUF on the left
    back = api.compare(f32, folder, weights=True, sample=sample)
    assert all(v.max_abs == 0 for v in back.values) and len(back.pairs) == 41


def test_gpt_oss_q8_experts_and_wrong_slices(gpt_oss, monkeypatch):
    folder, _, q8 = gpt_oss
    c = api.compare(folder, q8, weights=True)
    exps = [v for v in c.values if "_exps.weight" in v.key]
    assert len(exps) == 6 and all(v.cosine > 0.999 and v.rel_rms < 0.01 for v in exps)
    # pairing the gate with the up half (parts swapped) is noise: the slicing rule matters
    swapped = dataclasses.replace(c, pairs=tuple(
        dataclasses.replace(p, split=dataclasses.replace(p.split, part=1 - p.split.part)) if p.split and p.split.parts == 2 else p
        for p in c.pairs
    ))  # fmt: skip
    per, _ = weights.compare_values(swapped, _opener())
    assert max(v.cosine for v in per if v.key.endswith("gate_exps.weight")) < 0.5
    monkeypatch.setattr(weights, "CHUNK_ELEMENTS", 100)  # strips of one stored row, tiles of one row
    small, _ = weights.compare_values(c, _opener())
    for a, b in zip(c.values, small):
        assert a.max_abs == b.max_abs and a.cosine == pytest.approx(b.cosine, abs=1e-12), a.key


def _opener():
    from mfi.sources import LocalFile

    cache: dict = {}
    return lambda path: cache.setdefault(path, LocalFile(path))


def test_granitemoe_input_linear_halves(tmp_path):
    """GraniteMoeModel: ``gate, up = data_torch.split(ffn_dim, dim=-2)``, no transpose."""
    from ggufbuild import write_gguf

    rng = np.random.default_rng(3)
    w = rng.standard_normal((E, 2 * INTER, H)).astype(np.float32)
    folder = _hf(tmp_path / "granite", {"model.layers.0.block_sparse_moe.input_linear.weight": w},
                 {"model_type": "granitemoe", "num_hidden_layers": 1, "hidden_size": H, "intermediate_size": INTER})  # fmt: skip
    g = write_gguf(tmp_path / "g.gguf", arch="granitemoe", tensors={
        "blk.0.ffn_gate_exps.weight": np.ascontiguousarray(w[:, :INTER]), "blk.0.ffn_up_exps.weight": np.ascontiguousarray(w[:, INTER:]),
    })  # fmt: skip
    for sample in (None, 5):
        c = api.compare(folder, g, weights=True, sample=sample)
        assert [p.key for p in c.pairs] == ["blk.0.ffn_gate_exps.weight", "blk.0.ffn_up_exps.weight"]
        assert c.pairs[0].left_shape == (E, INTER, H) and not c.pairs[0].split.interleaved
        assert all(v.max_abs == 0 for v in c.values)


# -- phi3: fused qkv_proj / gate_up_proj stay fused in GGUF ----------------------------------------


def test_phi3_fused_tensors_match_one_to_one(tmp_path):
    from ggufbuild import write_gguf

    rng = np.random.default_rng(4)
    qkv, gate_up = rng.standard_normal((3 * H, H)).astype(np.float32), rng.standard_normal((2 * INTER, H)).astype(np.float32)
    folder = _hf(tmp_path / "phi3", {"model.layers.0.self_attn.qkv_proj.weight": qkv, "model.layers.0.mlp.gate_up_proj.weight": gate_up},
                 {"model_type": "phi3", "num_hidden_layers": 1, "hidden_size": H, "num_attention_heads": HEADS})  # fmt: skip
    g = write_gguf(tmp_path / "p.gguf", arch="phi3", tensors={"blk.0.attn_qkv.weight": qkv, "blk.0.ffn_up.weight": gate_up})
    c = api.compare(folder, g, weights=True)
    assert {p.key: p.left_shape for p in c.pairs} == {"blk.0.attn_qkv.weight": (3 * H, H), "blk.0.ffn_up.weight": (2 * INTER, H)}
    assert all(p.split is None for p in c.pairs) and c.only_left == c.only_right == ()
    assert all(v.max_abs == 0 for v in c.values)


# -- Gemma: the converter adds 1 to every *norm.weight ---------------------------------------------


def test_gemma3_norms_compare_after_the_shift_is_undone(tmp_path):
    from ggufbuild import write_gguf

    rng = np.random.default_rng(8)
    norms = ("input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm", "post_feedforward_layernorm",
             "self_attn.q_norm", "self_attn.k_norm")  # fmt: skip
    hf = {"model.embed_tokens.weight": rng.standard_normal((V, H)).astype(np.float32), "model.norm.weight": rng.standard_normal(H).astype(np.float32) * 0.1}
    hf |= {f"model.layers.0.{n}.weight": (rng.standard_normal(HD if "_norm" in n.split(".")[-1] and "self_attn" in n else H) * 0.1).astype(np.float32) for n in norms}
    hf["model.layers.0.self_attn.q_proj.weight"] = rng.standard_normal((HEADS * HD, H)).astype(np.float32)
    folder = _hf(tmp_path / "gemma3", hf, {"model_type": "gemma3_text", "num_hidden_layers": 1, "hidden_size": H,
                                           "num_attention_heads": HEADS, "num_key_value_heads": KV, "head_dim": HD})  # fmt: skip
    gg_names = {"input_layernorm": "attn_norm", "post_attention_layernorm": "post_attention_norm", "pre_feedforward_layernorm": "ffn_norm",
                "post_feedforward_layernorm": "post_ffw_norm", "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm"}  # fmt: skip
    # Gemma3Model.modify_tensors: ``if name.endswith("norm.weight"): data_torch = data_torch + self.norm_shift``
    g = {f"blk.0.{gg_names[n]}.weight": hf[f"model.layers.0.{n}.weight"] + 1 for n in norms}
    g |= {"output_norm.weight": hf["model.norm.weight"] + 1, "token_embd.weight": hf["model.embed_tokens.weight"],
          "blk.0.attn_q.weight": hf["model.layers.0.self_attn.q_proj.weight"]}  # fmt: skip
    path = write_gguf(tmp_path / "g.gguf", arch="gemma3", tensors=g)
    c = api.compare(folder, path, weights=True)
    assert len(c.pairs) == 9 and c.only_left == c.only_right == ()
    shifted = {p.key for p in c.pairs if p.shift == 1.0}
    assert shifted == {k for k in g if "norm" in k} and len(shifted) == 7
    assert next(p for p in c.pairs if p.key == "output_norm.weight").note == "the converter adds 1 to gemma3 norm weights"
    values = {v.key: v for v in c.values}
    # float32 (x + 1) - 1 keeps x to within an ulp of 1.0 (1.2e-7)
    assert all(values[k].max_abs < 1.2e-7 and values[k].cosine > 0.999999 for k in shifted)
    assert values["blk.0.attn_q.weight"].max_abs == 0
    raw, _ = weights.compare_values(dataclasses.replace(c, pairs=tuple(dataclasses.replace(p, shift=None) for p in c.pairs)), _opener())
    assert max(v.cosine for v in raw if v.key in shifted) < 0.5  # x against x + 1, x ~ 0.1: unrelated
    back = api.compare(path, folder, weights=True)  # GGUF on the left: the shift is taken off the left
    assert all(v.max_abs < 1.2e-7 for v in back.values)


# -- two HF checkpoints: one multimodal (model.language_model.), one text-only ---------------------


def _renamed_copy(src: Path, dst: Path, rename, extra: tuple[str, np.ndarray]) -> None:
    """A copy of a sharded safetensors folder with tensors renamed in the headers, ``extra`` appended to the first shard."""
    import shutil
    import struct

    shutil.copytree(src, dst)
    index = json.loads((dst / "model.safetensors.index.json").read_text())
    for i, shard in enumerate(sorted(dst.glob("*.safetensors"))):
        data = shard.read_bytes()
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8 : 8 + n])
        body = data[8 + n :]
        header = {(k if k == "__metadata__" else rename(k)): v for k, v in header.items()}
        if i == 0:
            name, arr = extra
            header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [len(body), len(body) + arr.nbytes]}
            body += arr.astype("<f4").tobytes()
            index["weight_map"][name] = shard.name
        raw = json.dumps(header).encode()
        shard.write_bytes(struct.pack("<Q", len(raw)) + raw + body)
    index["weight_map"] = {rename(k): v for k, v in index["weight_map"].items()}
    (dst / "model.safetensors.index.json").write_text(json.dumps(index))


def test_vl_prefix_against_text_checkpoint(models, tmp_path):
    text = models / "qwen3-tiny"
    folder = tmp_path / "vl"
    vision = ("model.visual.patch_embed.proj.weight", np.ones((8, 4), np.float32))
    _renamed_copy(text, folder, lambda k: "model.language_model." + k[len("model."):] if k.startswith("model.") else k, vision)
    tensors = api.inspect(text).tensors
    c = api.compare(folder, text, weights=True)
    assert c.naming == "names as written, multimodal prefixes stripped"
    assert len(c.pairs) == len(tensors) == 24 and c.only_left == c.only_right == ()
    assert [(u.side, u.name) for u in c.unpaired] == [("left", "model.visual.patch_embed.proj.weight")]
    q = next(p for p in c.pairs if p.key == "model.layers.0.self_attn.q_proj.weight")
    assert q.left == ("model.language_model.layers.0.self_attn.q_proj.weight",) and q.right == ("model.layers.0.self_attn.q_proj.weight",)
    assert all(v.max_abs == 0 for v in c.values) and c.differences == ()
    # between the real multimodal fixture and the text one, text tensors still pair up
    c = api.compare(models / "qwen3-vl-tiny", text)
    assert len(c.pairs) == 24 and c.only_left == c.only_right == ()
    assert {u.reason for u in c.unpaired} == {
        "vision/audio tower; the other model is text-only", "output head tied to model.embed_tokens.weight on the right",
    }  # fmt: skip


def test_json_names_the_split_and_the_shift(gpt_oss, cli):
    folder, f32, _ = gpt_oss
    r = cli("compare", str(folder), str(f32), "--json")
    assert r.exit_code == 0, r.stderr
    pairs = {p["key"]: p for p in json.loads(r.stdout)["tensors"]["pairs"]}
    assert pairs["blk.0.ffn_up_exps.weight"]["split"] == {
        "side": "left", "part": 1, "parts": 2, "interleaved": True, "axis": -2, "transposed": True,
    }  # fmt: skip
    assert pairs["blk.0.attn_q.weight"]["split"] is None and pairs["blk.0.attn_q.weight"]["shift"] is None

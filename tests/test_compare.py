"""`mfi compare` on generated pairs: conversions, two quants, two checkpoints differing in one tensor."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from mfi import api
from mfi.compare import values as weights
from mfi.compare.match import PERMUTED_ARCHES, compare, gguf_arch_name


def test_llama_conversion_matches_every_tensor(models):
    c = api.compare(models / "llama-tiny", models / "llama-tiny-Q8_0.gguf")
    # 2 layers x 9 tensors + embedding, final norm, lm_head; the GGUF adds only rope_freqs.
    assert len(c.pairs) == 21 == len(c.left.tensors)
    assert c.only_left == () and c.only_right == () and c.shape_mismatch == ()
    assert [(u.side, u.name) for u in c.unpaired] == [("right", "rope_freqs.weight")]
    assert c.naming == "gguf name map (llama)"
    pairs = {p.key: p for p in c.pairs}
    q, k = pairs["blk.0.attn_q.weight"], pairs["blk.0.attn_k.weight"]
    assert q.left == ("model.layers.0.self_attn.q_proj.weight",)
    assert (q.left_type, q.right_type) == ("BF16", "Q8_0")
    # GGUF ne order reversed to row-major: k_proj is (kv_heads * head_dim, hidden) = (128, 256).
    assert k.left_shape == k.right_shape == (128, 256)
    assert (q.qk_heads, k.qk_heads) == (4, 2)
    assert k.left_bytes == 128 * 256 * 2 and k.right_bytes == 128 * 256 // 32 * 34
    assert pairs["lm_head.weight" if "lm_head.weight" in pairs else "output.weight"].right == ("output.weight",)
    assert all(r.status != "different" for r in c.architecture)
    assert c.differences == ("types: 21 matched tensor(s) stored in a different type",)


def test_llama_q8_values_have_cosine_above_0999(models):
    c = api.compare(models / "llama-tiny", models / "llama-tiny-Q8_0.gguf", weights=True)
    by_key = {v.key: v for v in c.values}
    assert all(v.skipped is None for v in c.values)
    for p in c.pairs:
        v = by_key[p.key]
        assert v.rows == v.rows_total == (p.left_shape[0] if len(p.left_shape) == 2 else 1)
        if len(p.left_shape) == 2:
            assert v.cosine > 0.999 and v.rel_rms < 0.01, p.key
        else:  # BF16 norms are exact in F32
            assert v.max_abs == 0 and v.cosine == pytest.approx(1.0), p.key
    assert [v.key for v in c.layer_values] == ["layer 0", "layer 1", "non-block"]
    assert all(v.cosine > 0.999 for v in c.layer_values)


def test_qk_permutation_is_undone(models):
    c = api.compare(models / "llama-tiny", models / "llama-tiny-Q8_0.gguf")
    unpermuted = dataclasses.replace(c, pairs=tuple(dataclasses.replace(p, qk_heads=None) for p in c.pairs))
    with_perm, _ = weights.compare_values(c, _opener(), sample=None)
    without, _ = weights.compare_values(unpermuted, _opener(), sample=None)
    key = {v.key: v for v in with_perm}, {v.key: v for v in without}
    assert key[0]["blk.0.attn_q.weight"].cosine > 0.999
    assert key[1]["blk.0.attn_q.weight"].cosine < 0.5  # rows paired wrongly: unrelated random rows


def _opener():
    from mfi.sources import LocalFile

    cache: dict = {}
    return lambda path: cache.setdefault(path, LocalFile(path))


def test_partner_rows_invert_the_converters_permutation():
    load = __import__("conftest").load_generator()
    for heads, rows in ((4, 256), (2, 128), (3, 12)):
        hf = np.arange(rows * 2, dtype=np.float64).reshape(rows, 2)
        gg = load.llama_permute(hf, heads)
        idx = np.arange(rows)
        hd = rows // heads
        # left HF row r pairs with GGUF row partner(r), and the other way round
        assert (gg[weights._partner(idx, heads, hd, True)] == hf).all()
        assert (hf[weights._partner(idx, heads, hd, False)] == gg).all()


def test_moe_experts_are_stacked_into_one_match(models):
    c = api.compare(models / "qwen3-moe-tiny", models / "qwen3-moe-tiny-Q8_0.gguf", weights=True, sample=16)
    assert c.only_left == c.only_right == () and c.unpaired == ()
    assert len(c.pairs) == 27
    exps = [p for p in c.pairs if "_exps" in p.key]
    assert len(exps) == 6  # gate, up, down in 2 layers
    down = next(p for p in exps if p.key == "blk.0.ffn_down_exps.weight")
    assert down.left == tuple(f"model.layers.0.mlp.experts.{e}.down_proj.weight" for e in range(4))
    assert down.left_shape == down.right_shape == (4, 64, 256)
    assert down.note == "4 experts stacked"
    name_row = next(r for r in c.architecture if r.field == "name")
    assert (name_row.left, name_row.right, name_row.status) == ("qwen3_moe", "qwen3moe", "equal")
    by_key = {v.key: v for v in c.values}
    assert by_key["blk.0.ffn_down_exps.weight"].rows == 16 and by_key["blk.0.ffn_down_exps.weight"].rows_total == 256
    assert all(by_key[p.key].cosine > 0.999 for p in exps)


def test_tied_qwen3_against_its_f16_gguf(models):
    c = api.compare(models / "qwen3-tiny", models / "qwen3-tiny-F16.gguf", weights=True)
    assert c.only_left == c.only_right == () and c.unpaired == ()
    keys = {p.key for p in c.pairs}
    assert "output.weight" not in keys and "blk.1.attn_q_norm.weight" in keys
    assert len(c.pairs) == len(c.left.tensors) == len(c.right.tensors)
    assert all(p.qk_heads is None for p in c.pairs)  # qwen3's converter does not permute
    assert all(v.rel_rms < 1e-3 for v in c.values)
    tok = c.tokenizer
    assert tok.tokens_identical is True and tok.chat_template == "identical"
    assert {r.field: r.status for r in tok.special} == {"eos": "equal", "pad": "equal", "bos": "equal"}


def test_two_quants_of_one_gguf(models):
    c = api.compare(models / "llama-tiny-Q8_0.gguf", models / "llama-tiny-Q4_K_M.gguf", weights=True)
    assert c.naming == "names as written" and len(c.pairs) == 22 and not c.unpaired
    assert all(r.status in ("equal", "missing") for r in c.architecture)
    layers = {lq.layer: {p.key: p.right_type for p in lq.pairs} for lq in c.layers}
    assert layers[0]["blk.0.attn_v.weight"] == "Q4_K" and layers[1]["blk.1.attn_v.weight"] == "Q6_K"
    assert layers[1]["blk.1.ffn_down.weight"] == "Q6_K" and layers[None]["output.weight"] == "Q6_K"
    lq1 = c.layers[1]
    assert lq1.right_bytes == sum(p.right_bytes for p in lq1.pairs) and lq1.right_bpw > c.layers[0].right_bpw
    lv = {v.layer: v for v in c.layer_values}
    # layer figures pool matrices only: q 256 + k 128 + v 128 + o 256 + gate 512 + up 512 + down 256 rows
    assert lv[0].rows == lv[1].rows == 2048
    assert lv[1].cosine > lv[0].cosine  # layer 1 keeps attn_v and ffn_down in Q6_K
    rope = {v.key: v for v in c.values}["rope_freqs.weight"]
    assert rope.max_abs == 0
    assert all(v.cosine > 0.99 for v in c.values)


def test_multimodal_prefix_and_towers(models):
    c = api.compare(models / "qwen3-vl-tiny", models / "qwen3-tiny-F16.gguf", template_diff=True)
    assert len(c.pairs) == 24
    assert not any("language_model" in n for n in c.only_left)
    assert {u.reason for u in c.unpaired if u.name.startswith("model.visual.")} == {
        "vision/audio tower: llama.cpp writes it to a separate mmproj GGUF"
    }
    assert c.only_left == () and c.only_right == ()
    assert c.tokenizer.chat_template == "different"
    assert c.tokenizer.template_diff.startswith("--- left/chat_template\n+++ right/chat_template\n")


def _patched_copy(models, tmp_path, tensor: str) -> tuple:
    """llama-tiny copied, with one tensor's first element changed."""
    dst = tmp_path / "llama-tiny-ft"
    shutil.copytree(models / "llama-tiny", dst)
    info = next(t for t in api.inspect(dst).tensors if t.name == tensor)
    path = dst / "model.safetensors"
    data = bytearray(path.read_bytes())
    data[info.offset + 1] ^= 0x40  # BF16 high byte: the exponent moves, the value changes
    path.write_bytes(bytes(data))
    return models / "llama-tiny", dst


def test_two_checkpoints_differing_in_one_tensor(models, tmp_path, cli):
    a, b = _patched_copy(models, tmp_path, "model.layers.1.mlp.up_proj.weight")
    c = api.compare(a, b)
    assert c.differences == () and len(c.pairs) == 21 and c.naming == "names as written"
    assert cli("compare", str(a), str(b), "--fail-on-diff").exit_code == 0
    c = api.compare(a, b, weights=True)
    changed = [v for v in c.values if v.max_abs]
    assert [v.key for v in changed] == ["model.layers.1.mlp.up_proj.weight"]
    assert changed[0].cosine < 1
    assert c.differences == ("values: 1 tensor(s) not identical",)
    r = cli("compare", str(a), str(b), "--weights", "--fail-on-diff")
    assert r.exit_code == 1 and "values: 1 tensor(s) not identical" in r.stdout


def test_shape_mismatch_and_only_one_side(tmp_path):
    from ggufbuild import write_gguf

    a = write_gguf(tmp_path / "a.gguf", tensors={
        "blk.0.attn_q.weight": np.ones((4, 32), np.float32), "blk.0.ffn_up.weight": np.ones((2, 32), np.float32),
    })  # fmt: skip
    b = write_gguf(tmp_path / "b.gguf", tensors={
        "blk.0.attn_q.weight": np.ones((8, 32), np.float32), "blk.0.ffn_down.weight": np.ones((2, 32), np.float32),
    })  # fmt: skip
    c = api.compare(a, b, weights=True)
    assert [p.key for p in c.shape_mismatch] == ["blk.0.attn_q.weight"]
    assert c.shape_mismatch[0].left_shape == (4, 32) and c.shape_mismatch[0].right_shape == (8, 32)
    assert c.only_left == ("blk.0.ffn_up.weight",) and c.only_right == ("blk.0.ffn_down.weight",)
    assert c.values[0].skipped == "shapes differ"


def test_json_schema(models, cli):
    r = cli("compare", str(models / "qwen3-moe-tiny"), str(models / "qwen3-moe-tiny-Q8_0.gguf"), "--json", "--sample", "4")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "mfi.compare/1"
    assert doc["left"]["schema"] == doc["right"]["schema"] == "mfi.inspect/1"
    assert doc["left"]["format"] == "safetensors" and doc["right"]["format"] == "gguf"
    assert {"field", "left", "right", "equal"} <= set(doc["architecture"][0])
    t = doc["tensors"]
    assert (t["matched"], t["only_left"], t["only_right"], t["shape_mismatch"]) == (27, [], [], [])
    pair = next(p for p in t["pairs"] if p["key"] == "blk.1.ffn_gate_exps.weight")
    assert pair["left_type"] == "BF16" and pair["right_type"] == "Q8_0" and len(pair["left"]) == 4
    assert pair["values"]["compared"] and pair["values"]["rows"] == 4 and pair["values"]["cosine"] > 0.999
    assert doc["tokenizer"]["tokens_identical"] is True and doc["values"] == {"sample": 4, "compared": 27}
    assert [layer["layer"] for layer in doc["layers"]] == [0, 1, None]
    params = next(r for r in doc["totals"] if r["field"] == "parameters")
    assert params["difference"] == 0 and params["equal"] is True


def test_terminal_and_markdown(models, cli):
    a, b = str(models / "llama-tiny"), str(models / "llama-tiny-Q4_K_M.gguf")
    r = cli("compare", a, b, "--weights")
    assert r.exit_code == 0, r.stderr
    for text in ("Architecture", "Quantization by layer", "Tokenizer", "Values by layer", "rope_freqs.weight"):
        assert text in r.stdout
    assert cli("compare", a, b, "--fail-on-diff").exit_code == 1
    md = cli("compare", a, b, "--markdown").stdout
    assert "### Quantization by layer" in md and "| 1 | 9 | BF16 x9 | Q4\\_K x5; " in md


def test_bad_input_exits_2(models, tmp_path, cli):
    r = cli("compare", str(models / "llama-tiny"), str(tmp_path / "missing.gguf"))
    assert r.exit_code == 2 and "no such file" in r.stderr
    assert cli("compare", str(models / "llama-tiny"), str(models / "llama-tiny"), "--sample", "0").exit_code == 2


def test_hostile_names_render_as_text(tmp_path, cli):
    from ggufbuild import write_gguf

    names = {"blk.0.[/]attn\x1b[31m.weight": np.ones((2, 32), np.float32), "[link=http://x]y[/link]": np.ones((2, 32), np.float32)}
    a = write_gguf(tmp_path / "a.gguf", tensors=names)
    b = write_gguf(tmp_path / "b.gguf", tensors={"other.weight": np.ones((2, 32), np.float32)})
    r = cli("compare", str(a), str(b))
    assert r.exit_code == 0, r.stderr
    assert "\x1b[31m" not in r.stdout and "\\x1b" in r.stdout and "[link=http://x]" in r.stdout


def test_decoders():
    table = weights._e4m3_table()
    assert table[0x38] == 1.0 and table[0x7E] == 448.0 and table[0x01] == 2.0**-9 and table[0xB8] == -1.0
    assert np.isnan(table[0x7F])
    side = weights._Side([], False, False, 2, [1], 4)
    info = type("T", (), {"dtype": "BF16"})()
    assert weights._decode(side, info, np.array([1.5, -2.0], np.float32).view(np.uint16)[1::2].tobytes(), 1).tolist() == [[1.5, -2.0]]
    info.dtype = "F8_E5M2"
    side.row_bytes = 2
    assert weights._decode(side, info, bytes([0x3C, 0xC0]), 1).tolist() == [[1.0, -2.0]]


def test_arch_names():
    def summary(fmt, name):
        from mfi.records import Architecture

        return type("S", (), {"format": fmt, "architecture": Architecture(name=name)})()

    assert gguf_arch_name(summary("safetensors", "qwen3_moe")) == "qwen3moe"
    assert gguf_arch_name(summary("safetensors", "mistral")) == "llama"
    assert gguf_arch_name(summary("safetensors", "gemma3_text")) == "gemma3"
    assert gguf_arch_name(summary("gguf", "no-such-arch")) is None
    assert "llama" in PERMUTED_ARCHES and "qwen3" not in PERMUTED_ARCHES


def test_compare_is_pure(models):
    left, right = api.inspect(models / "qwen3-tiny"), api.inspect(models / "qwen3-tiny-F16.gguf")
    assert compare(left, right) == compare(left, right)


@pytest.mark.parametrize("pair", [("llama-tiny", "llama-tiny-Q8_0.gguf"), ("qwen3-moe-tiny-Q8_0.gguf", "qwen3-moe-tiny")], ids=["permuted-qk", "experts"])
def test_small_chunks_give_the_same_figures(models, monkeypatch, pair):
    whole = api.compare(models / pair[0], models / pair[1], weights=True)
    monkeypatch.setattr(weights, "CHUNK_ELEMENTS", 300)  # 1 row per chunk, or one head for Q/K
    chunked = api.compare(models / pair[0], models / pair[1], weights=True)
    for a, b in zip(whole.values, chunked.values):
        assert a.rows == b.rows and a.max_abs == b.max_abs and a.cosine == pytest.approx(b.cosine, abs=1e-12), a.key


def test_readme_and_docs_compare_flags_exist(cli):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    help_text = cli("compare", "--help").stdout
    lines = [ln for f in ("README.md", "docs/compare.md") for ln in (root / f).read_text().splitlines() if ln.startswith("mfi compare ")]
    flags = {w.strip("[]|") for ln in lines for w in ln.split("#")[0].split() if w.strip("[]|").startswith("--")}
    assert lines and flags == {"--weights", "--sample", "--fail-on-diff", "--json", "--markdown", "--template-diff"}
    assert all(f in help_text for f in flags)


def test_types_without_a_dequantizer_are_skipped_with_the_reason(tmp_path):
    import gguf
    from ggufbuild import write_gguf

    raw = np.zeros((2, 40), np.uint8)  # 2 rows of one Q8_1 block (32 elements, 40 bytes)
    tensors = {"blk.0.attn_q.weight": (raw, gguf.GGMLQuantizationType.Q8_1), "blk.0.ffn_up.weight": np.ones((2, 32), np.float32)}
    a = write_gguf(tmp_path / "a.gguf", tensors=tensors)
    c = api.compare(a, a, weights=True)
    got = {v.key: v for v in c.values}
    assert got["blk.0.attn_q.weight"].skipped == "the gguf package cannot dequantize Q8_1"
    assert got["blk.0.ffn_up.weight"].max_abs == 0 and c.differences == ()


def test_fp8_checkpoint_against_its_original(models, tmp_path):
    from safetensors.numpy import save_file

    gen = __import__("conftest").load_generator()
    config = json.loads((models / "fp8-tiny" / "config.json").read_text())
    original = gen.decoder_weights(10, gen.QWEN3, config["vocab_size"], qk_norm=True, tied=True)  # what fp8-tiny quantized
    folder = tmp_path / "bf16"
    folder.mkdir()
    save_file({k: np.ascontiguousarray(v, np.float32) for k, v in original.items()}, str(folder / "model.safetensors"))
    shutil.copy(models / "fp8-tiny" / "config.json", folder / "config.json")
    c = api.compare(models / "fp8-tiny", folder, weights=True)
    assert c.only_left == c.only_right == ()
    assert {u.name for u in c.unpaired} == {n for n in (t.name for t in c.left.tensors) if n.endswith("_scale_inv")}
    values = {v.key: v for v in c.values}
    proj = [k for k in values if k.endswith("_proj.weight")]
    assert len(proj) == 14 and all(values[k].skipped is None for k in proj)
    # e4m3 keeps 3 mantissa bits: a few percent of error, once each block's scale is applied
    assert all(values[k].cosine > 0.999 and values[k].rel_rms < 0.05 for k in proj)


def test_permuted_bias_and_weight_pair_exactly(tmp_path):
    """A writer-built llama pair whose GGUF side is permuted as the converter does, biases included."""
    from safetensors.numpy import save_file

    from ggufbuild import write_gguf

    gen = __import__("conftest").load_generator()
    rng = np.random.default_rng(5)
    hf = {"model.layers.0.self_attn.q_proj.weight": rng.standard_normal((24, 16), np.float32),
          "model.layers.0.self_attn.q_proj.bias": rng.standard_normal(24).astype(np.float32),
          "model.layers.0.self_attn.k_proj.weight": rng.standard_normal((8, 16), np.float32)}  # fmt: skip
    folder = tmp_path / "hf"
    folder.mkdir()
    save_file(hf, str(folder / "model.safetensors"))
    config = {"model_type": "llama", "num_hidden_layers": 1, "hidden_size": 16, "num_attention_heads": 3, "num_key_value_heads": 1}
    (folder / "config.json").write_text(json.dumps(config))
    kv = {"llama.block_count": (1, _u32()), "llama.attention.head_count": (3, _u32()), "llama.attention.head_count_kv": (1, _u32())}
    g = write_gguf(tmp_path / "m.gguf", kv=kv, tensors={
        "blk.0.attn_q.weight": gen.llama_permute(hf["model.layers.0.self_attn.q_proj.weight"], 3),
        "blk.0.attn_q.bias": gen.llama_permute(hf["model.layers.0.self_attn.q_proj.bias"], 3),
        "blk.0.attn_k.weight": gen.llama_permute(hf["model.layers.0.self_attn.k_proj.weight"], 1),
    })  # fmt: skip
    for sample in (None, 5):
        c = api.compare(folder, g, weights=True, sample=sample)
        heads = {p.key: p.qk_heads for p in c.pairs}
        assert heads == {"blk.0.attn_q.weight": 3, "blk.0.attn_q.bias": 3, "blk.0.attn_k.weight": 1}
        assert all(v.skipped is None and v.max_abs == 0 for v in c.values), c.values


def _u32():
    import gguf

    return gguf.GGUFValueType.UINT32


def test_very_long_rows_are_read_in_pieces(tmp_path, monkeypatch):
    import numpy as np
    from safetensors.numpy import save_file

    from mfi import api
    from mfi.compare import values as weights

    monkeypatch.setattr(weights, "CHUNK_ELEMENTS", 1024)
    monkeypatch.setattr(weights, "LONG_ROW", 2048)
    a = np.linspace(-1, 1, 8192, dtype=np.float32).reshape(1, 8192)
    b = a.copy()
    b[0, 5000] += 0.5
    save_file({"w": a, "odd": np.ones((1, 3073), np.float32)}, str(tmp_path / "a.safetensors"))
    save_file({"w": b, "odd": np.ones((1, 3073), np.float32)}, str(tmp_path / "b.safetensors"))
    c = api.compare(tmp_path / "a.safetensors", tmp_path / "b.safetensors", weights=True)
    stats = {v.key: v for v in c.values}
    assert stats["w"].rows_total == 8 and stats["w"].max_abs == pytest.approx(0.5)
    assert "too long to compare in bounded memory" in stats["odd"].skipped

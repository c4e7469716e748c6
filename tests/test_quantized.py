"""Quantized safetensors read as the model they hold (issue 14): logical tensors and dequantization.

Every layout is built by fixtures/quantized.py from the same weights as the BF16 ``qwen2-twin``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from mfi.compare import dequant
from mfi.formats.safetensors import read_safetensors
from mfi.records import TensorInfo
from mfi.sources.local import LocalFile
from mfi.summary.quantized import logical_view

from conftest import load_generator

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def qzoo(tmp_path_factory) -> Path:
    """The twin and its quantized layouts, packed by our ports (no torch needed)."""
    out = tmp_path_factory.mktemp("quantized")
    load_generator("quantized").generate(out, libraries=False)
    return out


class Side:
    """One folder's tensor table, logical view and reader."""

    def __init__(self, folder: Path, config: dict | None = None, with_read: bool = True) -> None:
        self.src = LocalFile(folder / "model.safetensors")
        self.tensors = read_safetensors(self.src).tensors
        self.config = json.loads((folder / "config.json").read_text()) if config is None else config
        whole = (lambda t: self.src.read_at(t.offset, t.n_bytes)) if with_read else None
        self.view = logical_view(self.tensors, self.config, read=whole)
        self.by_name = {t.name: t for t in self.view.tensors}

    def read(self, t: TensorInfo, offset: int, length: int) -> bytes:
        return self.src.read_at(t.offset + offset, length)


LAYOUTS = {  # folder: (method, label of the quantized linear weights, least cosine per tensor)
    "qwen2-gptq-int4": ("gptq", "GPTQ-INT4-G128", 0.99),
    "qwen2-gptq-int8-actorder": ("gptq", "GPTQ-INT8-G128", 0.9999),
    "qwen2-awq-int4": ("awq", "AWQ-INT4-G128", 0.99),
    "qwen2-mlx-4bit": ("mlx", "MLX-INT4-G64", 0.99),
    "qwen2-mlx-8bit": ("mlx", "MLX-INT8-G64", 0.9999),
    "qwen2-ct-w4a16": ("compressed-tensors", "CT-INT4-G128", 0.99),
    "qwen2-ct-nvfp4": ("compressed-tensors", "CT-NVFP4-G16", 0.99),
    "qwen2-fp8": ("fp8", "FP8-E4M3-B128x128", 0.999),  # e4m3 keeps 3 mantissa bits
}


@pytest.fixture(scope="session")
def twin(qzoo) -> Side:
    return Side(qzoo / "qwen2-twin")


@pytest.mark.parametrize("folder", list(LAYOUTS))
def test_logical_view_is_the_twin(qzoo, twin, folder):
    method, label, _ = LAYOUTS[folder]
    side = Side(qzoo / folder)
    assert side.view.method == method
    assert side.view.warnings == ()
    assert side.view.n_params == twin.view.n_params == 1_444_096
    assert set(side.by_name) == set(twin.by_name)
    for name, lt in side.by_name.items():
        assert lt.shape == twin.by_name[name].shape, name
    q = side.view.quantized
    assert {lt.label for lt in q if not lt.name.startswith(("lm_head", "model.embed"))} == {label}
    # What the quantizer left alone keeps its stored type: norms, biases (and embeddings, lm_head
    # except in MLX, which quantizes every Linear and the Embedding).
    assert side.by_name["model.norm.weight"].method is None
    assert side.by_name["model.layers.0.self_attn.q_proj.bias"].label == "BF16"
    kept_head = side.by_name["lm_head.weight"]
    assert (kept_head.method is None) == (method != "mlx")


def test_mlx_per_module_override_and_embedding(qzoo):
    side = Side(qzoo / "qwen2-mlx-4bit")
    head, embed = side.by_name["lm_head.weight"], side.by_name["model.embed_tokens.weight"]
    assert (head.bits, head.group_size, head.shape) == (6, 64, (512, 256))
    assert (embed.bits, embed.group_size, embed.label) == (4, 64, "MLX-INT4-G64")


def test_mlx_found_without_config(qzoo):
    """No ``quantization`` key: the layout (uint32 weight + scales + biases) and bits still show."""
    with_config = Side(qzoo / "qwen2-mlx-4bit")
    bare = Side(qzoo / "qwen2-mlx-4bit", config={})
    assert bare.view.method == "mlx"
    assert [(t.name, t.shape, t.bits, t.group_size) for t in bare.view.tensors] == [
        (t.name, t.shape, t.bits, t.group_size) for t in with_config.view.tensors
    ]


@pytest.mark.parametrize(
    ("folder", "name", "bpw"),
    [
        # 4-bit values + fp16 scale and 4-bit zero per 128 + an int32 g_idx per input: 32 / out bits
        ("qwen2-gptq-int4", "model.layers.0.self_attn.q_proj.weight", 4 + 16 / 128 + 4 / 128 + 32 / 256),
        ("qwen2-gptq-int8-actorder", "model.layers.0.mlp.down_proj.weight", 8 + 16 / 128 + 8 / 128 + 32 / 256),
        ("qwen2-awq-int4", "model.layers.0.self_attn.q_proj.weight", 4 + 16 / 128 + 4 / 128),
        # bf16 scale and bf16 bias per 64
        ("qwen2-mlx-4bit", "model.layers.1.mlp.up_proj.weight", 4 + 32 / 64),
        ("qwen2-mlx-4bit", "lm_head.weight", 6 + 32 / 64),
        ("qwen2-mlx-8bit", "model.embed_tokens.weight", 8 + 32 / 64),
        # bf16 scale + 4-bit zero per 128, and the int64 [2] weight_shape over 256 x 256 values
        ("qwen2-ct-w4a16", "model.layers.0.self_attn.q_proj.weight", 4 + 16 / 128 + 4 / 128 + 128 / 65536),
        # e4m3 scale per 16, f32 global scale
        ("qwen2-ct-nvfp4", "model.layers.0.self_attn.q_proj.weight", 4 + 8 / 16 + 32 / 65536),
        # f32 scale per 128 x 128 block
        ("qwen2-fp8", "model.layers.0.self_attn.q_proj.weight", 8 + 32 / (128 * 128)),
    ],
)
def test_bits_per_weight(qzoo, folder, name, bpw):
    assert Side(qzoo / folder).by_name[name].bits_per_weight == pytest.approx(bpw, abs=1e-12)


@pytest.mark.parametrize("folder", list(LAYOUTS))
def test_dequantized_matches_twin(qzoo, twin, folder):
    side = Side(qzoo / folder)
    least = LAYOUTS[folder][2]
    stats = {lt.name: dequant.compare(lt, twin.by_name[lt.name].parts[0], side.read, twin.read) for lt in side.view.quantized}
    assert len(stats) >= 14
    worst = min(s["cosine"] for s in stats.values())
    assert least < worst <= 1.0, (folder, worst)


def test_gpt_oss_mxfp4(qzoo):
    twin_side, side = Side(qzoo / "gptoss-twin"), Side(qzoo / "gptoss-mxfp4")
    assert side.view.method == "mxfp4" and side.view.n_params == twin_side.view.n_params
    lt = side.by_name["model.layers.0.mlp.experts.gate_up_proj"]
    # stored [E, 2*inter, hidden/32, 16]; the model's parameter is [E, hidden, 2*inter]
    assert lt.parts[0].shape == (4, 512, 8, 16) and lt.shape == (4, 256, 512) and lt.details["transposed"]
    assert lt.bits_per_weight == 4.25
    for lt in side.view.quantized:
        assert dequant.compare(lt, twin_side.by_name[lt.name].parts[0], side.read, twin_side.read)["cosine"] > 0.99


@pytest.mark.parametrize("folder", ["qwen2-gptq-int8-actorder", "qwen2-awq-int4", "qwen2-mlx-4bit", "qwen2-ct-w4a16", "qwen2-fp8"])
def test_tiles_stay_bounded(qzoo, monkeypatch, folder):
    """Small tiles give the same values as large ones, and no tile exceeds the chunk (rounded to alignment)."""
    side = Side(qzoo / folder)
    lt = side.by_name["model.layers.0.mlp.down_proj.weight"]
    whole = dequant.dequantize(lt, side.read)
    monkeypatch.setattr(dequant, "CHUNK_ELEMENTS", 4096)
    sizes = [v.size for *_, v in dequant.tiles(lt, side.read)]
    # at worst one 128-row FP8 block of rows, or one 128-input AWQ group of columns
    assert len(sizes) >= 2 and max(sizes) <= 128 * 512
    np.testing.assert_array_equal(dequant.dequantize(lt, side.read), whole)


def test_misfit_group_is_left_as_stored(qzoo):
    """A GPTQ group whose scales do not fit its qweight stays as stored tensors, with a warning."""
    side = Side(qzoo / "qwen2-gptq-int4")
    bad = [dataclasses.replace(t, shape=(3, t.shape[1])) if t.name == "model.layers.0.mlp.up_proj.scales" else t
           for t in side.tensors]  # fmt: skip
    view = logical_view(bad, side.config)
    assert any("up_proj.qweight" in w and "left as stored" in w for w in view.warnings)
    names = {t.name for t in view.tensors}
    assert "model.layers.0.mlp.up_proj.qweight" in names and "model.layers.0.mlp.up_proj.weight" not in names
    assert "model.layers.0.mlp.down_proj.weight" in names


def test_short_read_is_an_error(qzoo):
    side = Side(qzoo / "qwen2-awq-int4")
    lt = side.by_name["model.layers.0.mlp.down_proj.weight"]
    with pytest.raises(dequant.DequantError, match="runs past the end"):
        dequant.dequantize(lt, lambda t, off, n: side.read(t, off, n)[:-1])


def test_compressed_tensors_port_matches_the_library():
    """Our pack_to_int32 is byte-identical to compressed-tensors' own (dense LSB-first, 0.20)."""
    pytest.importorskip("compressed_tensors")
    gen = load_generator("quantized")
    rng = np.random.default_rng(0)
    for bits in range(2, 9):
        q = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=(24, 72)).astype(np.int8)
        for dim in (0, 1):
            np.testing.assert_array_equal(gen.pack_to_int32(q, bits, dim), gen.pack_to_int32(q, bits, dim, library=True))


def test_bitsandbytes_layouts(tmp_path, qzoo, twin):
    """nf4 with nested statistics and int8, packed by bitsandbytes itself (skipped without it)."""
    pytest.importorskip("bitsandbytes")
    gen = load_generator("quantized")
    gen.bnb_folders(tmp_path, gen.twin_weights())
    nf4, int8 = Side(tmp_path / "qwen2-bnb-nf4"), Side(tmp_path / "qwen2-bnb-int8")
    for side, label, least in ((nf4, "BNB-NF4-G64", 0.99), (int8, "BNB-INT8", 0.9999)):
        assert side.view.method == "bitsandbytes" and side.view.n_params == twin.view.n_params
        assert {lt.label for lt in side.view.quantized} == {label}
        for lt in side.view.quantized:
            assert lt.shape == twin.by_name[lt.name].shape
            assert dequant.compare(lt, twin.by_name[lt.name].parts[0], side.read, twin.read)["cosine"] > least
    # Without a reader the nf4 shape (kept only in the quant_state JSON) is flat, the count exact.
    flat = Side(tmp_path / "qwen2-bnb-nf4", with_read=False)
    lt = flat.by_name["model.layers.0.self_attn.q_proj.weight"]
    assert lt.shape == (65536,) and flat.view.n_params == twin.view.n_params
    assert math.isclose(int8.by_name["model.layers.0.mlp.down_proj.weight"].bits_per_weight, 8 + 32 / 512)


@pytest.mark.parametrize(("bits", "least"), [(3, 0.97), (5, 0.995), (8, 0.9999)])
def test_compressed_tensors_dense_packing(tmp_path, bits, least):
    """3- and 5-bit values straddle int32 words (compressed-tensors 0.20); ``weight_shape`` gives the width."""
    gen = load_generator("quantized")
    a = gen.twin_weights()["model.layers.0.mlp.gate_proj.weight"]  # [512, 256]
    p = gen.ct_int_quantize(a, bits, 128)
    name = "model.layers.0.mlp.gate_proj."
    tensors = {name + "weight_packed": gen._i32(p["weight_packed"]), name + "weight_zero_point": gen._i32(p["weight_zero_point"]),
               name + "weight_scale": gen.st_entry("BF16", p["weight_scale"]), name + "weight_shape": ("I64", [2], p["weight_shape"])}
    qc = {"quant_method": "compressed-tensors", "format": "pack-quantized", "config_groups": {"g": {
        "targets": ["Linear"], "weights": {"num_bits": bits, "type": "int", "symmetric": False, "strategy": "group", "group_size": 128}}}}
    gen._write(tmp_path / "ct", tensors, {"quantization_config": qc})
    gen._write(tmp_path / "ref", {name + "weight": gen.st_entry("BF16", a)}, {})
    side, ref = Side(tmp_path / "ct"), Side(tmp_path / "ref")
    (lt,) = side.view.quantized
    assert (lt.name, lt.shape, lt.bits, lt.group_size, lt.details["dense"]) == (name + "weight", (512, 256), bits, 128, True)
    assert p["weight_packed"].shape == (512, math.ceil(256 * bits / 32))
    assert dequant.compare(lt, ref.tensors[0], side.read, ref.read)["cosine"] > least


@pytest.mark.parametrize(("bits", "fmt", "least"), [(3, "gptq", 0.97), (4, "gptq_v2", 0.99), (2, "gptq", 0.8)])
def test_gptq_bit_widths_and_v2_zeros(tmp_path, bits, fmt, least):
    """3-bit values straddle words (AutoGPTQ ``pack``); ``gptq_v2`` stores zeros without AutoGPTQ's - 1."""
    gen = load_generator("quantized")
    a = gen.twin_weights()["model.layers.0.mlp.down_proj.weight"]  # [256, 512]
    p = gen.gptq_quantize(a, bits, 128, False, False, np.random.default_rng(0), v2=fmt == "gptq_v2")
    name = "model.layers.0.mlp.down_proj."
    tensors = {name + "qweight": gen._i32(p["qweight"]), name + "qzeros": gen._i32(p["qzeros"]),
               name + "scales": gen._f16(p["scales"])}
    qc = {"quant_method": "gptq", "bits": bits, "group_size": 128, "sym": False, "checkpoint_format": fmt}
    gen._write(tmp_path / "q", tensors, {"quantization_config": qc})
    gen._write(tmp_path / "ref", {name + "weight": gen.st_entry("BF16", a)}, {})
    side, ref = Side(tmp_path / "q"), Side(tmp_path / "ref")
    (lt,) = side.view.quantized
    assert (lt.shape, lt.bits, lt.group_size, lt.details["zero_offset"]) == ((256, 512), bits, 128, int(fmt == "gptq"))
    assert dequant.compare(lt, ref.tensors[0], side.read, ref.read)["cosine"] > least


@pytest.mark.parametrize("folder", [*LAYOUTS, "gptoss-mxfp4"])
def test_rows_match_tiles(qzoo, folder):
    """``rows`` (row-by-row comparison) decodes the same values as ``tiles``, for any row range."""
    side = Side(qzoo / folder)
    for lt in side.view.quantized[:3]:
        whole = dequant.dequantize(lt, side.read).reshape(-1, lt.shape[-1])
        for r0, r1 in ((0, 1), (5, 77), (len(whole) - 9, len(whole))):
            np.testing.assert_array_equal(dequant.rows(lt, side.read, r0, r1), whole[r0:r1])


@pytest.mark.parametrize("folder", ["qwen2-gptq-int4", "qwen2-awq-int4", "qwen2-mlx-4bit", "qwen2-ct-nvfp4", "qwen2-fp8"])
def test_compare_with_original(qzoo, folder):
    """``compare --weights``: the quantized checkpoint against its original, matched by logical name."""
    from mfi import api

    c = api.compare(qzoo / "qwen2-twin", qzoo / folder, weights=True)
    assert c.only_left == c.only_right == () and c.unpaired == ()
    values = {v.key: v for v in c.values}
    linear = [k for k in values if k.endswith("_proj.weight")]
    assert len(linear) == 14 and all(values[k].skipped is None and values[k].cosine > 0.99 for k in linear)
    assert values["model.norm.weight"].cosine == 1.0  # kept as stored
    blocks = [layer for layer in c.layer_values if layer.layer is not None]
    assert len(blocks) == 2 and all(0.99 < layer.cosine < 1.0 for layer in blocks)


def test_compare_with_gguf(qzoo, tmp_path):
    """A quantized checkpoint against a GGUF of the same weights: names through gguf's map, values dequantized."""
    import gguf

    from mfi import api

    sys.path.insert(0, str(ROOT / "fixtures"))
    from _write import write_gguf

    gen = load_generator("quantized")
    w, c = gen.twin_weights(), gen.QWEN2
    nmap = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, c["layers"])
    conv = [(nmap.get_name(n, try_suffixes=(".weight", ".bias")), a, gguf.GGMLQuantizationType.F16 if a.ndim >= 2
             else gguf.GGMLQuantizationType.F32) for n, a in w.items()]  # fmt: skip

    def kv(g) -> None:
        g.add_block_count(c["layers"])
        g.add_context_length(c["ctx"])
        g.add_embedding_length(c["hidden"])
        g.add_feed_forward_length(c["inter"])
        g.add_head_count(c["heads"])
        g.add_head_count_kv(c["kv_heads"])

    write_gguf(tmp_path / "twin-F16.gguf", "qwen2", conv, kv)
    cmp = api.compare(tmp_path / "twin-F16.gguf", qzoo / "qwen2-gptq-int4", weights=True)
    assert cmp.only_left == cmp.only_right == ()
    values = {v.key: v for v in cmp.values}
    assert values["blk.0.attn_q.weight"].cosine > 0.99 and values["blk.1.ffn_down.weight"].cosine > 0.99
    assert sum(v.skipped is None for v in values.values()) == len(values) == 27


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("qwen2-mlx-4bit", {"mlx-lm": "yes", "transformers": "no", "vllm": "no", "llama.cpp": "no"}),
        ("qwen2-gptq-int4", {"vllm": "yes with", "transformers": "yes"}),
        ("qwen2-awq-int4", {"vllm": "yes with", "llama.cpp": "no"}),
        ("qwen2-ct-w4a16", {"vllm": "yes with"}),
        ("qwen2-fp8", {"vllm": "yes with", "llama.cpp": "convert first"}),
        ("gptoss-mxfp4", {"vllm": "yes with"}),
    ],
)
def test_who_loads_what(qzoo, folder, expected):
    """The summary's method (MLX's found from its own config key or its tensors) feeds the runtime registry."""
    from mfi import api
    from mfi.plan import registry

    s = api.inspect(qzoo / folder)
    facts = registry.facts_from_config(s.format, s.config, quant_method=s.quantization.method)
    verdicts = {v.runtime: v.verdict for v in registry.verdicts(facts)}
    assert {k: verdicts[k] for k in expected} == expected


def test_summary_of_a_quantized_folder(qzoo, cli):
    """The headline counts the unquantized model; the quantization table shows each group and what stayed."""
    from mfi import api

    s = api.inspect(qzoo / "qwen2-gptq-int4")
    assert s.parameters.total == 1_444_096 and s.quantization.method == "gptq"
    rows = {r.dtype: r for r in s.quantization.rows}
    assert set(rows) == {"GPTQ-INT4-G128", "BF16"} and rows["GPTQ-INT4-G128"].tensors == 14
    assert len(s.stored_tensors) == 13 + 14 * 4 and len(s.tensors) == 27
    out = cli("inspect", str(qzoo / "qwen2-gptq-int4")).stdout
    assert "1.44 M params · gptq (6.42 bpw)" in out and "GPTQ-INT4-G128" in out
    mlx = api.inspect(qzoo / "qwen2-mlx-8bit")
    assert (mlx.quantization.method, mlx.parameters.total) == ("mlx", 1_444_096)
    assert mlx.quantization.details == {"group_size": 64, "bits": 8}


def test_remote_quantized_repo_reads_headers_only(qzoo, tmp_path):
    """A quantized hub repo inspects by Range reads of its headers, as any safetensors repo, and gives the local summary."""
    import shutil

    from hubserver import HubServer

    from mfi import api
    from mfi.render.json.inspect import inspect_dict

    for folder in ("qwen2-gptq-int4", "qwen2-mlx-4bit"):
        shutil.copytree(qzoo / folder, tmp_path / "hub" / "test" / folder)
    with HubServer(tmp_path / "hub", lifetime=30) as hub:
        for folder in ("qwen2-gptq-int4", "qwen2-mlx-4bit"):
            hub.reset()
            s = api.inspect(f"hf://test/{folder}", mirror=hub.url)
            # listing, the shard's header, config.json: no tensor data
            assert hub.requests == 3 and [r for m, p, r in hub.log if p.endswith(".safetensors")] == ["bytes=0-99999"]
            local, remote = inspect_dict(api.inspect(qzoo / folder)), inspect_dict(s)
            for key in ("parameters", "tensors", "quantization"):
                assert remote[key] == local[key], key
            assert s.parameters.total == 1_444_096


def test_readme_example_is_what_inspect_prints(qzoo, cli):
    """The README's quantized summary is the CLI's output for the GPTQ fixture (no drift)."""
    import re

    block = re.search(r"```text\n(qwen2-gptq-int4 .+?)\n```", (ROOT / "README.md").read_text(), re.S).group(1)
    out = cli("inspect", str(qzoo / "qwen2-gptq-int4")).stdout
    flat = " ".join(out.split())
    for line in block.splitlines():
        assert " ".join(line.split()) in flat, line


def test_plan_of_an_mlx_checkpoint(qzoo, cli):
    """``mfi plan`` on MLX weights: the registry's verdicts and what the method means per runtime."""
    r = cli("plan", str(qzoo / "qwen2-mlx-4bit"))
    assert r.exit_code == 0, r.stderr
    flat = " ".join(r.stdout.split())
    assert "Quantization method mlx" in flat and "not loadable: transformers reads no MLX-quantized weights" in flat

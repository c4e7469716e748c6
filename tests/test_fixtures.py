"""Checks for fixtures/generate.py: byte-for-byte determinism, and manifest numbers against gguf/safetensors readers."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import load_generator
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize
from safetensors import deserialize, safe_open

ROOT = Path(__file__).resolve().parents[1]
ST_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1,
               "F8_E8M0": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4,
               "I64": 8, "U64": 8, "F64": 8, "C64": 8, "F4": 0.5}


gen = load_generator()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Generate twice, in-process and in a fresh interpreter; return (dir_a, dir_b, manifest_a, manifest_b, seconds).

    The second run is a separate process so that per-process randomness (hash seeds, Rust HashMap
    iteration order inside the writers) would show up as differing bytes.
    """
    a, b = tmp_path_factory.mktemp("fx_a"), tmp_path_factory.mktemp("fx_b")
    t0 = time.perf_counter()
    man_a = gen.generate(a)
    elapsed = time.perf_counter() - t0
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, str(ROOT / "fixtures" / "generate.py"), str(b)], check=True, env=env,
                   capture_output=True, timeout=120)
    man_b = json.loads((b / "MANIFEST.json").read_text())
    return a, b, man_a, man_b, elapsed


@pytest.fixture(scope="module")
def out(built):
    return built[0]


@pytest.fixture(scope="module")
def fixtures(built):
    return built[2]["fixtures"]


def _files(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _bf16_to_f32(raw: bytes, shape) -> np.ndarray:
    return (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(shape)


def _kv(reader: GGUFReader, key: str):
    f = reader.fields.get(key)
    return None if f is None else f.contents()


def _gguf_fixtures(fixtures):
    return [k for k, v in fixtures.items() if v["format"] == "gguf"]


def _st_fixtures(fixtures):
    return [k for k, v in fixtures.items() if v["format"] in ("hf-safetensors", "safetensors")]


# --------------------------------------------------------------------------- determinism / size / time

def test_reruns_are_byte_identical(built):
    a, b, man_a, man_b, _ = built
    fa, fb = _files(a), _files(b)
    assert sorted(fa) == sorted(fb)
    for name in fa:
        assert fa[name] == fb[name], f"{name} differs between runs"
    assert man_a == man_b
    assert json.loads((a / "MANIFEST.json").read_text()) == man_a


def test_manifest_lists_every_file_and_output_is_small(built):
    a, _, man, _, elapsed = built
    listed = {p for e in man["fixtures"].values() for p in e["paths"]}
    on_disk = set(_files(a)) - {"MANIFEST.json"}
    assert listed == on_disk
    for e in man["fixtures"].values():
        assert e["file_sizes"] == {p: (a / p).stat().st_size for p in e["paths"]}
    assert sum((a / p).stat().st_size for p in on_disk) < 20_000_000
    assert elapsed < 30, f"generation took {elapsed:.1f}s"


def test_expected_fixtures_exist(fixtures):
    assert set(fixtures) == {
        "llama-tiny", "llama-tiny-Q8_0", "llama-tiny-Q4_K_M", "llama-tiny-Q8_0-split", "qwen3-tiny", "qwen3-tiny-F16",
        "qwen3-moe-tiny", "qwen3-moe-tiny-Q8_0", "gemma3-tiny-Q4_0", "qwen3-vl-tiny", "mixed-dtypes", "fp8-tiny"}


# --------------------------------------------------------------------------- GGUF, checked with gguf.GGUFReader

@pytest.mark.parametrize("key", ["llama-tiny-Q8_0", "llama-tiny-Q4_K_M", "llama-tiny-Q8_0-split", "qwen3-tiny-F16",
                                 "qwen3-moe-tiny-Q8_0", "gemma3-tiny-Q4_0"])
def test_gguf_counts_match_reader(out, fixtures, key):
    m = fixtures[key]
    readers = [GGUFReader(out / p) for p in m["paths"]]
    tensors = [t for r in readers for t in r.tensors]
    assert len(tensors) == m["tensor_count"]
    assert sum(int(t.n_elements) for t in tensors) == m["param_count"]
    assert sum(int(t.n_bytes) for t in tensors) == m["tensor_data_bytes"]
    by_type: dict[str, int] = {}
    for t in tensors:
        by_type[t.tensor_type.name] = by_type.get(t.tensor_type.name, 0) + int(t.n_elements)
    assert by_type == m["params_by_dtype"]
    for t in tensors:
        assert m["tensors"][t.name] == {"dtype": t.tensor_type.name, "shape": [int(x) for x in reversed(t.shape)]}
    r0, arch = readers[0], m["architecture"]
    assert _kv(r0, "general.architecture") == arch
    assert _kv(r0, "general.file_type") == m["file_type_id"]
    assert _kv(r0, "GGUF.kv_count") == m["kv_count"]
    assert _kv(r0, f"{arch}.block_count") == m["layers"]
    assert _kv(r0, f"{arch}.embedding_length") == m["hidden_size"]
    assert _kv(r0, f"{arch}.attention.head_count") == m["heads"]
    assert _kv(r0, f"{arch}.attention.head_count_kv") == m["kv_heads"]
    assert _kv(r0, f"{arch}.attention.key_length") == m["head_dim"]
    assert _kv(r0, f"{arch}.context_length") == m["context_length"]
    tok = m["tokenizer"]
    tokens = _kv(r0, "tokenizer.ggml.tokens")
    assert len(tokens) == tok["vocab_size"] == m["vocab_size"]
    assert _kv(r0, "tokenizer.ggml.model") == tok["model"]
    assert _kv(r0, "tokenizer.ggml.bos_token_id") == tok["bos_token_id"]
    assert tokens[tok["bos_token_id"]] == tok["bos_token"]
    assert tokens[tok["eos_token_id"]] == tok["eos_token"]
    assert len(_kv(r0, "tokenizer.ggml.token_type")) == len(tokens)
    merges = _kv(r0, "tokenizer.ggml.merges")
    assert (len(merges) if merges is not None else None) == tok["merges_count"]
    assert bool(_kv(r0, "tokenizer.chat_template")) == tok["chat_template"]
    assert ("output.weight" in m["tensors"]) != m["tied_embeddings"]


def test_split_gguf_layout(out, fixtures):
    m = fixtures["llama-tiny-Q8_0-split"]
    assert m["paths"] == [f"split/llama-tiny-Q8_0-{i:05d}-of-00003.gguf" for i in (1, 2, 3)]
    readers = [GGUFReader(out / p) for p in m["paths"]]
    for i, r in enumerate(readers):
        assert _kv(r, "split.no") == i and r.fields["split.no"].types[0].name == "UINT16"
        assert _kv(r, "split.count") == 3 and r.fields["split.count"].types[0].name == "UINT16"
        assert _kv(r, "split.tensors.count") == 22 and r.fields["split.tensors.count"].types[0].name == "INT32"
        user_keys = {k for k in r.fields if not k.startswith("GGUF.")}
        if i:
            assert user_keys == {"split.no", "split.count", "split.tensors.count"}
        assert len(r.tensors) == m["shards"][i]["tensor_count"]
    single = GGUFReader(out / "llama-tiny-Q8_0.gguf")
    split_tensors = {t.name: t for r in readers for t in r.tensors}
    assert [t.name for r in readers for t in r.tensors] == [t.name for t in single.tensors]
    for t in single.tensors:
        assert split_tensors[t.name].data.tobytes() == t.data.tobytes()


def _hf_tokens(tok_json: dict) -> list[str]:
    by_id = {i: t for t, i in tok_json["model"]["vocab"].items()} | {a["id"]: a["content"] for a in tok_json["added_tokens"]}
    assert sorted(by_id) == list(range(len(by_id)))
    return [by_id[i] for i in range(len(by_id))]


@pytest.mark.parametrize("gguf_key,hf_key", [("llama-tiny-Q8_0", "llama-tiny"), ("llama-tiny-Q4_K_M", "llama-tiny"),
                                              ("qwen3-tiny-F16", "qwen3-tiny"), ("qwen3-moe-tiny-Q8_0", "qwen3-moe-tiny")])
def test_converted_gguf_vocab_equals_tokenizer_json(out, fixtures, gguf_key, hf_key):
    tok_json = json.loads((out / hf_key / "tokenizer.json").read_text())
    r = GGUFReader(out / fixtures[gguf_key]["paths"][0])
    assert _kv(r, "tokenizer.ggml.tokens") == _hf_tokens(tok_json)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok_json["model"]["merges"]]
    assert _kv(r, "tokenizer.ggml.merges") == merges
    types = _kv(r, "tokenizer.ggml.token_type")
    for a in tok_json["added_tokens"]:  # specials are CONTROL (3); <think> & co are USER_DEFINED (4)
        assert types[a["id"]] in (3, 4)
        if a["special"]:
            assert types[a["id"]] == 3


def _gguf_f32(reader: GGUFReader, name: str) -> np.ndarray:
    t = next(t for t in reader.tensors if t.name == name)
    return dequantize(t.data, t.tensor_type).reshape([int(x) for x in reversed(t.shape)])


def test_llama_gguf_weights_are_the_hf_weights_permuted(out):
    hf = dict(deserialize((out / "llama-tiny/model.safetensors").read_bytes()))
    hfw = {k: _bf16_to_f32(v["data"], v["shape"]) for k, v in hf.items()}

    def permute(w, n):
        return w.reshape(n, 2, w.shape[0] // n // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)

    expect = {"blk.1.attn_q.weight": permute(hfw["model.layers.1.self_attn.q_proj.weight"], 4),
              "blk.1.attn_k.weight": permute(hfw["model.layers.1.self_attn.k_proj.weight"], 2),
              "blk.1.attn_v.weight": hfw["model.layers.1.self_attn.v_proj.weight"],
              "blk.1.ffn_down.weight": hfw["model.layers.1.mlp.down_proj.weight"],
              "blk.0.ffn_up.weight": hfw["model.layers.0.mlp.up_proj.weight"],
              "token_embd.weight": hfw["model.embed_tokens.weight"], "output.weight": hfw["lm_head.weight"],
              "output_norm.weight": hfw["model.norm.weight"]}
    for fname, rel_tol in (("llama-tiny-Q8_0.gguf", 0.02), ("llama-tiny-Q4_K_M.gguf", 0.15)):
        r = GGUFReader(out / fname)
        for name, ref in expect.items():
            got = _gguf_f32(r, name)
            assert got.shape == ref.shape
            rms = float(np.sqrt(np.mean((got - ref) ** 2)) / (np.std(ref) + 1e-12)) if ref.ndim > 1 else 0.0
            assert rms < rel_tol, (fname, name, rms)
            if ref.ndim == 1:
                assert np.array_equal(got, ref)
        # an un-permuted q would not match: make sure the permutation is actually visible
        raw_q = hfw["model.layers.1.self_attn.q_proj.weight"]
        assert np.sqrt(np.mean((_gguf_f32(r, "blk.1.attn_q.weight") - raw_q) ** 2)) > 0.5 * np.std(raw_q)


def test_q4_k_m_mix(out, fixtures):
    types = {n: t["dtype"] for n, t in fixtures["llama-tiny-Q4_K_M"]["tensors"].items()}
    r = GGUFReader(out / "llama-tiny-Q4_K_M.gguf")
    assert {t.name: t.tensor_type.name for t in r.tensors} == types
    assert types["token_embd.weight"] == "Q4_K" and types["output.weight"] == "Q6_K"
    assert types["blk.1.attn_v.weight"] == "Q6_K" and types["blk.1.ffn_down.weight"] == "Q6_K"
    assert types["blk.0.attn_q.weight"] == "Q4_K" and types["blk.0.attn_norm.weight"] == "F32"
    assert _kv(r, "general.file_type") == 15


def test_moe_gguf_stacks_experts(out, fixtures):
    m = fixtures["qwen3-moe-tiny-Q8_0"]
    r = GGUFReader(out / m["paths"][0])
    assert _kv(r, "qwen3moe.expert_count") == m["moe"]["experts"] == 4
    assert _kv(r, "qwen3moe.expert_used_count") == 2
    assert _kv(r, "qwen3moe.expert_feed_forward_length") == 256
    t = {x.name: x for x in r.tensors}
    assert [int(v) for v in reversed(t["blk.0.ffn_gate_exps.weight"].shape)] == [4, 256, 64]
    assert [int(v) for v in reversed(t["blk.0.ffn_down_exps.weight"].shape)] == [4, 64, 256]
    assert t["blk.0.ffn_gate_inp.weight"].tensor_type == GGMLQuantizationType.F32
    hf = dict(deserialize((out / "qwen3-moe-tiny/model.safetensors").read_bytes()))
    e2 = _bf16_to_f32(hf["model.layers.0.mlp.experts.2.up_proj.weight"]["data"], [256, 64])
    got = _gguf_f32(r, "blk.0.ffn_up_exps.weight")[2]
    assert np.sqrt(np.mean((got - e2) ** 2)) < 0.02 * np.std(e2)


def test_gemma3_gguf(out, fixtures):
    m = fixtures["gemma3-tiny-Q4_0"]
    r = GGUFReader(out / m["paths"][0])
    assert _kv(r, "gemma3.attention.sliding_window") == 512 and m["layers"] == 6
    assert m["layer_attention"] == ["local"] * 5 + ["global"]
    assert _kv(r, "tokenizer.ggml.model") == "llama"
    assert r.fields["tokenizer.ggml.scores"].types[-1].name == "FLOAT32"
    assert len(_kv(r, "tokenizer.ggml.scores")) == m["vocab_size"]
    assert {t.tensor_type.name for t in r.tensors} == {"Q4_0", "Q6_K", "F32"}


# --------------------------------------------------------------------------- safetensors, checked with safe_open

def _st_entries(path: Path):
    """(name, dtype, shape) for every tensor, via safe_open(framework='numpy') slices."""
    out = []
    with safe_open(path, framework="numpy") as f:
        for k in f.keys():
            sl = f.get_slice(k)
            out.append((k, sl.get_dtype(), list(sl.get_shape())))
    return out


@pytest.mark.parametrize("key", ["llama-tiny", "qwen3-tiny", "qwen3-moe-tiny", "qwen3-vl-tiny", "fp8-tiny",
                                 "mixed-dtypes"])
def test_safetensors_counts_match_reader(out, fixtures, key):
    m = fixtures[key]
    files = [p for p in m["paths"] if p.endswith(".safetensors")]
    entries = [e for p in files for e in _st_entries(out / p)]
    assert len(entries) == m["tensor_count"]
    assert sum(math.prod(s) for _, _, s in entries) == m["param_count"]
    assert sum(int(math.prod(s) * ST_ITEMSIZE[d]) for _, d, s in entries) == m["tensor_data_bytes"]
    by: dict[str, int] = {}
    for _, d, s in entries:
        by[d] = by.get(d, 0) + math.prod(s)
    assert by == m["params_by_dtype"]
    for p in files:
        with safe_open(out / p, framework="numpy") as f:
            assert f.metadata().get("format") == "pt"
            for k in f.keys():  # numpy-representable dtypes must load as arrays
                if f.get_slice(k).get_dtype() in ("F32", "F16", "I32", "U8", "I64", "BOOL", "C64", "F64"):
                    assert f.get_tensor(k).shape == tuple(f.get_slice(k).get_shape())
    if m["format"] == "hf-safetensors":
        cfg = json.loads((out / key / "config.json").read_text())
        tc = cfg.get("text_config", cfg)
        assert (tc["num_hidden_layers"], tc["hidden_size"], tc["num_attention_heads"], tc["num_key_value_heads"],
                tc["head_dim"], tc["vocab_size"], tc["max_position_embeddings"]) == (
            m["layers"], m["hidden_size"], m["heads"], m["kv_heads"], m["head_dim"], m["vocab_size"],
            m["context_length"])
        assert cfg["architectures"] == [m["architecture"]] and cfg["model_type"] == m["model_type"]
        names = {n for n, _, _ in entries}
        assert ("lm_head.weight" in names) != m["tied_embeddings"]


def test_sharded_index(out, fixtures):
    m = fixtures["qwen3-tiny"]
    idx = json.loads((out / "qwen3-tiny/model.safetensors.index.json").read_text())
    assert idx["metadata"]["total_size"] == m["tensor_data_bytes"]
    seen = {}
    for fname in sorted(set(idx["weight_map"].values())):
        for n, d, s in _st_entries(out / "qwen3-tiny" / fname):
            seen[n] = fname
    assert seen == idx["weight_map"]
    assert len(set(seen.values())) == 2 and "lm_head.weight" not in seen


@pytest.mark.parametrize("key", ["llama-tiny", "qwen3-tiny", "qwen3-vl-tiny", "fp8-tiny"])
def test_hf_tokenizer_facts(out, fixtures, key):
    tok = fixtures[key]["tokenizer"]
    tj = json.loads((out / key / "tokenizer.json").read_text())
    tc = json.loads((out / key / "tokenizer_config.json").read_text())
    tokens = _hf_tokens(tj)
    assert tj["model"]["type"] == tok["model"] == "BPE"
    assert len(tokens) == tok["vocab_size"] == fixtures[key]["vocab_size"]
    assert len(tj["model"]["merges"]) == tok["merges_count"]
    assert tc["eos_token"] == tok["eos_token"] == tokens[tok["eos_token_id"]]
    assert tc["pad_token"] == tok["pad_token"]
    assert tc["bos_token"] == tok["bos_token_in_tokenizer_config"]
    assert bool(tc.get("chat_template")) == tok["chat_template"]
    assert {int(i): v["content"] for i, v in tc["added_tokens_decoder"].items()} == {
        a["id"]: a["content"] for a in tj["added_tokens"]}
    for a, b in (tj["model"]["merges"] if isinstance(tj["model"]["merges"][0], list)
                 else [m.split(" ") for m in tj["model"]["merges"]]):
        assert a + b in tj["model"]["vocab"]


def test_fp8_block_scales(out, fixtures):
    entries = {n: (d, s) for n, d, s in _st_entries(out / "fp8-tiny/model.safetensors")}
    cfg = json.loads((out / "fp8-tiny/config.json").read_text())
    assert cfg["quantization_config"]["weight_block_size"] == [128, 128]
    n_scales = 0
    for n, (d, s) in entries.items():
        if n.endswith("_proj.weight"):
            assert d == "F8_E4M3"
            assert entries[n + "_scale_inv"] == ("F32", [math.ceil(x / 128) for x in s])
            n_scales += 1
    assert n_scales == fixtures["fp8-tiny"]["scale_tensor_count"] > 0


def test_mixed_dtypes(out, fixtures):
    m = fixtures["mixed-dtypes"]
    entries = {n: (d, s) for n, d, s in _st_entries(out / "mixed-dtypes.safetensors")}
    assert set(m["dtypes_accepted"]) >= {"BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F16",
                                         "BF16", "F32", "F64", "F8_E4M3", "F8_E5M2"}
    assert not set(m["dtypes_accepted"]) & set(m["dtypes_rejected"])
    assert entries == {f"t.{d}": (d, m["tensors"][f"t.{d}"]["shape"]) for d in m["dtypes_accepted"]}
    with safe_open(out / "mixed-dtypes.safetensors", framework="numpy") as f:
        assert f.get_tensor("t.I16").tolist() == [[-3, -2, -1], [0, 1, 2]]
        assert f.get_tensor("t.F32").dtype == np.float32

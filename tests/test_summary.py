"""`mfi.inspect` on every generated model, checked against facts known by construction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mfi import api
from mfi.errors import SourceError

MODELS = [
    "llama-tiny", "llama-tiny-Q8_0", "llama-tiny-Q4_K_M", "llama-tiny-Q8_0-split", "qwen3-tiny",
    "qwen3-tiny-F16", "qwen3-moe-tiny", "qwen3-moe-tiny-Q8_0", "gemma3-tiny-Q4_0", "qwen3-vl-tiny",
    "mixed-dtypes", "fp8-tiny",
]  # fmt: skip


def target(models: Path, facts: dict) -> Path:
    """What a user would name: the GGUF (any split part: the middle one) or the folder."""
    paths = facts["paths"]
    if facts["format"] == "hf-safetensors":
        return models / Path(paths[0]).parent
    return models / paths[len(paths) // 2]


@pytest.mark.parametrize("name", MODELS)
def test_summary_matches_construction(models, manifest, name):
    facts = manifest["fixtures"][name]
    s = api.inspect(target(models, facts))
    assert s.problems == ()
    assert s.format == ("gguf" if facts["format"] == "gguf" else "safetensors")
    assert len(s.tensors) == facts["tensor_count"]
    assert s.parameters.total == facts["param_count"]
    assert s.parameters.by_dtype == facts["params_by_dtype"]
    a = s.architecture
    expect_name = facts.get("model_type") or facts["architecture"]
    assert a.name == expect_name
    if facts.get("layers") is not None:
        assert (a.layers, a.hidden_size, a.attention_heads, a.kv_heads, a.head_dim) == (
            facts["layers"], facts["hidden_size"], facts["heads"], facts["kv_heads"], facts["head_dim"],
        )  # fmt: skip
        assert (a.vocab_size, a.context_length) == (facts["vocab_size"], facts["context_length"])
        assert a.tie_word_embeddings == facts["tied_embeddings"]
    if facts["format"] == "hf-safetensors":
        assert a.cls == facts["architecture"]
    if "tensor_data_bytes" in facts:
        assert s.quantization.total_bytes == facts["tensor_data_bytes"]
    tok = facts.get("tokenizer")
    if tok:
        t = s.tokenizer
        assert (t.model, t.vocab_size, t.merges) == (tok["model"], tok["vocab_size"], tok["merges_count"])
        for role in ("bos", "eos", "pad"):
            if f"{role}_token_id" in tok:
                assert (t.special[role].id, t.special[role].text) == (tok[f"{role}_token_id"], tok[f"{role}_token"])
        assert (t.chat_template is not None) == tok["chat_template"]


def test_gguf_file_type_and_bits_per_weight(models, manifest):
    s = api.inspect(models / "llama-tiny-Q4_K_M.gguf")
    assert s.quantization.file_type == "Q4_K_M"
    rows = {r.dtype: r for r in s.quantization.rows}
    assert set(rows) == {"Q4_K", "Q6_K", "F32"}
    assert rows["Q4_K"].bits_per_weight == 4.5 and rows["Q6_K"].bits_per_weight == 6.5625
    assert rows["F32"].bits_per_weight == 32.0
    assert sum(r.share for r in rows.values()) == pytest.approx(1.0)
    assert s.warnings == ()


def test_declared_file_type_mismatch_warns(tmp_path):
    import gguf
    import numpy as np
    from ggufbuild import write_gguf

    kv = {"general.file_type": (int(gguf.LlamaFileType.MOSTLY_Q4_K_M), gguf.GGUFValueType.UINT32)}
    s = api.inspect(write_gguf(tmp_path / "m.gguf", kv=kv, tensors={"x.weight": np.ones((4, 32), np.float16)}))
    assert s.quantization.file_type == "Q4_K_M"
    assert any("says Q4_K_M, but no tensor is Q4_K" in w for w in s.warnings)


def test_moe_active_parameters(models, manifest):
    hf = api.inspect(models / "qwen3-moe-tiny")
    gg = api.inspect(models / "qwen3-moe-tiny-Q8_0.gguf")
    assert (hf.architecture.experts, hf.architecture.experts_used) == (4, 2)
    assert (gg.architecture.experts, gg.architecture.experts_used) == (4, 2)
    # 2 layers x 4 experts x 3 projections of 64 x 256: half of them are active per token
    experts = 2 * 4 * 3 * 64 * 256
    for s in (hf, gg):
        assert s.parameters.experts == experts
        assert s.parameters.active == s.parameters.total - experts // 2


def test_vl_nested_config(models, manifest):
    facts = manifest["fixtures"]["qwen3-vl-tiny"]
    s = api.inspect(models / "qwen3-vl-tiny")
    vision = s.architecture.towers["vision"]
    assert vision["layers"] == facts["vision"]["depth"] and vision["hidden_size"] == facts["vision"]["hidden_size"]
    assert s.architecture.rope_scaling and "mrope_section" in s.architecture.rope_scaling


def test_fp8_quantization_method(models):
    s = api.inspect(models / "fp8-tiny")
    assert s.quantization.method == "fp8"
    assert s.quantization.details["weight_block_size"] == [128, 128]


def test_split_gguf_from_any_part(models, manifest):
    facts = manifest["fixtures"]["llama-tiny-Q8_0-split"]
    for part in facts["paths"]:
        s = api.inspect(models / part)
        assert len(s.files) == 3 and len(s.tensors) == facts["tensor_count"]
        assert s.format_info["splits"] == 3


def test_split_gguf_missing_part_is_named(models, tmp_path):
    for i in (1, 3):
        name = f"llama-tiny-Q8_0-0000{i}-of-00003.gguf"
        (tmp_path / name).write_bytes((models / "split" / name).read_bytes())
    with pytest.raises(SourceError, match="split part llama-tiny-Q8_0-00002-of-00003.gguf is missing"):
        api.inspect(tmp_path / "llama-tiny-Q8_0-00001-of-00003.gguf")


def test_sharded_index_checks(models, tmp_path):
    import shutil

    folder = tmp_path / "q"
    shutil.copytree(models / "qwen3-tiny", folder)
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    index["weight_map"]["model.layers.9.ghost.weight"] = "model-00001-of-00002.safetensors"
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    s = api.inspect(folder)
    assert s.problems == ("1 tensor(s) in the index are not in their shard (first: model.layers.9.ghost.weight)",)
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(SourceError, match="shard model-00002-of-00002.safetensors named in the index is missing"):
        api.inspect(folder)


def test_safetensors_shards_without_index(models, tmp_path):
    import shutil

    folder = tmp_path / "q"
    shutil.copytree(models / "qwen3-tiny", folder)
    (folder / "model.safetensors.index.json").unlink()
    s = api.inspect(folder)
    assert len([f for f in s.files if f.role == "weights"]) == 2 and s.problems == ()


def test_same_model_same_fields_across_formats(models):
    hf = api.inspect(models / "llama-tiny")
    gg = api.inspect(models / "llama-tiny-Q8_0.gguf")
    fields = ("layers", "hidden_size", "intermediate_size", "attention_heads", "kv_heads", "head_dim",
              "vocab_size", "context_length", "rope_theta")  # fmt: skip
    assert [getattr(hf.architecture, f) for f in fields] == [getattr(gg.architecture, f) for f in fields]
    assert hf.tokenizer.tokens_digest == gg.tokenizer.tokens_digest is not None


def test_every_zoo_file_matches_the_reference_readers(models):
    import gguf
    from safetensors import safe_open

    from mfi.formats.gguf import read_gguf
    from mfi.formats.safetensors import read_safetensors
    from mfi.sources import LocalFile

    ggufs = sorted(models.rglob("*.gguf"))
    sts = sorted(models.rglob("*.safetensors"))
    assert len(ggufs) >= 8 and len(sts) >= 7
    for path in ggufs:
        mine = read_gguf(LocalFile(path))
        ref = gguf.GGUFReader(str(path))
        assert [(t.name, t.dtype, t.shape, t.offset, t.n_bytes) for t in mine.tensors] == [
            (t.name, t.tensor_type.name, tuple(int(d) for d in t.shape), int(t.data_offset), int(t.n_bytes))
            for t in ref.tensors
        ], path.name
    for path in sts:
        mine = read_safetensors(LocalFile(path))
        with safe_open(str(path), framework="numpy") as ref:
            assert mine.metadata == (ref.metadata() or {})
            for t in mine.tensors:
                assert list(t.shape) == ref.get_slice(t.name).get_shape(), (path.name, t.name)
                assert t.dtype == ref.get_slice(t.name).get_dtype(), (path.name, t.name)


def test_vl_parameters_by_tower(models, manifest):
    parts = manifest["fixtures"]["qwen3-vl-tiny"]["params_by_component"]
    s = api.inspect(models / "qwen3-vl-tiny")
    assert s.parameters.towers == {"vision": parts["visual"]}
    assert s.parameters.total == sum(parts.values())
    assert list(s.tokenizer.special) == ["bos", "eos", "pad"]


def test_hugging_face_cache_layout_with_symlinked_shards(models, tmp_path):
    """Snapshot files are symlinks into blobs/ (what huggingface_hub and mfi pull create)."""
    blobs, snap = tmp_path / "blobs", tmp_path / "snapshots" / ("a" * 40)
    blobs.mkdir()
    snap.mkdir(parents=True)
    for i, f in enumerate(sorted((models / "qwen3-tiny").iterdir())):
        (blobs / f"blob{i}").write_bytes(f.read_bytes())
        (snap / f.name).symlink_to(f"../../blobs/blob{i}")
    s = api.inspect(snap)
    assert s.problems == () and len(s.tensors) == 24


def test_index_naming_a_shard_outside_the_folder_is_refused(models, tmp_path):
    import shutil

    from mfi.errors import FormatError

    folder = tmp_path / "q"
    shutil.copytree(models / "qwen3-tiny", folder)
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    index["weight_map"]["model.norm.weight"] = "../../etc/passwd"
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(FormatError, match="climbs out of the folder"):
        api.inspect(folder)


def test_a_5000_digit_layer_number_is_a_name_not_an_index(tmp_path, cli):
    import numpy as np
    from safetensors.numpy import save_file

    path = tmp_path / "w.safetensors"
    save_file({f"model.layers.{'9' * 5000}.mlp.weight": np.ones((2, 2), np.float32)}, str(path))
    for args in (("inspect", str(path)), ("compare", str(path), str(path)), ("plan", str(path))):
        r = cli(*args)
        assert r.exit_code == 0, (args, r.exception)


def test_compare_counts_integers_exactly():
    from mfi.compare.match import field_row

    assert not field_row("parameters", 8030261248, 8030265344).equal
    assert field_row("rope_theta", 500000, 500000.0).equal


def test_plan_reuses_the_sidecars_read_with_the_summary(models, monkeypatch):
    from mfi.plan import surroundings
    from mfi.plan.assess import assess

    seen = []
    real = surroundings._read
    monkeypatch.setattr(surroundings, "_read", lambda path, reader, warnings: seen.append(path.name) or real(path, reader, warnings))
    s = api.inspect(models / "llama-tiny")
    p = assess(s)
    assert seen == ["README.md"]  # the model card only: config, tokenizer and generation files came with s
    assert p.capabilities.sampling.get("temperature") == 0.6 and p.capabilities.kind == "chat"

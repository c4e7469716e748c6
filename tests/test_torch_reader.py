"""PyTorch checkpoints read without torch: tensor tables as torch would report them, both layouts."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torchbuild as tb

from mfi import api
from mfi.errors import FormatError, LimitError, MfiError
from mfi.formats.pickle import judge, pickle_stream, walk_pickle
from mfi.sources.memory import BytesSource
from mfi.formats.torch import read_torch
from mfi.sources import LocalFile

SAVERS = {"zip": tb.save_zip, "legacy": tb.save_legacy}


def _model():
    """A small llama-like state dict: tied embedding (one storage, two names), a parameter, a view."""
    emb = tb.tensor(np.arange(32, dtype=np.float32).reshape(8, 4))
    norm_store = tb.Storage("HalfStorage", np.arange(10, dtype=np.float16).tobytes(), 2)
    return tb.state_dict({
        "model.embed_tokens.weight": emb,
        "model.layers.0.mlp.up_proj.weight": tb.tensor(np.ones((6, 4), np.float16), parameter=True),
        "model.norm.weight": tb.Tensor(norm_store, (4,), offset=6),  # a view 6 elements into its storage
        "model.layers.0.self_attn.rotary_emb.inv_freq": tb.tensor(np.ones(2, np.float64)),
        "model.step": tb.tensor(np.array(7, np.int64)),
        "lm_head.weight": emb,
    })  # fmt: skip


# What torch.load(...) would report: name -> (dtype, shape); storage bytes per tensor.
EXPECTED = {
    "model.embed_tokens.weight": ("F32", (8, 4)),
    "model.layers.0.mlp.up_proj.weight": ("F16", (6, 4)),
    "model.norm.weight": ("F16", (4,)),
    "model.layers.0.self_attn.rotary_emb.inv_freq": ("F64", (2,)),
    "model.step": ("I64", ()),
}  # lm_head.weight: the same view of the embedding's storage, so an alias (torch.load gives one tensor twice)


@pytest.mark.parametrize("layout", ["zip", "legacy"])
def test_tensor_table_matches_what_torch_reports(tmp_path, layout):
    path = tmp_path / "pytorch_model.bin"
    raw = SAVERS[layout](_model(), path)
    ck = read_torch(LocalFile(path))
    assert ck.layout == layout and ck.problems == [] and ck.warnings == []
    assert {t.name: (t.dtype, t.shape) for t in ck.tensors} == EXPECTED
    assert [t.name for t in ck.tensors] == list(EXPECTED)  # state-dict order kept
    by = {t.name: t for t in ck.tensors}
    # offsets point at the tensor's bytes in the file (the view starts 6 halfs into its storage)
    emb = np.frombuffer(raw, np.float32, 32, by["model.embed_tokens.weight"].offset)
    assert emb.tolist() == list(range(32))
    assert ck.aliases == {"lm_head.weight": "model.embed_tokens.weight"}  # counted once, like num_parameters()
    assert np.frombuffer(raw, np.float16, 4, by["model.norm.weight"].offset).tolist() == [6, 7, 8, 9]
    assert by["model.norm.weight"].n_bytes == 8 and by["model.step"].n_bytes == 8
    # storages: emb 128 + up 48 + norm 20 + inv_freq 16 + step 8
    assert ck.info["storage_bytes"] == 220 and ck.info["storages"] == 5
    assert {g.verdict for g in ck.globals} == {"allowed"}


def test_zip_layout_is_torchs(tmp_path):
    """Members, alignment and the pickle protocol as torch.save writes them."""
    import zipfile

    raw = tb.save_zip(_model(), tmp_path / "m.pt")
    ck = read_torch(LocalFile(tmp_path / "m.pt"))
    assert ck.info["prefix"] == "archive" and ck.info["byte_order"] == "little"
    assert {"archive/data.pkl", "archive/byteorder", "archive/version", "archive/data/0"} <= set(ck.members)
    assert all(t.offset % 64 == 0 for t in ck.tensors if t.name != "model.norm.weight")
    data = zipfile.ZipFile(tmp_path / "m.pt").read("archive/data.pkl")
    assert data[:2] == b"\x80\x02" and b"ctorch._utils\n_rebuild_tensor_v2\n" in data
    assert raw.startswith(b"PK\x03\x04")


def test_state_dict_inside_a_training_checkpoint(tmp_path):
    ckpt = {"epoch": 3, "state_dict": _model(), "optimizer": {"state": {0: {"exp_avg": tb.tensor(np.ones(3, np.float32))}}}}
    tb.save_zip(ckpt, tmp_path / "last.ckpt")
    ck = read_torch(LocalFile(tmp_path / "last.ckpt"))
    assert [t.name for t in ck.tensors] == list(EXPECTED)
    assert ck.info["state_dict_key"] == "state_dict"
    assert any("optimizer" in w for w in ck.warnings)


def test_inspect_folder_and_sharded_index(tmp_path):
    a = tb.state_dict({"model.embed_tokens.weight": tb.tensor(np.ones((8, 4), np.float32))})
    b = tb.state_dict({"lm_head.weight": tb.tensor(np.ones((8, 4), np.float32)),
                       "model.norm.weight": tb.tensor(np.ones(4, np.float32))})  # fmt: skip
    tb.save_zip(a, tmp_path / "pytorch_model-00001-of-00002.bin")
    tb.save_legacy(b, tmp_path / "pytorch_model-00002-of-00002.bin")
    index = {"metadata": {"total_size": 272}, "weight_map": {
        "model.embed_tokens.weight": "pytorch_model-00001-of-00002.bin",
        "lm_head.weight": "pytorch_model-00002-of-00002.bin",
        "model.norm.weight": "pytorch_model-00002-of-00002.bin"}}  # fmt: skip
    (tmp_path / "pytorch_model.bin.index.json").write_text(json.dumps(index))
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "num_hidden_layers": 1, "vocab_size": 8}))
    s = api.inspect(tmp_path)
    assert s.format == "pytorch" and s.problems == ()
    assert s.parameters.total == 68 and s.parameters.embedding == 64
    assert s.format_info == {"layouts": ["legacy", "zip"], "storage_bytes": 272, "shards": 2}
    assert [f.role for f in s.files][:3] == ["index", "weights", "weights"]
    one = api.inspect(tmp_path / "pytorch_model-00001-of-00002.bin")
    assert one.format == "pytorch" and "one shard" in one.warnings[0]


def test_inspect_json_and_cli(tmp_path, cli):
    tb.save_zip(_model(), tmp_path / "model.pth")
    r = cli("inspect", str(tmp_path / "model.pth"), "--json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["format"] == "pytorch" and doc["parameters"]["total"] == 32 + 24 + 4 + 2 + 1  # the tied lm_head once


def test_malicious_checkpoint_is_summarised_with_a_warning(tmp_path):
    class Evil:
        def __reduce_ex__(self, protocol):
            return (tb.Ref("os", "system"), ("echo pwned",))

    sd = _model()
    sd["evil"] = Evil()
    tb.save_zip(sd, tmp_path / "evil.bin")
    s = api.inspect(tmp_path / "evil.bin")
    assert len(s.tensors) == 5
    assert s.warnings[0].startswith("the pickle imports os.system (dangerous: runs shell commands and touches files) at byte ")


def test_truncated_storage_is_a_problem(tmp_path):
    raw = tb.save_legacy(_model(), None)
    (tmp_path / "cut.pt").write_bytes(raw[:-4])
    ck = read_torch(LocalFile(tmp_path / "cut.pt"))
    assert any("truncated" in p for p in ck.problems)
    assert any("holds" in p for p in ck.problems)


def test_view_past_its_storage_is_a_problem(tmp_path):
    store = tb.Storage("FloatStorage", bytes(16), 4)
    tb.save_zip({"w": tb.Tensor(store, (8,))}, tmp_path / "x.pt")
    ck = read_torch(LocalFile(tmp_path / "x.pt"))
    assert ck.problems == ["tensor w reaches past the end of its storage 0"]


def test_missing_storage_member_is_a_problem(tmp_path):
    import zipfile

    tb.save_zip(_model(), tmp_path / "a.pt")
    with zipfile.ZipFile(tmp_path / "a.pt") as src, zipfile.ZipFile(tmp_path / "b.pt", "w") as dst:
        for info in src.infolist():
            if info.filename != "archive/data/1":
                dst.writestr(info, src.read(info))
    ck = read_torch(LocalFile(tmp_path / "b.pt"))
    assert "storage 1 is missing from the file" in ck.problems


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"hello world, not a pickle")
    with pytest.raises(FormatError, match="not a PyTorch checkpoint"):
        read_torch(LocalFile(tmp_path / "x.bin"))


@pytest.mark.parametrize(
    "module,name,verdict",
    [("torch._utils", "_rebuild_tensor_v2", "allowed"), ("collections", "OrderedDict", "allowed"),
     ("torch", "BFloat16Storage", "allowed"), ("numpy.core.multiarray", "_reconstruct", "allowed"),
     ("os", "system", "dangerous"), ("posix", "system", "dangerous"), ("nt", "system", "dangerous"),
     ("builtins", "eval", "dangerous"), ("builtins", "exec", "dangerous"), ("__builtin__", "getattr", "dangerous"),
     ("subprocess", "Popen", "dangerous"), ("runpy", "run_path", "dangerous"), ("importlib", "import_module", "dangerous"),
     ("webbrowser", "open", "dangerous"), ("torch.hub", "load", "dangerous"), ("builtins", "print", "unknown"),
     ("transformers.training_args", "TrainingArguments", "unknown"), ("torch", "load", "dangerous")],
)  # fmt: skip
def test_allow_list(module, name, verdict):
    assert judge(module, name)[0] == verdict


def _walk(data: bytes):
    return walk_pickle("t.pkl", pickle_stream(BytesSource("t.pkl", data)))


def test_walk_caps_and_errors(monkeypatch):
    with pytest.raises(FormatError, match="ends without STOP|exhausted"):
        _walk(b"\x80\x02}q\x00")
    with pytest.raises(FormatError, match="stack underflow"):
        _walk(b"\x80\x02R.")
    with pytest.raises(FormatError, match="memo key 5"):
        _walk(b"\x80\x02h\x05.")
    with pytest.raises(LimitError, match="nests deeper"):
        _walk(b"\x80\x02" + b"(" * 1000 + b".")
    with pytest.raises(FormatError, match="BINUNICODE: pickle data was truncated"):  # claims 4 GiB: nothing allocated
        _walk(b"\x80\x02X\xff\xff\xff\xff" + b"a" * 100)
    # a long argument is stepped over, never read (issue 11 item 11): the walk goes on past it
    w = _walk(b"\x80\x02X" + struct.pack("<I", 1 << 20) + b"a" * (1 << 20) + b"cos\nsystem\n.")
    assert [g.qualname for g in w.globals] == ["os.system"]
    with pytest.raises(MfiError):
        _walk(b"\x80\x02\xff.")  # unknown opcode


def test_walk_never_imports(monkeypatch):
    """The walk names globals; it never resolves them (a module that does not exist is fine)."""
    import sys

    before = set(sys.modules)
    w = _walk(b"\x80\x02cno_such_module_xyz\nboom\nq\x00)R.")
    assert [g.qualname for g in w.globals] == ["no_such_module_xyz.boom"]
    assert "no_such_module_xyz" not in sys.modules and set(sys.modules) - before <= {"pickletools"}


def test_legacy_magic_and_storage_header(tmp_path):
    raw = tb.save_legacy(_model(), tmp_path / "l.pt")
    assert raw.startswith(b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")
    bad = bytearray(raw)
    ck = read_torch(LocalFile(tmp_path / "l.pt"))
    first = min(t.offset for t in ck.tensors)
    bad[first - 8 : first] = struct.pack("<q", 999)
    (tmp_path / "bad.pt").write_bytes(bytes(bad))
    ck = read_torch(LocalFile(tmp_path / "bad.pt"))
    assert any("999 elements" in p for p in ck.problems)

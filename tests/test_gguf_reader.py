"""The streaming GGUF reader against the gguf package's writer and reader."""

from __future__ import annotations

import numpy as np
import pytest
from ggufbuild import patch, write_gguf

from mfi.errors import FormatError, LimitError, TruncatedError
from mfi.formats.gguf import read_gguf
from mfi.records import ArrayValue
from mfi.sources import LocalFile


def _read(path, **kw):
    return read_gguf(LocalFile(path), **kw)


def _all_types_kv():
    import gguf

    T = gguf.GGUFValueType
    return {
        "t.u8": (200, T.UINT8),
        "t.i8": (-100, T.INT8),
        "t.u16": (60000, T.UINT16),
        "t.i16": (-30000, T.INT16),
        "t.u32": (4_000_000_000, T.UINT32),
        "t.i32": (-2_000_000_000, T.INT32),
        "t.f32": (0.5, T.FLOAT32),
        "t.bool": (True, T.BOOL),
        "t.str": ("héllo", T.STRING),
        "t.u64": (2**63 + 5, T.UINT64),
        "t.i64": (-(2**62), T.INT64),
        "t.f64": (1e300, T.FLOAT64),
        "t.arr": ([1, 2, 3], T.ARRAY),
        "t.nested": ([[1, 2], [3, 4]], T.ARRAY),
    }


@pytest.mark.parametrize("endian", ["little", "big"])
def test_all_value_types_both_byte_orders(tmp_path, endian):
    path = write_gguf(tmp_path / "t.gguf", kv=_all_types_kv(), endian=endian)
    f = _read(path)
    assert f.byte_order == endian and f.version == 3
    md = f.metadata
    assert (md["t.u8"], md["t.i8"], md["t.u16"], md["t.i16"]) == (200, -100, 60000, -30000)
    assert (md["t.u32"], md["t.i32"], md["t.u64"], md["t.i64"]) == (4_000_000_000, -2_000_000_000, 2**63 + 5, -(2**62))
    assert md["t.f32"] == 0.5 and md["t.f64"] == 1e300 and md["t.bool"] is True and md["t.str"] == "héllo"
    assert md["t.arr"] == ArrayValue("INT32", 3, (1, 2, 3))
    nested = md["t.nested"]
    assert nested.elem_type == "ARRAY" and nested.count == 2
    assert [x.samples for x in nested.samples] == [(1, 2), (3, 4)]
    assert f.types["t.u64"] == "UINT64" and f.types["t.nested"] == "ARRAY"
    (t,) = f.tensors
    assert (t.name, t.dtype, t.shape, t.n_bytes) == ("blk.0.attn_q.weight", "F32", (32, 4), 512)


def test_matches_gguf_reader(tmp_path):
    import gguf

    q = gguf.quants.quantize(np.linspace(-1, 1, 64 * 64, dtype=np.float32).reshape(64, 64), gguf.GGMLQuantizationType.Q8_0)
    tensors = {
        "token_embd.weight": np.ones((100, 64), np.float16),
        "blk.0.attn_q.weight": (q, gguf.GGMLQuantizationType.Q8_0),
        "output_norm.weight": np.ones(64, np.float32),
    }
    path = write_gguf(tmp_path / "m.gguf", tensors=tensors, tokens=[f"t{i}" for i in range(100)])
    mine = _read(path)
    ref = gguf.GGUFReader(str(path))
    assert [(t.name, t.dtype, t.shape, t.offset, t.n_bytes) for t in mine.tensors] == [
        (t.name, t.tensor_type.name, tuple(int(d) for d in t.shape), int(t.data_offset), int(t.n_bytes))
        for t in ref.tensors
    ]
    assert mine.data_offset == ref.data_offset
    assert set(mine.metadata) == {k for k in ref.fields if not k.startswith("GGUF.")}
    assert mine.problems == [] and mine.warnings == []


def test_version_2_reads_the_same(tmp_path):
    path = write_gguf(tmp_path / "v3.gguf", kv=_all_types_kv())
    v2 = tmp_path / "v2.gguf"
    v2.write_bytes(patch(path.read_bytes(), 4, "<I", 2))
    a, b = _read(path), _read(v2)
    assert b.version == 2 and a.metadata == b.metadata and a.tensors[0].shape == b.tensors[0].shape


def test_long_string_arrays_are_walked_and_fetchable(tmp_path):
    tokens = [f"tok{i}" * (1 + i % 3) for i in range(5000)]
    path = write_gguf(tmp_path / "v.gguf", tokens=tokens)
    f = _read(path)
    arr = f.metadata["tokenizer.ggml.tokens"]
    assert arr.count == 5000 and not arr.complete and arr.samples == tuple(tokens[:8])
    ids = [0, 1023, 1024, 2047, 4999, 3333]
    assert f.strings("tokenizer.ggml.tokens", ids) == {i: tokens[i] for i in ids}
    full = _read(path, full=True).metadata["tokenizer.ggml.tokens"]
    assert full.complete and list(full.samples) == tokens and full.digest == arr.digest


def test_digest_matches_tokenizer_json_encoding(tmp_path):
    from mfi.summary.tokenizer import tokens_digest

    tokens = [f"é{i}" for i in range(300)]
    f = _read(write_gguf(tmp_path / "d.gguf", tokens=tokens))
    assert f.metadata["tokenizer.ggml.tokens"].digest == tokens_digest(tokens)


def test_alignment_key_is_honoured(tmp_path):
    import gguf

    path = write_gguf(tmp_path / "a.gguf", kv={"general.alignment": (64, gguf.GGUFValueType.UINT32)})
    f = _read(path)
    assert f.alignment == 64 and f.data_offset % 64 == 0 and f.problems == []


def _type_offset(data: bytes, name: str, n_dims: int) -> int:
    return data.find(name.encode()) + len(name) + 4 + 8 * n_dims


def test_unknown_tensor_type_keeps_the_file_readable(tmp_path):
    tensors = {"a.weight": np.ones((8, 32), np.float32), "b.weight": np.ones((4, 32), np.float32)}
    path = write_gguf(tmp_path / "u.gguf", tensors=tensors)
    data = path.read_bytes()
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(patch(data, _type_offset(data, "a.weight", 2), "<I", 153))
    f = _read(bad)
    a, b = f.tensors
    assert a.dtype == "UNKNOWN(153)" and a.n_bytes == b.offset - a.offset == 8 * 32 * 4
    assert b.dtype == "F32" and f.metadata["general.architecture"] == "llama"
    assert any("UNKNOWN(153)" in w for w in f.warnings) and f.problems == []


def test_truncated_data_is_a_problem_not_an_error(tmp_path):
    path = write_gguf(tmp_path / "t.gguf", tensors={"x.weight": np.ones((64, 64), np.float32)})
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:-100])
    f = _read(cut)
    assert len(f.problems) == 1 and "run past the end of the file" in f.problems[0]


def test_overlapping_and_misaligned_tensors_are_reported(tmp_path):
    tensors = {"a.weight": np.ones((4, 32), np.float32), "b.weight": np.ones((4, 32), np.float32)}
    path = write_gguf(tmp_path / "o.gguf", tensors=tensors)
    data = path.read_bytes()
    off_b = _type_offset(data, "b.weight", 2) + 4
    over = tmp_path / "over.gguf"
    over.write_bytes(patch(data, off_b, "<Q", 256))
    assert any("overlap" in p for p in _read(over).problems)
    mis = tmp_path / "mis.gguf"
    mis.write_bytes(patch(data, off_b, "<Q", 520))
    assert any("not a multiple of the alignment 32" in p for p in _read(mis).problems)


@pytest.mark.parametrize(
    "mutate, error, text",
    [
        (lambda d: d[:3], TruncatedError, "too short"),
        (lambda d: b"GGUX" + d[4:], FormatError, "not a GGUF file"),
        (lambda d: patch(d, 4, "<I", 1), FormatError, "version 1"),
        (lambda d: patch(d, 4, "<I", 7), FormatError, "unsupported GGUF version 7"),
        (lambda d: patch(d, 24, "<Q", 2**62), LimitError, "string length 4611686018427387904 exceeds the 16 MiB cap at byte 24"),
        (lambda d: patch(d, 8, "<Q", 2**40), LimitError, "tensor count"),
        (lambda d: d[:40], TruncatedError, "past the end"),
    ],
    ids=["short", "magic", "v1", "v7", "string-2^62", "tensor-count", "cut-in-header"],
)
def test_bad_headers(tmp_path, mutate, error, text):
    path = write_gguf(tmp_path / "g.gguf", tokens=["a", "b"])
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(mutate(path.read_bytes()))
    with pytest.raises(error) as e:
        _read(bad)
    assert text in str(e.value) and str(e.value).startswith(str(bad))


def test_array_count_2_pow_60_fails_fast(tmp_path):
    path = write_gguf(tmp_path / "g.gguf", tokens=["a", "b"])
    data = path.read_bytes()
    key = b"tokenizer.ggml.tokens"
    at = data.find(key) + len(key) + 4 + 4
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(patch(data, at, "<Q", 2**60))
    with pytest.raises(LimitError, match="array count 1152921504606846976 exceeds the cap"):
        _read(bad)


def test_nested_array_count_is_capped(tmp_path):
    import gguf

    path = write_gguf(tmp_path / "n.gguf", kv={"x.nested": ([[1], [2]], gguf.GGUFValueType.ARRAY)})
    data = path.read_bytes()
    at = data.find(b"x.nested") + len(b"x.nested") + 4 + 4  # type, element type, then the count
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(patch(data, at, "<Q", 5000))
    with pytest.raises(LimitError, match="more than 4096 arrays nested in arrays"):
        _read(bad)


def test_nested_arrays_are_counted_over_the_whole_header(tmp_path):
    """Issue 11 item 11: 4096 arrays of 340 empty arrays each: refused at the cap, not walked for seconds."""
    import scancorpus

    path = scancorpus._gguf_nested(tmp_path / "nested.gguf")
    with pytest.raises(LimitError, match="more than 4096 arrays nested in arrays"):
        _read(path)

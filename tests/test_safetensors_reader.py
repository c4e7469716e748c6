"""The safetensors header reader: every dtype, and the format's validation rules."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from mfi.errors import FormatError, LimitError, TruncatedError
from mfi.formats.tables import safetensors_dtypes
from mfi.formats.safetensors import read_safetensors
from mfi.sources import LocalFile


def _raw(header: dict, data: bytes) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


def _read(tmp_path, raw: bytes, name="x.safetensors"):
    path = tmp_path / name
    path.write_bytes(raw)
    return read_safetensors(LocalFile(path))


def test_matches_safe_open(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    arrays = {"a": np.ones((3, 4), np.float32), "b": np.zeros(5, np.int8), "c": np.ones((2, 2, 2), np.float16)}
    path = tmp_path / "m.safetensors"
    save_file(arrays, str(path), metadata={"format": "pt"})
    f = read_safetensors(LocalFile(path))
    with safe_open(str(path), framework="numpy") as ref:
        assert sorted(t.name for t in f.tensors) == sorted(ref.keys())
        assert f.metadata == ref.metadata() == {"format": "pt"}
        for t in f.tensors:
            assert list(t.shape) == ref.get_slice(t.name).get_shape()
    assert {t.name: t.dtype for t in f.tensors} == {"a": "F32", "b": "I8", "c": "F16"}
    assert f.problems == [] and sum(t.n_bytes for t in f.tensors) == 48 + 5 + 16


def test_every_dtype_the_package_writes(tmp_path):
    """Sizes for all dtypes come from the safetensors package; F6 types are read from offsets."""
    table = safetensors_dtypes()
    assert {"BOOL", "U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F16", "BF16", "F32", "F64", "C64",
            "F8_E4M3", "F8_E5M2", "F8_E8M0", "F8_E4M3FNUZ", "F8_E5M2FNUZ", "F4"} <= set(table)  # fmt: skip
    assert (table["F4"], table["BF16"], table["C64"]) == (4.0, 16.0, 64.0)
    header, offset = {}, 0
    for dtype, bits in sorted(table.items()):
        n = int(16 * bits / 8)
        header[f"t.{dtype}"] = {"dtype": dtype, "shape": [16], "data_offsets": [offset, offset + n]}
        offset += n
    header["t.F6_E2M3"] = {"dtype": "F6_E2M3", "shape": [16], "data_offsets": [offset, offset + 12]}
    f = _read(tmp_path, _raw(header, bytes(offset + 12)))
    assert f.problems == []
    f6 = next(t for t in f.tensors if t.dtype == "F6_E2M3")
    assert f6.bits_per_weight == 6.0 and any("F6_E2M3" in w for w in f.warnings)


@pytest.mark.parametrize(
    "header, data, problem",
    [
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}, 20, "hole of 4 bytes"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, 12, "overlaps"),
        ({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, 8, "needs 12 bytes, offsets give 8"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, 4, "truncated download"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, 10, "2 bytes after the last tensor"),
    ],
    ids=["hole", "overlap", "size-mismatch", "truncated", "trailing"],
)
def test_layout_problems(tmp_path, header, data, problem):
    f = _read(tmp_path, _raw(header, bytes(data)))
    assert any(problem in p for p in f.problems), f.problems


@pytest.mark.parametrize(
    "raw, error, text",
    [
        (b"", TruncatedError, "too short"),
        (struct.pack("<Q", 1000) + b"{}", TruncatedError, "header length 1000 runs past the end"),
        (struct.pack("<Q", 2**40) + b"{}", LimitError, "exceeds the cap"),
        (struct.pack("<Q", 5) + b"{nope", FormatError, "invalid JSON header"),
        (struct.pack("<Q", 2) + b"[]", FormatError, "not a safetensors file"),
        (_raw({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, bytes(4)), FormatError, "not a list of non-negative"),
        (_raw({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, bytes(4)), FormatError, "data_offsets"),
        (_raw({"a": [1]}, b""), FormatError, "entry is not an object"),
    ],
    ids=["empty", "header-past-end", "header-cap", "bad-json", "not-object", "negative-dim", "bad-offsets", "bad-entry"],
)
def test_bad_headers(tmp_path, raw, error, text):
    with pytest.raises(error, match=text) as e:
        _read(tmp_path, raw)
    assert str(e.value).startswith(str(tmp_path / "x.safetensors"))


def test_duplicate_names_rejected(tmp_path):
    h = b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'
    with pytest.raises(FormatError, match="duplicate entry 'a'"):
        _read(tmp_path, struct.pack("<Q", len(h)) + h + b"xx")

"""Property tests: random valid models round-trip; random corruption ends in a summary or our error."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from ggufbuild import write_gguf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfi.errors import MfiError
from mfi.formats.gguf import read_gguf
from mfi.formats.safetensors import read_safetensors
from mfi.sources import LocalFile

SETTINGS = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])

_SCALARS = {
    "UINT8": st.integers(0, 255), "INT8": st.integers(-128, 127), "UINT16": st.integers(0, 2**16 - 1),
    "INT16": st.integers(-(2**15), 2**15 - 1), "UINT32": st.integers(0, 2**32 - 1),
    "INT32": st.integers(-(2**31), 2**31 - 1), "UINT64": st.integers(0, 2**64 - 1),
    "INT64": st.integers(-(2**63), 2**63 - 1), "BOOL": st.booleans(),
    "FLOAT64": st.floats(allow_nan=False), "STRING": st.text(max_size=40),
}  # fmt: skip

key_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz._", min_size=1, max_size=24).map(lambda k: "x." + k)


@st.composite
def gguf_models(draw):
    import gguf

    kv = {}
    for key in draw(st.lists(key_names, max_size=8, unique=True)):
        tname = draw(st.sampled_from(sorted(_SCALARS)))
        kv[key] = (draw(_SCALARS[tname]), gguf.GGUFValueType[tname])
    tensors = {}
    for i in range(draw(st.integers(1, 4))):
        rows, cols = draw(st.integers(1, 4)), 32 * draw(st.integers(1, 3))
        dtype = draw(st.sampled_from([np.float32, np.float16]))
        tensors[f"blk.{i}.w.weight"] = np.ones((rows, cols), dtype)
    tokens = draw(st.lists(st.text(min_size=0, max_size=12), min_size=1, max_size=120))
    return kv, tensors, tokens


@SETTINGS
@given(model=gguf_models(), endian=st.sampled_from(["little", "big"]))
def test_random_gguf_round_trips(tmp_path, model, endian):
    import gguf

    kv, tensors, tokens = model
    path = write_gguf(tmp_path / "r.gguf", kv=kv, tensors=tensors, tokens=tokens, endian=endian)
    f = read_gguf(LocalFile(path), full=True)
    for key, (value, _) in kv.items():
        assert f.metadata[key] == value
    assert list(f.metadata["tokenizer.ggml.tokens"].samples) == tokens
    ref = gguf.GGUFReader(str(path), "r")
    assert [(t.name, t.offset, t.n_bytes) for t in f.tensors] == [
        (t.name, int(t.data_offset), int(t.n_bytes)) for t in ref.tensors
    ]
    assert f.problems == []


def _mutations():
    flip = st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7))
    cut = st.tuples(st.just("cut"), st.integers(0, 10**6), st.just(0))
    huge = st.tuples(st.just("huge"), st.integers(0, 10**6), st.sampled_from([2**31, 2**40, 2**60, 2**64 - 1]))
    return st.lists(st.one_of(flip, cut, huge), min_size=1, max_size=4)


def _mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op, at, arg in ops:
        if not b:
            break
        at %= len(b)
        if op == "flip":
            b[at] ^= 1 << arg
        elif op == "cut":
            del b[at:]
        else:
            b[at : at + 8] = struct.pack("<Q", arg)[: len(b) - at]
    return bytes(b)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    base = tmp_path_factory.mktemp("seeds")
    g = write_gguf(base / "s.gguf", tokens=[f"t{i}" for i in range(300)], kv={}).read_bytes()
    from safetensors.numpy import save_file

    save_file({"a": np.ones((3, 4), np.float32), "b": np.ones(7, np.int8)}, str(base / "s.safetensors"))
    return {"gguf": g, "safetensors": (base / "s.safetensors").read_bytes()}


@SETTINGS
@given(ops=_mutations(), kind=st.sampled_from(["gguf", "safetensors"]))
def test_corruption_ends_in_summary_or_our_error(tmp_path, seeds, ops, kind):
    path = tmp_path / f"c.{kind}"
    path.write_bytes(_mutate(seeds[kind], ops))
    reader = read_gguf if kind == "gguf" else read_safetensors
    try:
        reader(LocalFile(path))
    except MfiError as e:
        assert str(e).startswith(str(path))

"""Fuzzed readers: every mutated input ends in a summary, a scan report or our own error.

Seeds are small real files built here with the writers (gguf, safetensors, torch's layouts, JSON,
npy). Mutations: truncation, bit flips, length/count fields set to huge values, random splices.
Anything but ``MfiError`` (IndexError, struct.error, UnicodeError, MemoryError, RecursionError...)
fails the test, and hypothesis prints the shrunk input. Each example has a deadline; a few
worst cases are also held to a memory bound with tracemalloc.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import tempfile
import tracemalloc
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torchbuild as tb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mfi import api
from mfi.errors import MfiError
from mfi.records import ModelSummary
from mfi.scan.records import ScanReport

_BIG_INT = b"\x8b" + struct.pack("<i", 100_000) + b"\x7f" * 100_000  # LONG4: an 800,000-bit integer
_REBUILD = (b"\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
            b"ctorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpu")  # fmt: skip
HUGE = [0xFFFFFFFF, 0x7FFFFFFF, 1 << 32, (1 << 63) - 1, (1 << 64) - 1, 1 << 40]
FUZZ = settings(
    max_examples=300, deadline=timedelta(seconds=2), derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip


def _gguf_seed(folder: Path) -> bytes:
    import gguf
    from ggufbuild import write_gguf

    path = write_gguf(
        folder / "seed.gguf", tokens=["<s>", "</s>", "a", "b"],
        kv={"llama.block_count": (1, gguf.GGUFValueType.UINT32),
            "tokenizer.chat_template": ("{{ messages[0]['content'] }}", gguf.GGUFValueType.STRING)},
        tensors={"token_embd.weight": np.ones((4, 8), np.float32), "blk.0.attn_q.weight": np.ones((8, 8), np.float16)},
    )  # fmt: skip
    return path.read_bytes()


def _safetensors_seed(folder: Path) -> bytes:
    from safetensors.numpy import save

    return save({"a": np.ones((2, 3), np.float32), "b": np.arange(4, dtype=np.int64)}, metadata={"format": "pt"})


def _torch_seed() -> bytes:
    sd = tb.state_dict({"w": tb.tensor(np.ones((2, 2), np.float32)), "b": tb.tensor(np.ones(2, np.float16), parameter=True)})
    return tb.save_zip(sd, None)


def _legacy_seed() -> bytes:
    return tb.save_legacy(tb.state_dict({"w": tb.tensor(np.ones((2, 2), np.float32))}), None)


def _json_seed() -> bytes:
    return json.dumps({"model_type": "llama", "num_hidden_layers": 1, "hidden_size": 8, "vocab_size": 4,
                       "auto_map": {"AutoModel": "m.M"}, "chat_template": "{{ x }}"}).encode()  # fmt: skip


def _npy_seed() -> bytes:
    out = io.BytesIO()
    np.save(out, np.ones(3, np.float32))
    return out.getvalue()


_WORK = Path(tempfile.mkdtemp(prefix="mfi-fuzz-"))
SEEDS = {
    "gguf": ("m.gguf", _gguf_seed(_WORK)),
    "safetensors": ("m.safetensors", _safetensors_seed(_WORK)),
    "torch-zip": ("pytorch_model.bin", _torch_seed()),
    "torch-legacy": ("model.pt", _legacy_seed()),
    "json": ("config.json", _json_seed()),
    "npy": ("a.npy", _npy_seed()),
}


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    """One to three mutations of ``seed``."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "huge", "splice", "byte", "repeat"]))
        n = len(data)
        if n == 0:
            break
        pos = draw(st.integers(0, n - 1))
        if kind == "truncate":
            del data[pos:]
        elif kind == "flip":
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[pos] = draw(st.integers(0, 255))
        elif kind == "repeat":  # deep nesting: one opcode (TUPLE1, MARK, '[') over and over
            chunk = bytes(data[pos : pos + draw(st.integers(1, 3))])
            data[pos:pos] = chunk * draw(st.sampled_from([300, 3_000, 30_000]))
        elif kind == "huge":
            width = draw(st.sampled_from([4, 8]))
            value = draw(st.sampled_from(HUGE)) & ((1 << (8 * width)) - 1)
            data[pos : pos + width] = struct.pack("<Q" if width == 8 else "<I", value)
        else:
            a = draw(st.integers(0, n))
            b = draw(st.integers(a, min(n, a + 64)))
            insert = draw(st.one_of(st.binary(max_size=32), st.just(bytes(data[a:b]))))
            data[pos:pos] = insert
    return bytes(data)


def _check(name: str, raw: bytes) -> None:
    """The mutated file must end in a summary/report or an MfiError; nothing else may escape."""
    folder = Path(tempfile.mkdtemp(dir=_WORK))
    path = folder / name
    path.write_bytes(raw)
    if name == "config.json":  # a sidecar: inspect the folder around it
        (folder / "m.safetensors").write_bytes(SEEDS["safetensors"][1])
        target = folder
    else:
        target = path
    try:
        for run in (api.inspect, api.scan):
            if run is api.inspect and name == "a.npy":
                continue
            try:
                out = run(target)
            except MfiError:
                continue
            assert isinstance(out, (ModelSummary, ScanReport))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fuzz(kind: str):
    name, seed = SEEDS[kind]

    @FUZZ
    @given(mutated(seed))
    def run(raw: bytes) -> None:
        _check(name, raw)

    return run


@pytest.mark.parametrize("kind", list(SEEDS))
def test_fuzz(kind):
    _check(SEEDS[kind][0], SEEDS[kind][1])  # the seed itself reads cleanly
    _fuzz(kind)()


def _gguf_huge(seed: bytes, what: str) -> bytes:
    """The GGUF seed with one header field set to a huge value (offsets per the GGUF v3 layout)."""
    data = bytearray(seed)
    if what == "tensor_count":
        data[8:16] = struct.pack("<Q", (1 << 63) - 1)
    elif what == "kv_count":
        data[16:24] = struct.pack("<Q", (1 << 63) - 1)
    else:  # the first key's string length
        data[24:32] = struct.pack("<Q", (1 << 62))
    return bytes(data)


def _zip_huge_directory(seed: bytes) -> bytes:
    """The torch zip with its end-of-central-directory claiming a 4 GiB directory."""
    data = bytearray(seed)
    eocd = data.rindex(b"PK\x05\x06")
    data[eocd + 12 : eocd + 16] = struct.pack("<I", 0xFFFFFFF0)
    return bytes(data)


WORST = {
    "gguf-tensor-count": ("m.gguf", lambda: _gguf_huge(SEEDS["gguf"][1], "tensor_count")),
    "gguf-kv-count": ("m.gguf", lambda: _gguf_huge(SEEDS["gguf"][1], "kv_count")),
    "gguf-string-length": ("m.gguf", lambda: _gguf_huge(SEEDS["gguf"][1], "string")),
    "safetensors-header": ("m.safetensors", lambda: struct.pack("<Q", (1 << 64) - 1) + SEEDS["safetensors"][1][8:]),
    "pickle-binunicode8": ("x.pkl", lambda: b"\x80\x04\x8d" + struct.pack("<Q", 1 << 62) + b"abc"),
    "pickle-long4": ("x.pkl", lambda: b"\x80\x02\x8b" + struct.pack("<i", 0x7FFFFFFF) + b"\x01" * 10),
    "pickle-marks": ("x.pkl", lambda: b"\x80\x02" + b"(" * 100_000 + b"."),
    "pickle-memo": ("x.pkl", lambda: b"\x80\x02N" + b"r\xff\xff\xff\xff" * 10 + b"."),
    "zip-directory": ("pytorch_model.bin", lambda: _zip_huge_directory(SEEDS["torch-zip"][1])),
    "npy-header": ("a.npy", lambda: b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF) + b"{}"),
    "pickle-deep-pid": ("x.pkl", lambda: b"\x80\x02N" + b"\x85" * 20_000 + b"Q."),
    "pickle-deep-stack-global": ("x.pkl", lambda: b"\x80\x04N" + b"\x85" * 20_000 + b"\x8c\x01x\x93."),
    "pickle-huge-numel": ("model.pt", lambda: _REBUILD + _BIG_INT + b"tQK\x00K\x01\x85K\x01\x85\x89}tRs."),
    "pickle-huge-dim": ("model.pt", lambda: _REBUILD + b"K\x04tQK\x00K\x00" + _BIG_INT + b"\x86K\x01K\x01\x86\x89}tRs."),
}


@pytest.mark.parametrize("case", list(WORST))
def test_worst_cases_stay_small(case):
    """Huge claimed sizes are refused before anything is allocated: peak traced memory < 64 MiB."""
    name, build = WORST[case]
    raw = build()
    tracemalloc.start()
    try:
        _check(name, raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{case}: peak {peak / 2**20:.1f} MiB"

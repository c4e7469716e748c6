"""Small GGUF files built in tests with the gguf package's writer, plus byte-patching helpers."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def write_gguf(path: Path, *, arch: str = "llama", kv=None, tensors=None, endian: str = "little", tokens=None) -> Path:
    """Write a GGUF with ``kv`` (key -> (value, GGUFValueType)) and ``tensors`` (name -> array or (raw, qtype))."""
    import gguf

    w = gguf.GGUFWriter(
        str(path), arch, endianess=gguf.GGUFEndian.BIG if endian == "big" else gguf.GGUFEndian.LITTLE
    )
    for key, (value, vtype) in (kv or {}).items():
        if vtype == gguf.GGUFValueType.ARRAY:
            w.add_array(key, value)
        else:
            w.add_key_value(key, value, vtype)
    if tokens is not None:
        w.add_tokenizer_model("gpt2")
        w.add_token_list(tokens)
    for name, value in (tensors or {"blk.0.attn_q.weight": np.ones((4, 32), np.float32)}).items():
        if isinstance(value, tuple):
            raw, qtype = value
            w.add_tensor(name, raw, raw_dtype=qtype)
        else:
            w.add_tensor(name, value)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def patch(data: bytes, offset: int, fmt: str, value) -> bytes:
    """``data`` with one struct-packed value written at ``offset``."""
    packed = struct.pack(fmt, value)
    return data[:offset] + packed + data[offset + len(packed) :]

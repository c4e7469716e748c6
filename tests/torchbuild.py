"""PyTorch checkpoints written without torch, byte for byte the way ``torch.save`` lays them out.

``torch.save`` pickles with protocol 2 (``DEFAULT_PROTOCOL``) and a ``persistent_id`` that turns
each storage into ``('storage', torch.<Type>Storage, key, location, numel)`` (zip layout; the legacy
layout adds the view metadata). A tensor pickles as
``torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, OrderedDict())``.
Here the pure-Python pickler writes the same opcodes, with ``Ref`` standing for torch's globals so
nothing needs to be importable. Nothing in this module ever unpickles.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict

import numpy as np

# numpy dtype -> (torch storage class, element size)
STORAGE = {
    np.dtype(np.float32): "FloatStorage", np.dtype(np.float16): "HalfStorage", np.dtype(np.float64): "DoubleStorage",
    np.dtype(np.int64): "LongStorage", np.dtype(np.int32): "IntStorage", np.dtype(np.int8): "CharStorage",
    np.dtype(np.uint8): "ByteStorage", np.dtype(np.bool_): "BoolStorage", np.dtype(np.int16): "ShortStorage",
}  # fmt: skip
#: What mfi reports for each storage class (safetensors-style names).
DTYPE_NAME = {
    "FloatStorage": "F32", "HalfStorage": "F16", "DoubleStorage": "F64", "LongStorage": "I64",
    "IntStorage": "I32", "CharStorage": "I8", "ByteStorage": "U8", "BoolStorage": "BOOL",
    "ShortStorage": "I16", "BFloat16Storage": "BF16",
}  # fmt: skip


class Ref:
    """A global by name (``torch._utils._rebuild_tensor_v2``), pickled as GLOBAL, never imported."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *a):  # pickle requires reduce functions to be callable
        raise RuntimeError("a stand-in, never called")


class Storage:
    """One storage: raw bytes of ``numel`` elements of a storage class."""

    def __init__(self, cls: str, data: bytes, itemsize: int) -> None:
        self.cls, self.data, self.numel = cls, data, len(data) // itemsize


class Tensor:
    """A tensor view of a storage, pickled like ``torch.Tensor.__reduce_ex__``."""

    def __init__(self, storage: Storage, shape, offset: int = 0, stride=None, parameter: bool = False) -> None:
        self.storage, self.shape, self.offset = storage, tuple(shape), offset
        if stride is None:
            stride, acc = [], 1
            for d in reversed(self.shape):
                stride.insert(0, acc)
                acc *= d
        self.stride = tuple(stride)
        self.parameter = parameter

    def __reduce_ex__(self, protocol):
        args = (self.storage, self.offset, self.shape, self.stride, False, OrderedDict())
        t = (Ref("torch._utils", "_rebuild_tensor_v2"), args)
        if self.parameter:
            return (Ref("torch._utils", "_rebuild_parameter"), (_Reduced(t), True, OrderedDict()))
        return t


class _Reduced:
    def __init__(self, rv) -> None:
        self.rv = rv

    def __reduce_ex__(self, protocol):
        return self.rv


def tensor(array: np.ndarray, parameter: bool = False) -> Tensor:
    """A tensor owning its own storage, holding ``array``'s bytes."""
    a = np.array(array, order="C")
    return Tensor(Storage(STORAGE[a.dtype], a.tobytes(), a.dtype.itemsize), a.shape, parameter=parameter)


class _TorchPickler(pickle._Pickler):
    """The pure-Python pickler with torch's persistent ids and ``Ref`` globals."""

    def __init__(self, f, legacy: bool) -> None:
        super().__init__(f, protocol=2)
        self.legacy = legacy
        self.storages: dict[str, Storage] = {}
        self._keys: dict[int, str] = {}
        self.dispatch = dict(self.dispatch)
        self.dispatch[Ref] = _TorchPickler._save_ref

    def _save_ref(self, obj: Ref) -> None:
        self.write(pickle.GLOBAL + obj.module.encode() + b"\n" + obj.name.encode() + b"\n")
        self.memoize(obj)

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        key = self._keys.setdefault(id(obj), str(len(self._keys)) if not self.legacy else str(140000000 + 8 * len(self._keys)))
        self.storages[key] = obj
        pid = ("storage", Ref("torch", obj.cls), key, "cpu", obj.numel)
        return pid + (None,) if self.legacy else pid


def _pickle(obj, legacy: bool = False) -> tuple[bytes, dict[str, Storage]]:
    buf = io.BytesIO()
    p = _TorchPickler(buf, legacy)
    p.dump(obj)
    return buf.getvalue(), p.storages


def _aligned(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    """A stored member whose data starts on a 64-byte boundary (torch pads with an ``FB`` extra field)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    start = zf.fp.tell() + 30 + len(name.encode()) + 4
    info.extra = b"FB" + struct.pack("<H", (-start) % 64) + b"Z" * ((-start) % 64)
    zf.writestr(info, data)


def save_zip(obj, path, prefix: str = "archive") -> bytes:
    """``torch.save(obj, path)`` in the zip layout (torch >= 1.6). Returns the file's bytes."""
    data, storages = _pickle(obj)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        _aligned(zf, f"{prefix}/data.pkl", data)
        _aligned(zf, f"{prefix}/byteorder", b"little")
        for key in sorted(storages):
            _aligned(zf, f"{prefix}/data/{key}", storages[key].data)
        _aligned(zf, f"{prefix}/version", b"3\n")
        _aligned(zf, f"{prefix}/.data/serialization_id", b"1234567890")
    raw = buf.getvalue()
    if path is not None:
        path.write_bytes(raw)
    return raw


def save_legacy(obj, path) -> bytes:
    """``torch.save(obj, path, _use_new_zipfile_serialization=False)``: five pickles, then storages."""
    out = io.BytesIO()
    for head in (0x1950A86A20F9469CFC6C, 1001,
                 {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}):  # fmt: skip
        pickle._Pickler(out, protocol=2).dump(head)
    data, storages = _pickle(obj, legacy=True)
    out.write(data)
    keys = sorted(storages)
    pickle._Pickler(out, protocol=2).dump(keys)
    for key in keys:
        s = storages[key]
        out.write(struct.pack("<q", s.numel) + s.data)
    raw = out.getvalue()
    if path is not None:
        path.write_bytes(raw)
    return raw


def state_dict(tensors: dict) -> OrderedDict:
    """An ``OrderedDict`` with torch's ``_metadata`` attribute, as ``Module.state_dict()`` returns."""
    sd = OrderedDict(tensors)
    sd._metadata = OrderedDict({"": {"version": 1}})
    return sd

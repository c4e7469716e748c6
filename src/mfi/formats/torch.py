"""PyTorch checkpoints (.bin, .pt, .pth, .ckpt) read without torch and without unpickling.

Two layouts, as ``torch.serialization`` writes them (pickle protocol 2):

- zip (torch >= 1.6): ``<prefix>/data.pkl`` holds the object, each storage is a stored member
  ``<prefix>/data/<key>``; persistent ids are ``('storage', storage class, key, location, numel)``.
- legacy: five pickles in a row (magic number, protocol version 1001, sys_info, the object, the
  sorted storage keys), then each storage as an 8-byte little-endian element count and its bytes;
  persistent ids carry a sixth item, the view metadata.

The tensor table comes from the ``torch._utils._rebuild_tensor_v2`` calls the walk finds: storage
class -> dtype, then shape, stride and offset. A plain pickle (no storages) is walked for its
globals and whatever tensors it names.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from .. import limits
from ..errors import FormatError, LimitError
from ..records import TensorInfo
from ..sources import ByteSource
from . import tables
from .pickle import (
    ALLOWED,
    DANGEROUS,
    EXTRA_DTYPE_BITS,
    MAX_INT,
    STORAGE_DTYPES,
    TORCH_DTYPES,
    Call,
    Global,
    PDict,
    Persistent,
    PickleGlobal,
    PickleWalk,
    TensorCall,
    brief,
    looks_like_pickle,
    starts_like_pickle,
    pickle_stream,
    walk_pickle,
)  # fmt: skip
from ..sources.memory import BytesSource
from .ziparchive import ZipArchive, is_zip

#: ``torch.serialization.MAGIC_NUMBER`` and ``PROTOCOL_VERSION`` of the legacy layout.
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
#: The first bytes of a legacy file: PROTO 2, LONG1 of 10 bytes holding the magic number.
LEGACY_HEAD = b"\x80\x02\x8a\x0a" + LEGACY_MAGIC.to_bytes(10, "little")
#: Keys under which training scripts keep the model's state dict inside a bigger checkpoint.
_WRAPPERS = ("state_dict", "model_state_dict", "model", "module", "ema", "params", "net", "generator")


@dataclass(slots=True)
class TorchCheckpoint:
    """One PyTorch checkpoint's tensor table and every global its pickles import."""

    name: str
    #: ``zip``, ``legacy`` or ``pickle`` (a bare pickle, no storages).
    layout: str
    file_size: int
    tensors: tuple[TensorInfo, ...]
    globals: tuple[PickleGlobal, ...]
    #: Opcodes a plain checkpoint never uses, with their offsets.
    oddities: list[tuple[int, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: Layout details: zip prefix, byte order, storage count and bytes, where the state dict sat.
    info: dict[str, Any] = field(default_factory=dict)
    #: Zip member names (zip layout only).
    members: tuple[str, ...] = ()
    #: Names left out of ``tensors`` because they are the same view of the same storage as a tensor kept
    #: (a tied ``lm_head.weight`` -> ``model.embed_tokens.weight``): torch.load gives back one tensor.
    aliases: dict[str, str] = field(default_factory=dict)
    #: String metadata (pickles carry none; kept so summaries treat every weight format alike).
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def flagged(self) -> list[PickleGlobal]:
        """Globals outside the allow-list (dangerous ones first)."""
        return sorted((g for g in self.globals if g.verdict != ALLOWED), key=lambda g: g.verdict != DANGEROUS)


@dataclass(slots=True)
class _Storage:
    dtype: str
    numel: int
    #: Absolute offset of its bytes, and how many the file holds (None: not in this file).
    offset: int | None = None
    available: int | None = None


def dtype_bits(dtype: str) -> float | None:
    """Bits per element of a safetensors-style dtype name (or torch's extra quantized ones)."""
    return tables.safetensors_dtypes().get(dtype) or EXTRA_DTYPE_BITS.get(dtype)


def read_torch(src: ByteSource, walked: dict[str, PickleWalk] | None = None) -> TorchCheckpoint:
    """Read the checkpoint behind ``src``: zip, legacy or bare pickle. Nothing is unpickled.

    ``walked``: complete walks the caller already made, by zip member name (``""`` for a bare
    pickle), reused instead of walking the same pickle twice.
    """
    ck = _read_any(src, walked or {})
    flagged = ck.flagged
    if flagged:
        g = flagged[0]
        what = f"dangerous: {g.why}" if g.why else "outside the allow-list"
        more = f" and {len(flagged) - 1} more" if len(flagged) > 1 else ""
        ck.warnings.insert(0, f"the pickle imports {g.qualname} ({what}) at byte {g.offset}{more}: "
                              "loading it with torch.load can run code; see `mfi scan`")  # fmt: skip
    return ck


def _read_any(src: ByteSource, walked: dict[str, PickleWalk]) -> TorchCheckpoint:
    head = src.read_at(0, 16)
    if is_zip(head):
        return _read_zip(src, walked)
    if head.startswith(LEGACY_HEAD):
        return _read_legacy(src)
    if src.read_at(257, 5) == b"ustar":
        raise FormatError(src.name, "tar-based PyTorch checkpoint (torch < 0.4) is not supported")
    if "" in walked or looks_like_pickle(head) or starts_like_pickle(head):
        try:
            walk = walked.get("") or walk_pickle(src.name, pickle_stream(src))
        except FormatError:
            if "" in walked or looks_like_pickle(head):
                raise
            raise FormatError(src.name, "not a PyTorch checkpoint (neither zip, legacy pickle nor pickle)") from None
        if walk.value == LEGACY_MAGIC and not isinstance(walk.value, bool):
            return _read_legacy(src)  # the magic number written some other way than LONG1: torch only compares values
        ck = TorchCheckpoint(src.name, "pickle", src.size, (), tuple(walk.globals), walk.oddities)
        storages = _storages(ck, walk.persistent)
        _tensors(ck, walk.value, storages)
        _finish(ck, storages, missing_ok=True)
        if walk.end < src.size:
            ck.warnings.append(f"{src.size - walk.end} bytes after the pickle's STOP opcode")
        return ck
    raise FormatError(src.name, "not a PyTorch checkpoint (neither zip, legacy pickle nor pickle)")


def _read_zip(src: ByteSource, walked: dict[str, PickleWalk]) -> TorchCheckpoint:
    z = ZipArchive(src)
    pkls = [n for n in z.members if n == "data.pkl" or n.endswith("/data.pkl")]
    if not pkls:
        raise FormatError(src.name, "zip archive without a data.pkl: not a PyTorch checkpoint")
    main = min(pkls, key=len)
    prefix = main[: -len("data.pkl")]
    member = z.members[main]
    walk = walked.get(main)
    if walk is None:
        data = z.read(main, limits.MAX_PICKLE_BYTES)
        # positions are absolute in the file when the member is stored (torch never compresses)
        base = z.data_offset(main) if member.stored else 0
        walk = walk_pickle(src.name, pickle_stream(BytesSource(src.name, data)), base=base)
    ck = TorchCheckpoint(src.name, "zip", src.size, (), tuple(walk.globals), walk.oddities, members=tuple(z.members))
    ck.info["prefix"] = prefix.rstrip("/")
    if prefix + "byteorder" in z.members:
        order = z.read(prefix + "byteorder", 16).decode("ascii", "replace")
        ck.info["byte_order"] = order
        if order != "little":
            ck.warnings.append(f"storages are {order}-endian")
    if prefix + "constants.pkl" in z.members:
        ck.warnings.append("TorchScript archive: torch.load hands it to torch.jit.load, which runs its code/")
    if not member.stored:
        ck.warnings.append(f"{main} is compressed: opcode offsets are relative to the member")

    storages = _storages(ck, walk.persistent)
    for key, st in storages.items():
        m = z.members.get(f"{prefix}data/{key}")
        if m is not None:
            st.offset, st.available = z.data_offset(m.name), m.size
            if not m.stored:
                ck.warnings.append(f"storage data/{key} is compressed; torch cannot memory-map it")
    _tensors(ck, walk.value, storages)
    _finish(ck, storages)
    ck.info["storages"] = sum(1 for n in z.members if n.startswith(prefix + "data/"))
    return ck


def _read_legacy(src: ByteSource) -> TorchCheckpoint:
    stream = pickle_stream(src)
    found: list[PickleGlobal] = []
    odd: list[tuple[int, str]] = []
    values, persistent = [], []
    for _ in range(5):  # magic, protocol version, sys_info, the object, storage keys
        walk = walk_pickle(src.name, stream)
        found += walk.globals
        odd += walk.oddities
        persistent += walk.persistent
        values.append(walk.value)
    magic, proto, sys_info, obj, keys = values
    if magic != LEGACY_MAGIC:
        raise FormatError(src.name, "legacy checkpoint with a wrong magic number", 0)
    ck = TorchCheckpoint(src.name, "legacy", src.size, (), tuple(found), odd)
    if proto != LEGACY_PROTOCOL:
        ck.warnings.append(f"legacy protocol version {brief(proto)}, expected {LEGACY_PROTOCOL}")
    if isinstance(sys_info, PDict):
        info = {k: v for k, v in sys_info.items if isinstance(k, str) and isinstance(v, (bool, int))}
        if info.get("little_endian") is False:
            ck.warnings.append("storages are big-endian")
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise FormatError(src.name, "legacy checkpoint: the storage key list is not a list of strings", stream.tell())
    storages = _storages(ck, persistent)
    pos = stream.tell()
    for key in keys:
        st = storages.get(key)
        bits = dtype_bits(st.dtype) if st else None
        if st is None or bits is None:
            ck.problems.append(f"storage {key} cannot be sized (no persistent id of a known type names it)")
            break
        head = src.read_at(pos, 8)
        if len(head) < 8:
            pos = src.size + 1  # reported as truncation below
            break
        (numel,) = struct.unpack("<q", head)
        if numel != st.numel:
            ck.problems.append(f"storage {key} holds {numel} elements, the pickle declares {st.numel}")
        nbytes = max(numel, 0) * int(bits) // 8
        st.offset, st.available = pos + 8, max(0, min(nbytes, src.size - pos - 8))
        pos += 8 + nbytes
    if pos > src.size:
        ck.problems.append(f"storage data runs past the end of the file ({src.size} bytes): truncated download?")
    elif pos < src.size:
        ck.warnings.append(f"{src.size - pos} bytes after the last storage")
    _tensors(ck, obj, storages)
    _finish(ck, storages)
    ck.info["storages"] = len(keys)
    return ck


def _tensors(ck: TorchCheckpoint, root: Any, storages: dict[str, _Storage]) -> None:
    """Find the state dict in ``root``, turn its tensor rebuild calls into ``TensorInfo`` rows."""
    found = list(_walk(root, (), 0, set()))
    # index in ``found`` -> name in the table (the state dict's own names when it sits under a key)
    chosen = {i: ".".join(p) for i, (p, _) in enumerate(found)}
    if found and all(len(p) > 1 for p, _ in found):  # nothing at the top: a wrapper like {"state_dict": ...}
        for key in _WRAPPERS:
            inner = {i: ".".join(p[1:]) for i, (p, _) in enumerate(found) if p[0] == key}
            if inner:
                chosen = inner
                ck.info["state_dict_key"] = key
                rest = sorted({p[0] for p, _ in found if p[0] != key})
                if rest:
                    ck.warnings.append(f"tensors also under {', '.join(rest[:4])} (not counted: optimizer or extra state)")
                break
    rows = []
    # torch.save writes a storage once however many tensors view it (torch/serialization.py, persistent_id
    # keyed by storage): transformers 4.x save_pretrained(safe_serialization=False) keeps a tied lm_head.weight
    # as a second view of the embedding's storage. Counting it again would double its parameters and bytes.
    views: dict[tuple[Any, ...], str] = {}
    for i, (_, tc) in enumerate(found):
        if i in chosen and (info := _tensor_info(ck, chosen[i], tc, storages)) is not None:
            pid = cast(Persistent, tc.storage).pid  # _tensor_info accepted only persistent storages
            view = (str(pid[2]), tc.storage_offset, info.shape, _ints(tc.stride), info.dtype)
            if view in views:
                ck.aliases[info.name] = views[view]
                continue
            views[view] = info.name
            rows.append(info)
    ck.tensors = tuple(rows)


def _storages(ck: TorchCheckpoint, pids: list[Any]) -> dict[str, _Storage]:
    """Storage key -> dtype and element count, from torch's persistent ids."""
    out: dict[str, _Storage] = {}
    for pid in pids:
        if not (
            isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] in ("storage", b"storage")
            and isinstance(pid[1], Global) and isinstance(pid[2], (str, int)) and not isinstance(pid[2], bool)
            and isinstance(pid[4], int) and not isinstance(pid[4], bool) and 0 <= pid[4] <= MAX_INT
        ):  # fmt: skip
            what = f"a tuple ({', '.join(brief(v) for v in pid[:5])})" if isinstance(pid, tuple) else brief(pid)
            ck.warnings.append(f"persistent id {what} is not a torch storage")
            continue
        if isinstance(pid[2], int) and abs(pid[2]) > MAX_INT:
            ck.warnings.append(f"persistent id names storage key {brief(pid[2])}, not a torch storage key")
            continue
        key = str(pid[2])
        if key not in out:
            out[key] = _Storage(STORAGE_DTYPES.get(pid[1].name, f"UNKNOWN({pid[1].name})"), pid[4])
    return out


def _pairs(v: Any) -> list[tuple[Any, Any]] | None:
    if isinstance(v, PDict):
        return v.items
    if isinstance(v, Call) and (v.items or (isinstance(v.func, Global) and v.func.name in ("OrderedDict", "dict"))):
        return v.items
    return None


def _walk(v: Any, path: tuple[str, ...], depth: int, seen: set[int]) -> Iterator[tuple[tuple[str, ...], TensorCall]]:
    """(key path, TensorCall) for every tensor reachable through dicts, lists and object state."""
    if isinstance(v, TensorCall):
        yield path, v
        return
    if depth >= limits.MAX_PICKLE_DEPTH or id(v) in seen:
        return
    if isinstance(v, (PDict, Call, list, tuple)):
        seen.add(id(v))
    pairs = _pairs(v)
    if pairs is not None:
        for k, item in pairs:
            if isinstance(k, str) or (isinstance(k, int) and not isinstance(k, bool) and abs(k) <= MAX_INT):
                yield from _walk(item, path + (str(k),), depth + 1, seen)
    if isinstance(v, Call) and v.state is not None:
        yield from _walk(v.state, path, depth + 1, seen)
    elif isinstance(v, (list, tuple)):
        for i, item in enumerate(v):
            yield from _walk(item, path + (str(i),), depth + 1, seen)


def _ints(v: Any) -> tuple[int, ...] | None:
    if isinstance(v, Call) and isinstance(v.func, Global) and v.func.name == "Size" and v.args:
        v = v.args[0]  # torch.Size((...)) in a few old writers
    if isinstance(v, (tuple, list)) and all(isinstance(d, int) and not isinstance(d, bool) for d in v):
        return tuple(v)
    return None


def _key_ok(k: Any) -> bool:
    """A storage key ``str()`` can spell: a string, or an int up to ``MAX_INT`` (huge ints raise there)."""
    return isinstance(k, str) or (isinstance(k, int) and not isinstance(k, bool) and abs(k) <= MAX_INT)


def _tensor_info(ck: TorchCheckpoint, tname: str, tc: TensorCall, storages: dict[str, _Storage]) -> TensorInfo | None:
    pid = tc.storage.pid if isinstance(tc.storage, Persistent) else None
    shape, stride = _ints(tc.size), _ints(tc.stride)
    key = str(pid[2]) if isinstance(pid, tuple) and len(pid) > 2 and _key_ok(pid[2]) else None
    s = storages.get(key) if key is not None else None
    if not (
        s is not None and shape is not None and stride is not None and len(shape) == len(stride)
        and isinstance(tc.storage_offset, int) and not isinstance(tc.storage_offset, bool)
        and all(0 <= v <= MAX_INT for v in (tc.storage_offset, *shape, *stride))
    ):  # fmt: skip
        ck.warnings.append(f"tensor {tname}: rebuild call not understood; left out of the table")
        return None
    if len(shape) > limits.MAX_DIMS:
        raise LimitError(ck.name, f"tensor {tname!r} has {len(shape)} dimensions, above the cap of {limits.MAX_DIMS}")
    dtype = s.dtype
    if isinstance(tc.dtype, Global):
        dtype = TORCH_DTYPES.get(tc.dtype.name, f"UNKNOWN({tc.dtype.name})")
    count = math.prod(shape)
    if count > limits.MAX_TENSOR_ELEMENTS:
        raise LimitError(ck.name, f"tensor {tname!r} claims {brief(count)} elements, above the cap of 2**53")
    bits = dtype_bits(dtype)
    n_bytes = None if bits is None else int(count * bits) // 8
    elem = (bits or 8) / 8
    # Elements the view reaches: offset + sum((size-1)*stride) + 1 (none for an empty tensor).
    reach = 0 if count == 0 else tc.storage_offset + sum((d - 1) * st for d, st in zip(shape, stride)) + 1
    storage_bits = dtype_bits(s.dtype) or 8
    if reach * elem > s.numel * storage_bits / 8:
        ck.problems.append(f"tensor {tname} reaches past the end of its storage {key}")
    offset = (s.offset or 0) + int(tc.storage_offset * elem)
    return TensorInfo(tname, dtype, shape, offset, n_bytes, ck.name)


def _finish(ck: TorchCheckpoint, storages: dict[str, _Storage], *, missing_ok: bool = False) -> None:
    """Storage-level checks: present, and as large as the pickle declares."""
    total = 0
    for key, s in storages.items():
        bits = dtype_bits(s.dtype) or 8
        need = s.numel * int(bits) // 8
        total += need
        if s.available is None:
            if not missing_ok:
                ck.problems.append(f"storage {key} is missing from the file")
        elif s.available < need:
            ck.problems.append(f"storage {key} holds {s.available} bytes, the pickle declares {need}")
    if missing_ok and storages:
        ck.warnings.append("a bare pickle: tensor data is not in this file")
    ck.info["storage_bytes"] = total

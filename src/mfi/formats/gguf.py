"""GGUF header reader: a streaming walk over a ``ByteSource``; tensor data is never read.

Spec: ggml/docs/gguf.md. Versions 2 and 3, either byte order. Long arrays (tokens, merges,
scores) are walked, not materialised: their count, element type, a few samples and, for strings,
a digest and checkpoints every 1,024 elements so single elements can be fetched later.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass, field
from typing import Any

from .. import limits
from ..errors import FormatError, LimitError, TruncatedError
from ..records import ArrayValue, TensorInfo
from ..sources import ByteSource
from . import tables
from ._cursor import Cursor

MAGIC = b"GGUF"
_CHECKPOINT = 1024  # elements between remembered offsets in a walked string array
#: A numeric array up to this size is read through rather than skipped: over HTTP a skip past the
#: window is one more request, and token types and scores sit between the tokens and the merges.
_READ_THROUGH = 8 << 20
#: Bytes asked beyond the current array when a window is refilled: the next array's head and samples.
_LOOKAHEAD = 64 << 10
#: Bytes a tensor-table entry takes, for sizing the last window (name, dims, type, offset).
_TENSOR_ENTRY = 96

# Binary encoding of each GGUF value type (spec: gguf_metadata_value_type), by the gguf
# package's names; ``None`` marks the variable-sized ones.
_STRUCT = {
    "UINT8": "B", "INT8": "b", "UINT16": "H", "INT16": "h", "UINT32": "I", "INT32": "i",
    "FLOAT32": "f", "BOOL": "?", "STRING": None, "ARRAY": None, "UINT64": "Q", "INT64": "q",
    "FLOAT64": "d",
}  # fmt: skip


def _value_types() -> dict[int, str]:
    return {int(t): t.name for t in tables.gguf_constants().GGUFValueType}


@dataclass(slots=True)
class _StringArray:
    """Where a walked string array lives, to fetch elements by index later."""

    first: int
    count: int
    checkpoints: list[int]


@dataclass(slots=True)
class GGUFFile:
    """One GGUF file's header: metadata, tensor table and where the data starts."""

    name: str
    version: int
    byte_order: str  # "little" | "big"
    metadata: dict[str, Any]
    #: GGUF value type name per key (``UINT32``, ``STRING``, ``ARRAY``).
    types: dict[str, str]
    tensors: tuple[TensorInfo, ...]
    #: Type id per tensor name, kept raw so unknown codes stay numbers.
    type_ids: dict[str, int]
    alignment: int
    header_size: int
    data_offset: int
    file_size: int
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    _source: ByteSource | None = None
    _arrays: dict[str, _StringArray] = field(default_factory=dict)
    _endian: str = "<"

    @property
    def data_size(self) -> int:
        """Bytes of the tensor-data span (file size minus data offset): what llama.cpp maps."""
        return max(0, self.file_size - self.data_offset)

    def strings(self, key: str, indices: list[int] | None = None) -> dict[int, str]:
        """Elements of a string array by index (all of them when ``indices`` is None)."""
        value = self.metadata.get(key)
        if not isinstance(value, ArrayValue) or value.elem_type != "STRING":
            return {}
        if value.complete:
            wanted = range(value.count) if indices is None else indices
            return {i: value.samples[i] for i in wanted if 0 <= i < value.count}
        arr = self._arrays[key]
        wanted = sorted({i for i in (range(arr.count) if indices is None else indices) if 0 <= i < arr.count})
        out: dict[int, str] = {}
        assert self._source is not None  # set by the parser whenever an array was only walked
        cur = Cursor(self._source, chunk=4096)  # small reads: the bytes are the ones the walk already read
        unpack = struct.Struct(self._endian + "Q").unpack
        pos_index = -1
        for i in wanted:
            cp = i // _CHECKPOINT
            if pos_index < 0 or pos_index // _CHECKPOINT != cp:  # jump to the nearest checkpoint
                cur.seek(arr.checkpoints[cp])
                pos_index = cp * _CHECKPOINT
            while pos_index < i:
                (n,) = unpack(cur.take(8))
                cur.skip(n)
                pos_index += 1
            (n,) = unpack(cur.take(8))
            out[i] = cur.take(n).decode("utf-8", errors="replace")
            pos_index += 1
        return out


def read_gguf(src: ByteSource, *, full: bool = False) -> GGUFFile:
    """Read the header of the GGUF file behind ``src``; ``full`` materialises every array."""
    return _Parser(src, full).parse()


class _Parser:
    def __init__(self, src: ByteSource, full: bool) -> None:
        self.src = src
        self.name = src.name
        self.full = full
        self.cur = Cursor(src)
        self.e = "<"
        self.vtypes = _value_types()
        self.arrays: dict[str, _StringArray] = {}
        #: Arrays inside arrays so far, in the whole header (``limits.MAX_NESTED_ARRAYS``).
        self.nested = 0
        self.kv_left = 0
        self.n_tensors = 0
        self.tokenizer_model: str | None = None

    # -- primitives ------------------------------------------------------------------
    def _u(self, code: str) -> Any:
        s = struct.calcsize(code)
        self.cur.need(s)
        (v,) = struct.unpack_from(self.e + code, self.cur.buf, self.cur.p)
        self.cur.p += s
        return v

    def _string(self) -> str:
        at = self.cur.pos
        n = self._u("Q")
        if n > limits.MAX_STRING_BYTES:
            raise LimitError(self.name, f"string length {n} exceeds the {limits.MAX_STRING_BYTES >> 20} MiB cap", at)
        if self.cur.pos + n > self.cur.size:
            raise TruncatedError(self.name, f"string of {n} bytes runs past the end of the file", at)
        return self.cur.take(n).decode("utf-8", errors="replace")

    # -- header ----------------------------------------------------------------------
    def parse(self) -> GGUFFile:
        cur = self.cur
        if cur.size < 4:
            raise TruncatedError(self.name, f"too short for a GGUF file ({cur.size} bytes)")
        cur.need(min(cur.size, 24))
        magic = cur.buf[:4]
        if magic != MAGIC:
            raise FormatError(self.name, f"not a GGUF file (magic {magic!r}, expected b'GGUF')", 0)
        cur.p = 4
        version = self._u("I")
        if version & 0xFFFF == 0 and version:  # byte-swapped: a big-endian file (as gguf-py detects it)
            self.e = ">"
            version = struct.unpack(">I", struct.pack("<I", version))[0]
        if version == 1:
            raise FormatError(self.name, "GGUF version 1 (32-bit lengths) is not supported; convert it again", 4)
        if version not in (2, 3):
            raise FormatError(self.name, f"unsupported GGUF version {version}", 4)
        n_tensors = self._u("Q")
        n_kv = self._u("Q")
        if n_tensors > limits.MAX_GGUF_TENSORS:
            raise LimitError(self.name, f"tensor count {n_tensors} exceeds the cap of {limits.MAX_GGUF_TENSORS}", 8)
        if n_kv > limits.MAX_KV_COUNT:
            raise LimitError(self.name, f"metadata count {n_kv} exceeds the cap of {limits.MAX_KV_COUNT}", 16)

        metadata: dict[str, Any] = {}
        types: dict[str, str] = {}
        self.n_tensors = n_tensors
        for k in range(n_kv):
            self.kv_left = n_kv - k - 1
            at = cur.pos
            key = self._string()
            vtype = self._u("I")
            tname = self.vtypes.get(vtype)
            if tname is None:
                raise FormatError(self.name, f"key {key!r} has unknown value type {vtype}", at)
            if key in metadata:
                raise FormatError(self.name, f"duplicate key {key!r}", at)
            metadata[key] = self._value(tname, key, 0)
            types[key] = tname
            if key == "tokenizer.ggml.model" and isinstance(metadata[key], str):
                self.tokenizer_model = metadata[key]

        warnings: list[str] = []
        alignment = metadata.get("general.alignment", tables.gguf_constants().GGUF_DEFAULT_ALIGNMENT)
        if not isinstance(alignment, int) or isinstance(alignment, bool) or alignment <= 0 or alignment & (alignment - 1):
            raise FormatError(self.name, f"general.alignment {alignment!r} is not a positive power of two")

        cur.chunk = min(max(self._tail(), 4096), 8 << 20)  # the rest is the tensor table: one window if it fits
        raw = [self._tensor_info() for _ in range(n_tensors)]
        header_size = cur.pos
        data_offset = -(-header_size // alignment) * alignment
        tensors, type_ids, problems = _size_tensors(self.name, raw, data_offset, alignment, cur.size, warnings)
        return GGUFFile(
            name=self.name, version=version, byte_order="big" if self.e == ">" else "little",
            metadata=metadata, types=types, tensors=tensors, type_ids=type_ids, alignment=alignment,
            header_size=header_size, data_offset=data_offset, file_size=cur.size, problems=problems,
            warnings=warnings, _source=self.src, _arrays=self.arrays, _endian=self.e,
        )  # fmt: skip

    def _value(self, tname: str, key: str, depth: int) -> Any:
        code = _STRUCT[tname]
        if code is not None:
            return self._u(code)
        if tname == "STRING":
            return self._string()
        return self._array(key, depth + 1)

    def _array(self, key: str, depth: int) -> ArrayValue:
        at = self.cur.pos
        if depth > limits.MAX_ARRAY_DEPTH:
            raise LimitError(self.name, f"{key}: arrays nested deeper than {limits.MAX_ARRAY_DEPTH}", at)
        etype = self._u("I")
        count = self._u("Q")
        ename = self.vtypes.get(etype)
        if ename is None:
            raise FormatError(self.name, f"{key}: array of unknown value type {etype}", at)
        if count > limits.MAX_ARRAY_COUNT:
            raise LimitError(self.name, f"{key}: array count {count} exceeds the cap of {limits.MAX_ARRAY_COUNT}", at)
        if ename == "ARRAY":  # counted over the whole file: 4096 x 4096 empty arrays took 38 s (issue 11 item 11)
            self.nested += count
            if self.nested > limits.MAX_NESTED_ARRAYS:
                raise LimitError(self.name, f"{key}: more than {limits.MAX_NESTED_ARRAYS} arrays nested in arrays", at)
        code = _STRUCT[ename]
        esize = struct.calcsize(code) if code else 8  # a string or array element takes >= 8 bytes
        if self.cur.pos + count * esize > self.cur.size:
            raise TruncatedError(self.name, f"{key}: array of {count} {ename} runs past the end of the file", at)
        keep_all = self.full or count <= limits.ARRAY_MATERIALISE
        if code is not None:
            n = count if keep_all else limits.ARRAY_SAMPLES
            span = count * esize
            if span <= _READ_THROUGH:  # one window with what follows, instead of a skip and a new window
                self.cur.need(span, hint=span + _LOOKAHEAD + self._tail())
            else:
                self.cur.need(n * esize)
            samples = struct.unpack_from(f"{self.e}{n}{code}", self.cur.buf, self.cur.p)
            self.cur.skip(span)
            return ArrayValue(ename, count, samples)
        if ename == "STRING":
            return self._string_array(key, count, keep_all)
        keep = count if keep_all else min(count, limits.ARRAY_SAMPLES)
        items = []
        for i in range(count):  # every inner array is walked; only the samples are kept
            inner = self._array(key, depth + 1)
            if i < keep:
                items.append(inner)
        return ArrayValue("ARRAY", count, tuple(items))

    def _string_array(self, key: str, count: int, keep_all: bool) -> ArrayValue:
        """Walk ``count`` strings: the hot loop of the whole reader (a vocabulary is 150k+).

        Runs of up to 1,024 strings between checkpoints go through a bare ``for`` loop over the
        buffer; the buffer is refilled (sized from the average string so far) only between runs.
        """
        cur = self.cur
        first = cur.pos
        unpack = struct.Struct(self.e + "Q").unpack_from
        cap = limits.MAX_STRING_BYTES
        n_samples = count if keep_all else min(count, limits.ARRAY_SAMPLES)
        samples = tuple(self._string() for _ in range(n_samples))
        if cur.start <= first:
            digest = hashlib.sha256(memoryview(cur.buf)[first - cur.start : cur.p])
        else:  # the samples spanned a refill (huge tokens): hash them from the source
            digest = hashlib.sha256(cur.src.read_at(first, cur.pos - first))
        if keep_all:
            return ArrayValue("STRING", count, samples, digest.hexdigest())
        checkpoints: list[int] = [first]  # offset of element 0, 1024, 2048, ...
        i = n_samples
        while i < count:
            cur.need(8)
            buf, p, base = cur.buf, cur.p, cur.start
            end = len(buf)
            run_start, run_i = p, i
            while i < count:
                if not i & 1023 and len(checkpoints) == i >> 10:
                    checkpoints.append(base + p)
                m = min(1024 - (i & 1023), count - i)
                for k in range(m):
                    if p + 8 > end:
                        break
                    q = p + 8 + unpack(buf, p)[0]
                    if q > end:
                        break
                    p = q
                else:
                    k = m
                i += k
                if k < m:
                    break
            digest.update(memoryview(buf)[run_start:p])
            cur.p = p
            if i == count:
                break
            at = cur.pos
            n = unpack(buf, p)[0] if p + 8 <= end else 0
            if n > cap:
                raise LimitError(self.name, f"{key}[{i}]: string length {n} exceeds the {cap >> 20} MiB cap", at)
            rest = _rest_bytes(checkpoints, first, i, at, count) if i >= 2 * _CHECKPOINT else None
            if rest is None:
                done = i - run_i
                rest = int((count - i) * ((p - run_start) / done if done else 16) * 1.05)
            cur.need(8 + n, hint=rest + 8 + n + self._after(key, count, at - first + rest))
        self.arrays[key] = _StringArray(first, count, checkpoints)
        return ArrayValue("STRING", count, samples, digest.hexdigest())

    def _after(self, key: str, count: int, size: int) -> int:
        """Bytes likely to follow a string array of ``size`` bytes, so one refill reaches into the next array.

        llama.cpp's converters write ``tokenizer.ggml.tokens`` followed by one int32 token type per
        token, and for SentencePiece (``llama``) models one float32 score too (convert_hf_to_gguf.py
        ``_set_vocab_gpt2`` / ``_set_vocab_sentencepiece``). A BPE (``gpt2``) vocabulary is then
        followed by its merges, which llama.cpp requires (llama-vocab.cpp) and which are about as
        many as the tokens: half the tokens' size is asked for too, so the next refill sizes the
        rest of the merges from many of them instead of a few.
        """
        extra = _LOOKAHEAD + self._tail()
        if key == "tokenizer.ggml.tokens":
            extra += count * (8 if self.tokenizer_model == "llama" else 4)
            if self.tokenizer_model == "gpt2":
                extra += size // 2
        return extra

    def _tail(self) -> int:
        """Bytes the rest of the header may take after the arrays: small values and the tensor table."""
        return self.kv_left * 256 + self.n_tensors * _TENSOR_ENTRY

    def _tensor_info(self) -> tuple[str, tuple[int, ...], int, int, int]:
        # one struct call per field group, not per field: a header at the tensor cap holds 1M of these
        cur, e = self.cur, self.e
        at = cur.pos
        cur.need(8)
        (n,) = struct.unpack_from(e + "Q", cur.buf, cur.p)
        if n > limits.MAX_STRING_BYTES:
            raise LimitError(self.name, f"string length {n} exceeds the {limits.MAX_STRING_BYTES >> 20} MiB cap", at)
        if at + 8 + n > cur.size:
            raise TruncatedError(self.name, f"string of {n} bytes runs past the end of the file", at)
        cur.need(8 + n + 4)
        p = cur.p + 8
        name = cur.buf[p : p + n].decode("utf-8", errors="replace")
        (n_dims,) = struct.unpack_from(e + "I", cur.buf, p + n)
        cur.p = p + n + 4
        if n_dims > limits.MAX_DIMS:
            raise LimitError(self.name, f"tensor {name!r} has {n_dims} dimensions, above the cap of {limits.MAX_DIMS}", at)
        cur.need(8 * n_dims + 12)
        *dims, type_id, offset = struct.unpack_from(f"{e}{n_dims}QIQ", cur.buf, cur.p)
        cur.p += 8 * n_dims + 12
        count = math.prod(dims)
        if count > limits.MAX_TENSOR_ELEMENTS:
            raise LimitError(self.name, f"tensor {name!r} claims {count} elements, above the cap of 2**53", at)
        return name, tuple(dims), type_id, offset, at


def _rest_bytes(checkpoints: list[int], first: int, i: int, pos: int, count: int) -> int:
    """Bytes the elements ``i..count`` of a string array likely take, from the ones read so far.

    The elements of a BPE vocabulary (and its merges) grow longer with the id: the average of the
    second half read so far, carried on with the growth from the first half to the second, predicts
    the rest far better than the average so far (which falls short, and a short window is one more
    request). 3% on top: a little past the array is the next array's bytes, not waste.
    """
    k = (i // 2) // _CHECKPOINT
    mid_i, mid = k * _CHECKPOINT, checkpoints[k]
    early = (mid - first) / mid_i
    late = (pos - mid) / (i - mid_i)
    growth = max(0.0, (late - early) / (i / 2))  # the halves are i/2 elements apart: bytes per element, per element
    r = count - i
    return int((r * (late + growth * (i - mid_i) / 2) + growth * r * r / 2) * 1.03)


def _size_tensors(
    name: str, raw: list[tuple[str, tuple[int, ...], int, int, int]], data_offset: int, alignment: int,
    file_size: int, warnings: list[str],
) -> tuple[tuple[TensorInfo, ...], dict[str, int], list[str]]:  # fmt: skip
    """Turn raw tensor infos into ``TensorInfo`` with byte sizes; report damage as problems."""
    types = tables.ggml_types()
    problems: list[str] = []
    # Unknown types are sized from the distance to the next tensor's data (or the file's end); the
    # table of starts is built only when one is there (1M tensors at the cap: keep the work lean).
    next_start: dict[int, int] = {}
    if any(t[2] not in types for t in raw):
        starts = sorted({t[3] for t in raw})
        next_start = {s: (starts[i + 1] if i + 1 < len(starts) else file_size - data_offset) for i, s in enumerate(starts)}
    tensors: list[TensorInfo] = []
    type_ids: dict[str, int] = {}
    unknown: dict[str, int] = {}
    for tname, dims, type_id, offset, at in raw:
        if tname in type_ids:
            raise FormatError(name, f"duplicate tensor name {tname!r}", at)
        known = types.get(type_id)
        n = math.prod(dims)
        if known is None:
            dtype = f"UNKNOWN({type_id})"
            unknown[dtype] = unknown.get(dtype, 0) + 1
            n_bytes = max(0, next_start[offset] - offset)
        else:
            dtype, block, type_size = known
            if dims and dims[0] % block:
                problems.append(f"tensor {tname}: row of {dims[0]} elements is not a multiple of the {dtype} block size {block}")
            n_bytes = n // block * type_size
        if offset % alignment:
            problems.append(f"tensor {tname}: data offset {offset} is not a multiple of the alignment {alignment}")
        tensors.append(TensorInfo(tname, dtype, dims, data_offset + offset, n_bytes, name))
        type_ids[tname] = type_id
    for dtype, count in unknown.items():
        warnings.append(
            f"{count} tensor(s) of type {dtype}, unknown to the installed gguf package; "
            "sizes taken from the distance between data offsets"
        )
    problems.extend(_overlaps_and_truncation(tensors, file_size))
    return tuple(tensors), type_ids, problems


def _overlaps_and_truncation(tensors: list[TensorInfo], file_size: int) -> list[str]:
    problems = []
    # (tensor, end of its data), by offset
    ordered = sorted(((t, t.offset + t.n_bytes) for t in tensors if t.n_bytes is not None), key=lambda te: te[0].offset)
    prev: tuple[TensorInfo, int] | None = None
    past_end = [(t, end) for t, end in ordered if end > file_size]
    for t, end in ordered:
        if prev is not None and t.offset < prev[1]:
            problems.append(f"tensors {prev[0].name} and {t.name} overlap at byte {t.offset}")
        prev = (t, end)
    if past_end:
        need = max(end for _, end in past_end)
        problems.append(
            f"{len(past_end)} tensor(s) run past the end of the file (first: {past_end[0][0].name}); "
            f"the data needs {need} bytes, the file has {file_size}: truncated download?"
        )
    return problems

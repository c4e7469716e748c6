"""Compare matched tensors' values: cosine similarity, relative RMS error and max abs error.

Tensor data is read through byte sources, a bounded chunk of rows at a time (about 1 M elements per
side), so memory stays flat whatever the model's size. GGUF types are dequantized with the ``gguf``
package (``gguf.quants.dequantize``); safetensors floats are decoded with numpy. Rows are the
natural unit: a GGUF row (``ne[0]`` elements) is a row-major row of the same tensor, so rows pair up
one to one, except for llama.cpp's Q/K permutation, undone here by pairing permuted rows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .records import Comparison, Slice, TensorPair, ValueStats
from ..records import ModelSummary, TensorInfo
from ..sources import ByteSource

#: Elements decoded per side and chunk (float32: 4 MiB each, float64 accumulation: 8 MiB).
CHUNK_ELEMENTS = 1 << 20
#: A row longer than this is read as pieces of ``CHUNK_ELEMENTS`` (a single huge row would otherwise
#: be read, and converted to float64, whole).
LONG_ROW = 1 << 22
#: Largest FP8 ``weight_scale_inv`` tensor read whole (one float per 128 x 128 block: tiny in practice).
MAX_SCALE_BYTES = 64 << 20

#: safetensors dtypes read as plain little-endian numpy arrays.
_NUMPY = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}  # fmt: skip
#: safetensors dtypes decoded by hand, and their sizes in bytes.
_OTHER_SIZES = {"BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1}
#: GGUF types the gguf package's dequantizer leaves out, read as numpy arrays.
_GGUF_NUMPY = {"I8": "i1", "I16": "i2", "I32": "i4", "I64": "i8", "F64": "f8"}


class Skip(Exception):
    """A tensor whose values cannot be compared; the message says why."""


@cache
def _e4m3_table() -> Any:
    """All 256 float8 e4m3fn values (OCP FP8: bias 7, no infinities, S.1111.111 is NaN)."""
    import numpy as np

    b = np.arange(256, dtype=np.uint32)
    sign = np.where(b & 0x80, -1.0, 1.0)
    exp = (b >> 3) & 0xF
    mant = (b & 0x7).astype(np.float64)
    value = np.where(exp == 0, mant / 8 * 2.0**-6, (1 + mant / 8) * 2.0 ** (exp.astype(np.float64) - 7))
    value = sign * value
    value[(b & 0x7F) == 0x7F] = np.nan
    return value.astype(np.float32)


@dataclass(slots=True)
class _Side:
    """How to read one side of a pair row by row."""

    parts: list[TensorInfo]
    gguf: bool
    big_endian: bool
    row_len: int
    rows_per_part: list[int]
    row_bytes: int
    #: Per part: FP8 block scales as (table, (block rows, block cols)), or ``None``.
    scales: list[Any] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.rows_per_part)


def _side(
    s: ModelSummary, names: tuple[str, ...], by_name: dict[str, TensorInfo], row_len: int,
    open_source: Callable[[str], ByteSource],
) -> _Side:  # fmt: skip
    import gguf
    import numpy as np

    parts = [by_name[n] for n in names]
    if s.format == "pytorch":  # a storage view may be strided; the tensor table keeps no strides
        raise Skip("values of PyTorch checkpoints are not read (convert to safetensors first)")
    is_gguf = s.format == "gguf"
    row_bytes = None
    for t in parts:
        if t.dtype.startswith("UNKNOWN") or t.n_bytes is None:
            raise Skip(f"type {t.dtype} cannot be decoded")
        if is_gguf:
            if t.dtype not in gguf.GGMLQuantizationType.__members__:
                raise Skip(f"type {t.dtype} cannot be decoded")
            block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType[t.dtype]]
            if row_len % block:
                raise Skip(f"row of {row_len} is not a whole number of {t.dtype} blocks")
            rb = row_len // block * size
        elif t.dtype in _NUMPY or t.dtype in _OTHER_SIZES:
            rb = row_len * _OTHER_SIZES.get(t.dtype, 0) or row_len * np.dtype(_NUMPY[t.dtype]).itemsize
        else:
            raise Skip(f"dtype {t.dtype} is not supported for value comparison")
        if row_bytes is not None and rb != row_bytes:
            raise Skip("parts stored in types of different sizes")
        row_bytes = rb
    rows = [t.n_params // row_len if row_len else 0 for t in parts]
    big = is_gguf and s.format_info.get("byte_order") == "big"
    side = _Side(parts, is_gguf, big, row_len, rows, row_bytes or 0)
    for t in parts:
        scale = by_name.get(t.name + "_scale_inv") if t.dtype.startswith("F8") and not is_gguf else None
        side.scales.append(None if scale is None else _scale_table(s, t, scale, open_source))
    return side


def _scale_table(
    s: ModelSummary, t: TensorInfo, scale: TensorInfo, open_source: Callable[[str], ByteSource]
) -> tuple[Any, tuple[int, int]]:
    """An FP8 weight's ``weight_scale_inv`` (one factor per block) and the block size.

    Block size from ``quantization_config.weight_block_size`` (DeepSeek-V3, Qwen3-FP8), else from the
    two shapes.
    """
    import numpy as np

    if len(t.shape) != 2 or len(scale.shape) != 2 or scale.dtype not in ("F32", "BF16", "F16"):
        raise Skip(f"FP8 scales {scale.name} are not a 2-D float table for a 2-D weight")
    if scale.n_bytes is None or scale.n_bytes > MAX_SCALE_BYTES:
        raise Skip(f"FP8 scales {scale.name} exceed {MAX_SCALE_BYTES >> 20} MiB")
    raw = open_source(scale.file).read_at(scale.offset, scale.n_bytes)
    if len(raw) != scale.n_bytes:
        raise Skip(f"data of {scale.name} runs past the end of its file")
    one = _Side([scale], False, False, scale.shape[1], [scale.shape[0]], 0)
    table = _decode(one, scale, raw, scale.shape[0])
    declared = s.quantization.details.get("weight_block_size")
    if isinstance(declared, list) and len(declared) == 2 and all(isinstance(b, int) and b > 0 for b in declared):
        block = (declared[0], declared[1])
    else:
        block = (-(-t.shape[0] // scale.shape[0]), -(-t.shape[1] // scale.shape[1]))
    if -(-t.shape[0] // block[0]) != scale.shape[0] or -(-t.shape[1] // block[1]) != scale.shape[1]:
        raise Skip(f"FP8 scales {scale.name} of shape {scale.shape} do not fit blocks of {block} over {t.shape}")
    return np.asarray(table), block


def _scaled(side: _Side, part: int, local_rows: Any, values: Any) -> Any:
    """FP8 values times their block scales (a no-op for parts without scales)."""
    import numpy as np

    entry = side.scales[part] if side.scales else None
    if entry is None:
        return values
    table, (br, bc) = entry
    return values * np.repeat(table[local_rows // br], bc, axis=1)[:, : side.row_len]


def _decode(side: _Side, t: TensorInfo, raw: bytes, n: int) -> Any:
    """``n`` rows of one part as a float64 array of shape (n, row_len)."""
    import numpy as np

    buf = np.frombuffer(raw, dtype=np.uint8)
    if side.gguf:
        import gguf

        if t.dtype in _GGUF_NUMPY:
            out = buf.view((">" if side.big_endian else "<") + _GGUF_NUMPY[t.dtype])
        elif side.big_endian and t.dtype not in ("F32", "F16"):
            raise Skip(f"big-endian {t.dtype} data cannot be dequantized")
        elif side.big_endian:
            out = buf.view(">f4" if t.dtype == "F32" else ">f2")
        else:
            try:
                out = gguf.quants.dequantize(buf.reshape(n, side.row_bytes), gguf.GGMLQuantizationType[t.dtype])
            except NotImplementedError:
                raise Skip(f"the gguf package cannot dequantize {t.dtype}") from None
    elif t.dtype == "BF16":
        out = (buf.view("<u2").astype(np.uint32) << 16).view(np.float32)
    elif t.dtype == "F8_E4M3":
        out = _e4m3_table()[buf]
    elif t.dtype == "F8_E5M2":  # the top byte of an IEEE half
        out = (buf.astype(np.uint16) << 8).view(np.float16)
    else:
        out = buf.view(_NUMPY[t.dtype])
    return np.asarray(out, dtype=np.float64).reshape(n, side.row_len)


def _read_rows(side: _Side, open_source: Callable[[str], ByteSource], start: int, count: int) -> Any:
    """Rows ``start .. start+count`` across the side's parts (experts are stacked in order)."""
    import numpy as np

    chunks = []
    base = 0
    for part, (t, rows) in enumerate(zip(side.parts, side.rows_per_part)):
        lo, hi = max(start, base), min(start + count, base + rows)
        if lo < hi:
            length = (hi - lo) * side.row_bytes
            raw = open_source(t.file).read_at(t.offset + (lo - base) * side.row_bytes, length)
            if len(raw) != length:
                raise Skip(f"data of {t.name} runs past the end of its file")
            chunks.append(_scaled(side, part, np.arange(lo - base, hi - base), _decode(side, t, raw, hi - lo)))
        base += rows
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def _gather(side: _Side, open_source: Callable[[str], ByteSource], rows: Any) -> Any:
    """The given rows (any order), one read per row and one decode per part."""
    import numpy as np

    out = np.empty((len(rows), side.row_len), dtype=np.float64)
    base = 0
    for part, (t, n) in enumerate(zip(side.parts, side.rows_per_part)):
        where = np.nonzero((rows >= base) & (rows < base + n))[0]
        if len(where):
            src = open_source(t.file)
            raw = b"".join(src.read_at(t.offset + (int(rows[w]) - base) * side.row_bytes, side.row_bytes) for w in where)
            if len(raw) != len(where) * side.row_bytes:
                raise Skip(f"data of {t.name} runs past the end of its file")
            out[where] = _scaled(side, part, rows[where] - base, _decode(side, t, raw, len(where)))
        base += n
    return out


def _partner(rows: Any, heads: int, hd: int, left_is_hf: bool) -> Any:
    """Row indices on the other side for ``rows`` on the left, across llama.cpp's Q/K permutation.

    convert_hf_to_gguf.py ``LlamaModel.permute`` reshapes each head's rows to (2, hd/2) and swaps
    the axes: HF row ``s*hd/2 + i`` of a head becomes GGUF row ``2*i + s``.
    """
    half = hd // 2
    h, r = rows // hd, rows % hd
    if left_is_hf:
        s, i = r // half, r % half
        return h * hd + 2 * i + s
    i, s = r // 2, r % 2
    return h * hd + s * half + i


class _Acc:
    """Running sums for cosine, relative RMS and max abs error."""

    __slots__ = ("dot", "aa", "bb", "dd", "max", "rows")

    def __init__(self) -> None:
        self.dot = self.aa = self.bb = self.dd = self.max = 0.0
        self.rows = 0

    def add(self, a: Any, b: Any) -> None:
        d = b - a
        self.dot += float((a * b).sum())
        self.aa += float((a * a).sum())
        self.bb += float((b * b).sum())
        self.dd += float((d * d).sum())
        if d.size:
            self.max = max(self.max, float(abs(d).max()))
        self.rows += a.shape[0]

    def merge(self, other: _Acc) -> None:
        self.dot += other.dot
        self.aa += other.aa
        self.bb += other.bb
        self.dd += other.dd
        self.max = max(self.max, other.max)
        self.rows += other.rows

    def stats(self, key: str, layer: int | None, rows_total: int) -> ValueStats:
        if self.aa > 0 and self.bb > 0:
            cosine = self.dot / math.sqrt(self.aa * self.bb)
        else:
            cosine = 1.0 if self.aa == self.bb == 0 else 0.0
        rel = math.sqrt(self.dd / self.aa) if self.aa > 0 else (0.0 if self.dd == 0 else None)
        return ValueStats(key, layer, cosine, rel, self.max, self.rows, rows_total)


def _compare_pair(
    p: TensorPair, left: ModelSummary, right: ModelSummary, lt: dict[str, TensorInfo], rt: dict[str, TensorInfo],
    open_source: Callable[[str], ByteSource], sample: int | None,
) -> tuple[_Acc, int]:
    import numpy as np

    if not p.shape_equal:
        raise Skip("shapes differ")
    if p.split is not None:
        return _compare_split(p, p.split, left, right, lt, rt, open_source, sample)
    shape = p.left_shape or (1,)
    row_len = 1 if (p.qk_heads and len(shape) == 1) else shape[-1]
    if row_len > LONG_ROW and not p.qk_heads:
        # Element-wise figures do not depend on how elements are grouped into rows: read a very long
        # row as pieces of a power-of-two length (a whole number of any quant block) to bound memory.
        piece = math.gcd(row_len, CHUNK_ELEMENTS)
        if piece < 256:
            raise Skip(f"rows of {row_len:,} elements are too long to compare in bounded memory")
        row_len = piece
    ls = _side(left, p.left, lt, row_len, open_source)
    rs = _side(right, p.right, rt, row_len, open_source)
    total = ls.rows
    if rs.rows != total:
        raise Skip("row counts differ")
    heads = p.qk_heads or 0
    hd = 0
    if heads:
        hd = total // heads
        if total % heads or hd % 2:
            raise Skip(f"{total} rows do not split into {heads} heads of even size")
    left_is_hf = left.format != "gguf"
    acc = _Shifted(p, left, right)
    if sample is not None and sample < total:
        rows = _sampled(total, sample)
        partners = _partner(rows, heads, hd, left_is_hf) if hd else rows
        step = max(1, CHUNK_ELEMENTS // max(row_len, 1))
        for i in range(0, len(rows), step):
            acc.add(_gather(ls, open_source, rows[i : i + step]), _gather(rs, open_source, partners[i : i + step]))
        return acc, total
    step = max(1, CHUNK_ELEMENTS // max(row_len, 1))
    if hd:
        step = max(hd, step // hd * hd)
    for start in range(0, total, step):
        n = min(step, total - start)
        a = _read_rows(ls, open_source, start, n)
        b = _read_rows(rs, open_source, start, n)
        if hd:
            b = b[_partner(np.arange(start, start + n), heads, hd, left_is_hf) - start]
        acc.add(a, b)
    return acc, total


class _Shifted(_Acc):
    """An accumulator that first takes back what the converter added to the GGUF side (Gemma norms)."""

    __slots__ = ("shift_left", "shift_right")

    def __init__(self, p: TensorPair, left: ModelSummary, right: ModelSummary) -> None:
        super().__init__()
        shift = p.shift or 0.0
        self.shift_left = shift if left.format == "gguf" else 0.0
        self.shift_right = shift if right.format == "gguf" else 0.0

    def add(self, a: Any, b: Any) -> None:
        super().add(a - self.shift_left if self.shift_left else a, b - self.shift_right if self.shift_right else b)


def _sampled(total: int, sample: int) -> Any:
    import numpy as np

    return np.unique(np.linspace(0, total - 1, sample).round().astype(np.int64))


def _compare_split(
    p: TensorPair, sp: Slice, left: ModelSummary, right: ModelSummary, lt: dict[str, TensorInfo],
    rt: dict[str, TensorInfo], open_source: Callable[[str], ByteSource], sample: int | None,
) -> tuple[_Acc, int]:
    """A pair whose one side is a part of a tensor the converter split or transposed.

    The plain side is read row by row as usual; the matching rows of the whole tensor are cut out
    of it by the rule in ``p.split`` (see ``conversion``): for a part along ``axis -1`` the same rows,
    a subset of their elements; along ``axis -2`` other rows, or for a transposed tensor columns,
    read in strips of whole stored rows (memory stays bounded; each strip is read once per tile).
    """
    import numpy as np

    fused_left = sp.side == "left"
    shape = p.right_shape if fused_left else p.left_shape  # the plain side's logical shape
    plain_s, fused_s = (right, left) if fused_left else (left, right)
    plain_names, fused_names = (p.right, p.left) if fused_left else (p.left, p.right)
    plain_t, fused_t = (rt, lt) if fused_left else (lt, rt)
    if len(fused_names) != 1 or not shape:
        raise Skip("a split tensor must be one tensor")

    def index(i: Any, n: int) -> Any:  # position in the whole tensor's axis of element/row i of the part
        return i * sp.parts + sp.part if sp.interleaved else sp.part * n + i

    if sp.axis == -1:
        n = shape[-1]
        ps = _side(plain_s, plain_names, plain_t, n, open_source)
        fs = _side(fused_s, fused_names, fused_t, n * sp.parts, open_source)
        cols = index(np.arange(n), n)

        def fused_rows(rows: Any) -> Any:
            return _gather(fs, open_source, rows)[:, cols]
    else:
        if len(shape) < 2:
            raise Skip("a split along rows needs a matrix")
        rows_per_unit, n = shape[-2], shape[-1]
        ps = _side(plain_s, plain_names, plain_t, n, open_source)
        stored_len = rows_per_unit * sp.parts if sp.transposed else n
        fs = _side(fused_s, fused_names, fused_t, stored_len, open_source)

        def fused_rows(rows: Any) -> Any:
            unit, i = rows // rows_per_unit, rows % rows_per_unit
            whole = index(i, rows_per_unit)
            if not sp.transposed:
                return _gather(fs, open_source, unit * rows_per_unit * sp.parts + whole)
            out = np.empty((len(rows), n), dtype=np.float64)
            strip = max(1, CHUNK_ELEMENTS // max(stored_len, 1))
            for u in np.unique(unit):  # stored (unit, n, rows_per_unit * parts): our rows are its columns
                mine = np.nonzero(unit == u)[0]
                for c0 in range(0, n, strip):
                    c1 = min(n, c0 + strip)
                    block = _read_rows(fs, open_source, int(u) * n + c0, c1 - c0)
                    out[np.ix_(mine, np.arange(c0, c1))] = block[:, whole[mine]].T
            return out

    total = ps.rows
    if sp.axis == -1:
        expected = total
    else:
        expected = total // rows_per_unit * n if sp.transposed else total * sp.parts
    if fs.rows != expected:
        raise Skip("row counts differ")
    acc = _Shifted(p, left, right)
    sampled = sample is not None and sample < total
    rows = _sampled(total, sample) if sample is not None and sampled else np.arange(total)
    step = max(1, CHUNK_ELEMENTS // max(ps.row_len, 1))
    for i in range(0, len(rows), step):
        chunk = rows[i : i + step]
        plain = _gather(ps, open_source, chunk) if sampled else _read_rows(ps, open_source, i, len(chunk))
        fused = fused_rows(chunk)
        acc.add(*((fused, plain) if fused_left else (plain, fused)))
    return acc, total


def compare_values(
    c: Comparison, open_source: Callable[[str], ByteSource], *, sample: int | None = None
) -> tuple[tuple[ValueStats, ...], tuple[ValueStats, ...]]:
    """Per matched tensor and per block: how close the right side's values are to the left's.

    A block's figures pool its matrices (2-D and up); its vectors (norms, biases) count only when it
    has no matrix: they are usually kept exact and would hide the matrices' quantization error.
    """
    lt = {t.name: t for t in c.left.tensors}
    rt = {t.name: t for t in c.right.tensors}
    per_tensor = []
    # layer -> (matrices, vectors), each an accumulator and a row count
    layers: dict[int | None, tuple[list[Any], list[Any]]] = {}
    for p in c.pairs:
        try:
            acc, total = _compare_pair(p, c.left, c.right, lt, rt, open_source, sample)
        except Skip as e:
            per_tensor.append(ValueStats(p.key, p.layer, None, None, None, 0, 0, skipped=str(e)))
            continue
        per_tensor.append(acc.stats(p.key, p.layer, total))
        groups = layers.setdefault(p.layer, ([_Acc(), 0], [_Acc(), 0]))
        group = groups[0] if len(p.left_shape) >= 2 else groups[1]
        group[0].merge(acc)
        group[1] += total
    order = sorted(k for k in layers if k is not None) + ([None] if None in layers else [])
    per_layer = []
    for k in order:
        matrices, vectors = layers[k]
        acc, total = matrices if matrices[0].rows else vectors
        per_layer.append(acc.stats(f"layer {k}" if k is not None else "non-block", k, total))
    return tuple(per_tensor), tuple(per_layer)

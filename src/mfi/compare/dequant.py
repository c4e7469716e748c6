"""Dequantize logical tensors (``summary.quantized``) in numpy, one bounded tile at a time.

``tiles(lt, read)`` yields pieces of the unquantized weight, seen as a matrix of
``prod(shape[:-1])`` rows by ``shape[-1]`` columns, as ``(r0, r1, c0, c1, values)``. Each tile holds
about ``CHUNK_ELEMENTS`` values and is decoded from the few stored bytes it needs, so memory stays
flat whatever the layer's size. The tile order follows the storage: GPTQ and AWQ pack along the
input dimension, so their tiles are column strips (a run of stored rows); the other layouts give
row strips. ``read(tensor, offset, length)`` returns ``length`` bytes from ``offset`` within a
tensor's data; a short read is an error, never padded.

Each decoder follows the library's own dequantization, cited at the function. GPTQ zero points: we
follow the checkpoint's ``checkpoint_format``: AutoGPTQ and GPTQModel's default ``gptq`` format store
``zero - 1`` in ``qzeros`` (``qlinear_cuda_old.py`` ``pack``: ``zeros -= 1``; dequantized with
``zeros + 1``), GPTQModel's ``gptq_v2`` stores the zero itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from .. import limits
from ..records import TensorInfo
from ..summary.quantized import AWQ, BNB, COMPRESSED, FP8, GPTQ, MLX, MXFP4, LogicalTensor, quant_state

#: Values decoded per tile (float64: 8 MiB).
CHUNK_ELEMENTS = 1 << 20

Reader = Callable[[TensorInfo, int, int], bytes]
Tile = tuple[int, int, int, int, Any]
#: Rows ``(lo, hi)`` of the logical matrix to decode; ``None`` for all.
Span = tuple[int, int] | None

_NUMPY = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
          "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1"}  # fmt: skip
_ITEM = {"BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, **{k: int(v[-1]) for k, v in _NUMPY.items()}}
#: MXFP4/NVFP4 e2m1 codes: sign, 2 exponent bits, 1 mantissa bit (OCP MX spec v1.0, section 5.3.3).
_E2M1 = [(-1.0 if c & 8 else 1.0) * ((c & 1) * 0.5 if not c & 6 else (1 + (c & 1) / 2) * 2.0 ** (((c >> 1) & 3) - 1))
         for c in range(16)]  # fmt: skip


class DequantError(ValueError):
    """A tensor whose stored data cannot be dequantized; the message says why."""


def _read(read: Reader, t: TensorInfo, offset: int, length: int) -> bytes:
    if t.n_bytes is None or offset < 0 or offset + length > t.n_bytes:
        raise DequantError(f"{t.name}: read of {length} bytes at {offset} runs past its {t.n_bytes} bytes")
    raw = read(t, offset, length)
    if len(raw) != length:
        raise DequantError(f"{t.name}: data runs past the end of its file")
    return raw


def _array(t: TensorInfo, raw: bytes) -> Any:
    """Stored bytes as numbers (floats as float64, integers as their own type)."""
    import numpy as np

    buf = np.frombuffer(raw, dtype=np.uint8)
    if t.dtype == "BF16":
        return (buf.view("<u2").astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    if t.dtype == "F8_E4M3":
        return e4m3_table()[buf].astype(np.float64)
    if t.dtype == "F8_E5M2":  # the top byte of an IEEE half
        return (buf.astype(np.uint16) << 8).view(np.float16).astype(np.float64)
    if t.dtype not in _NUMPY:
        raise DequantError(f"{t.name}: dtype {t.dtype} is not decoded")
    out = buf.view(_NUMPY[t.dtype])
    return out.astype(np.float64) if t.dtype.startswith("F") else out


@cache
def e4m3_table() -> Any:
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


def _whole(read: Reader, t: TensorInfo) -> Any:
    """A small side tensor (scales, zeros, indices) read whole, within ``limits.MAX_DEQUANT_SIDE_BYTES``."""
    cap = limits.MAX_DEQUANT_SIDE_BYTES
    if t.n_bytes is None or t.n_bytes > cap:
        raise DequantError(f"{t.name}: {t.n_bytes} bytes exceed the {cap >> 20} MiB side-table cap")
    return _array(t, _read(read, t, 0, t.n_bytes)).reshape(t.shape)


def _rows(read: Reader, t: TensorInfo, r0: int, r1: int) -> Any:
    """Stored rows ``r0:r1`` of a tensor (first axis flattened with all but the last)."""
    width = t.shape[-1] if t.shape else 1
    rb = width * _ITEM[t.dtype]
    return _array(t, _read(read, t, r0 * rb, (r1 - r0) * rb)).reshape(r1 - r0, width)


def _bitstream(words: Any, bits: int, count: int) -> Any:
    """Values of ``bits`` bits packed least significant bit first along the last axis.

    The layout of MLX (``mlx/backend/cpu/quantized.cpp`` ``extract_bits``) and of GPTQ along its
    packed axis (3-bit values straddle words there, as AutoGPTQ's ``pack`` writes them).
    """
    import numpy as np

    if 32 % bits == 0 and words.dtype.itemsize == 4:  # whole fields per word: shifts are faster
        return _fields(words, bits)[..., :count]
    raw = np.ascontiguousarray(words).view(np.uint8).reshape(*words.shape[:-1], -1)
    bitsarr = np.unpackbits(raw, axis=-1, bitorder="little")[..., : count * bits]
    weights = (1 << np.arange(bits, dtype=np.uint16)).astype(np.uint16)
    return (bitsarr.reshape(*words.shape[:-1], count, bits).astype(np.uint16) * weights).sum(axis=-1)


def _fields(words: Any, bits: int) -> Any:
    """``32 // bits`` fields per uint32 word, field ``i`` at bit ``i * bits`` (compressed-tensors ``unpack_from_int32``)."""
    import numpy as np

    w = np.ascontiguousarray(words).view(np.uint32)
    shifts = np.arange(32 // bits, dtype=np.uint32) * bits
    return ((w[..., None] >> shifts) & ((1 << bits) - 1)).reshape(*w.shape[:-1], -1)


def _spans(total: int, step: int, span: Span) -> Iterator[tuple[int, int]]:
    lo, hi = span if span is not None else (0, total)
    for r0 in range(lo, hi, step):
        yield r0, min(hi, r0 + step)


def _col_step(rows: int, align: int) -> int:
    return max(align, CHUNK_ELEMENTS // max(rows, 1) // align * align)


def _row_step(cols: int, align: int = 1) -> int:
    return max(align, CHUNK_ELEMENTS // max(cols, 1) // align * align)


def tiles(lt: LogicalTensor, read: Reader) -> Iterator[Tile]:
    """The unquantized values of ``lt``, tile by tile (see the module docstring)."""
    if lt.method == GPTQ:
        yield from _gptq(lt, read)
    elif lt.method == AWQ:
        yield from _awq(lt, read)
    else:
        yield from _row_tiles(lt, read, None)


def rows(lt: LogicalTensor, read: Reader, r0: int, r1: int) -> Any:
    """Rows ``r0:r1`` of the logical matrix (float64, ``[r1 - r0, shape[-1]]``), for row-by-row comparison.

    GPTQ and AWQ pack along the input dimension, so their rows are read as one short run per stored row.
    """
    import numpy as np

    if lt.method == GPTQ:
        return _gptq_rows(lt, read, r0, r1)
    if lt.method == AWQ:
        return _awq_rows(lt, read, r0, r1)
    if lt.method == MXFP4 and lt.details.get("transposed"):
        return _mxfp4_rows(lt, read, r0, r1)
    out = np.empty((r1 - r0, lt.shape[-1] if lt.shape else 1), dtype=np.float64)
    for a0, a1, c0, c1, v in _row_tiles(lt, read, (r0, r1)):
        out[a0 - r0 : a1 - r0, c0:c1] = v
    return out


def _row_tiles(lt: LogicalTensor, read: Reader, span: Span) -> Iterator[Tile]:
    """Row-strip layouts, optionally only the rows in ``span``."""
    if lt.method is None:
        yield from _plain(lt, read, span)
        return
    kind = lt.details.get("kind")
    _check_format(lt)
    if lt.method == MLX:
        yield from _mlx(lt, read, span)
    elif lt.method == COMPRESSED and kind in ("nvfp4", "mxfp4"):
        yield from _fp4_packed(lt, read, span)
    elif lt.method == COMPRESSED and lt.parts[0].name.endswith(".weight_packed"):
        yield from _ct_packed(lt, read, span)
    elif lt.method == BNB and kind == "int8":
        yield from _bnb8(lt, read, span)
    elif lt.method == BNB:
        yield from _bnb4(lt, read, span)
    elif lt.method == MXFP4:
        if span is not None:
            raise DequantError(f"{lt.name}: MXFP4 rows are read through rows()")
        yield from _mxfp4(lt, read)
    elif lt.method in (FP8, COMPRESSED) or kind in ("e4m3", "e5m2", "int"):
        yield from _scaled_whole(lt, read, span)
    else:
        raise DequantError(f"{lt.name}: {lt.method} is not dequantized")


def _check_format(lt: LogicalTensor) -> None:
    fmt = lt.details.get("format")
    if fmt not in (None, "pack-quantized", "int-quantized", "float-quantized", "nvfp4-pack-quantized",
                   "naive-quantized", "mxfp4-pack-quantized"):  # fmt: skip
        raise DequantError(f"{lt.name}: {lt.method} format {fmt} is not dequantized")
    if lt.method == AWQ and lt.details.get("version") not in (None, "gemm"):
        raise DequantError(f"{lt.name}: AWQ {lt.details.get('version')} layout is not dequantized (GEMM is)")


def dequantize(lt: LogicalTensor, read: Reader) -> Any:
    """The whole unquantized tensor (for small tensors and tests; ``tiles`` keeps memory flat)."""
    import numpy as np

    rows = math.prod(lt.shape[:-1]) if len(lt.shape) > 1 else 1
    out = np.empty((rows, lt.shape[-1] if lt.shape else 1), dtype=np.float64)
    for r0, r1, c0, c1, v in tiles(lt, read):
        out[r0:r1, c0:c1] = v
    return out.reshape(lt.shape)


def _plain(lt: LogicalTensor, read: Reader, span: Span = None) -> Iterator[Tile]:
    t = lt.parts[0]
    cols = t.shape[-1] if t.shape else 1
    rows = t.n_params // cols if cols else 0
    step = _row_step(cols)
    for r0, r1 in _spans(rows, step, span):
        yield r0, r1, 0, cols, _rows(read, t, r0, r1).astype("float64")


def _part(lt: LogicalTensor, suffix: str) -> TensorInfo | None:
    return next((p for p in lt.parts if p.name.endswith(suffix)), None)


def _gptq_tables(lt: LogicalTensor, read: Reader) -> tuple[Any, Any, Any]:
    """Scales [groups, out], zero points [groups, out] (AutoGPTQ's + 1 applied) and each input's group."""
    import numpy as np

    out, n_in = lt.shape
    bits, group = lt.bits or 0, lt.group_size or n_in
    scales, qzeros, g_idx_t = _part(lt, ".scales"), _part(lt, ".qzeros"), _part(lt, ".g_idx")
    assert scales is not None
    s = _whole(read, scales)
    offset = lt.details.get("zero_offset", 1)
    if qzeros is not None:
        z = _bitstream(_whole(read, qzeros).astype("<i4"), bits, out).astype(np.float64) + offset
    else:  # symmetric without stored zeros: the midpoint (GPTQModel sym=True)
        z = np.full(s.shape, float(1 << (bits - 1)))
    g_idx = _whole(read, g_idx_t).astype(np.int64) if g_idx_t is not None else np.arange(n_in) // group
    if g_idx.shape != (n_in,) or g_idx.min(initial=0) < 0 or g_idx.max(initial=0) >= s.shape[0]:
        raise DequantError(f"{lt.name}: g_idx points outside the {s.shape[0]} scale groups")
    return s, z, g_idx


def _gptq(lt: LogicalTensor, read: Reader) -> Iterator[Tile]:
    """AutoGPTQ ``qlinear_cuda_old.py`` forward: ``W[:, k] = scales[g] * (q[k] - (qzeros[g] + 1))``, ``g = g_idx[k]``."""
    _check_format(lt)
    out, n_in = lt.shape
    bits = lt.bits or 0
    s, z, g_idx = _gptq_tables(lt, read)
    # 32 inputs are whole words for every bit width (b words hold 32 values of b bits).
    step = _col_step(out, 32)
    for k0 in range(0, n_in, step):
        k1 = min(n_in, k0 + step)
        w0, w1 = k0 // 32 * bits, _ceil(k1, 32) * bits
        packed = _rows(read, lt.parts[0], w0, w1).astype("<i4")  # [words, out]
        q = _bitstream(packed.T.copy(), bits, (w1 - w0) * 32 // bits)[:, : k1 - k0]  # [out, k]
        g = g_idx[k0:k1]
        yield 0, out, k0, k1, (q - z[g].T) * s[g].T


def _columns(read: Reader, t: TensorInfo, c0: int, c1: int) -> Any:
    """Columns ``c0:c1`` of a stored 2-D tensor: one read per stored row unless all columns are asked for."""
    import numpy as np

    n_rows, width = t.shape
    if c0 == 0 and c1 == width:
        return _rows(read, t, 0, n_rows)
    item = _ITEM[t.dtype]
    raw = b"".join(_read(read, t, (r * width + c0) * item, (c1 - c0) * item) for r in range(n_rows))
    return np.asarray(_array(t, raw)).reshape(n_rows, c1 - c0)


def _gptq_rows(lt: LogicalTensor, read: Reader, r0: int, r1: int) -> Any:
    _check_format(lt)
    n_in, bits = lt.shape[1], lt.bits or 0
    s, z, g_idx = _gptq_tables(lt, read)
    q = _bitstream(_columns(read, lt.parts[0], r0, r1).astype("<i4").T.copy(), bits, n_in)  # [r, in]
    return (q - z[:, r0:r1][g_idx].T) * s[:, r0:r1][g_idx].T


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


#: AutoAWQ packs column ``8c + order[i]`` into nibble ``i`` (``WQLinear_GEMM.from_linear`` ``order_map``).
_AWQ_ORDER = (0, 2, 4, 6, 1, 3, 5, 7)


def _awq_unpack(words: Any) -> Any:
    """Nibbles of AWQ GEMM words back in column order."""
    import numpy as np

    nib = _fields(words, 4)  # [rows, cols/8 * 8], nibble i of word c at position 8c + i
    rows, n = nib.shape
    out = np.empty_like(nib)
    view_in, view_out = nib.reshape(rows, n // 8, 8), out.reshape(rows, n // 8, 8)
    for i, col in enumerate(_AWQ_ORDER):
        view_out[:, :, col] = view_in[:, :, i]
    return out


def _awq_tables(lt: LogicalTensor, read: Reader) -> tuple[Any, Any]:
    import numpy as np

    if lt.bits != 4:
        raise DequantError(f"{lt.name}: AWQ GEMM packs 4-bit values only")
    _check_format(lt)
    scales, qzeros = _part(lt, ".scales"), _part(lt, ".qzeros")
    if scales is None or qzeros is None:
        raise DequantError(f"{lt.name}: AWQ needs scales and qzeros")
    return _whole(read, scales), _awq_unpack(_whole(read, qzeros).astype("<i4")).astype(np.float64)


def _awq(lt: LogicalTensor, read: Reader) -> Iterator[Tile]:
    """AutoAWQ ``awq/utils/packing_utils.py`` ``dequantize_gemm``: ``W.T = (q - z[g]) * s[g]``, ``g = k // group``."""
    import numpy as np

    out, n_in = lt.shape
    group = lt.group_size or n_in
    s, z = _awq_tables(lt, read)
    step = _col_step(out, group)
    for k0 in range(0, n_in, step):
        k1 = min(n_in, k0 + step)
        q = _awq_unpack(_rows(read, lt.parts[0], k0, k1).astype("<i4")).astype(np.float64)  # [k, out]
        g = np.arange(k0, k1) // group
        yield 0, out, k0, k1, ((q - z[g]) * s[g]).T


def _awq_rows(lt: LogicalTensor, read: Reader, r0: int, r1: int) -> Any:
    import numpy as np

    n_in = lt.shape[1]
    s, z = _awq_tables(lt, read)
    w0, w1 = r0 // 8, _ceil(r1, 8)
    q = _awq_unpack(_columns(read, lt.parts[0], w0, w1).astype("<i4"))[:, r0 - w0 * 8 : r1 - w0 * 8]  # [in, r]
    g = np.arange(n_in) // (lt.group_size or n_in)
    return ((q - z[:, r0:r1][g]) * s[:, r0:r1][g]).T


def _mlx(lt: LogicalTensor, read: Reader, span: Span = None) -> Iterator[Tile]:
    """``mlx.core.dequantize``: affine ``w = scales * q + biases`` per group; mxfp4 ``e2m1(q) * 2**(s - 127)``."""
    import numpy as np

    cols, bits, group = lt.shape[-1], lt.bits or 0, lt.group_size or 1
    rows = math.prod(lt.shape[:-1])
    weight, scales, biases = lt.parts[0], _part(lt, ".scales"), _part(lt, ".biases")
    assert scales is not None
    step = _row_step(cols)
    for r0, r1 in _spans(rows, step, span):
        q = _bitstream(_rows(read, weight, r0, r1).astype("<u4"), bits, cols).reshape(r1 - r0, cols // group, group)
        s = _rows(read, scales, r0, r1)
        if lt.details.get("kind") == "e2m1":
            v = np.asarray(_E2M1)[q] * np.exp2(s.astype(np.float64) - 127)[..., None]
        else:
            assert biases is not None
            v = q * s[..., None] + _rows(read, biases, r0, r1)[..., None]
        yield r0, r1, 0, cols, v.reshape(r1 - r0, cols)


def _ct_packed(lt: LogicalTensor, read: Reader, span: Span = None) -> Iterator[Tile]:
    """compressed-tensors ``unpack_from_int32`` then ``_dequantize``: ``(q - zero_point) * scale`` per group."""
    import numpy as np

    out, n_in = lt.shape
    bits = lt.bits or 0
    offset = 1 << (bits - 1)  # pack_to_int32 stores q + 2**(bits-1)
    packed, scale_t, zp_t = lt.parts[0], _part(lt, ".weight_scale"), _part(lt, ".weight_zero_point")
    assert scale_t is not None
    group = lt.group_size or n_in
    dense = lt.details.get("dense", True)
    zp = None
    if zp_t is not None and zp_t.dtype == "I32":  # asymmetric: packed along dim 0 (pack_to_int32 packed_dim=0)
        zp_all = _whole(read, zp_t).astype("<i4")
        zp = _unpack_ct(zp_all.T.copy(), bits, out, dense).T.astype(np.float64) - offset  # [out, groups]
    step = _row_step(n_in)
    for r0, r1 in _spans(out, step, span):
        q = _unpack_ct(_rows(read, packed, r0, r1).astype("<i4"), bits, n_in, dense).astype(np.float64) - offset
        s = _rows(read, scale_t, r0, r1)
        gi = np.arange(n_in) // group if s.shape[1] > 1 else np.zeros(n_in, dtype=np.int64)
        zz = zp[r0:r1][:, gi] if zp is not None else 0.0
        yield r0, r1, 0, n_in, (q - zz) * s[:, gi]


def _unpack_ct(words: Any, bits: int, count: int, dense: bool) -> Any:
    """compressed-tensors ``unpack_from_int32``: dense LSB-first (0.20), or ``32 // bits`` fields per word (older)."""
    return _bitstream(words, bits, count) if dense else _fields(words, bits)[..., :count]


def _fp4_packed(lt: LogicalTensor, read: Reader, span: Span = None) -> Iterator[Tile]:
    """compressed-tensors ``unpack_fp4_from_uint8`` (low nibble first) times ``weight_scale / weight_global_scale``."""
    import numpy as np

    out, n_in = lt.shape
    packed, scale_t, gs_t = lt.parts[0], _part(lt, ".weight_scale"), _part(lt, ".weight_global_scale")
    assert scale_t is not None
    group = lt.group_size or n_in
    gs = _whole(read, gs_t).reshape(-1) if gs_t is not None else None
    if gs is not None and gs.size != 1:
        raise DequantError(f"{lt.name}: weight_global_scale holds {gs.size} values, not one")
    gscale = float(gs[0]) if gs is not None else 1.0
    lut = np.asarray(_E2M1)
    step = _row_step(n_in)
    for r0, r1 in _spans(out, step, span):
        b = _rows(read, packed, r0, r1).astype(np.uint8)
        codes = np.stack((b & 0x0F, b >> 4), axis=-1).reshape(r1 - r0, n_in)
        s = _rows(read, scale_t, r0, r1).astype(np.float64)
        if lt.details.get("kind") == "mxfp4":
            s = np.exp2(s - 127)
        else:
            s = s / gscale
        yield r0, r1, 0, n_in, lut[codes] * np.repeat(s, group, axis=1)[:, :n_in]


def _bnb8(lt: LogicalTensor, read: Reader, span: Span = None) -> Iterator[Tile]:
    """bitsandbytes ``int8_vectorwise_dequant``: ``w = int8 * SCB[row] / 127``."""
    out, n_in = lt.shape
    weight, scb_t = lt.parts[0], _part(lt, ".SCB")
    assert scb_t is not None
    scb = _whole(read, scb_t).astype("float64")
    step = _row_step(n_in)
    for r0, r1 in _spans(out, step, span):
        yield r0, r1, 0, n_in, _rows(read, weight, r0, r1) * (scb[r0:r1, None] / 127.0)


def _bnb4(lt: LogicalTensor, read: Reader, span: Span = None) -> Iterator[Tile]:
    """bitsandbytes ``dequantize_4bit``: ``quant_map[code] * absmax[block]``, value ``2j`` in the high nibble.

    Nested statistics (``compress_statistics``): ``absmax = dequantize_blockwise(absmax, nested_quant_map,
    nested_absmax) + nested_offset``, the offset from the ``quant_state`` JSON.
    """
    import numpy as np

    n = lt.name
    by = {p.name: p for p in lt.parts}
    state_t = next(p for p in lt.parts if ".quant_state.bitsandbytes__" in p.name)
    state = quant_state(state_t, lambda t: _read(read, t, 0, t.n_bytes or 0))
    qmap = _whole(read, by[n + ".quant_map"]).reshape(-1)
    if qmap.shape != (16,):
        raise DequantError(f"{n}: quant_map has {qmap.size} entries, not 16")
    absmax = _whole(read, by[n + ".absmax"]).reshape(-1)
    if n + ".nested_absmax" in by:
        nested = _whole(read, by[n + ".nested_absmax"]).reshape(-1)
        nmap = _whole(read, by[n + ".nested_quant_map"]).reshape(-1)
        nblock = state.get("nested_blocksize", 256)
        offset = state.get("nested_offset", 0.0)
        if not isinstance(nblock, int) or nblock <= 0 or not isinstance(offset, (int, float)) or nmap.size != 256:
            raise DequantError(f"{n}: nested quant_state is not a block size, an offset and a 256-entry map")
        idx = np.arange(absmax.size) // nblock
        if idx.max(initial=0) >= nested.size:
            raise DequantError(f"{n}: {nested.size} nested absmax values do not cover {absmax.size} blocks")
        absmax = nmap[absmax.astype(np.int64)] * nested[idx] + offset
    block = lt.group_size or 64
    cols = lt.shape[-1]
    rows = lt.n_params // cols
    step = _row_step(cols, 2 if cols % 2 else 1)
    for r0, r1 in _spans(rows, step, span):
        f0, f1 = r0 * cols, r1 * cols  # flat value range; bytes hold values (2j, 2j+1)
        raw = np.frombuffer(_read(read, lt.parts[0], f0 // 2, _ceil(f1, 2) - f0 // 2), dtype=np.uint8)
        codes = np.stack((raw >> 4, raw & 0x0F), axis=-1).reshape(-1)[f0 % 2 : f0 % 2 + f1 - f0]
        blocks = np.arange(f0, f1) // block
        yield r0, r1, 0, cols, (qmap[codes] * absmax[blocks]).reshape(r1 - r0, cols)


def _mxfp4(lt: LogicalTensor, read: Reader) -> Iterator[Tile]:
    """transformers ``convert_moe_packed_tensors``: low nibble first, ``e2m1 * 2**(scale - 127)``."""
    import numpy as np

    blocks_t, scales_t = lt.parts
    *lead, rows, groups, _ = blocks_t.shape
    cols = groups * 32
    lut = np.asarray(_E2M1)
    per = _row_step(cols)
    for e in range(math.prod(lead)):
        for s0 in range(0, rows, per):
            s1 = min(rows, s0 + per)
            r0, r1 = e * rows + s0, e * rows + s1
            b = _array(blocks_t, _read(read, blocks_t, r0 * groups * 16, (r1 - r0) * groups * 16)).astype(np.uint8)
            sc = _array(scales_t, _read(read, scales_t, r0 * groups, (r1 - r0) * groups)).astype(np.float64)
            codes = np.stack((b & 0x0F, b >> 4), axis=-1).reshape(s1 - s0, groups, 32)
            v = (lut[codes] * np.exp2(sc - 127).reshape(s1 - s0, groups, 1)).reshape(s1 - s0, cols)
            if lt.details.get("transposed"):
                yield e * cols, (e + 1) * cols, s0, s1, v.T
            else:
                yield r0, r1, 0, cols, v


def _mxfp4_rows(lt: LogicalTensor, read: Reader, r0: int, r1: int) -> Any:
    """Rows of a transposed MXFP4 tensor: a run of scale groups from every stored row of each expert."""
    import numpy as np

    blocks_t, scales_t = lt.parts
    *lead, stored_rows, groups, _ = blocks_t.shape
    cols = groups * 32
    lut = np.asarray(_E2M1)
    out = np.empty((r1 - r0, stored_rows), dtype=np.float64)
    for e in range(r0 // cols, _ceil(r1, cols)):
        k0, k1 = max(r0, e * cols) - e * cols, min(r1, (e + 1) * cols) - e * cols
        g0, g1 = k0 // 32, _ceil(k1, 32)
        base = e * stored_rows * groups
        b = b"".join(_read(read, blocks_t, (base + r * groups + g0) * 16, (g1 - g0) * 16) for r in range(stored_rows))
        sc = b"".join(_read(read, scales_t, base + r * groups + g0, g1 - g0) for r in range(stored_rows))
        raw = np.frombuffer(b, dtype=np.uint8).reshape(stored_rows, g1 - g0, 16)
        codes = np.stack((raw & 0x0F, raw >> 4), axis=-1).reshape(stored_rows, g1 - g0, 32)
        exp = np.frombuffer(sc, dtype=np.uint8).astype(np.float64).reshape(stored_rows, g1 - g0, 1)
        v = (lut[codes] * np.exp2(exp - 127)).reshape(stored_rows, (g1 - g0) * 32)[:, k0 - g0 * 32 : k1 - g0 * 32]
        out[e * cols + k0 - r0 : e * cols + k1 - r0] = v.T
    return out


def _scaled_whole(lt: LogicalTensor, read: Reader, span: Span = None) -> Iterator[Tile]:
    """int8/fp8 stored whole times their scale: per tensor, row, group or block (``weight_scale[_inv]``)."""
    import numpy as np

    out, n_in = lt.shape
    weight = lt.parts[0]
    scale_t = next((p for p in lt.parts if p.name.endswith(("_scale_inv", ".weight_scale"))), None)
    assert scale_t is not None
    zp_t = _part(lt, ".weight_zero_point")
    s = _whole(read, scale_t).astype(np.float64)
    zp = _whole(read, zp_t).astype(np.float64) if zp_t is not None else None
    block = lt.details.get("block")
    step = _row_step(n_in, block[0] if block else 1)
    for r0, r1 in _spans(out, step, span):
        w = _rows(read, weight, r0, r1).astype(np.float64)
        if block:
            br, bc = block
            f = np.repeat(np.repeat(s[r0 // br : _ceil(r1, br)], br, axis=0), bc, axis=1)
            f = f[(r0 % br) : (r0 % br) + (r1 - r0), :n_in]
            zz: Any = 0.0
        elif s.size == 1:
            f, zz = s.reshape(1, 1), (zp.reshape(1, 1) if zp is not None else 0.0)
        else:
            g = n_in // s.shape[1]
            f = np.repeat(s[r0:r1], g, axis=1)
            zz = np.repeat(zp[r0:r1], g, axis=1) if zp is not None else 0.0
        yield r0, r1, 0, n_in, (w - zz) * f


def plain_tile(t: TensorInfo, read: Reader, r0: int, r1: int, c0: int, c1: int) -> Any:
    """Rows ``r0:r1``, columns ``c0:c1`` of an unquantized tensor (one read per row for a column strip)."""
    import numpy as np

    cols = t.shape[-1] if t.shape else 1
    if c0 == 0 and c1 == cols:
        return _rows(read, t, r0, r1)
    item = _ITEM[t.dtype]
    raw = b"".join(_read(read, t, (r * cols + c0) * item, (c1 - c0) * item) for r in range(r0, r1))
    return np.asarray(_array(t, raw), dtype=np.float64).reshape(r1 - r0, c1 - c0)


def compare(lt: LogicalTensor, reference: TensorInfo, read: Reader, read_ref: Reader) -> dict[str, float]:
    """Cosine, relative RMS error and max abs error of ``lt``'s dequantized values against ``reference``."""
    import numpy as np

    if math.prod(reference.shape) != lt.n_params or (reference.shape[-1:] != lt.shape[-1:]):
        raise DequantError(f"{lt.name}: shape {lt.shape} does not match the reference {reference.shape}")
    dot = aa = bb = dd = 0.0
    worst = 0.0
    for r0, r1, c0, c1, v in tiles(lt, read):
        ref = plain_tile(reference, read_ref, r0, r1, c0, c1)
        d = v - ref
        dot += float((v * ref).sum())
        aa += float((ref * ref).sum())
        bb += float((v * v).sum())
        dd += float((d * d).sum())
        worst = max(worst, float(np.abs(d).max(initial=0.0)))
    cosine = dot / math.sqrt(aa * bb) if aa > 0 and bb > 0 else (1.0 if aa == bb == 0 else 0.0)
    return {"cosine": cosine, "rel_rms": math.sqrt(dd / aa) if aa > 0 else 0.0, "max_abs": worst}

"""Quantized safetensors seen as the model they hold: one logical tensor per quantized weight.

A quantizer replaces a weight ``X.weight`` by packed parts (``X.qweight``, ``X.qzeros``, ``X.scales``...).
This module groups those parts back into one :class:`LogicalTensor` with the name, shape and parameter
count of the unquantized weight, the method, bits and group size, and the packed parts with their
bytes. Tensors a quantizer left alone (embeddings, norms, often ``lm_head``) come through as they are.

Only the tensor table (names, dtypes, shapes) and config.json are used; no tensor data is read,
except the few-hundred-byte ``quant_state`` entry of a bitsandbytes 4-bit weight, the only place that
layout records the weight's shape (and only when a reader is given). Every dimension comes from the
file and is checked for consistency before it is used: a group whose shapes do not fit its layout is
left as stored, with a warning. Nothing is allocated from what a file claims.

Layouts, each from the library that writes it (docs/quantized.md has the full table):

- GPTQ, AutoGPTQ ``auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py`` ``QuantLinear.pack`` and
  GPTQModel ``gptqmodel/nn_modules/qlinear/__init__.py`` ``PackableQuantLinear.pack``: ``qweight``
  int32 [in*b/32, out], ``qzeros`` int32 [in/g, out*b/32], ``scales`` fp16 [in/g, out], ``g_idx``
  int32 [in].
- AWQ, AutoAWQ ``awq/modules/linear/gemm.py`` ``WQLinear_GEMM.from_linear``: ``qweight`` int32
  [in, out*b/32] with nibbles in the order 0,2,4,6,1,3,5,7, ``qzeros`` [in/g, out*b/32], ``scales``
  [in/g, out]. GEMV (``awq/modules/linear/gemv.py``) packs ``qweight`` [out, in*b/32].
- MLX, ``mlx.core.quantize`` (``mlx/ops.cpp`` ``quantize``, affine mode) through ``mlx.nn.quantize``
  in mlx-lm: ``weight`` uint32 [out, in*b/32], ``scales`` and ``biases`` [out, in/g]; config.json's
  ``quantization`` key {group_size, bits} with per-module overrides.
- compressed-tensors ``compressors/quantized_compressors/pack_quantized.py`` ``pack_to_int32``:
  ``weight_packed`` int32 [out, in*b/32], ``weight_scale`` [out, in/g], ``weight_zero_point`` packed
  along dim 0, ``weight_shape`` int [2]; ``fp4_quantized.py`` ``pack_fp4_to_uint8`` for nvfp4
  (``weight_packed`` uint8 [out, in/2], ``weight_scale`` fp8 [out, in/16], ``weight_global_scale``);
  ``naive_quantized.py`` for int8/fp8 ``weight`` + ``weight_scale``.
- bitsandbytes ``bitsandbytes/nn/modules.py`` ``Params4bit`` / ``functional.py`` ``QuantState.as_dict``:
  4-bit ``weight`` uint8 [n/2, 1] + ``weight.absmax``, ``weight.quant_map``, nested
  ``weight.nested_absmax``/``weight.nested_quant_map`` and ``weight.quant_state.bitsandbytes__nf4``
  (JSON); 8-bit ``Int8Params``: ``weight`` int8 [out, in] + ``SCB`` [out] (+ ``weight_format``).
- Block FP8 (DeepSeek-V3, Qwen3-FP8; transformers ``integrations/finegrained_fp8.py``): ``weight``
  float8_e4m3 [out, in] + ``weight_scale_inv`` [out/128, in/128], ``weight_block_size`` in config.
- MXFP4 (gpt-oss; transformers ``integrations/mxfp4.py`` ``convert_moe_packed_tensors``): ``X_blocks``
  uint8 [..., rows, G, 16] + ``X_scales`` uint8 e8m0 [..., rows, G]; the dequantized expert tensor is
  the transpose of the stored rows.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .. import limits
from ..records import TensorInfo

#: Method names as the summary shows them (``quantization_config.quant_method`` spellings).
GPTQ, AWQ, MLX, COMPRESSED, BNB, FP8, MXFP4 = "gptq", "awq", "mlx", "compressed-tensors", "bitsandbytes", "fp8", "mxfp4"
_FLOAT8 = ("F8_E4M3", "F8_E5M2", "F8_E4M3FNUZ", "F8_E5M2FNUZ")
_FLOATS = ("F16", "BF16", "F32")
#: Group sizes tried, in order, when an MLX checkpoint does not say (mlx-lm's default is 64).
_MLX_GROUPS = (64, 32, 128)
_MLX_BITS = (2, 3, 4, 5, 6, 8)
#: Misfit groups named one by one in the warnings; the rest are counted.
_MAX_WARNINGS = 5


@dataclass(frozen=True, slots=True)
class LogicalTensor:
    """One weight of the unquantized model and the stored tensors that hold it."""

    name: str
    #: Row-major shape of the unquantized weight ([out, in] for a linear layer).
    shape: tuple[int, ...]
    #: ``gptq``, ``awq``, ``mlx``, ``compressed-tensors``, ``bitsandbytes``, ``fp8``, ``mxfp4``;
    #: ``None`` for a tensor stored as it is.
    method: str | None
    #: Bits per quantized value (4 for nf4/fp4/mxfp4, 8 for int8/fp8); ``None`` when not quantized.
    bits: int | None
    #: Consecutive input elements sharing one scale; ``None`` for per-tensor, per-block or unknown.
    group_size: int | None
    #: The stored tensors: the packed values first, then scales, zeros, biases, indices.
    parts: tuple[TensorInfo, ...]
    #: Layout facts: ``kind`` (``int``, ``nf4``, ``fp4``, ``e4m3``...), ``block`` (FP8 block shape),
    #: ``zero_offset`` (GPTQ v1 stores zero - 1), ``transposed`` (stored rows are logical columns),
    #: ``format`` (compressed-tensors), ``version`` (AWQ), ``sym``, ``desc_act``...
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def n_params(self) -> int:
        """Parameters of the unquantized weight."""
        return math.prod(self.shape)

    @property
    def n_bytes(self) -> int | None:
        """Stored bytes of all parts, or ``None`` when one part's size is unknown."""
        total = 0
        for p in self.parts:
            if p.n_bytes is None:
                return None
            total += p.n_bytes
        return total

    @property
    def bits_per_weight(self) -> float | None:
        """Stored bits per parameter, scales, zeros, biases and indices included."""
        n, b = self.n_params, self.n_bytes
        return None if b is None or not n else b * 8 / n

    @property
    def label(self) -> str:
        """A short type name for tables: ``GPTQ-INT4-G128``, ``MLX-Q8-G64``, ``NF4``, ``BF16``."""
        if self.method is None:
            return self.parts[0].dtype
        kind = self.details.get("kind", "int")
        head = {BNB: "BNB", FP8: "FP8", MXFP4: "MXFP4", COMPRESSED: "CT"}.get(self.method, self.method.upper())
        body = "" if self.method == MXFP4 else f"INT{self.bits}" if kind == "int" else kind.upper()
        tail = ""
        if "block" in self.details:
            tail = "-B{}x{}".format(*self.details["block"])
        elif self.group_size is not None and self.group_size != (self.shape[-1] if self.shape else None):
            tail = f"-G{self.group_size}"
        return "-".join(x for x in (head, body) if x) + tail

    def as_tensor_info(self) -> TensorInfo:
        """The logical tensor as a tensor-table row: its label as dtype, its shape, all parts' bytes."""
        first = self.parts[0]
        return TensorInfo(self.name, self.label, self.shape, first.offset, self.n_bytes, first.file)


@dataclass(frozen=True, slots=True)
class QuantizedView:
    """A checkpoint's tensors as the model sees them."""

    tensors: tuple[LogicalTensor, ...]
    #: The method named by config.json, or found from the tensor names; ``None`` for a plain model.
    method: str | None
    warnings: tuple[str, ...] = ()

    @property
    def quantized(self) -> tuple[LogicalTensor, ...]:
        """The logical tensors that a quantizer packed."""
        return tuple(t for t in self.tensors if t.method is not None)

    @property
    def n_params(self) -> int:
        """Parameters of the unquantized model."""
        return sum(t.n_params for t in self.tensors)


@dataclass(frozen=True, slots=True)
class Scheme:
    """What config.json says about the quantization (every field may be missing)."""

    method: str | None = None
    bits: int | None = None
    group_size: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def scheme(config: Mapping[str, Any]) -> Scheme:
    """The quantization named by config.json: ``quantization_config`` or MLX's ``quantization`` key."""
    text = config.get("text_config")
    qc = config.get("quantization_config") or (text.get("quantization_config") if isinstance(text, dict) else None)
    mlx = config.get("quantization")
    if isinstance(mlx, dict) and (not isinstance(qc, dict) or "quant_method" not in qc):
        # mlx-lm writes ``quantization`` (and a copy as ``quantization_config``, without quant_method).
        return Scheme(MLX, _int(mlx.get("bits")), _int(mlx.get("group_size")), mlx)
    if not isinstance(qc, dict):
        return Scheme()
    method = qc.get("quant_method")
    if method is None and (qc.get("load_in_4bit") or qc.get("load_in_8bit")):
        method = BNB
    method = method.lower() if isinstance(method, str) else None
    bits = _int(qc.get("bits", qc.get("w_bit")))
    group = _int(qc.get("group_size", qc.get("q_group_size")))
    if method == BNB:
        bits = 8 if qc.get("load_in_8bit") or qc.get("_load_in_8bit") else 4
    return Scheme(method, bits, group, qc)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


class _Misfit(Exception):
    """A group of tensors whose shapes do not fit the layout their names suggest."""


def _need(cond: bool, why: str) -> None:
    if not cond:
        raise _Misfit(why)


def _dims(t: TensorInfo, n: int) -> tuple[int, ...]:
    _need(len(t.shape) == n, f"{t.name} has {len(t.shape)} dimensions, {n} expected")
    return t.shape


def logical_view(
    tensors: Iterable[TensorInfo],
    config: Mapping[str, Any] | None = None,
    read: Callable[[TensorInfo], bytes] | None = None,
) -> QuantizedView:
    """Group packed tensors into logical tensors, in the order of their first part.

    ``read`` returns a (small) tensor's bytes; it is used only for a bitsandbytes 4-bit
    ``quant_state`` entry, which holds the weight's shape. Without it those weights are shown flat.
    """
    table = list(tensors)
    by_name = {t.name: t for t in table}
    sch = scheme(config or {})
    used: set[str] = set()
    found: dict[str, LogicalTensor] = {}  # keyed by the anchor tensor's name
    warnings: list[str] = []
    methods: set[str] = set()
    for t in table:
        builder = _anchor(t, by_name, sch)
        if builder is None:
            continue
        try:
            lt = builder(t, by_name, sch, read)
        except _Misfit as e:
            warnings.append(f"{t.name}: {e}; left as stored")
            continue
        if any(p.name in used for p in lt.parts):
            warnings.append(f"{t.name}: shares parts with another quantized weight; left as stored")
            continue
        used.update(p.name for p in lt.parts)
        found[t.name] = lt
        methods.add(lt.method or "")
    out: list[LogicalTensor] = []
    for t in table:
        if t.name in found:
            out.append(found[t.name])
        elif t.name not in used:
            out.append(LogicalTensor(t.name, t.shape, None, None, None, (t,)))
    method = sch.method
    if method is None and methods:
        method = methods.pop() if len(methods) == 1 else "mixed"
    if len(warnings) > _MAX_WARNINGS:  # one per misfit group would flood a hostile file's summary
        warnings[_MAX_WARNINGS:] = [f"... and {len(warnings) - _MAX_WARNINGS} more tensor groups left as stored"]
    if sch.method and not found and any(_looks_packed(t) for t in table):
        warnings.append(f"config.json names {sch.method} but no tensor group fits a known layout")
    return QuantizedView(tuple(out), method, tuple(warnings))


def _looks_packed(t: TensorInfo) -> bool:
    return t.name.endswith((".qweight", ".weight_packed", "_blocks", ".scales", ".absmax"))


Builder = Callable[[TensorInfo, dict[str, TensorInfo], Scheme, Callable[[TensorInfo], bytes] | None], LogicalTensor]


def _anchor(t: TensorInfo, by_name: dict[str, TensorInfo], sch: Scheme) -> Builder | None:
    """The builder for a tensor that anchors a quantized group, or ``None``."""
    n = t.name
    if n.endswith(".qweight"):
        return _gptq_or_awq
    if n.endswith(".weight_packed"):
        return _ct_packed
    if n.endswith("_blocks") and t.dtype == "U8" and n.removesuffix("_blocks") + "_scales" in by_name:
        return _mxfp4
    if not n.endswith(".weight"):
        return None
    base = n.removesuffix(".weight")
    if t.dtype == "U32" and base + ".scales" in by_name:
        return _mlx
    if t.dtype in _FLOAT8 and n + "_scale_inv" in by_name:
        return _fp8_block
    if t.dtype == "U8" and n + ".absmax" in by_name:
        return _bnb4
    if t.dtype == "I8" and base + ".SCB" in by_name:
        return _bnb8
    if (t.dtype == "I8" or t.dtype in _FLOAT8) and n + "_scale" in by_name:
        return _ct_naive
    return None


def _parts(by_name: dict[str, TensorInfo], names: Iterable[str]) -> tuple[TensorInfo, ...]:
    return tuple(by_name[n] for n in names if n in by_name)


def _group_of(n_in: int, groups: int) -> int:
    """Group size from the input width and the number of groups (one group: the whole row)."""
    _need(groups > 0 and n_in % groups == 0, f"{groups} scale groups do not divide {n_in} inputs")
    return n_in // groups


def _gptq_or_awq(t: TensorInfo, by_name: dict[str, TensorInfo], sch: Scheme, read: Any) -> LogicalTensor:
    base = t.name.removesuffix(".qweight")
    scales = by_name.get(base + ".scales")
    _need(scales is not None, "no .scales beside .qweight")
    assert scales is not None
    _need(t.dtype in ("I32", "U32"), f"qweight is {t.dtype}, not int32")
    qr, qc = _dims(t, 2)
    sr, sc = _dims(scales, 2)
    qzeros = by_name.get(base + ".qzeros")
    parts = _parts(by_name, [t.name, base + ".qzeros", base + ".scales", base + ".g_idx"])
    raw = sch.raw
    method = sch.method if sch.method in (GPTQ, AWQ) else (GPTQ if qc == sc else AWQ)
    version = str(raw.get("version", "gemm")).lower() if method == AWQ else None
    if method == AWQ and version == "gemv":
        # GEMV (awq/modules/linear/gemv.py): qweight [out, in*b/32], scales [out, in/g padded to 8].
        bits = sch.bits or 4
        _need(qr == sr, "GEMV qweight and scales disagree on the output size")
        out, n_in = qr, qc * 32 // bits
        group = sch.group_size if sch.group_size and sch.group_size > 0 else n_in
    elif method == AWQ:
        _need(sc > 0 and (qc * 32) % sc == 0, f"qweight {t.shape} and scales {scales.shape} do not fit AWQ")
        bits = qc * 32 // sc
        out, n_in = sc, qr
        group = _group_of(n_in, sr)
    else:
        _need(qc == sc, f"qweight {t.shape} and scales {scales.shape} do not fit GPTQ")
        out = qc
        g_idx = by_name.get(base + ".g_idx")
        if qzeros is not None and len(qzeros.shape) == 2 and out and (qzeros.shape[1] * 32) % out == 0:
            bits = qzeros.shape[1] * 32 // out
        elif g_idx is not None and len(g_idx.shape) == 1 and g_idx.shape[0]:
            bits = qr * 32 // g_idx.shape[0]
        else:
            _need(sch.bits is not None, "bits unknown (no qzeros, g_idx or config)")
            bits = sch.bits or 0
        _need(bits in (2, 3, 4, 8), f"{bits}-bit GPTQ is not a packing AutoGPTQ writes")
        _need((qr * 32) % bits == 0, f"qweight rows {qr} do not hold whole {bits}-bit values")
        n_in = qr * 32 // bits
        if g_idx is not None:
            _need(g_idx.shape == (n_in,), f"g_idx {g_idx.shape} does not match {n_in} inputs")
        group = _group_of(n_in, sr)
    _need(bits in (2, 3, 4, 8), f"{bits} bits is not a {method} packing")
    _need(out > 0 and n_in > 0 and (out * bits) % 32 == 0, f"a {out} x {n_in} weight does not pack into {bits}-bit words")
    if method == AWQ and version != "gemv":
        _need(bits == 4 and out % 8 == 0, "AWQ GEMM packs eight 4-bit values per word")
    if qzeros is not None and version != "gemv":
        _need(qzeros.shape == (sr, out * bits // 32), f"qzeros {qzeros.shape} do not fit {sr} groups of {out} outputs")
    details: dict[str, Any] = {"kind": "int"}
    if method == GPTQ:
        # AutoGPTQ (and GPTQModel's default "gptq" checkpoint format) store zero - 1 in qzeros
        # (qlinear_cuda_old.py pack: ``zeros -= 1``); GPTQModel's "gptq_v2" stores the zero itself.
        details["zero_offset"] = 0 if str(raw.get("checkpoint_format", "gptq")).lower() == "gptq_v2" else 1
        details["desc_act"] = bool(raw.get("desc_act", False))
        details["sym"] = raw.get("sym")
        fmt = str(raw.get("checkpoint_format", "gptq")).lower()
        if fmt not in ("gptq", "gptq_v2"):
            details["format"] = fmt  # marlin, bitblas...: another packing, not dequantized here
    else:
        details["version"] = version
    return LogicalTensor(base + ".weight", (out, n_in), method, bits, group, parts, details)


def _mlx_config(sch: Scheme, module: str) -> tuple[int | None, int | None, str]:
    """Bits, group size and mode for one module: mlx-lm writes per-module overrides under its path."""
    raw = sch.raw if sch.method == MLX else {}
    own = raw.get(module)
    src = own if isinstance(own, dict) else raw
    mode = src.get("mode", raw.get("mode", "affine"))
    return _int(src.get("bits")), _int(src.get("group_size")), mode if isinstance(mode, str) else "affine"


def _mlx(t: TensorInfo, by_name: dict[str, TensorInfo], sch: Scheme, read: Any) -> LogicalTensor:
    base = t.name.removesuffix(".weight")
    scales, biases = by_name[base + ".scales"], by_name.get(base + ".biases")
    _need(len(t.shape) >= 2 and scales.shape[:-1] == t.shape[:-1], f"weight {t.shape} and scales {scales.shape} disagree")
    packed, groups = t.shape[-1], scales.shape[-1]
    _need(math.prod(t.shape) > 0, f"weight {t.shape} is empty")
    bits, group, mode = _mlx_config(sch, base)
    if mode != "affine" or biases is None:
        # mxfp4 mode (mlx/ops.cpp fp_quantize): e2m1 values, one e8m0 scale per 32, no biases.
        _need(scales.dtype == "U8" and biases is None, "MLX weight without biases is not the mxfp4 mode")
        bits, group, kind = 4, 32, "e2m1"
    else:
        _need(biases.shape == scales.shape, f"biases {biases.shape} and scales {scales.shape} disagree")
        kind = "int"
        if bits is None or group is None:
            bits, group = _mlx_guess(packed, groups, bits, group)
    _need(bits in _MLX_BITS or kind != "int", f"{bits}-bit is not an MLX packing")
    _need(groups > 0 and (packed * 32) % (bits or 1) == 0, f"weight {t.shape} does not hold whole {bits}-bit values")
    n_in = packed * 32 // (bits or 1)
    _need(group is not None and groups * group == n_in, f"{groups} groups of {group} do not cover {n_in} inputs")
    parts = _parts(by_name, [t.name, base + ".scales", base + ".biases"])
    return LogicalTensor(t.name, (*t.shape[:-1], n_in), MLX, bits, group, parts, {"kind": kind, "mode": mode})


def _mlx_guess(packed: int, groups: int, bits: int | None, group: int | None) -> tuple[int, int]:
    """Bits and group size from the shapes alone: bits * group = 32 * packed / groups."""
    _need(groups > 0 and (32 * packed) % groups == 0, "packed width and scale groups do not fit")
    product = 32 * packed // groups
    for g in ((group,) if group else _MLX_GROUPS):
        if product % g == 0 and (bits is None or product // g == bits) and product // g in _MLX_BITS:
            return product // g, g
    if bits and product % bits == 0:
        return bits, product // bits
    raise _Misfit(f"no MLX bits and group size fit {packed} packed words over {groups} groups")


def _ct_group(raw: Mapping[str, Any], module: str) -> dict[str, Any]:
    """The compressed-tensors ``config_groups`` entry whose targets match this module."""
    groups = raw.get("config_groups")
    if not isinstance(groups, dict):
        return {}
    for g in groups.values():
        weights = g.get("weights") if isinstance(g, dict) else None
        if not isinstance(weights, dict):
            continue
        for target in g.get("targets") or []:
            if not isinstance(target, str):
                continue
            if target == "Linear" or module == target or module.endswith("." + target):
                return weights
            if target.startswith("re:"):
                try:
                    if re.match(target[3:], module):
                        return weights
                except re.error:
                    continue
    return {}


def _ct_packed(t: TensorInfo, by_name: dict[str, TensorInfo], sch: Scheme, read: Any) -> LogicalTensor:
    base = t.name.removesuffix(".weight_packed")
    scale = by_name.get(base + ".weight_scale")
    _need(scale is not None, "no weight_scale beside weight_packed")
    assert scale is not None
    out, packed = _dims(t, 2)
    _need(out > 0 and packed > 0, f"weight_packed {t.shape} is empty")
    args = _ct_group(sch.raw, base)
    names = [t.name] + [base + s for s in (".weight_scale", ".weight_zero_point", ".weight_shape", ".weight_g_idx",
                                           ".weight_global_scale", ".input_global_scale", ".input_scale")]
    parts = _parts(by_name, names)
    fmt = str(args.get("format") or sch.raw.get("format") or "")
    if t.dtype == "U8":  # nvfp4-pack-quantized (fp4_quantized.py pack_fp4_to_uint8): two e2m1 per byte
        n_in = packed * 2
        _need(len(scale.shape) == 2 and scale.shape[0] == out, f"weight_scale {scale.shape} does not fit {t.shape}")
        group = _group_of(n_in, scale.shape[1])
        kind = "mxfp4" if scale.dtype == "U8" else "nvfp4"
        return LogicalTensor(base + ".weight", (out, n_in), COMPRESSED, 4, group, parts,
                             {"kind": kind, "format": fmt or f"{kind}-pack-quantized"})  # fmt: skip
    _need(t.dtype == "I32", f"weight_packed is {t.dtype}, not int32 or uint8")
    bits = _int(args.get("num_bits")) or sch.bits
    _need(bits is not None and 1 <= bits <= 8, f"num_bits {bits} unknown or not a packing")
    assert bits is not None
    # compressed-tensors 0.20 packs densely (ceil(n * b / 32) words, values straddling words); older
    # releases put 32 // b values in each word and padded. The two agree for 1, 2, 4 and 8 bits.
    n_in = packed * 32 // bits
    shape_t = by_name.get(base + ".weight_shape")
    if read is not None and shape_t is not None and shape_t.dtype in ("I64", "I32") and shape_t.shape == (2,):
        size = 8 if shape_t.dtype == "I64" else 4
        raw = read(shape_t)
        _need(len(raw) == 2 * size, "weight_shape data is short")
        claimed = (int.from_bytes(raw[:size], "little", signed=True), int.from_bytes(raw[size:], "little", signed=True))
        _need(claimed[0] == out and 0 < claimed[1] <= n_in, f"weight_shape {claimed} does not fit {t.shape}")
        n_in = claimed[1]
    dense = packed == _ceil(n_in * bits, 32)
    _need(dense or packed == _ceil(n_in, 32 // bits), f"{packed} words do not hold {n_in} {bits}-bit values")
    _need(len(scale.shape) == 2 and scale.shape[0] == out and scale.shape[1] > 0, f"weight_scale {scale.shape} does not fit {t.shape}")
    if scale.shape[1] > 1:
        group = _int(args.get("group_size")) or _group_of(n_in, scale.shape[1])
        _need(group > 0 and _ceil(n_in, group) == scale.shape[1], f"weight_scale {scale.shape} does not fit groups of {group}")
    else:
        group = n_in
    zp = by_name.get(base + ".weight_zero_point")
    if zp is not None and zp.dtype == "I32":  # packed along the output dimension, as the values are
        words = _ceil(out * bits, 32) if dense else _ceil(out, 32 // bits)
        _need(zp.shape == (words, scale.shape[1]), f"weight_zero_point {zp.shape} does not fit {out} outputs in {scale.shape[1]} groups")
    details = {"kind": "int", "format": fmt or "pack-quantized", "sym": args.get("symmetric"),
               "strategy": args.get("strategy"), "dense": dense}  # fmt: skip
    return LogicalTensor(base + ".weight", (out, n_in), COMPRESSED, bits, group, parts, details)


def _ct_naive(t: TensorInfo, by_name: dict[str, TensorInfo], sch: Scheme, read: Any) -> LogicalTensor:
    """int8 / fp8 stored whole with ``weight_scale`` (compressed-tensors int- and float-quantized)."""
    base = t.name.removesuffix(".weight")
    scale = by_name[t.name + "_scale"]
    _need(len(t.shape) == 2 and min(t.shape) > 0, f"weight {t.shape} is not a non-empty matrix")
    out, n_in = t.shape
    parts = _parts(by_name, [t.name, t.name + "_scale", t.name + "_zero_point", base + ".input_scale"])
    details: dict[str, Any] = {"kind": "int" if t.dtype == "I8" else "e4m3" if "E4M3" in t.dtype else "e5m2"}
    group: int | None = None
    s = scale.shape
    if len(s) == 2 and s[0] == out and s[1] == 1:
        group, details["strategy"] = n_in, "channel"
    elif len(s) == 2 and s[0] == out:
        group, details["strategy"] = _group_of(n_in, s[1]), "group"
    elif len(s) == 2:
        _need(s[0] > 0 and s[1] > 0, f"weight_scale {s} is empty")
        details["block"], details["strategy"] = (_ceil(out, s[0]), _ceil(n_in, s[1])), "block"
    else:
        _need(math.prod(s) == 1, f"weight_scale {s} does not fit {t.shape}")
        details["strategy"] = "tensor"
    zp = by_name.get(t.name + "_zero_point")
    _need(zp is None or zp.shape == s, f"weight_zero_point {zp.shape if zp else ''} does not match weight_scale {s}")
    # fp8 (and other scale-beside-weight methods a config names) keep their name; the layouts with
    # their own builders above never store a bare int8/fp8 weight with weight_scale.
    own = (None, GPTQ, AWQ, MLX, BNB, MXFP4)
    method = COMPRESSED if sch.method in own or (sch.method or "").startswith("compressed") else str(sch.method)
    if method == COMPRESSED:
        details["format"] = "int-quantized" if t.dtype == "I8" else "float-quantized"
    return LogicalTensor(t.name, (out, n_in), method, 8, group, parts, details)


def _fp8_block(t: TensorInfo, by_name: dict[str, TensorInfo], sch: Scheme, read: Any) -> LogicalTensor:
    scale = by_name[t.name + "_scale_inv"]
    out, n_in = _dims(t, 2)
    sr, sc = _dims(scale, 2)
    _need(out > 0 and n_in > 0, f"weight {t.shape} is empty")
    declared = sch.raw.get("weight_block_size")
    if isinstance(declared, list) and len(declared) == 2 and all(_int(b) and b > 0 for b in declared):
        block = (int(declared[0]), int(declared[1]))
    else:
        _need(sr > 0 and sc > 0, f"weight_scale_inv {scale.shape} is empty")
        block = (_ceil(out, sr), _ceil(n_in, sc))
    _need((_ceil(out, block[0]), _ceil(n_in, block[1])) == (sr, sc),
          f"weight_scale_inv {scale.shape} does not fit blocks of {block} over {t.shape}")  # fmt: skip
    base = t.name.removesuffix(".weight")
    parts = _parts(by_name, [t.name, t.name + "_scale_inv", base + ".input_scale"])
    kind = "e4m3" if "E4M3" in t.dtype else "e5m2"
    return LogicalTensor(t.name, (out, n_in), FP8, 8, None, parts, {"kind": kind, "block": block})


def _bnb4(t: TensorInfo, by_name: dict[str, TensorInfo], sch: Scheme, read: Callable[[TensorInfo], bytes] | None) -> LogicalTensor:
    n = t.name
    absmax = by_name[n + ".absmax"]
    states = [by_name[k] for k in by_name if k.startswith(n + ".quant_state.bitsandbytes__")]
    _need(len(states) == 1, "no single quant_state.bitsandbytes__* entry beside the weight")
    kind = states[0].name.rsplit("__", 1)[1]
    _need(kind in ("nf4", "fp4"), f"quant type {kind!r} is not nf4 or fp4")
    stored = t.n_params  # bytes: two 4-bit values each
    _need(stored > 0, f"weight {t.shape} is empty")
    shape: tuple[int, ...] = (stored * 2,)
    state: dict[str, Any] = {}
    if read is not None:
        state = _quant_state(states[0], read)
        claimed = state.get("shape")
        if isinstance(claimed, list) and claimed and all(_int(d) is not None and d >= 0 for d in claimed):
            count = math.prod(claimed)
            _need(count <= limits.MAX_TENSOR_ELEMENTS and _ceil(count, 2) == stored,
                  f"quant_state shape {claimed} does not fit {stored} packed bytes")  # fmt: skip
            shape = tuple(claimed)
    count = math.prod(shape)
    _need(len(absmax.shape) == 1 and absmax.shape[0] > 0, f"absmax {absmax.shape} is not a list of block maxima")
    block = _int(state.get("blocksize")) or _pow2_block(count, absmax.shape[0])
    _need(_ceil(count, block) == absmax.shape[0], f"{absmax.shape[0]} absmax values do not cover {count} values in blocks of {block}")
    names = [n, n + ".absmax", n + ".quant_map", n + ".nested_absmax", n + ".nested_quant_map", states[0].name]
    details = {"kind": kind, "nested": n + ".nested_absmax" in by_name, "shape_known": len(shape) > 1 or read is not None}
    return LogicalTensor(n, shape, BNB, 4, block, _parts(by_name, names), details)


def _pow2_block(count: int, blocks: int) -> int:
    """bitsandbytes block sizes are powers of two from 32 to 4096 (functional.py quantize_4bit)."""
    for b in (64, 32, 128, 256, 512, 1024, 2048, 4096):
        if _ceil(count, b) == blocks:
            return b
    raise _Misfit(f"{blocks} absmax values fit no bitsandbytes block size over {count} values")


def _quant_state(t: TensorInfo, read: Callable[[TensorInfo], bytes]) -> dict[str, Any]:
    """The JSON of a bitsandbytes ``quant_state.bitsandbytes__*`` entry (``pack_dict_to_tensor``)."""
    if t.n_bytes is None or t.n_bytes > limits.MAX_QUANT_STATE_BYTES:
        raise _Misfit(f"quant_state of {t.n_bytes} bytes exceeds {limits.MAX_QUANT_STATE_BYTES} bytes")
    raw = read(t)
    try:
        state = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise _Misfit("quant_state is not JSON") from None
    if not isinstance(state, dict):
        raise _Misfit("quant_state is not a JSON object")
    return state


def quant_state(t: TensorInfo, read: Callable[[TensorInfo], bytes]) -> dict[str, Any]:
    """Public form of the quant_state reader for the dequantizer (raises ``ValueError`` on a bad entry)."""
    try:
        return _quant_state(t, read)
    except _Misfit as e:
        raise ValueError(f"{t.name}: {e}") from None


def _bnb8(t: TensorInfo, by_name: dict[str, TensorInfo], sch: Scheme, read: Any) -> LogicalTensor:
    base = t.name.removesuffix(".weight")
    scb = by_name[base + ".SCB"]
    out, n_in = _dims(t, 2)
    _need(out > 0 and n_in > 0, f"weight {t.shape} is empty")
    _need(scb.shape == (out,), f"SCB {scb.shape} does not give one scale per row of {t.shape}")
    parts = _parts(by_name, [t.name, base + ".SCB", base + ".weight_format"])
    return LogicalTensor(t.name, (out, n_in), BNB, 8, n_in, parts, {"kind": "int8"})


def _mxfp4(t: TensorInfo, by_name: dict[str, TensorInfo], sch: Scheme, read: Any) -> LogicalTensor:
    base = t.name.removesuffix("_blocks")
    scales = by_name[base + "_scales"]
    _need(len(t.shape) >= 3 and t.shape[-1] == 16, f"blocks {t.shape} are not [..., groups, 16]")
    _need(scales.shape == t.shape[:-1] and scales.dtype == "U8", f"scales {scales.dtype} {scales.shape} are not e8m0 bytes for blocks {t.shape}")
    *lead, rows, groups, _ = t.shape
    _need(math.prod(t.shape) > 0, f"blocks {t.shape} are empty")
    cols = groups * 32
    # gpt-oss experts: convert_moe_packed_tensors returns [E, rows, G*32] transposed to the model's
    # [E, G*32, rows] (GptOssExperts.gate_up_proj is [E, hidden, 2*expert_dim]).
    transposed = bool(lead) and base.endswith(("gate_up_proj", "down_proj"))
    shape = (*lead, cols, rows) if transposed else (*lead, rows, cols)
    parts = _parts(by_name, [t.name, base + "_scales"])
    return LogicalTensor(base, shape, MXFP4, 4, 32, parts, {"kind": "e2m1", "transposed": transposed})

"""A ``Comparison`` as the versioned JSON document ``mfi.compare/1`` (docs/compare.md)."""

from __future__ import annotations

from typing import Any

from ...compare.records import Comparison, FieldRow, LayerQuant, TensorPair, ValueStats
from .inspect import finite, inspect_dict

SCHEMA = "mfi.compare/1"


def _row(r: FieldRow) -> dict[str, Any]:
    return {"field": r.field, "left": finite(r.left), "right": finite(r.right), "equal": r.equal, "status": r.status, "note": r.note}


def _values(v: ValueStats | None) -> dict[str, Any] | None:
    if v is None:
        return None
    if v.skipped is not None:
        return {"compared": False, "reason": v.skipped}
    return {
        "compared": True, "cosine": finite(v.cosine), "rel_rms": finite(v.rel_rms), "max_abs": finite(v.max_abs),
        "rows": v.rows, "rows_total": v.rows_total,
    }  # fmt: skip


def _pair(p: TensorPair, v: ValueStats | None) -> dict[str, Any]:
    out = {
        "key": p.key, "left": list(p.left), "right": list(p.right),
        "left_type": p.left_type, "right_type": p.right_type,
        "left_shape": list(p.left_shape), "right_shape": list(p.right_shape),
        "left_bytes": p.left_bytes, "right_bytes": p.right_bytes,
        "left_bits_per_weight": p.left_bpw, "right_bits_per_weight": p.right_bpw,
        "parameters": p.params, "layer": p.layer,
        "shape_equal": p.shape_equal, "type_equal": p.type_equal, "note": p.note,
        "split": None if p.split is None else {
            "side": p.split.side, "part": p.split.part, "parts": p.split.parts, "interleaved": p.split.interleaved,
            "axis": p.split.axis, "transposed": p.split.transposed,
        },
        "shift": p.shift,
    }  # fmt: skip
    if v is not None:
        out["values"] = _values(v)
    return out


def _layer(lq: LayerQuant, v: ValueStats | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "layer": lq.layer, "parameters": lq.params,
        "left_bytes": lq.left_bytes, "right_bytes": lq.right_bytes,
        "left_bits_per_weight": lq.left_bpw, "right_bits_per_weight": lq.right_bpw,
        "tensors": [{"key": p.key, "left_type": p.left_type, "right_type": p.right_type} for p in lq.pairs],
    }  # fmt: skip
    if v is not None:
        out["values"] = _values(v)
    return out


def _difference(r: FieldRow) -> Any:
    if isinstance(r.left, (int, float)) and isinstance(r.right, (int, float)):
        return r.right - r.left
    return None


def compare_dict(c: Comparison) -> dict[str, Any]:
    """The whole comparison as ``mfi.compare/1``."""
    values = c.values or ()
    by_key = {v.key: v for v in values}
    layer_values = {v.layer: v for v in (c.layer_values or ())}
    tok = c.tokenizer
    return {
        "schema": SCHEMA,
        "left": inspect_dict(c.left),
        "right": inspect_dict(c.right),
        "architecture": [_row(r) for r in c.architecture],
        "totals": [{**_row(r), "difference": _difference(r)} for r in c.totals],
        "tensors": {
            "naming": c.naming,
            "matched": len(c.pairs),
            "only_left": list(c.only_left),
            "only_right": list(c.only_right),
            "shape_mismatch": [p.key for p in c.shape_mismatch],
            "unpaired": [{"side": u.side, "name": u.name, "reason": u.reason} for u in c.unpaired],
            "pairs": [_pair(p, by_key.get(p.key) if c.values is not None else None) for p in c.pairs],
        },
        "layers": [_layer(lq, layer_values.get(lq.layer) if c.values is not None else None) for lq in c.layers],
        "tokenizer": None
        if tok is None
        else {
            "fields": [_row(r) for r in tok.rows],
            "special": [_row(r) for r in tok.special],
            "tokens_identical": tok.tokens_identical,
            "chat_template": tok.chat_template,
            "chat_template_diff": tok.template_diff,
        },
        "values": None if c.values is None else {"sample": c.sample, "compared": sum(1 for v in values if v.skipped is None)},
        "differences": list(c.differences),
        "notes": list(c.notes),
    }

"""A ``Plan`` as the JSON additions to ``mfi.inspect/1`` (no rich import: ``--json`` stays light)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...plan.records import Plan


def _group_dict(g: Any) -> dict[str, Any]:
    return {"layers": list(g.layers), "kind": g.kind, "cells": g.cells, "k_row_bytes": g.k_row_bytes,
            "v_row_bytes": g.v_row_bytes, "bytes": g.bytes, "formula": g.formula}  # fmt: skip


def plan_dict(p: Plan) -> dict[str, Any]:
    """The JSON additions to ``mfi.inspect/1``: ``memory``, ``runtimes``, ``remote_code``, ``capabilities``, ``plan_warnings``."""
    m, r, c = p.memory, p.runtimes, p.capabilities
    return {
        "memory": {
            "runtime": m.runtime,
            "context_length": m.context,
            "cache_type": m.cache_type,
            "weights_bytes": m.weights.total,
            "accelerator_weights_bytes": m.weights.accelerator,
            "offloadable_weights_bytes": m.weights.offloadable,
            "kv_cache_bytes": m.kv.bytes,
            "kv_cache_blocked": m.kv.blocked,
            "overhead_bytes": m.overhead,
            "overhead_is_estimate": True,
            "total_bytes": m.total,
            "fits_context": m.fits,
            "layers": [_group_dict(g) for g in m.kv.groups],
            "by_context": [{"context_length": kv.context, "kv_cache_bytes": kv.bytes} for kv in m.table],
            "terms": [{"name": t.name, "value": t.value, "formula": t.formula} for t in m.terms],
            "not_counted": list(m.not_counted),
            "notes": list(m.notes),
        },
        "runtimes": {
            "verdicts": [{"runtime": v.runtime, "status": v.status, "reason": v.reason} for v in r.verdicts],
            "mmproj": r.mmproj or None,
            "quantization_method": r.method,
            "quantization_implications": r.quantization,
        },
        "remote_code": {
            "required": r.remote_code.required,
            "offered": r.remote_code.offered,
            "files": [{"name": f.name, "repo": f.repo or None, "present": f.present, "used_by": list(f.used_by)} for f in r.remote_code.files],
            "note": r.remote_code.note,
        },
        "capabilities": {
            "kind": c.kind,
            "chat_template": c.chat_template,
            "tool_calling": c.tool_calling,
            "reasoning": c.reasoning,
            "system_role": c.system_role,
            "vision": c.vision,
            "audio": c.audio,
            "pooling": c.pooling,
            "sampling": c.sampling,
            "license": c.license,
            "base_models": list(c.base_models),
            "evidence": c.evidence,
        },
        "plan_warnings": list(p.warnings),
    }

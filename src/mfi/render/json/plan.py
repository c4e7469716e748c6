"""A ``Plan`` as JSON: the ``mfi.plan/1`` document of ``mfi plan --json``, and the same sections as additions
to ``mfi.inspect/1`` (no rich import: ``--json`` stays light). Shapes: docs/json-schema.md."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...plan.records import LayerGroup, Plan
    from ...records import ModelSummary

#: The version of ``mfi plan --json``; fields are only added within a version.
PLAN_SCHEMA = "mfi.plan/1"


def _group_dict(g: LayerGroup) -> dict[str, Any]:
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
            "verdicts": [{"runtime": v.runtime, "status": v.status, "version": v.version, "needs": list(v.needs), "reason": v.reason}
                         for v in r.verdicts],
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


def choices_dict(p: Plan) -> dict[str, Any]:
    """``choices`` (one per quantization or dtype) and ``recommended`` (a name or null); both null without choices."""
    c = p.choices
    if c is None:
        return {"choices": None, "recommended": None, "choices_kind": None, "choices_notes": []}
    rows = [{"name": r.name, "files": list(r.files), "weights_bytes": r.weights_bytes, "kv_cache_bytes": r.kv_cache_bytes,
             "compute_bytes": r.compute_bytes, "total_bytes": r.total_bytes, "fits": r.fits, "max_context": r.max_context,
             "runtime": r.runtime, "cache_type": r.cache_type} for r in c.rows]  # fmt: skip
    return {"choices": rows, "recommended": c.recommended, "choices_kind": c.kind, "choices_notes": list(c.notes)}


def serving_list(p: Plan) -> list[dict[str, Any]]:
    """vLLM's and SGLang's own start-up sizing (empty without a memory, or for GGUF)."""
    return [
        {"runtime": v.runtime, "version": v.version, "memory_bytes": v.memory, "context_length": v.context,
         "budget_bytes": v.budget, "weights_bytes": v.weights, "activation_bytes": v.activation,
         "cache_dtype": v.cache_dtype, "kv_available_bytes": v.kv_available, "bytes_per_block": v.bytes_per_block,
         "num_blocks": v.num_blocks, "kv_capacity_tokens": v.capacity_tokens, "max_concurrency": v.concurrency,
         "max_context": v.largest_context, "error": v.error, "note": v.note,
         "terms": [{"name": t.name, "value": t.value, "formula": t.formula} for t in v.terms],
         "not_counted": list(v.not_counted)}
        for v in p.serving
    ]  # fmt: skip


def plan_document(s: ModelSummary | None, p: Plan) -> dict[str, Any]:
    """``mfi plan --json``: schema ``mfi.plan/1``: the target, the choices, then the plan's sections."""
    source = p.choices.source if p.choices is not None and p.choices.source else None
    model = s.target if s else None
    head = {"schema": PLAN_SCHEMA, "target": source or model, "plan_of": model, "format": s.format if s else None}
    return {**head, **choices_dict(p), **plan_dict(p), "serving": serving_list(p)}

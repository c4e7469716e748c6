"""``ModelSummary`` to the versioned JSON document ``mfi.inspect/1`` (docs/json-schema.md)."""

from __future__ import annotations

import fnmatch
import json
import hashlib
import math
from typing import Any

from ...records import ArrayValue, ModelSummary, TensorInfo

SCHEMA = "mfi.inspect/1"


def select(tensors: tuple[TensorInfo, ...], pattern: str | None) -> list[TensorInfo]:
    """Tensors whose name matches a shell glob (all for ``None`` or ``*``)."""
    if pattern in (None, "*"):
        return list(tensors)
    return [t for t in tensors if fnmatch.fnmatchcase(t.name, pattern)]


def finite(v: Any) -> Any:
    """JSON has no NaN or infinity: they become strings, at any depth."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    return v


def dumps(doc: dict[str, Any]) -> str:
    """The one way documents are written: strict JSON (no NaN), indented, ASCII-safe."""
    return json.dumps(finite(doc), indent=2, allow_nan=False)


def metadata_value(v: Any) -> Any:
    """A metadata value as JSON: arrays keep their type, count, samples or values, and digest."""
    if isinstance(v, ArrayValue):
        out: dict[str, Any] = {"type": "array", "element_type": v.elem_type, "count": v.count}
        key = "values" if v.complete else "samples"
        out[key] = [metadata_value(x) for x in v.samples]
        if v.digest:
            out["sha256"] = v.digest
        return out
    if isinstance(v, tuple):
        return [metadata_value(x) for x in v]
    if isinstance(v, bytes):
        return v.hex()
    return finite(v)


def tensor_dict(t: TensorInfo) -> dict[str, Any]:
    """One tensor row."""
    return {
        "name": t.name,
        "type": t.dtype,
        "shape": list(t.shape),
        "parameters": t.n_params,
        "bytes": t.n_bytes,
        "offset": t.offset,
        "file": t.file,
    }


def inspect_dict(s: ModelSummary, *, tensors: str | None = None, metadata: bool = False) -> dict[str, Any]:
    """The whole summary as ``mfi.inspect/1``; tensor rows and raw metadata only when asked."""
    a = s.architecture
    arch = {("class" if f == "cls" else f): finite(getattr(a, f)) for f in a.FIELDS}
    arch["towers"] = a.towers
    p = s.parameters
    q = s.quantization
    tok = s.tokenizer
    by_type: dict[str, int] = {}
    for t in s.tensors:
        by_type[t.dtype] = by_type.get(t.dtype, 0) + 1
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "target": s.target,
        "format": s.format,
        "files": [{"path": f.path, "size": f.size, "role": f.role} for f in s.files],
        "architecture": arch,
        "parameters": {
            "total": p.total,
            "by_dtype": p.by_dtype,
            "embedding": p.embedding,
            "non_embedding": p.non_embedding,
            "experts": p.experts,
            "active": p.active,
            "towers": p.towers,
        },
        "tensors": {"count": len(s.tensors), "bytes": q.total_bytes, "by_dtype": by_type},
        "quantization": {
            "file_type": q.file_type,
            "method": q.method,
            "details": q.details,
            "bits_per_weight": q.bits_per_weight,
            "types": [
                {
                    "type": r.dtype,
                    "tensors": r.tensors,
                    "parameters": r.params,
                    "bytes": r.bytes,
                    "share": r.share,
                    "bits_per_weight": r.bits_per_weight,
                }
                for r in q.rows
            ],
        },
        "tokenizer": None
        if tok is None
        else {
            "model": tok.model,
            "pre": tok.pre,
            "vocab_size": tok.vocab_size,
            "merges": tok.merges,
            "added_tokens": tok.added_tokens,
            "special": {r: {"id": t.id, "text": t.text} for r, t in tok.special.items()},
            "chat_template": tok.chat_template is not None,
            "chat_templates": {
                n: {"length": len(t), "sha256": hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest()}
                for n, t in tok.chat_templates.items()
            },
            "tokens_sha256": tok.tokens_digest,
        },
        "format_info": s.format_info,
        "warnings": list(s.warnings),
        "problems": list(s.problems),
    }
    if s.fetched is not None:
        f = s.fetched
        doc["fetched"] = {"requests": f.requests, "bytes": f.bytes, "endpoint": f.endpoint, "revision": f.revision, "commit": f.commit}
    if tensors is not None:
        doc["tensors"]["items"] = [tensor_dict(t) for t in select(s.tensors, tensors)]
    if metadata:
        doc["metadata"] = {k: metadata_value(v) for k, v in s.raw_metadata.items()}
    return doc

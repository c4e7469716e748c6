"""Plain-text pieces shown by both the terminal and the markdown renderers (no rich here).

Labels of the architecture fields, the one-line overview, the compare cells (differences, totals,
value statistics, per-block type mixes) and the four-line will-it-run answer. Untrusted text in
them is still raw: each renderer escapes it for its medium.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ..compare.records import FieldRow, TensorPair
from ..plan.records import Plan
from ..records import ModelSummary
from . import text

FIELD_LABELS = {
    "name": "architecture",
    "cls": "class",
    "layers": "layers",
    "hidden_size": "hidden size",
    "intermediate_size": "intermediate size",
    "attention_heads": "attention heads",
    "kv_heads": "KV heads",
    "head_dim": "head dim",
    "vocab_size": "vocab size",
    "context_length": "context length",
    "rope_theta": "RoPE theta",
    "rope_scaling": "RoPE scaling",
    "experts": "experts",
    "experts_used": "experts per token",
    "expert_intermediate_size": "expert FFN size",
    "sliding_window": "sliding window",
    "norm_eps": "norm eps",
    "tie_word_embeddings": "tied embeddings",
}


#: Rows left out of the terminal table when unknown (they only apply to some models).
OPTIONAL_FIELDS = frozenset({"cls", "rope_scaling", "experts", "experts_used", "expert_intermediate_size", "sliding_window", "norm_eps"})


_COUNT_ROWS = {"parameters", "matched parameters"}


_BYTES_ROWS = {"tensor bytes", "file size"}


def overview_line(s: ModelSummary) -> str:
    """One line: what it is, how big, how stored."""
    a, q = s.architecture, s.quantization
    name = Path(s.target.rstrip("/")).name or s.target
    parts = [text.clean(name), s.format.upper() + (f" v{s.format_info['version']}" if "version" in s.format_info else "")]
    if a.name:
        parts.append(text.clean(a.name))
    params = text.count(s.parameters.total) + " params"
    if s.parameters.experts and s.parameters.active is not None:
        params += f" ({text.count(s.parameters.active)} active)"
    if s.parameters.towers:
        params += " (" + ", ".join(f"{name} {text.count(n)}" for name, n in s.parameters.towers.items()) + ")"
    parts.append(params)
    storage = q.file_type or q.method or (q.rows[0].dtype if q.rows else None)
    if storage:
        parts.append(f"{text.clean(storage)} ({text.bpw(q.bits_per_weight)} bpw)")
    parts.append(text.size(s.total_size))
    return " · ".join(parts)


def field_value(v: Any) -> str:
    if isinstance(v, dict) and set(v) == {"text", "id"}:
        return f"{v['text']!r} id {text.number(v['id'])}" if v["text"] is not None else f"id {text.number(v['id'])}"
    return text.number(v)


def difference(r: FieldRow) -> str:
    """``right - left`` for a numeric totals row, formatted like its values."""
    if not isinstance(r.left, (int, float)) or not isinstance(r.right, (int, float)):
        return text.DASH
    d = r.right - r.left
    if r.field in _BYTES_ROWS:
        return ("+" if d >= 0 else "-") + text.size(abs(d))
    if r.field in _COUNT_ROWS:
        return f"{d:+,}"
    return f"{d:+.2f}" if isinstance(d, float) else f"{d:+,}"


def total_value(r: FieldRow, v: Any) -> str:
    """A totals cell: bytes in binary units, parameters exact, bits per weight with two decimals."""
    if v is None:
        return text.DASH
    if r.field in _BYTES_ROWS:
        return text.size(v)
    if r.field == "bits per weight":
        return text.bpw(v)
    return f"{v:,}"


def role(p: TensorPair) -> str:
    """A tensor's name within its block (``attn_q.weight``), or its whole key outside blocks."""
    if p.layer is None:
        return p.key
    marker = f".{p.layer}."
    i = p.key.find(marker)
    return p.key[i + len(marker) :] if i >= 0 else p.key


def type_mix(pairs: tuple[TensorPair, ...], side: str) -> str:
    """A block's types on one side: the commonest as ``Q4_K x7``, the others naming their tensors."""
    types = [p.left_type if side == "left" else p.right_type for p in pairs]
    counts = Counter(types).most_common()
    main, n = counts[0]
    parts = [f"{main} x{n}"]
    for other, _ in counts[1:]:
        roles = [role(p).removesuffix(".weight") for p, ty in zip(pairs, types) if ty == other]
        parts.append(f"{other}: {', '.join(roles)}")
    return "; ".join(parts)


def cosine(v: float | None) -> str:
    """Cosine similarity with six decimals (quantization error lives in the fourth to sixth)."""
    return text.DASH if v is None else f"{v:.6f}"


def rel_rms(v: float | None) -> str:
    """Relative RMS error as a percentage."""
    return text.DASH if v is None else f"{v * 100:.3f}%"


def max_abs(v: float | None) -> str:
    """Largest absolute difference."""
    return text.DASH if v is None else f"{v:.3g}"


def brief_rows(p: Plan) -> list[tuple[str, str]]:
    """The will-it-run answer in four lines (plain text, still untrusted: escape when rendering)."""
    m, r, c = p.memory, p.runtimes, p.capabilities
    if m.total is not None:
        memory = (
            f"{text.size(m.total)} at {m.context:,} tokens: weights {text.size(m.weights.total)} + KV cache "
            f"{text.size(m.kv.bytes)} ({m.cache_type}) + {text.size(m.overhead)} typical overhead ({m.runtime})"
        )
    else:
        memory = f"weights {text.size(m.weights.total)}; KV cache unknown: {m.kv.blocked or 'layout unknown'}"
    runtimes = " · ".join(f"{v.runtime} {v.status}" for v in r.verdicts)
    rc = r.remote_code
    if rc.required:
        names = ", ".join(f.name if not f.repo else f"{f.repo}/{f.name}" for f in rc.files) or "named in auto_map"
        code = f"required (trust_remote_code): {names}"
    else:
        code = "offered in auto_map, but a built-in class loads it" if rc.offered else "not needed"
    flags = [("tools", c.tool_calling), ("reasoning", c.reasoning), ("vision", c.vision), ("audio", c.audio)]
    caps = ", ".join([c.kind] + [name for name, on in flags if on])
    return [("memory", memory), ("runtimes", runtimes), ("remote code", code), ("capabilities", caps)]

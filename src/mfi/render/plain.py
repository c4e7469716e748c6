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
from ..records import Architecture, Fetched, ModelSummary, Quantization
from . import text
from .i18n import count, tr, yes_no

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


#: Unquantized storage types: a file_type among them titles the type table "Dtypes".
FLOAT_TYPES = frozenset({"F64", "F32", "F16", "BF16"})


def quantized(q: Quantization) -> bool:
    """Whether the weights are stored in a quantized scheme (a method, or a file type that is not a float)."""
    return bool(q.method) or (q.file_type is not None and q.file_type not in FLOAT_TYPES)


_COUNT_ROWS = {"parameters", "matched parameters"}


_BYTES_ROWS = {"tensor bytes", "file size"}


def field_text(a: Architecture, f: str) -> str:
    """An architecture field as shown: per-layer values by layer kind, assumed values marked.

    ``8 (sliding) / 2 (full)`` when the file sets a field per layer and says which layers slide;
    ``8 x30 / 2 x6`` (value x layers) when it does not; ``64 / 32 (sliding)`` for a head size of
    the sliding layers of its own; ``8 (assumed)`` for a value the file does not set.
    """
    value = getattr(a, f)
    values = a.per_layer.get(f)
    if values:
        kinds = a.layer_kinds if a.layer_kinds is not None and len(a.layer_kinds) == len(values) else None
        by: dict[str, list[int]] = {}
        for i, v in enumerate(values):
            by.setdefault(kinds[i] if kinds else "", []).append(v)
        if kinds and all(len(set(vs)) == 1 for vs in by.values()):
            shown = " / ".join(f"{text.number(vs[0])} ({tr(kind)})" for kind, vs in by.items())
        else:
            counts = Counter(values)
            shown = " / ".join(f"{text.number(v)} x{n}" for v, n in counts.most_common())
    elif f == "head_dim" and a.sliding_head_dim is not None and value is not None:
        shown = f"{text.number(value)} ({tr('full')}) / {text.number(a.sliding_head_dim)} ({tr('sliding')})"
    elif isinstance(value, bool):
        shown = yes_no(value)
    else:
        shown = text.number(value)
    return shown + (f" ({tr('assumed')})" if f in a.assumed and value is not None else "")


def overview_parts(s: ModelSummary) -> list[str]:
    """The overview's phrases: name, format, architecture, parameters, storage, size."""
    a, q = s.architecture, s.quantization
    name = Path(s.target.rstrip("/")).name or s.target
    parts = [text.clean(name), s.format.upper() + (f" v{s.format_info['version']}" if "version" in s.format_info else "")]
    if a.name:
        parts.append(text.clean(a.name))
    params = tr("{n} params", n=count(s.parameters.total))
    if s.parameters.experts and s.parameters.active is not None:
        params += " (" + tr("{n} active", n=count(s.parameters.active)) + ")"
    if s.parameters.towers:
        params += " (" + ", ".join(f"{tr(name)} {count(n)}" for name, n in s.parameters.towers.items()) + ")"
    parts.append(params)
    storage = q.file_type or q.method or (q.rows[0].dtype if q.rows else None)
    if storage:
        parts.append(f"{text.clean(storage)} " + tr("({v} bpw)", v=text.bpw(q.bits_per_weight)))
    parts.append(text.size(s.total_size))
    return parts


def overview_line(s: ModelSummary) -> str:
    """One line: what it is, how big, how stored."""
    return " · ".join(overview_parts(s))


def fetched_text(f: Fetched | None) -> str | None:
    """What reading a remote model cost: ``fetched 214.00 KiB in 4 requests from hf-mirror.com``."""
    if f is None:
        return None
    host = f.endpoint.split("://", 1)[-1]
    if f.requests == 1:
        return tr("fetched {size} in 1 request from {host}", size=text.size(f.bytes), host=host)
    return tr("fetched {size} in {n} requests from {host}", size=text.size(f.bytes), n=f.requests, host=host)


def field_value(v: Any) -> str:
    if isinstance(v, dict) and set(v) == {"text", "id"}:
        return f"{v['text']!r} id {text.token_id(v['id'])}" if v["text"] is not None else f"id {text.token_id(v['id'])}"
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


#: Verdict groups, best first (one line each on the will-it-run block).
_VERDICT_ORDER = ("yes", "yes with", "convert first", "remote-code", "convert", "unknown", "no")


def verdict_groups(p: Plan) -> dict[str, list[str]]:
    """Runtime names grouped by verdict, best verdict first (``yes``: llama.cpp, ...)."""
    groups: dict[str, list[str]] = {}
    for v in p.runtimes.verdicts:
        groups.setdefault(v.status, []).append(v.runtime)
    rank = {s: i for i, s in enumerate(_VERDICT_ORDER)}
    return dict(sorted(groups.items(), key=lambda kv: rank.get(kv[0], len(rank))))


def brief_rows(p: Plan) -> list[tuple[str, str]]:
    """The will-it-run answer, one short line each (plain text, still untrusted: escape when rendering).

    Each fits 65 columns for real models, so the 80-column screen wraps none (the figures are on a
    second memory line).
    """
    m, c = p.memory, p.capabilities
    if m.total is not None:
        memory = [
            ("memory", tr("{total} at {ctx} tokens ({runtime}, {cache} KV cache)", total=text.size(m.total), ctx=f"{m.context:,}", runtime=m.runtime, cache=m.cache_type)),
            ("", tr("weights {w} + KV cache {kv} + overhead ~{o}", w=text.size(m.weights.total), kv=text.size(m.kv.bytes), o=text.size(m.overhead))),
        ]
    else:
        memory = [("memory", tr("weights {w}; KV cache unknown: {why}", w=text.size(m.weights.total), why=m.kv.blocked or tr("layout unknown")))]
    runtimes = [("runtimes" if i == 0 else "", f"{tr(status)}: {', '.join(names)}") for i, (status, names) in enumerate(verdict_groups(p).items())]
    rc = p.runtimes.remote_code
    if rc.required:
        names = ", ".join(f.name if not f.repo else f"{f.repo}/{f.name}" for f in rc.files) or tr("named in auto_map")
        code = tr("required (trust_remote_code): {names}", names=names)
    else:
        code = tr("offered in auto_map, but a built-in class loads it") if rc.offered else tr("not needed")
    flags = [("tools", c.tool_calling), ("reasoning", c.reasoning), ("vision", c.vision), ("audio", c.audio)]
    caps = ", ".join([tr(c.kind)] + [tr(name) for name, on in flags if on])
    return [*memory, *runtimes, ("remote code", code), ("capabilities", caps)]

"""Summaries and comparisons as GitHub markdown, for pasting into an issue or a model card (no rich here)."""

from __future__ import annotations

from collections.abc import Sequence

from ..records import ModelSummary
from ..compare.records import Comparison, FieldRow
from ..plan.records import Plan
from . import plain, text
from .json.inspect import select


def cell(value: object) -> str:
    """Untrusted text safe inside a markdown table cell."""
    s = text.clean(value)
    for ch in ("\\", "|", "`", "*", "_", "<", ">", "[", "]"):
        s = s.replace(ch, "\\" + ch)
    return s


def _rows(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def inspect_markdown(s: ModelSummary, *, tensors: str | None = None, plan: Plan | None = None) -> str:
    """The inspect summary as markdown sections."""
    a, q, tok = s.architecture, s.quantization, s.tokenizer
    lines = [f"**{cell(plain.overview_line(s))}**", "", "### Architecture", ""]
    lines += _rows(("field", "value"), [(plain.FIELD_LABELS[f], cell(text.number(getattr(a, f)))) for f in a.FIELDS])
    lines += ["", "### Quantization" if (q.file_type or q.method) else "### Dtypes", ""]
    lines += _rows(
        ("type", "tensors", "params", "bytes", "share", "bits/weight"),
        [(cell(r.dtype), f"{r.tensors:,}", text.count(r.params), text.size(r.bytes), text.share(r.share), text.bpw(r.bits_per_weight)) for r in q.rows],
    )
    if tok is not None:
        rows = [("model", cell(text.number(tok.model))), ("vocab size", text.number(tok.vocab_size))]
        if tok.merges is not None:
            rows.append(("merges", text.number(tok.merges)))
        rows += [(f"{r} token", f"{cell(repr(sp.text))} (id {text.number(sp.id)})") for r, sp in tok.special.items()]
        rows.append(("chat template", "yes" if tok.chat_templates else "no"))
        lines += ["", "### Tokenizer", ""] + _rows(("field", "value"), rows)
    if plan is not None:
        lines += ["", "### Will it run", ""] + _rows(("", ""), [(label, cell(value)) for label, value in plain.brief_rows(plan)])
        lines += ["", "#### Runtimes", ""] + _rows(
            ("runtime", "version", "verdict", "needs", "why"),
            [(cell(v.runtime), cell(v.version or text.DASH), cell(v.status), cell("; ".join(v.needs)), cell(v.reason))
             for v in plan.runtimes.verdicts],
        )  # fmt: skip
    if tensors is not None:
        lines += ["", "### Tensors", ""]
        lines += _rows(
            ("name", "type", "shape", "params", "bytes"),
            [(cell(t.name), cell(t.dtype), "x".join(map(str, t.shape)), f"{t.n_params:,}", text.size(t.n_bytes)) for t in select(s.tensors, tensors)],
        )
    notes = [f"- problem: {cell(p)}" for p in s.problems] + [f"- warning: {cell(w)}" for w in s.warnings]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def _field(r: FieldRow, label: str) -> tuple[str, ...]:
    left = "missing" if r.left is None else cell(plain.field_value(r.left))
    right = "missing" if r.right is None else cell(plain.field_value(r.right))
    status = r.status if r.note is None else f"{r.status} ({r.note})"
    if r.status == "different":
        return (f"**{label}**", f"**{left}**", f"**{right}**", f"**{cell(status)}**")
    return (label, left, right, cell(status))


def compare_markdown(c: Comparison) -> str:
    """The comparison as markdown sections."""
    lines = [f"**left:** {cell(plain.overview_line(c.left))}  ", f"**right:** {cell(plain.overview_line(c.right))}", ""]
    lines += ["### Architecture", ""]
    lines += _rows(
        ("field", "left", "right", "status"),
        [_field(r, plain.FIELD_LABELS.get(r.field, r.field)) for r in c.architecture if r.left is not None or r.right is not None],
    )
    lines += ["", "### Totals", ""]
    lines += _rows(("", "left", "right", "difference"), [(r.field, plain.total_value(r, r.left), plain.total_value(r, r.right), plain.difference(r)) for r in c.totals])
    lines += ["", "### Tensors", ""]
    lines.append(
        f"{len(c.pairs):,} matched, {len(c.only_left):,} only left, {len(c.only_right):,} only right, "
        f"{len(c.shape_mismatch):,} shape mismatch(es); naming: {cell(c.naming)}."
    )
    for label, names in (("only left", c.only_left), ("only right", c.only_right)):
        if names:
            lines += ["", f"- {label}: " + ", ".join(f"`{text.clean(n).replace('`', '')}`" for n in names)]
    for u in c.unpaired:
        lines.append(f"- {u.side} only, explained: `{text.clean(u.name).replace('`', '')}`: {cell(u.reason)}")
    if c.shape_mismatch:
        lines += [""] + _rows(
            ("tensor", "left shape", "right shape"),
            [(cell(p.key), "x".join(map(str, p.left_shape)), "x".join(map(str, p.right_shape))) for p in c.shape_mismatch],
        )
    lines += ["", "### Quantization by layer", ""]
    lines += _rows(
        ("layer", "tensors", "left types", "right types", "left bytes", "right bytes", "left bpw", "right bpw"),
        [
            ("other" if lq.layer is None else str(lq.layer), str(len(lq.pairs)), cell(plain.type_mix(lq.pairs, "left")),
             cell(plain.type_mix(lq.pairs, "right")), text.size(lq.left_bytes), text.size(lq.right_bytes),
             text.bpw(lq.left_bpw), text.bpw(lq.right_bpw))
            for lq in c.layers
        ],
    )  # fmt: skip
    tok = c.tokenizer
    if tok is not None:
        rows = [_field(r, r.field.replace("_", " ")) for r in tok.rows if r.left is not None or r.right is not None]
        rows += [_field(r, f"{r.field} token") for r in tok.special]
        same = {True: "identical", False: "**different**", None: "not comparable"}[tok.tokens_identical]
        rows += [("token list", "", "", same), ("chat template", "", "", tok.chat_template)]
        lines += ["", "### Tokenizer", ""] + _rows(("field", "left", "right", "status"), rows)
        if tok.template_diff:
            diff = "\n".join(text.clean(line) for line in tok.template_diff.rstrip("\n").split("\n"))
            lines += ["", "```diff", diff.replace("```", "` ` `"), "```"]
    if c.values is not None and c.layer_values is not None:
        how = f"{c.sample} sampled rows per tensor" if c.sample else "all rows"
        lines += ["", f"### Values by layer (matrices; {how})", ""]
        lines += _rows(
            ("layer", "rows", "cosine", "rel RMS", "max abs"),
            [("other" if v.layer is None else str(v.layer), f"{v.rows:,}", plain.cosine(v.cosine), plain.rel_rms(v.rel_rms), plain.max_abs(v.max_abs)) for v in c.layer_values],
        )
        lines += ["", "### Values by tensor", ""]
        lines += _rows(
            ("tensor", "cosine", "rel RMS", "max abs"),
            [(cell(v.key), plain.cosine(v.cosine), plain.rel_rms(v.rel_rms), plain.max_abs(v.max_abs)) if v.skipped is None else (cell(v.key), "-", "-", cell(f"not compared: {v.skipped}")) for v in c.values],
        )
    diffs = c.differences
    lines += ["", "### Differences" if diffs else "### No differences", ""]
    lines += [f"- {cell(d)}" for d in diffs]
    lines += [f"- note: {cell(n)}" for n in c.notes]
    return "\n".join(lines) + "\n"

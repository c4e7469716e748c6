"""A ``Comparison`` as GitHub markdown, for an issue or a model card."""

from __future__ import annotations

from ..compare.records import Comparison, FieldRow
from . import text
from .terminal.compare import _value, cosine, difference, max_abs, rel_rms, total_value, type_mix
from .markdown import _rows, cell
from .terminal.inspect import FIELD_LABELS, overview


def _field(r: FieldRow, label: str) -> tuple[str, ...]:
    left = "missing" if r.left is None else cell(_value(r.left))
    right = "missing" if r.right is None else cell(_value(r.right))
    status = r.status if r.note is None else f"{r.status} ({r.note})"
    if r.status == "different":
        return (f"**{label}**", f"**{left}**", f"**{right}**", f"**{cell(status)}**")
    return (label, left, right, cell(status))


def compare_markdown(c: Comparison) -> str:
    """The comparison as markdown sections."""
    lines = [f"**left:** {cell(overview(c.left).plain)}  ", f"**right:** {cell(overview(c.right).plain)}", ""]
    lines += ["### Architecture", ""]
    lines += _rows(
        ("field", "left", "right", "status"),
        [_field(r, FIELD_LABELS.get(r.field, r.field)) for r in c.architecture if r.left is not None or r.right is not None],
    )
    lines += ["", "### Totals", ""]
    lines += _rows(("", "left", "right", "difference"), [(r.field, total_value(r, r.left), total_value(r, r.right), difference(r)) for r in c.totals])
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
            ("other" if lq.layer is None else str(lq.layer), str(len(lq.pairs)), cell(type_mix(lq.pairs, "left")),
             cell(type_mix(lq.pairs, "right")), text.size(lq.left_bytes), text.size(lq.right_bytes),
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
            [("other" if v.layer is None else str(v.layer), f"{v.rows:,}", cosine(v.cosine), rel_rms(v.rel_rms), max_abs(v.max_abs)) for v in c.layer_values],
        )
        lines += ["", "### Values by tensor", ""]
        lines += _rows(
            ("tensor", "cosine", "rel RMS", "max abs"),
            [(cell(v.key), cosine(v.cosine), rel_rms(v.rel_rms), max_abs(v.max_abs)) if v.skipped is None else (cell(v.key), "-", "-", cell(f"not compared: {v.skipped}")) for v in c.values],
        )
    diffs = c.differences
    lines += ["", "### Differences" if diffs else "### No differences", ""]
    lines += [f"- {cell(d)}" for d in diffs]
    lines += [f"- note: {cell(n)}" for n in c.notes]
    return "\n".join(lines) + "\n"

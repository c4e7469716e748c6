"""Summaries and comparisons as GitHub markdown, for pasting into an issue or a model card (no rich here)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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


def _rows(header: tuple[str, ...], rows: Sequence[Sequence[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def inspect_markdown(s: ModelSummary, *, tensors: str | None = None, plan: Plan | None = None) -> str:
    """The inspect summary as markdown sections; with ``tensors``, the tensor table alone (as the terminal)."""
    if tensors is not None:
        chosen = select(s.tensors, tensors)
        lines = [f"### Tensors ({len(chosen):,})", ""]
        lines += _rows(
            ("name", "type", "shape", "params", "bytes", "offset"),
            [(cell(t.name), cell(t.dtype), "x".join(map(str, t.shape)), f"{t.n_params:,}", text.size(t.n_bytes), f"{t.offset:,}") for t in chosen],
        )
        return "\n".join(lines) + "\n"
    a, q, tok = s.architecture, s.quantization, s.tokenizer
    lines = [f"**{cell(plain.overview_line(s))}**", "", "### Architecture", ""]
    fields = [(plain.FIELD_LABELS[f], cell(plain.field_text(a, f))) for f in a.FIELDS if getattr(a, f) is not None or f not in plain.OPTIONAL_FIELDS]
    fields += [(f"{cell(tower)} tower", cell(text.number(v))) for tower, v in a.towers.items()]
    lines += _rows(("field", "value"), fields)
    lines += ["", "### Quantization" if plain.quantized(q) else "### Dtypes", ""]
    lines += _rows(
        ("type", "tensors", "params", "bytes", "share", "bits/weight"),
        [(cell(r.dtype), f"{r.tensors:,}", text.count(r.params), text.size(r.bytes), text.share(r.share), text.bpw(r.bits_per_weight)) for r in q.rows]
        + [("**total**", f"{len(s.tensors):,}", text.count(s.parameters.total), text.size(q.total_bytes), "", text.bpw(q.bits_per_weight))],
    )  # fmt: skip
    if q.file_type and plain.quantized(q):
        lines += ["", f"file type {cell(q.file_type)}"]
    elif q.method:
        shown = "".join(f", {k}={text.number(v)}" for k, v in q.details.items() if k in ("bits", "fmt", "group_size", "weight_block_size"))
        lines += ["", cell(f"quantization {q.method}{shown}")]
    if tok is not None:
        rows = [("model", cell(text.number(tok.model)))]
        if tok.pre:
            rows.append(("pre-tokenizer", cell(tok.pre)))
        rows.append(("vocab size", text.number(tok.vocab_size)))
        if tok.merges is not None:
            rows.append(("merges", text.number(tok.merges)))
        if tok.added_tokens is not None:
            rows.append(("added tokens", text.number(tok.added_tokens)))
        rows += [(f"{cell(r)} token", f"{cell(repr(sp.text)) if sp.text is not None else text.DASH} (id {text.token_id(sp.id)})") for r, sp in tok.special.items()]
        templates = ", ".join(f"{cell(n)} ({len(v):,} chars)" for n, v in tok.chat_templates.items())
        rows.append(("chat template", templates or "none"))
        lines += ["", "### Tokenizer", ""] + _rows(("field", "value"), rows)
    else:
        lines += ["", "Tokenizer: none found"]
    lines += ["", "### Files", ""] + _rows(("file", "role", "size"), [(cell(Path(f.path).name), f.role, text.size(f.size)) for f in s.files])
    if plan is not None:
        lines += ["", "### Will it run", ""] + _rows(("", ""), [(label, cell(value)) for label, value in plain.brief_rows(plan)])
        lines += ["", "#### Runtimes", ""] + _rows(
            ("runtime", "version", "verdict", "needs", "why"),
            [(cell(v.runtime), cell(v.version or text.DASH), cell(v.status), cell("; ".join(v.needs)), cell(v.reason))
             for v in plan.runtimes.verdicts],
        )  # fmt: skip
    fetched = plain.fetched_text(s.fetched)
    if fetched:
        lines += ["", cell(fetched)]
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
    if c.unrelated:
        lines += ["", "### Different models", "", cell("; ".join(c.unrelated)) + "."]
        lines += ["", "### Differences", ""] + [f"- {cell(d)}" for d in c.differences]
        return "\n".join(lines) + "\n"
    lines += ["", "### Tensors", ""]
    lines.append(
        f"{len(c.pairs):,} matched, {len(c.only_left):,} only left, {len(c.only_right):,} only right, "
        f"{len(c.shape_mismatch):,} shape mismatch(es); naming: {cell(c.naming)}."
    )
    for label, names in (("only left", c.only_left), ("only right", c.only_right)):
        if names:
            lines += ["", f"- {label}: " + ", ".join(f"`{text.clean(n).replace('`', '')}`" for n in names)]
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
        same = {True: "identical", False: "expected" if tok.tokens_expected else "**different**", None: "not comparable"}[tok.tokens_identical]
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
    if c.expected:
        lines += ["", "### Expected from conversion (not differences)", ""] + [f"- {cell(e)}" for e in c.expected]
    diffs = c.differences
    lines += ["", "### Differences" if diffs else "### No differences", ""]
    lines += [f"- {cell(d)}" for d in diffs]
    lines += [f"- note: {cell(n)}" for n in c.notes]
    return "\n".join(lines) + "\n"

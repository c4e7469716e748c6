"""A ``Comparison`` as rich renderables: equal rows dimmed, differing rows highlighted.

Every string that comes from a model file (names, types, token texts, templates) goes through
``terminal.t()``; this module reads no bytes.
"""

from __future__ import annotations


from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...compare.records import DIFFERENT, EQUAL, EXPECTED, Comparison, FieldRow, LayerQuant, ValueStats
from .. import text
from .. import plain
from .inspect import new_table, overview, t
from ..i18n import tr
from .layout import Flow, footer, spaced

STYLE = {EQUAL: "dim", DIFFERENT: "bold yellow", "missing": "dim italic", EXPECTED: "cyan"}
#: Rows of the worst-matching tensors shown under ``--weights`` (JSON has them all).
WORST_SHOWN = 10
#: Names listed per category of unmatched tensors before "... N more".
NAMES_SHOWN = 12



def _row_cells(r: FieldRow, label: str) -> list[Text]:
    style = STYLE[r.status]
    left = t(tr("missing"), style) if r.left is None else t(plain.field_value(r.left), style)
    right = t(tr("missing"), style) if r.right is None else t(plain.field_value(r.right), style)
    # the note is told under the table (equal rows) or under "Expected from conversion"
    status = tr(r.status) + ("*" if r.note is not None and r.status == EQUAL else "")
    return [Text(label, style=style), left, right, Text(status, style=style)]


def _notes(rows: list[tuple[str, FieldRow]]) -> RenderableType | None:
    """``* label: note`` for the equal rows whose sides are spelled differently."""
    notes = [(f"* {label}:", tr(r.note or ""), "dim") for label, r in rows if r.note is not None and r.status == EQUAL]
    return footer(notes) if notes else None


def architecture_table(c: Comparison) -> RenderableType:
    """Every normalised field on both sides; rows unknown on both sides are left out."""
    table = new_table("Architecture", "field", "left", "right", "")
    shown = []
    for r in c.architecture:
        if r.left is None and r.right is None:
            continue
        label = tr(plain.FIELD_LABELS.get(r.field, r.field))
        shown.append((label, r))
        table.add_row(*_row_cells(r, label))
    notes = _notes(shown)
    return table if notes is None else Group(table, notes)


def totals_table(c: Comparison) -> Table:
    """Parameters, tensor counts and bytes, bits per weight and file sizes, with the difference."""
    table = new_table("Totals", "", "left", "right", "difference", right=(1, 2, 3))
    for r in c.totals:
        style = STYLE[r.status]
        table.add_row(Text(r.field, style=style), Text(plain.total_value(r, r.left), style), Text(plain.total_value(r, r.right), style), Text(plain.difference(r), style))
    return table


def _names(label: str, names: tuple[str, ...] | list[str]) -> Text:
    shown = ", ".join(text.clean(n) for n in names[:NAMES_SHOWN])
    more = f" ... ({len(names) - NAMES_SHOWN} more)" if len(names) > NAMES_SHOWN else ""
    return Text.assemble((label, "bold yellow"), Text(shown + more))


def tensors_summary(c: Comparison) -> Group:
    """Counts, unmatched names, shape mismatches (what conversion explains is listed under "Expected")."""
    lines: list[RenderableType] = [
        Flow.of(tr(
            "Tensors: {matched} matched, {left} only left, {right} only right, {expected} expected from conversion, "
            "{shapes} shape mismatch(es); naming: {naming}",
            matched=f"{len(c.pairs):,}", left=f"{len(c.only_left):,}", right=f"{len(c.only_right):,}",
            expected=f"{len(c.unpaired):,}", shapes=f"{len(c.shape_mismatch):,}", naming=c.naming,
        ))
    ]
    if c.only_left:
        lines.append(_names(tr("only left") + ": ", c.only_left))
    if c.only_right:
        lines.append(_names(tr("only right") + ": ", c.only_right))
    if c.shape_mismatch:
        table = new_table("Shape mismatches", "tensor", "left shape", "right shape")
        for p in c.shape_mismatch:
            table.add_row(t(p.key), _shape(p.left_shape), _shape(p.right_shape))
        lines.append(table)
    return Group(*lines)


def expected_view(c: Comparison) -> RenderableType | None:
    """What differs because llama.cpp's converter changes it, each with the reason (not differences)."""
    by_reason: dict[str, list[str]] = {}
    for u in c.unpaired:
        by_reason.setdefault(u.reason, []).append(f"{u.name} ({tr(u.side + ' only')})")
    rows = [(tr("tensors") + ":", f"{', '.join(names)}: {tr(reason)}", "cyan") for reason, names in by_reason.items()]
    tok = c.tokenizer
    labelled = [(tr(plain.FIELD_LABELS.get(r.field, r.field)), r) for r in c.architecture]
    if tok is not None:
        labelled += [(tr({"pre": "pre-tokenizer"}.get(r.field, r.field.replace("_", " "))), r) for r in tok.rows]
        labelled += [(tr("{role} token", role=r.field), r) for r in tok.special]
    rows += [(label + ":", tr(r.note or ""), "cyan") for label, r in labelled if r.status == EXPECTED]
    if tok is not None and tok.tokens_identical is False and tok.tokens_expected:
        rows.append((tr("token list") + ":", tr(tok.tokens_expected), "cyan"))
    if not rows:
        return None
    return Group(Text(tr("Expected from conversion (not differences)"), style="bold"), footer(rows))


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def layers_table(c: Comparison) -> Table:
    """Per block: the types of its matched tensors on both sides and their bits per weight."""
    table = new_table("Quantization by layer", "layer", "left types", "right types", "left bpw", "right bpw", right=(3, 4))
    for lq in c.layers:
        style = "dim" if all(p.type_equal for p in lq.pairs) else ""
        table.add_row(
            _layer(lq), t(plain.type_mix(lq.pairs, "left"), style), t(plain.type_mix(lq.pairs, "right"), style),
            text.bpw(lq.left_bpw), text.bpw(lq.right_bpw),
        )  # fmt: skip
    return table


def _layer(lq: LayerQuant | ValueStats) -> str:
    return tr("other") if lq.layer is None else str(lq.layer)


def tokenizer_table(c: Comparison) -> RenderableType:
    """Type, vocabulary, special tokens, token-list identity and chat template, side by side."""
    tok = c.tokenizer
    if tok is None:
        return Text("Tokenizer: neither side has one", style="dim")
    table = new_table("Tokenizer", "field", "left", "right", "")
    shown = []
    for r in tok.rows:
        if r.left is None and r.right is None:
            continue
        label = tr({"pre": "pre-tokenizer"}.get(r.field, r.field.replace("_", " ")))
        shown.append((label, r))
        table.add_row(*_row_cells(r, label))
    for r in tok.special:
        label = tr("{role} token", role=r.field)
        shown.append((label, r))
        table.add_row(*_row_cells(r, label))
    same = {True: ("identical", "dim"), False: ("different", "bold yellow"), None: ("not comparable", "dim italic")}
    word, style = same[tok.tokens_identical]
    if tok.tokens_identical is False and tok.tokens_expected:
        word, style = EXPECTED, STYLE[EXPECTED]
    table.add_row(Text(tr("token list"), style=style), "", "", Text(tr(word), style=style))
    style = "bold yellow" if tok.chat_template == "different" else "dim"
    table.add_row(Text(tr("chat template"), style=style), "", "", Text(tr(tok.chat_template), style=style))
    notes = _notes(shown)
    if tok.tokens_identical is None:
        notes = Group(*(n for n in (notes, Text(tr("token list not comparable: a side lacks the full list"), style="dim")) if n is not None))
    if tok.template_diff is None:
        return table if notes is None else Group(table, notes)
    diff = Text()
    for line in tok.template_diff.splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "cyan" if line.startswith("@@") else ""
        diff.append_text(t(line, style))
        diff.append("\n")
    return Group(table, Text("Chat template diff", style="bold"), diff)


def values_tables(c: Comparison) -> list[RenderableType]:
    """``--weights``: per block, then the worst-matching tensors and any that could not be compared."""
    if c.values is None or c.layer_values is None:
        return []
    how = tr("{n} sampled rows per tensor", n=c.sample) if c.sample else tr("all rows")
    by_layer = new_table(tr("Values by layer ({how}, error relative to left)", how=how), "layer", "rows", "cosine", "rel RMS", "max abs", right=(1, 2, 3, 4))
    for v in c.layer_values:
        by_layer.add_row(_layer(v), f"{v.rows:,}", plain.cosine(v.cosine), plain.rel_rms(v.rel_rms), plain.max_abs(v.max_abs))
    compared = [v for v in c.values if v.skipped is None]
    worst = sorted(compared, key=lambda v: (v.cosine if v.cosine is not None else -2.0))[:WORST_SHOWN]
    title = tr("Lowest cosine ({n} of {total} tensors compared)", n=len(worst), total=len(compared))
    table = new_table(title, "tensor", "cosine", "rel RMS", "max abs", right=(1, 2, 3))
    for v in worst:
        table.add_row(t(v.key), plain.cosine(v.cosine), plain.rel_rms(v.rel_rms), plain.max_abs(v.max_abs))
    out: list[RenderableType] = [by_layer, table]
    for v in c.values:
        if v.skipped is not None:
            out.append(Text.assemble((tr("not compared") + ": ", "yellow"), t(v.key), ": ", t(tr(v.skipped))))
    return out


def differences(c: Comparison) -> list[RenderableType]:
    """What differs, one line each, then notes and each side's own problems."""
    diffs = c.differences
    if diffs:
        out: list[RenderableType] = [Text(tr("Differences"), style="bold")]
    else:
        out = [Text(tr("No differences (beyond what conversion changes)") if c.expected else tr("No differences"), style="bold green")]
    out += [Text.assemble("  ", t(tr(d), "yellow")) for d in diffs]
    rows = [(tr("note:"), tr(n), "dim") for n in c.notes]
    rows += [(tr("problem ({side}):", side=tr(side)), p, "bold red") for side, s in (("left", c.left), ("right", c.right)) for p in s.problems]
    if rows:
        out.append(footer(rows))
    return out


def unrelated_view(c: Comparison) -> RenderableType:
    """The short verdict for two different models."""
    return Group(
        Text(tr("Different models"), style="bold red"),
        Flow.of("; ".join(c.unrelated) + ". " + tr("Not one model in two formats or quantizations: tensors, layers and tokenizer are not compared here (--json has everything).")),
    )


def compare_view(c: Comparison) -> Group:
    """The default ``mfi compare`` screen (two different models: a short verdict)."""
    lw = max(len(tr("left")), len(tr("right"))) + 2
    heads = Group(overview(c.left, lead=Text(tr("left").ljust(lw), style="bold")), overview(c.right, lead=Text(tr("right").ljust(lw), style="bold")))
    if c.unrelated:
        return spaced([heads, unrelated_view(c), architecture_table(c), totals_table(c)])
    return spaced([
        heads, architecture_table(c), totals_table(c), tensors_summary(c), layers_table(c), tokenizer_table(c),
        *values_tables(c), expected_view(c), Group(*differences(c)),
    ])  # fmt: skip

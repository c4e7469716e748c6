"""A ``Comparison`` as rich renderables: equal rows dimmed, differing rows highlighted.

Every string that comes from a model file (names, types, token texts, templates) goes through
``terminal.t()``; this module reads no bytes.
"""

from __future__ import annotations


from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...compare.records import DIFFERENT, EQUAL, Comparison, FieldRow, LayerQuant, ValueStats
from .. import text
from .. import plain
from .inspect import new_table, overview, t

STYLE = {EQUAL: "dim", DIFFERENT: "bold yellow", "missing": "dim italic"}
#: Rows of the worst-matching tensors shown under ``--weights`` (JSON has them all).
WORST_SHOWN = 10
#: Names listed per category of unmatched tensors before "... N more".
NAMES_SHOWN = 12



def _row_cells(r: FieldRow, label: str) -> list[Text]:
    style = STYLE[r.status]
    left = t("missing", style) if r.left is None else t(plain.field_value(r.left), style)
    right = t("missing", style) if r.right is None else t(plain.field_value(r.right), style)
    status = r.status if r.note is None else f"{r.status} ({r.note})"
    return [Text(label, style=style), left, right, t(status, style)]


def architecture_table(c: Comparison) -> Table:
    """Every normalised field on both sides; rows unknown on both sides are left out."""
    table = new_table("Architecture", "field", "left", "right", "")
    for r in c.architecture:
        if r.left is None and r.right is None:
            continue
        table.add_row(*_row_cells(r, plain.FIELD_LABELS.get(r.field, r.field)))
    return table


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
    """Counts, unmatched names, tensors conversion explains, shape mismatches."""
    lines: list[RenderableType] = [
        Text.assemble(
            ("Tensors: ", "bold"),
            f"{len(c.pairs):,} matched, {len(c.only_left):,} only left, {len(c.only_right):,} only right, "
            f"{len(c.shape_mismatch):,} shape mismatch(es); naming: ",
            t(c.naming),
        )
    ]
    if c.only_left:
        lines.append(_names("only left: ", c.only_left))
    if c.only_right:
        lines.append(_names("only right: ", c.only_right))
    by_reason: dict[tuple[str, str], list[str]] = {}
    for u in c.unpaired:
        by_reason.setdefault((u.side, u.reason), []).append(u.name)
    for (side, reason), names in by_reason.items():
        lines.append(Text.assemble((f"{side} only, explained: ", "dim"), t(reason, "dim"), Text(": ", style="dim"), _names("", names)))
    if c.shape_mismatch:
        table = new_table("Shape mismatches", "tensor", "left shape", "right shape")
        for p in c.shape_mismatch:
            table.add_row(t(p.key), _shape(p.left_shape), _shape(p.right_shape))
        lines.append(table)
    return Group(*lines)


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(str(d) for d in shape) or "scalar"


def layers_table(c: Comparison) -> Table:
    """Per block: the types of its matched tensors on both sides, bytes and bits per weight."""
    table = new_table("Quantization by layer", "layer", "left types", "right types", "left size", "right size", right=(3, 4))
    for lq in c.layers:
        style = "dim" if all(p.type_equal for p in lq.pairs) else ""
        table.add_row(
            _layer(lq), t(plain.type_mix(lq.pairs, "left"), style), t(plain.type_mix(lq.pairs, "right"), style),
            f"{text.size(lq.left_bytes)}, {text.bpw(lq.left_bpw)} bpw", f"{text.size(lq.right_bytes)}, {text.bpw(lq.right_bpw)} bpw",
        )  # fmt: skip
    return table


def _layer(lq: LayerQuant | ValueStats) -> str:
    return "other" if lq.layer is None else str(lq.layer)


def tokenizer_table(c: Comparison) -> RenderableType:
    """Type, vocabulary, special tokens, token-list identity and chat template, side by side."""
    tok = c.tokenizer
    if tok is None:
        return Text("Tokenizer: neither side has one", style="dim")
    table = new_table("Tokenizer", "field", "left", "right", "")
    for r in tok.rows:
        if r.left is None and r.right is None:
            continue
        table.add_row(*_row_cells(r, r.field.replace("_", " ")))
    for r in tok.special:
        table.add_row(*_row_cells(r, f"{r.field} token"))
    same = {True: ("identical", "dim"), False: ("different", "bold yellow"), None: ("not comparable (a side lacks the full list)", "dim italic")}
    word, style = same[tok.tokens_identical]
    table.add_row(Text("token list", style=style), "", "", Text(word, style=style))
    style = "bold yellow" if tok.chat_template == "different" else "dim"
    table.add_row(Text("chat template", style=style), "", "", Text(tok.chat_template, style=style))
    if tok.template_diff is None:
        return table
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
    how = f"{c.sample} sampled rows per tensor" if c.sample else "all rows"
    by_layer = new_table(f"Values by layer (matrices; {how}; error relative to the left)", "layer", "rows", "cosine", "rel RMS", "max abs", right=(1, 2, 3, 4))
    for v in c.layer_values:
        by_layer.add_row(_layer(v), f"{v.rows:,}", plain.cosine(v.cosine), plain.rel_rms(v.rel_rms), plain.max_abs(v.max_abs))
    compared = [v for v in c.values if v.skipped is None]
    worst = sorted(compared, key=lambda v: (v.cosine if v.cosine is not None else -2.0))[:WORST_SHOWN]
    title = f"Lowest cosine ({len(worst)} of {len(compared)} tensors compared)"
    table = new_table(title, "tensor", "cosine", "rel RMS", "max abs", right=(1, 2, 3))
    for v in worst:
        table.add_row(t(v.key), plain.cosine(v.cosine), plain.rel_rms(v.rel_rms), plain.max_abs(v.max_abs))
    out: list[RenderableType] = [by_layer, table]
    for v in c.values:
        if v.skipped is not None:
            out.append(Text.assemble(("not compared: ", "yellow"), t(v.key), ": ", t(v.skipped)))
    return out


def differences(c: Comparison) -> list[RenderableType]:
    """What differs, one line each, then notes and each side's own problems."""
    diffs = c.differences
    out: list[RenderableType] = [Text("Differences", style="bold") if diffs else Text("No differences", style="bold green")]
    out += [Text.assemble("  ", t(d, "yellow")) for d in diffs]
    out += [Text.assemble(("note: ", "dim"), t(n, "dim")) for n in c.notes]
    for side, s in (("left", c.left), ("right", c.right)):
        out += [Text.assemble((f"problem ({side}): ", "bold red"), t(p)) for p in s.problems]
    return out


def compare_view(c: Comparison) -> Group:
    """The default ``mfi compare`` screen."""
    parts: list[RenderableType] = [
        Text.assemble(("left   ", "bold"), overview(c.left)),
        Text.assemble(("right  ", "bold"), overview(c.right)),
        Text(),
        architecture_table(c),
        totals_table(c),
        tensors_summary(c),
        Text(),
        layers_table(c),
        tokenizer_table(c),
        *values_tables(c),
        Text(),
        *differences(c),
    ]
    return Group(*parts)

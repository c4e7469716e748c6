"""``ModelSummary`` to rich renderables. Every string from a model file becomes ``Text``, escaped."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from ...records import ArrayValue, Fetched, ModelSummary
from .. import text
from .. import plain
from ..i18n import count, tr
from .layout import Flow, footer, spaced
from ..json.inspect import select



def t(value: object, style: str = "") -> Text:
    """Untrusted text as a rich ``Text`` (never markup), control characters escaped."""
    return Text(text.clean(value), style=style)


def new_table(title: str, *columns: str, right: tuple[int, ...] = ()) -> Table:
    """A plain left-titled table; ``right`` lists the right-aligned (numeric) columns."""
    # titles and column names are translated here (a title built with tr() passes through unchanged)
    table = Table(title=tr(title), title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, c in enumerate(tr(c) if c else c for c in columns):
        # numbers keep their unit on their line: right-aligned (numeric) columns never wrap
        table.add_column(c, justify="right" if i in right else "left", overflow="fold", no_wrap=i in right)
    return table


def overview(s: ModelSummary, lead: Text | None = None) -> Flow:
    """One line (two on a narrow screen, broken between phrases): what it is, how big, how stored."""
    return Flow([Text(p, style="bold") for p in plain.overview_parts(s)], " · ", lead=lead)


def architecture_table(s: ModelSummary) -> Table:
    """Normalised structure fields, plus sub-model towers of multimodal models."""
    table = new_table("Architecture", "field", "value")
    a = s.architecture
    for f in a.FIELDS:
        value = getattr(a, f)
        if value is None and f in plain.OPTIONAL_FIELDS:
            continue
        table.add_row(tr(plain.FIELD_LABELS[f]), t(plain.field_text(a, f)))
    for tower, fields in a.towers.items():
        table.add_row(tr(f"{tower} tower"), t(text.number(fields)))
    return table


def quant_table(s: ModelSummary) -> Table:
    """Per-type share of tensors, parameters and bytes."""
    q = s.quantization
    title = "Quantization" if plain.quantized(q) else "Dtypes"
    table = new_table(title, "type", "tensors", "params", "bytes", "share", "bits/weight", right=(1, 2, 3, 4, 5))
    for r in q.rows:
        table.add_row(t(r.dtype), f"{r.tensors:,}", count(r.params), text.size(r.bytes), text.share(r.share), text.bpw(r.bits_per_weight))
    table.add_row(
        Text(tr("total"), style="bold"), f"{len(s.tensors):,}", count(s.parameters.total),
        text.size(q.total_bytes), "", text.bpw(q.bits_per_weight),
    )  # fmt: skip
    if q.file_type and plain.quantized(q):
        table.caption = t(tr("file type {name}", name=q.file_type))
    elif q.method:
        shown = "".join(f", {k}={text.number(v)}" for k, v in q.details.items() if k in ("bits", "fmt", "group_size", "weight_block_size"))
        table.caption = t(tr("quantization {name}", name=f"{q.method}{shown}"))
    return table


def tokenizer_table(s: ModelSummary) -> Table | Text:
    """Type, vocabulary, special tokens and chat template presence."""
    tok = s.tokenizer
    if tok is None:
        return Text(tr("Tokenizer: none found"), style="dim")
    table = new_table("Tokenizer", "field", "value")
    table.add_row(tr("model"), t(text.number(tok.model)))
    if tok.pre:
        table.add_row(tr("pre-tokenizer"), t(tok.pre))
    table.add_row(tr("vocab size"), text.number(tok.vocab_size))
    if tok.merges is not None:
        table.add_row(tr("merges"), text.number(tok.merges))
    if tok.added_tokens is not None:
        table.add_row(tr("added tokens"), text.number(tok.added_tokens))
    for role, sp in tok.special.items():
        shown = repr(sp.text) if sp.text is not None else text.DASH
        table.add_row(tr("{role} token", role=role), Text.assemble(t(shown), f"  id {text.token_id(sp.id)}"))
    if tok.chat_templates:
        names = ", ".join(f"{text.clean(n)} (" + tr("{n} chars", n=f"{len(v):,}") + ")" for n, v in tok.chat_templates.items())
        table.add_row(tr("chat template"), t(names))
    else:
        table.add_row(tr("chat template"), tr("none"))
    return table


def files_table(s: ModelSummary) -> Table:
    """The files the model is made of."""
    table = new_table("Files", "file", "role", "size", right=(2,))
    for f in s.files:
        table.add_row(t(Path(f.path).name), tr(f.role), text.size(f.size))
    return table


def notes(s: ModelSummary) -> RenderableType | None:
    """Warnings, one line each (problems, which mean damage, go to stderr: see render.output)."""
    rows = []
    if s.problems:
        rows.append((tr("damaged:"), tr("{n} problem(s), details on stderr", n=len(s.problems)), "bold red"))
    rows += [(tr("warning:"), w, "yellow") for w in s.warnings]
    return footer(rows) if rows else None


def inspect_view(s: ModelSummary, architecture: RenderableType | None = None) -> Group:
    """The default ``mfi inspect`` screen (``architecture`` replaces the architecture table)."""
    arch = architecture if architecture is not None else architecture_table(s)
    return spaced([overview(s), arch, quant_table(s), tokenizer_table(s), files_table(s), notes(s), fetched_line(s.fetched)])


def fetched_line(f: Fetched | None) -> Text | None:
    """What reading a remote model cost: ``fetched 214.00 KiB in 4 requests from hf-mirror.com``."""
    line = plain.fetched_text(f)
    return None if line is None else t(line, "dim")


class TensorList:
    """``--tensors``: one line per tensor, names whole; offset then params are dropped to fit the width.

    When even the shortest table is wider than the console, it is drawn wider (print it with
    ``crop=False``): a tensor name is never wrapped or cut, so ``grep`` and ``head`` see whole rows.
    """

    #: Columns given up, in this order, when the table is wider than the console.
    DROP = ("offset", "params")

    def __init__(self, s: ModelSummary, pattern: str | None) -> None:
        self.summary, self.pattern = s, pattern

    def table(self, dropped: tuple[str, ...] = ()) -> Table:
        """The table without the ``dropped`` columns."""
        s, pattern = self.summary, self.pattern
        rows = select(s.tensors, pattern)
        title = tr("Tensors ({n} of {total})", n=f"{len(rows):,}", total=f"{len(s.tensors):,}") if pattern not in (None, "*") else tr("Tensors ({n})", n=f"{len(rows):,}")
        # Split or sharded: say which weight file (as numbered in the Files table) each offset is in.
        parts = {f.path: i for i, f in enumerate((f for f in s.files if f.role == "weights"), 1)}
        several = len(parts) > 1
        columns = [c for c in ("name", "type", "shape", "params", "bytes", "offset") if c not in dropped] + (["part"] if several else [])
        table = new_table(title, *columns, right=tuple(i for i, c in enumerate(columns) if c in ("params", "bytes", "offset", "part")))
        for column in table.columns:
            column.no_wrap = True
        for r in rows:
            cells: dict[str, str | Text] = {
                "name": t(r.name), "type": t(r.dtype), "shape": "x".join(str(d) for d in r.shape), "params": f"{r.n_params:,}",
                "bytes": text.size(r.n_bytes), "offset": f"{r.offset:,}", "part": f"{parts.get(r.file, '?')}/{len(parts)}",
            }  # fmt: skip
            table.add_row(*(cells[c] for c in columns))
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        dropped: tuple[str, ...] = ()
        table = self.table()
        need = Measurement.get(console, options.update_width(10**6), table).maximum
        for column in self.DROP:
            if need <= options.max_width:
                break
            dropped += (column,)
            table = self.table(dropped)
            need = Measurement.get(console, options.update_width(10**6), table).maximum
        yield from console.render(table, options.update_width(max(need, options.max_width)))


def tensors_table(s: ModelSummary, pattern: str | None) -> TensorList:
    """``--tensors``: one row per tensor (shape in the format's own order)."""
    return TensorList(s, pattern)


def metadata_table(s: ModelSummary) -> Table:
    """``--metadata``: every raw key; long arrays shortened to their samples."""
    table = new_table("Metadata", "key", "value")  # raw keys and values stay as the file has them
    for k, v in s.raw_metadata.items():
        if isinstance(v, ArrayValue):
            shown = ", ".join(repr(x) if isinstance(x, str) else text.number(x) for x in v.samples)
            more = "" if v.complete else f", ... ({v.count - len(v.samples):,} more)"
            value = f"[{v.elem_type.lower()} x {v.count:,}] [{shown}{more}]"
        elif isinstance(v, str) and len(v) > 300:
            value = repr(v[:300]) + f"... ({len(v):,} chars)"
        else:
            value = repr(v) if isinstance(v, str) else text.number(v)
        table.add_row(t(k), t(value))
    return table

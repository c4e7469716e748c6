"""``ModelSummary`` to rich renderables. Every string from a model file becomes ``Text``, escaped."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...records import ArrayValue, Fetched, ModelSummary
from .. import text
from .. import plain
from ..json.inspect import select



def t(value: object, style: str = "") -> Text:
    """Untrusted text as a rich ``Text`` (never markup), control characters escaped."""
    return Text(text.clean(value), style=style)


def new_table(title: str, *columns: str, right: tuple[int, ...] = ()) -> Table:
    """A plain left-titled table; ``right`` lists the right-aligned (numeric) columns."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for i, c in enumerate(columns):
        table.add_column(c, justify="right" if i in right else "left", overflow="fold")
    return table


def overview(s: ModelSummary) -> Text:
    """One line: what it is, how big, how stored."""
    return Text(plain.overview_line(s), style="bold")


def architecture_table(s: ModelSummary) -> Table:
    """Normalised structure fields, plus sub-model towers of multimodal models."""
    table = new_table("Architecture", "field", "value")
    a = s.architecture
    for f in a.FIELDS:
        value = getattr(a, f)
        if value is None and f in plain.OPTIONAL_FIELDS:
            continue
        table.add_row(plain.FIELD_LABELS[f], t(text.number(value)))
    for tower, fields in a.towers.items():
        table.add_row(f"{tower} tower", t(text.number(fields)))
    return table


def quant_table(s: ModelSummary) -> Table:
    """Per-type share of tensors, parameters and bytes."""
    q = s.quantization
    title = "Quantization" if (q.file_type or q.method) else "Dtypes"
    table = new_table(title, "type", "tensors", "params", "bytes", "share", "bits/weight", right=(1, 2, 3, 4, 5))
    for r in q.rows:
        table.add_row(t(r.dtype), f"{r.tensors:,}", text.count(r.params), text.size(r.bytes), text.share(r.share), text.bpw(r.bits_per_weight))
    table.add_row(
        Text("total", style="bold"), f"{len(s.tensors):,}", text.count(s.parameters.total),
        text.size(q.total_bytes), "", text.bpw(q.bits_per_weight),
    )  # fmt: skip
    if q.file_type:
        table.caption = t(f"file type {q.file_type}")
    elif q.method:
        shown = "".join(f", {k}={text.number(v)}" for k, v in q.details.items() if k in ("bits", "fmt", "group_size", "weight_block_size"))
        table.caption = t(f"quantization {q.method}{shown}")
    return table


def tokenizer_table(s: ModelSummary) -> Table | Text:
    """Type, vocabulary, special tokens and chat template presence."""
    tok = s.tokenizer
    if tok is None:
        return Text("Tokenizer: none found", style="dim")
    table = new_table("Tokenizer", "field", "value")
    table.add_row("model", t(text.number(tok.model)))
    if tok.pre:
        table.add_row("pre-tokenizer", t(tok.pre))
    table.add_row("vocab size", text.number(tok.vocab_size))
    if tok.merges is not None:
        table.add_row("merges", text.number(tok.merges))
    if tok.added_tokens is not None:
        table.add_row("added tokens", text.number(tok.added_tokens))
    for role, sp in tok.special.items():
        shown = repr(sp.text) if sp.text is not None else text.DASH
        table.add_row(f"{role} token", Text.assemble(t(shown), f"  id {text.number(sp.id)}"))
    if tok.chat_templates:
        names = ", ".join(f"{text.clean(n)} ({len(v):,} chars)" for n, v in tok.chat_templates.items())
        table.add_row("chat template", t(names))
    else:
        table.add_row("chat template", "none")
    return table


def files_table(s: ModelSummary) -> Table:
    """The files the model is made of."""
    table = new_table("Files", "file", "role", "size", right=(2,))
    for f in s.files:
        table.add_row(t(Path(f.path).name), f.role, text.size(f.size))
    return table


def notes(s: ModelSummary) -> list[RenderableType]:
    """Warnings, one line each (problems, which mean damage, go to stderr: see render.output)."""
    out: list[RenderableType] = []
    if s.problems:
        out.append(Text(f"{len(s.problems)} problem(s): the file is damaged (details on stderr)", style="bold red"))
    for w in s.warnings:
        out.append(Text.assemble(("warning: ", "yellow"), t(w)))
    return out


def inspect_view(s: ModelSummary, architecture: RenderableType | None = None) -> Group:
    """The default ``mfi inspect`` screen (``architecture`` replaces the architecture table)."""
    arch = architecture if architecture is not None else architecture_table(s)
    parts: list[RenderableType] = [overview(s), Text(), arch, quant_table(s), tokenizer_table(s), files_table(s)]
    extra = notes(s)
    if extra:
        parts += [Text(), *extra]
    if s.fetched is not None:
        parts += [Text(), fetched_line(s.fetched)]
    return Group(*parts)


def fetched_line(f: Fetched) -> Text:
    """What reading a remote model cost: ``fetched 214 KB in 4 requests from hf-mirror.com``."""
    host = f.endpoint.split("://", 1)[-1]
    return Text(f"fetched {text.size(f.bytes)} in {f.requests} request{'s' if f.requests != 1 else ''} from {host}", style="dim")


def tensors_table(s: ModelSummary, pattern: str | None) -> Table:
    """``--tensors``: one row per tensor (shape in the format's own order)."""
    rows = select(s.tensors, pattern)
    title = f"Tensors ({len(rows):,} of {len(s.tensors):,})" if pattern not in (None, "*") else f"Tensors ({len(rows):,})"
    # Split or sharded: say which weight file (as numbered in the Files table) each offset is in.
    parts = {f.path: i for i, f in enumerate((f for f in s.files if f.role == "weights"), 1)}
    several = len(parts) > 1
    columns = ("name", "type", "shape", "params", "bytes", "offset") + (("part",) if several else ())
    table = new_table(title, *columns, right=(3, 4, 5, 6))
    for r in rows:
        cells: list[Text | str] = [t(r.name), t(r.dtype), "x".join(str(d) for d in r.shape), f"{r.n_params:,}", text.size(r.n_bytes), f"{r.offset:,}"]
        table.add_row(*cells, *((f"{parts.get(r.file, '?')}/{len(parts)}",) if several else ()))
    return table


def metadata_table(s: ModelSummary) -> Table:
    """``--metadata``: every raw key; long arrays shortened to their samples."""
    table = new_table("Metadata", "key", "value")
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

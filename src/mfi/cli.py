"""The ``mfi`` command: parse arguments, call the library, render. Nothing else lives here.

Exit statuses: 0 fine, 1 read but damaged (or findings), 2 unreadable input or bad usage.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer
from typer.core import TyperGroup


class _Commands(TyperGroup):
    """Turns our own errors into one line on stderr and exit status 2 (``--debug``: traceback)."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        from .errors import MfiError

        try:
            return super().invoke(ctx)
        except MfiError as e:
            if ctx.params.get("debug"):
                raise
            from .render.fmt import clean

            typer.echo(f"mfi: {clean(e)}", err=True)
            ctx.exit(2)


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="mfi, the model-file inspector: what is inside a GGUF, safetensors or hub model.",
    epilog="Exit status: 0 fine, 1 read but damaged, 2 unreadable input or bad usage.",
)

Target = Annotated[str, typer.Argument(help="A .gguf or .safetensors file, an index .json, or a model folder.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine output (schema mfi.inspect/1, docs/json-schema.md).")]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Markdown for an issue or a model card.")]
TensorsOpt = Annotated[
    bool, typer.Option("--tensors", help="List tensors (name, type, shape, params, bytes, offset); GLOB narrows the list.")
]
GlobArg = Annotated[
    Optional[str], typer.Argument(metavar="[GLOB]", help="With --tensors: only tensors whose name matches this shell glob.")
]
MetadataOpt = Annotated[bool, typer.Option("--metadata", help="Show all raw metadata, long arrays shortened.")]
FullOpt = Annotated[bool, typer.Option("--full", help="With --metadata: every array element, not samples.")]


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
) -> None:
    """mfi, the model-file inspector."""


@app.command()
def inspect(
    target: Target,
    glob: GlobArg = None,
    tensors: TensorsOpt = False,
    metadata: MetadataOpt = False,
    full: FullOpt = False,
    json: JsonOpt = False,
    markdown: MarkdownOpt = False,
) -> None:
    """What a model holds: architecture, parameters, quantization, tokenizer, files.

    Examples: mfi inspect model.gguf; mfi inspect ./Qwen3-8B --tensors 'blk.0.*'; mfi inspect x.safetensors --json
    """
    pattern = (glob or "*") if tensors or glob else None
    from . import api
    from .render import output

    summary = api.inspect(target, full_metadata=full)
    output.emit_inspect(summary, as_json=json, as_markdown=markdown, tensors=pattern, metadata=metadata)
    raise typer.Exit(1 if summary.problems else 0)


@app.command()
def compare(
    left: Target,
    right: Target,
    weights: Annotated[bool, typer.Option("--weights", help="Also compare values: cosine, relative RMS and max abs error.")] = False,
    sample: Annotated[Optional[int], typer.Option("--sample", min=1, metavar="N", help="Compare N evenly spaced rows per tensor (implies --weights).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Machine output (schema mfi.compare/1, docs/compare.md).")] = False,
    markdown: MarkdownOpt = False,
    fail_on_diff: Annotated[bool, typer.Option("--fail-on-diff", help="Exit 1 when anything differs (for CI).")] = False,
    template_diff: Annotated[bool, typer.Option("--template-diff", help="Show a unified diff of differing chat templates.")] = False,
) -> None:
    """The same model across formats and quantizations, side by side.

    Examples: mfi compare ./Qwen3-8B Qwen3-8B-Q4_K_M.gguf; mfi compare a-Q8_0.gguf a-Q4_K_M.gguf --weights --sample 64
    """
    from . import api
    from .render import output

    c = api.compare(left, right, weights=weights or sample is not None, sample=sample, template_diff=template_diff)
    output.emit_compare(c, as_json=json, as_markdown=markdown)
    raise typer.Exit(1 if fail_on_diff and c.differences else 0)


def main() -> None:
    """Entry point of the ``mfi`` console script."""
    try:
        app()
    except BrokenPipeError:  # `mfi inspect x --json | head`
        sys.stderr.close()
        sys.exit(0)

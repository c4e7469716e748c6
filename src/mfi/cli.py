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
            from .render.text import clean

            typer.echo(f"mfi: {clean(e)}", err=True)
            ctx.exit(2)


app = typer.Typer(
    cls=_Commands,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="mfi, the model-file inspector: what is inside a GGUF, safetensors, PyTorch or hub model.",
    epilog="Exit status: 0 fine, 1 read but damaged (scan: findings), 2 unreadable input or bad usage.",
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
MirrorOpt = Annotated[
    Optional[str],
    typer.Option("--mirror", "--source", help="Hub for remote targets: hf, hf-mirror, modelscope, auto, or a URL (docs/hub.md)."),
]
TokenOpt = Annotated[Optional[str], typer.Option("--token", help="Access token, sent only to the chosen hub.")]
CtxOpt = Annotated[Optional[int], typer.Option("--ctx", help="Context length for the memory estimate (default: the model's maximum).")]
MemoryOpt = Annotated[Optional[str], typer.Option("--memory", help="Memory to fit (24GiB, 16G, 8000MB): prints the largest context that fits.")]
CacheOpt = Annotated[Optional[str], typer.Option("--cache-type", help="KV cache type for K and V: f16, bf16, q8_0, q4_0... (vllm: auto, fp8).")]
CacheKOpt = Annotated[Optional[str], typer.Option("--cache-type-k", help="K cache type (overrides --cache-type).")]
CacheVOpt = Annotated[Optional[str], typer.Option("--cache-type-v", help="V cache type (overrides --cache-type).")]
ParallelOpt = Annotated[int, typer.Option("--parallel", help="Parallel sequences sharing the context (llama.cpp -np).")]
RuntimeOpt = Annotated[Optional[str], typer.Option("--runtime", help="llama.cpp or vllm (default: llama.cpp for GGUF, vllm for safetensors).")]
ExplainOpt = Annotated[bool, typer.Option("--explain", help="Say what each field means and show every formula term.")]
SwaFullOpt = Annotated[bool, typer.Option("--swa-full", help="llama.cpp --swa-full: sliding-window layers cache the whole context.")]
LangOpt = Annotated[Optional[str], typer.Option("--lang", help="Language of --explain texts: en or zh (default from LANG).")]


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
    mirror: MirrorOpt = None,
    token: TokenOpt = None,
    ctx: CtxOpt = None,
    memory: MemoryOpt = None,
    cache_type: CacheOpt = None,
    cache_type_k: CacheKOpt = None,
    cache_type_v: CacheVOpt = None,
    parallel: ParallelOpt = 1,
    runtime: RuntimeOpt = None,
    swa_full: SwaFullOpt = False,
    explain: ExplainOpt = False,
    lang: LangOpt = None,
) -> None:
    """What a model holds: architecture, parameters, quantization, tokenizer, files, will it run.

    Examples: mfi inspect model.gguf; mfi inspect ./Qwen3-8B --tensors 'blk.0.*'; mfi inspect x.safetensors --json;
    mfi inspect hf://Qwen/Qwen3-8B --mirror hf-mirror (headers only, over HTTP Range requests)
    """
    pattern = (glob or "*") if tensors or glob else None
    from . import api
    from .render import output

    summary = api.inspect(target, full_metadata=full, mirror=mirror, token=token)
    asked = swa_full or parallel != 1 or any(v is not None for v in (ctx, memory, cache_type, cache_type_k, cache_type_v, runtime))
    plan = _plan(summary, ctx, memory, cache_type, cache_type_k, cache_type_v, parallel, runtime, swa_full)
    output.emit_inspect(
        summary, as_json=json, as_markdown=markdown, tensors=pattern, metadata=metadata, plan=plan,
        explain=explain, lang=lang, plan_detail=asked,
    )  # fmt: skip
    raise typer.Exit(1 if summary.problems else 0)


def _plan(summary, ctx, memory, cache_type, cache_k, cache_v, parallel, runtime, swa_full):  # type: ignore[no-untyped-def]
    """The will-it-run plan for the memory options as typed."""
    from .plan import surroundings

    opts = surroundings.plan_options(ctx=ctx, memory=memory, cache_type=cache_type, cache_type_k=cache_k, cache_type_v=cache_v,
                               parallel=parallel, runtime=runtime, swa_full=swa_full)  # fmt: skip
    return surroundings.plan(summary, opts)


@app.command()
def plan(
    target: Target,
    ctx: CtxOpt = None,
    memory: MemoryOpt = None,
    cache_type: CacheOpt = None,
    cache_type_k: CacheKOpt = None,
    cache_type_v: CacheVOpt = None,
    parallel: ParallelOpt = 1,
    runtime: RuntimeOpt = None,
    swa_full: SwaFullOpt = False,
    explain: ExplainOpt = False,
    lang: LangOpt = None,
    json: JsonOpt = False,
    mirror: MirrorOpt = None,
    token: TokenOpt = None,
) -> None:
    """Will it run, and on what: memory at a context length, runtimes, remote code, capabilities.

    Examples: mfi plan model.gguf --ctx 32768 --memory 24GiB; mfi plan ./Qwen3-8B --runtime vllm --cache-type fp8
    """
    from . import api
    from .render import output

    summary = api.inspect(target, mirror=mirror, token=token)
    result = _plan(summary, ctx, memory, cache_type, cache_type_k, cache_type_v, parallel, runtime, swa_full)
    output.emit_plan(summary, result, as_json=json, explain=explain, lang=lang)
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
    mirror: MirrorOpt = None,
    token: TokenOpt = None,
) -> None:
    """The same model across formats and quantizations, side by side.

    Examples: mfi compare ./Qwen3-8B Qwen3-8B-Q4_K_M.gguf; mfi compare a-Q8_0.gguf a-Q4_K_M.gguf --weights --sample 64
    """
    from . import api
    from .render import output

    c = api.compare(
        left, right, weights=weights or sample is not None, sample=sample, template_diff=template_diff,
        mirror=mirror, token=token,
    )  # fmt: skip
    output.emit_compare(c, as_json=json, as_markdown=markdown)
    raise typer.Exit(1 if (fail_on_diff and c.differences) or c.left.problems or c.right.problems else 0)


@app.command()
def pull(
    repo: Annotated[str, typer.Argument(help="org/name, hf://org/name[@rev][/path] or ms://org/name.")],
    patterns: Annotated[Optional[list[str]], typer.Argument(help="Files or shell globs to fetch (whole repo path; * crosses /).")] = None,
    mirror: MirrorOpt = None,
    include: Annotated[Optional[list[str]], typer.Option("--include", help="Glob of files to fetch (repeatable).")] = None,
    exclude: Annotated[Optional[list[str]], typer.Option("--exclude", help="Glob of files to leave out (repeatable).")] = None,
    quant: Annotated[Optional[str], typer.Option("--quant", help="One GGUF quantization, e.g. Q4_K_M (all split parts).")] = None,
    revision: Annotated[Optional[str], typer.Option("--revision", help="Branch, tag or commit (default main; ModelScope master).")] = None,
    local_dir: Annotated[Optional[str], typer.Option("--local-dir", help="Real files in this folder instead of the hub cache.")] = None,
    token: TokenOpt = None,
    max_workers: Annotated[int, typer.Option("--max-workers", min=1, max=64, help="Files downloaded at once.")] = 4,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan and the weights' headers; download nothing.")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Re-check an existing download against the hub's sizes and hashes.")] = False,
    allow_redirects: Annotated[bool, typer.Option("--allow-redirects", help="Follow a redirect off the chosen mirror (no token sent).")] = False,
) -> None:
    """Download a repo (or some files) from Hugging Face, hf-mirror or ModelScope; resumable, verified.

    Examples: mfi pull Qwen/Qwen3-8B --mirror hf-mirror; mfi pull org/Model-GGUF --quant Q4_K_M --dry-run;
    mfi pull ms://Qwen/Qwen3-8B --local-dir ./qwen3 --verify
    """
    from . import api
    from .render import output

    pats = list(patterns or []) + list(include or [])
    kwargs = dict(mirror=mirror, revision=revision, local_dir=local_dir, token=token, exclude=exclude or [],
                  quant=quant, max_workers=max_workers, dry_run=dry_run, verify=verify, allow_redirects=allow_redirects)  # fmt: skip
    report = output.emit_pull(lambda progress: api.pull(repo, pats, progress=progress, **kwargs), live=not (dry_run or verify))
    raise typer.Exit(1 if report.problems else 0)


FailOnOpt = Annotated[
    str, typer.Option("--fail-on", metavar="SEVERITY", help="Exit 1 when a finding is at least this severe: critical, high, medium, low.")
]
InfoOpt = Annotated[bool, typer.Option("--all", help="Also list info findings (allow-listed pickles, files not checked).")]
ScanJsonOpt = Annotated[bool, typer.Option("--json", help="Machine output (schema mfi.scan/1, docs/scan.md).")]


@app.command()
def scan(
    target: Target, json: ScanJsonOpt = False, fail_on: FailOnOpt = "low", all: InfoOpt = False,
    mirror: MirrorOpt = None, token: TokenOpt = None,
) -> None:  # fmt: skip
    """Hostile content, found without running anything. Exit 0 clean, 1 findings, 2 unreadable.

    Pickle imports, chat-template injection, remote code, damaged files, path-escaping names.

    Examples: mfi scan pytorch_model.bin; mfi scan ./model --json; mfi scan hf://org/name --fail-on high
    """
    from . import api
    from .errors import UsageError
    from .render import output

    if fail_on not in ("critical", "high", "medium", "low"):
        raise UsageError("--fail-on", f"{fail_on!r} is not one of critical, high, medium, low")
    report = api.scan(target, mirror=mirror, token=token)
    output.emit_scan(report, as_json=json, threshold=fail_on, show_info=all)
    raise typer.Exit(1 if report.fails(fail_on) else 0)


def main() -> None:
    """Entry point of the ``mfi`` console script."""
    try:
        app()
    except BrokenPipeError:  # `mfi inspect x --json | head`
        sys.stderr.close()
        sys.exit(0)

"""The ``mfi`` command: parse arguments, call ``mfi.api``, render. Nothing else lives here.

Exit statuses: 0 fine, 1 read but damaged (or findings), 2 unreadable input or bad usage.
"""

from __future__ import annotations

import functools
import inspect as pyinspect
import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional

import click
import typer
from typer.core import TyperGroup


class _Commands(TyperGroup):
    """Turns our own errors into one line on stderr and exit status 2 (``--debug``: traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        from .errors import Interrupted, MfiError, UsageError

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C outside a download (a pull turns it into Interrupted itself)
            typer.echo("mfi: interrupted", err=True)
            ctx.exit(130)
        except MfiError as e:
            if ctx.params.get("debug"):
                raise
            from .render.text import clean

            source = e.source
            if isinstance(e, UsageError) and source in _FLAGS:  # the library names parameters; say the flag
                source = _FLAGS[source]
            typer.echo(f"mfi: {clean(source)}: {clean(e.problem)}" + (f" at byte {e.offset}" if e.offset is not None else ""), err=True)
            ctx.exit(130 if isinstance(e, Interrupted) else 2)


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
PlanJsonOpt = Annotated[bool, typer.Option("--json", help="Machine output (schema mfi.plan/1, docs/json-schema.md).")]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Markdown for an issue or a model card.")]
MirrorOpt = Annotated[
    Optional[str],
    typer.Option("--mirror", "--source", help="Hub for remote targets: hf, hf-mirror, modelscope, auto, or a URL (docs/hub.md)."),
]
TokenOpt = Annotated[Optional[str], typer.Option("--token", help="Access token, sent only to the chosen hub.")]
TimeoutOpt = Annotated[
    Optional[float],
    typer.Option("--timeout", min=0.1, metavar="SECONDS", help="Deadline of the command's network work (default 300; pull downloads: none)."),
]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Read remote headers again, not the ones kept from an earlier inspect.")]
ExplainOpt = Annotated[bool, typer.Option("--explain", help="Say what each field means and show every formula term.")]
LangOpt = Annotated[Optional[str], typer.Option("--lang", help="Language of --explain texts: en or zh (default from LANG).")]

#: The memory options of ``inspect`` and ``plan``, declared once: name -> (annotation, default).
#: Each is a keyword of ``api.plan`` by the same name.
PLAN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "ctx": (Annotated[Optional[str], typer.Option("--ctx", help="Context length for the memory estimate: 32768, 32k, 128K (k = 1024; default: the model's maximum).")], None),
    "memory": (Annotated[Optional[str], typer.Option("--memory", help="Memory to fit, with a unit: 24GiB or 24G (x 1024^3), 24GB (x 1000^3), 512MiB: prints the largest context that fits.")], None),
    "cache_type": (Annotated[Optional[str], typer.Option("--cache-type", help="KV cache type for K and V: f16, bf16, q8_0, q4_0... (vllm: auto, fp8).")], None),
    "cache_type_k": (Annotated[Optional[str], typer.Option("--cache-type-k", help="K cache type (overrides --cache-type).")], None),
    "cache_type_v": (Annotated[Optional[str], typer.Option("--cache-type-v", help="V cache type (overrides --cache-type).")], None),
    "parallel": (Annotated[int, typer.Option("--parallel", help="Parallel sequences sharing the context (llama.cpp -np).")], 1),
    "runtime": (Annotated[Optional[str], typer.Option("--runtime", help="llama.cpp or vllm (default: llama.cpp for GGUF, vllm for safetensors).")], None),
    "swa_full": (Annotated[bool, typer.Option("--swa-full", help="llama.cpp --swa-full: sliding-window layers cache the whole context.")], False),
    "gpu_memory_utilization": (Annotated[float, typer.Option("--gpu-memory-utilization", help="vLLM's share of the GPU (default 0.9), with --memory.")], 0.9),
    "mem_fraction_static": (Annotated[Optional[float], typer.Option("--mem-fraction-static", help="SGLang's static share of the GPU (default: SGLang's own for the memory).")], None),
}  # fmt: skip
#: Parameter names the library's ``UsageError`` uses, as the flags a user typed.
_FLAGS = {name: "--" + name.replace("_", "-") for name in (*PLAN_OPTIONS, "sample", "fail_on", "allow_redirects")}


def with_plan_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add ``PLAN_OPTIONS`` to a command's parameters; the command gets them as one dict, ``plan_options``."""
    sig = pyinspect.signature(command, eval_str=True)
    params = [p for p in sig.parameters.values() if p.name != "plan_options"]
    params += [pyinspect.Parameter(n, pyinspect.Parameter.KEYWORD_ONLY, default=d, annotation=a) for n, (a, d) in PLAN_OPTIONS.items()]

    @functools.wraps(command)
    def run(**kwargs: Any) -> None:
        command(plan_options={n: kwargs.pop(n) for n in PLAN_OPTIONS}, **kwargs)

    run.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]  # typer reads it; functions take new attributes
    return run


@app.callback(invoke_without_command=False)
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks instead of one-line errors.")] = False,
) -> None:
    """mfi, the model-file inspector."""


@app.command()
@with_plan_options
def inspect(
    target: Target,
    glob: Annotated[Optional[str], typer.Argument(metavar="[GLOB]", help="With --tensors: only tensors whose name matches this shell glob.")] = None,
    tensors: Annotated[bool, typer.Option("--tensors", help="List tensors (name, type, shape, params, bytes, offset); GLOB narrows the list.")] = False,
    metadata: Annotated[bool, typer.Option("--metadata", help="Show all raw metadata, long arrays shortened.")] = False,
    full: Annotated[bool, typer.Option("--full", help="With --metadata: every array element, not samples.")] = False,
    json: JsonOpt = False,
    markdown: MarkdownOpt = False,
    mirror: MirrorOpt = None,
    token: TokenOpt = None,
    timeout: TimeoutOpt = None,
    no_cache: NoCacheOpt = False,
    explain: ExplainOpt = False,
    lang: LangOpt = None,
    plan_options: dict[str, Any] | None = None,
) -> None:
    """What a model holds: architecture, parameters, quantization, tokenizer, files, will it run.

    Examples: mfi inspect model.gguf; mfi inspect ./Qwen3-8B --tensors 'blk.0.*'; mfi inspect x.safetensors --json;
    mfi inspect hf://Qwen/Qwen3-8B --mirror hf-mirror (headers only, over HTTP Range requests)
    """
    from . import api
    from .render import output

    opts = plan_options or {}
    summary = api.inspect(target, full_metadata=full, mirror=mirror, token=token, timeout=timeout, cache=not no_cache)
    plan = api.plan(summary, **opts)
    output.emit_inspect(
        summary, as_json=json, as_markdown=markdown, tensors=(glob or "*") if tensors or glob else None,
        metadata=metadata, plan=plan, explain=explain, lang=lang,
        plan_detail=any(opts[n] != PLAN_OPTIONS[n][1] for n in opts),
    )  # fmt: skip
    raise typer.Exit(1 if summary.problems else 0)


@app.command()
@with_plan_options
def plan(
    target: Target,
    explain: ExplainOpt = False,
    lang: LangOpt = None,
    json: PlanJsonOpt = False,
    mirror: MirrorOpt = None,
    token: TokenOpt = None,
    timeout: TimeoutOpt = None,
    no_cache: NoCacheOpt = False,
    plan_options: dict[str, Any] | None = None,
) -> None:
    """Will it run, and on what: memory at a context length, runtimes, remote code, capabilities.

    Examples: mfi plan model.gguf --ctx 32k --memory 24GiB; mfi plan ./Qwen3-8B --memory 24GiB --cache-type fp8;
    mfi plan org/Model-GGUF --memory 16GiB --ctx 32768 (one row per quantization, headers only)
    """
    from . import api
    from .render import output

    p = api.plan(target, mirror=mirror, token=token, timeout=timeout, cache=not no_cache, **(plan_options or {}))
    output.emit_plan(p, as_json=json, explain=explain, lang=lang)
    raise typer.Exit(1 if p.model is not None and p.model.problems else 0)


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
    timeout: TimeoutOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """The same model across formats and quantizations, side by side.

    Examples: mfi compare ./Qwen3-8B Qwen3-8B-Q4_K_M.gguf; mfi compare a-Q8_0.gguf a-Q4_K_M.gguf --weights --sample 64
    """
    from . import api
    from .render import output

    c = api.compare(left, right, weights=weights, sample=sample, template_diff=template_diff, mirror=mirror, token=token,
                    timeout=timeout, cache=not no_cache)  # fmt: skip
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
    timeout: TimeoutOpt = None,
) -> None:
    """Download a repo (or some files) from Hugging Face, hf-mirror or ModelScope; resumable, verified.

    Examples: mfi pull Qwen/Qwen3-8B --mirror hf-mirror; mfi pull org/Model-GGUF --quant Q4_K_M --dry-run;
    mfi pull ms://Qwen/Qwen3-8B --local-dir ./qwen3 --verify
    """
    from . import api
    from .render import output

    with output.pull_progress(live=not (dry_run or verify)) as progress:
        report = api.pull(
            repo, [*(patterns or []), *(include or [])], mirror=mirror, revision=revision, local_dir=local_dir,
            token=token, exclude=exclude or [], quant=quant, max_workers=max_workers, dry_run=dry_run, verify=verify,
            allow_redirects=allow_redirects, progress=progress, timeout=timeout,
        )  # fmt: skip
    output.emit_pull(report)
    raise typer.Exit(1 if report.problems or report.refused else 0)


@app.command()
def scan(
    target: Target,
    json: Annotated[bool, typer.Option("--json", help="Machine output (schema mfi.scan/1, docs/scan.md).")] = False,
    fail_on: Annotated[
        str, typer.Option("--fail-on", metavar="SEVERITY", help="Exit 1 when a finding is at least this severe: critical, high, medium, low.")
    ] = "low",
    all: Annotated[bool, typer.Option("--all", help="Also list info findings (allow-listed pickles, files not checked).")] = False,
    mirror: MirrorOpt = None,
    token: TokenOpt = None,
    timeout: TimeoutOpt = None,
) -> None:
    """Hostile content, found without running anything. Exit 0 clean, 1 findings, 2 unreadable.

    Pickle imports, chat-template injection, remote code, damaged files, path-escaping names.

    Examples: mfi scan pytorch_model.bin; mfi scan ./model --json; mfi scan hf://org/name --fail-on high
    """
    from . import api
    from .errors import UsageError
    from .render import output

    if fail_on not in ("critical", "high", "medium", "low"):
        raise UsageError("fail_on", f"{fail_on!r} is not one of critical, high, medium, low")
    report = api.scan(target, mirror=mirror, token=token, timeout=timeout)
    output.emit_scan(report, as_json=json, threshold=fail_on, show_info=all)
    raise typer.Exit(1 if report.fails(fail_on) else 0)


def main() -> None:
    """Entry point of the ``mfi`` console script."""
    try:
        app()
    except BrokenPipeError:  # `mfi inspect x --json | head`
        sys.stderr.close()
        sys.exit(0)

"""Writes rendered output: the only place (with the CLI's error line) that prints."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..records import ModelSummary
from .json.inspect import dumps

if TYPE_CHECKING:
    from rich.console import Console

    from ..compare.records import Comparison
    from ..hub.records import PullReport
    from ..plan.records import Plan
    from ..scan.records import ScanReport
    from .terminal.pull import PullProgress


def console() -> Console:
    """The stdout console (rich is imported only when a table is printed, not for --json)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def emit_inspect(
    s: ModelSummary, *, as_json: bool, as_markdown: bool, tensors: str | None, metadata: bool,
    plan: Plan | None = None, explain: bool = False, lang: str | None = None, plan_detail: bool = False,
) -> None:  # fmt: skip
    """Print an inspect summary as JSON, markdown or rich tables; problems also go to stderr."""
    if as_json:
        from .json.inspect import inspect_dict

        doc = inspect_dict(s, tensors=tensors, metadata=metadata)
        if plan is not None:
            from .json.plan import plan_dict

            doc.update(plan_dict(plan))
        sys.stdout.write(dumps(doc) + "\n")
    elif as_markdown:
        from .markdown import inspect_markdown

        sys.stdout.write(inspect_markdown(s, tensors=tensors, plan=plan))
    else:
        from .terminal import inspect

        out = console()
        if explain or plan is not None:
            from .terminal import plan as planview

            language = planview.language(lang)
            arch = planview.architecture_explained(s, language) if explain else None
            out.print(inspect.inspect_view(s, architecture=arch))
            if plan is not None and (plan_detail or explain):
                out.print(*planview.memory_view(plan, explain=explain, lang=language))
            elif plan is not None:
                out.print(planview.brief_view(plan))
        else:
            out.print(inspect.inspect_view(s))
        if metadata:
            out.print(inspect.metadata_table(s))
        if tensors is not None:
            out.print(inspect.tensors_table(s, tensors))
    if s.problems:  # damage goes to stderr in every mode, so a pipe never hides it
        from .text import clean

        for p in s.problems:
            print(f"mfi: {clean(s.target)}: {clean(p)}", file=sys.stderr)


def emit_plan(plan: Any, *, as_json: bool, explain: bool, lang: str | None) -> None:
    """Print ``mfi plan``: choices, memory, serving, runtimes, capabilities (JSON: schema ``mfi.plan/1``)."""
    s = plan.model
    if as_json:
        from .json.plan import plan_document

        sys.stdout.write(dumps(plan_document(s, plan)) + "\n")
        return
    from .terminal import plan as planview

    out = console()
    language = planview.language(lang)
    out.print(planview.plan_view(s, plan, explain=explain, lang=language))
    if explain:
        out.print(planview.architecture_explained(s, language))


def emit_compare(c: Comparison, *, as_json: bool, as_markdown: bool) -> None:
    """Print a comparison (``mfi.compare_records.Comparison``) as JSON, markdown or rich tables."""
    if as_json:
        from .json.compare import compare_dict

        sys.stdout.write(dumps(compare_dict(c)) + "\n")
    elif as_markdown:
        from .markdown import compare_markdown

        sys.stdout.write(compare_markdown(c))
    else:
        from .terminal.compare import compare_view

        console().print(compare_view(c))
    from .text import clean

    for s in (c.left, c.right):  # damage goes to stderr in every mode, as for inspect
        for p in s.problems:
            print(f"mfi: {clean(s.target)}: {clean(p)}", file=sys.stderr)


@contextmanager
def pull_progress(*, live: bool) -> Iterator[PullProgress | None]:
    """A live progress display for a download (``live``), or ``None`` for a plan or a check."""
    if not live:
        yield None
        return
    from .terminal import pull as view

    with view.PullProgress(console()) as progress:
        yield progress


def emit_pull(report: PullReport) -> None:
    """Print what a pull did: the closing line, the plan (dry run) or the checks (verify); refused names on stderr."""
    from .terminal import pull as view

    if report.mode == "pull":
        console().print(view.done_line(report))
    else:
        console().print(view.plan_view(report) if report.mode == "dry-run" else view.verify_view(report))
    refused = view.refused_line(report)
    if refused is not None:
        sys.stderr.write(f"mfi: {refused}\n")


def emit_scan(r: ScanReport, *, as_json: bool, threshold: str, show_info: bool) -> None:
    """Print a scan report as JSON (``mfi.scan/1``) or a table."""
    if as_json:
        from .json.scan import scan_dict

        sys.stdout.write(dumps(scan_dict(r, threshold=threshold)) + "\n")
    else:
        from .terminal.scan import scan_view

        console().print(scan_view(r, threshold=threshold, show_info=show_info))

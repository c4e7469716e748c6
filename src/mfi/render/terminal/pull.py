"""``mfi pull`` output: the plan table, the live progress display, the closing line, and the cost line."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from .. import text
from .inspect import fetched_line, new_table, overview, t

if TYPE_CHECKING:
    from ...hub.records import PullReport


def plan_view(report: PullReport) -> Group:
    """``--dry-run``: files, sizes, what is present, total, and each weight file's summary."""
    p = report.plan
    listing = p.listing
    rev = listing.revision + (f" ({listing.commit[:12]})" if listing.commit else "")
    table = new_table("", "file", "size", "on disk", right=(1,))
    # a str title is markup to rich: the revision, the commit and the mirror's name arrive as Text
    table.title = t(f"Plan: {listing.repo_id} @ {rev} from {listing.mirror.name}")
    for e in p.entries:
        state = "present" if e.present else (f"partial {text.size(e.have)}" if e.have else "-")
        table.add_row(t(e.file.path), text.size(e.file.size), state)
    parts: list[RenderableType] = [
        table,
        t(f"{len(p.entries)} files, {text.size(p.total)}; to download: {text.size(p.to_fetch)} into {p.snapshot}"),
    ]
    for name, s in report.summaries:
        parts.append(Text())
        if isinstance(s, str):
            parts.append(Text.assemble(("cannot read header: ", "yellow"), t(s)))
        else:
            parts.append(overview(s))
    if report.fetched is not None:
        parts += [Text(), fetched_line(report.fetched)]
    return Group(*parts)


def verify_view(report: PullReport) -> Group:
    """``--verify``: one line per problem, or that every file matches."""
    if not report.problems:
        n = len(report.plan.entries)
        return Group(Text(f"all {n} files match the sizes and hashes the hub publishes"))
    return Group(*(Text.assemble(("mismatch: ", "bold red"), t(path), ": ", t(problem)) for path, problem in report.problems))


def done_line(report: Any) -> Text:
    """The closing line of a pull."""
    r = report.result
    return t(
        f"{len(r.fetched)} file(s) downloaded and verified, {len(r.skipped)} already present; "
        f"{text.size(r.bytes)} in {r.requests} request(s) -> {r.folder}"
    )


def refused_line(report: Any) -> str | None:
    """One line for the files of the listing a pull never writes (``.git/``, ``.cache/mfi/``), or ``None``."""
    if not report.refused:
        return None
    shown = ", ".join(text.clean(path) for path, _ in report.refused[:5]) + (", ..." if len(report.refused) > 5 else "")
    return f"refused {len(report.refused)} file(s) of the listing, not written: {shown} ({report.refused[0][1]})"


class PullProgress:
    """A rich progress display: one bar per file and a total, with bytes, speed and ETA."""

    def __init__(self, console: Console) -> None:
        # descriptions are file names from the hub: plain text, never markup
        columns = (
            TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn(),
        )  # fmt: skip
        self.progress = Progress(*columns, console=console, transient=False)
        self.total: TaskID | None = None
        self._total = 0
        self.tasks: dict[str, TaskID] = {}
        self._lock = threading.Lock()  # files start from several download threads

    def __enter__(self) -> "PullProgress":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.total is not None:  # shown only once a download started
            self.progress.__exit__(kind, exc, tb)

    def start(self, path: str, total: int | None, done: int) -> None:
        with self._lock:
            if self.total is None:
                self.progress.__enter__()
                self.total = self.progress.add_task("total", total=0)
            self.tasks[path] = self.progress.add_task(text.clean(path), total=total, completed=done)
            self._total += max(0, (total or 0) - done)
            self.progress.update(self.total, total=self._total)

    def advance(self, path: str, n: int) -> None:
        self.progress.advance(self.tasks[path], n)
        if self.total is not None:  # always: start() set it before any task existed
            self.progress.advance(self.total, n)

    def finish(self, path: str) -> None:
        self.progress.update(self.tasks[path], visible=False)

    def note(self, message: str) -> None:
        self.progress.console.print(Text.assemble(("note: ", "yellow"), t(message)))

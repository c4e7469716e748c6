"""``mfi pull`` output: the plan table, the live progress display, the closing line, and the cost line."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskID, TextColumn, TimeRemainingColumn
from rich.text import Text

from .. import text
from ..i18n import tr
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
    table.title = t(tr("Plan: {repo} @ {rev} from {mirror}", repo=listing.repo_id, rev=rev, mirror=listing.mirror.name))
    for e in p.entries:
        state = tr("present") if e.present else (tr("partial {size}", size=text.size(e.have)) if e.have else "-")
        table.add_row(t(e.file.path), text.size(e.file.size), state)
    parts: list[RenderableType] = [
        table,
        t(tr("{files}, {total}; to download: {fetch} into {folder}", files=files(len(p.entries)), total=text.size(p.total),
             fetch=text.size(p.to_fetch), folder=p.snapshot)),
    ]  # fmt: skip
    for name, s in report.summaries:
        parts.append(Text())
        if isinstance(s, str):
            parts.append(Text.assemble((tr("cannot read header") + ": ", "yellow"), t(s)))
        else:
            parts.append(overview(s))
    cost = fetched_line(report.fetched)
    if cost is not None:
        parts += [Text(), cost]
    return Group(*parts)


def files(n: int) -> str:
    """``1 file``, ``3 files``."""
    return tr("1 file") if n == 1 else tr("{n} files", n=f"{n:,}")


class _Bytes(ProgressColumn):
    """``1.50 GiB/4.56 GiB``: binary units, as every other size mfi prints (rich's own column is decimal)."""

    def render(self, task: Task) -> Text:
        total = text.size(int(task.total)) if task.total is not None else "?"
        return Text(f"{text.size(int(task.completed))}/{total}")


class _Speed(ProgressColumn):
    """``12.30 MiB/s`` in binary units."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(text.DASH if speed is None else f"{text.size(int(speed))}/s")


def verify_view(report: PullReport) -> Group:
    """``--verify``: one line per problem, or that every file matches."""
    if not report.problems:
        n = len(report.plan.entries)
        said = tr("the file matches the sizes and hashes the hub publishes") if n == 1 else tr("all {n} files match the sizes and hashes the hub publishes", n=n)
        return Group(Text(said, style="green"))
    return Group(*(Text.assemble((tr("mismatch") + ": ", "bold red"), t(path), ": ", t(problem)) for path, problem in report.problems))


def done_line(report: Any) -> Text:
    """The closing line of a pull."""
    r = report.result
    requests = tr("1 request") if r.requests == 1 else tr("{n} requests", n=r.requests)
    return t(tr(
        "{files} downloaded and verified, {skipped} already present; {size} in {requests} -> {folder}",
        files=files(len(r.fetched)), skipped=len(r.skipped), size=text.size(r.bytes), requests=requests, folder=r.folder,
    ))  # fmt: skip


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
            TextColumn("{task.description}", markup=False), BarColumn(), _Bytes(), _Speed(), TimeRemainingColumn(),
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
                self.total = self.progress.add_task(tr("total"), total=0)
            self.tasks[path] = self.progress.add_task(text.clean(path), total=total, completed=done)
            # whole files: a resumed file's kept part counts as done in the total too
            self._total += total or done
            self.progress.update(self.total, total=self._total, advance=done)

    def advance(self, path: str, n: int) -> None:
        self.progress.advance(self.tasks[path], n)
        if self.total is not None:  # always: start() set it before any task existed
            self.progress.advance(self.total, n)

    def finish(self, path: str) -> None:
        self.progress.update(self.tasks[path], visible=False)

    def note(self, message: str) -> None:
        self.progress.console.print(Text.assemble((tr("note:") + " ", "yellow"), t(message)))

"""``ScanReport`` to a rich renderable: a summary line and a table of findings."""

from __future__ import annotations

import os

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...scan.records import SEVERITIES, ScanReport
from .. import text
from ..i18n import tr
from .layout import footer

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def _short(path: str, target: str) -> str:
    root = target if os.path.isdir(target) else os.path.dirname(target)
    try:
        rel = os.path.relpath(path, root) if root else path
    except ValueError:  # other drive on Windows
        rel = path
    return path if rel.startswith("..") else rel


def scan_view(r: ScanReport, *, threshold: str = "low", show_info: bool = False) -> RenderableType:
    """A summary line and one row per finding (info rows only when asked)."""
    counts = ", ".join(f"{r.count(s)} {tr(s)}" for s in SEVERITIES if r.count(s))
    verdict = "findings" if r.fails(threshold) else "clean"
    skipped = r.not_checked
    checked = " (" + tr("{n} checked", n=len(r.files) - len(skipped)) + ")" if skipped else ""
    n_files = tr("1 file") if len(r.files) == 1 else tr("{n} files", n=f"{len(r.files):,}")
    head = Text.assemble(
        (text.clean(r.target), "bold"), f" · {n_files}{checked} · ",
        (tr(verdict), "bold red" if verdict == "findings" else "bold green"), f" ({counts or tr('nothing found')})",
    )  # fmt: skip
    parts: list[RenderableType] = [head]
    if skipped:  # say what was not looked at, so "clean" is not read as "all of it is clean"
        names = [_short(f.path, r.target) for f in skipped]
        shown = ", ".join(names[:8]) + (" " + tr("and {n} more", n=len(names) - 8) if len(names) > 8 else "")
        parts.append(footer([(tr("not checked:"), shown, "dim")]))
    rows = [f for f in r.findings if show_info or f.severity != "info"]
    if not rows:
        return Group(*parts)
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("severity", "kind", "where", "finding"):
        table.add_column(tr(col), overflow="fold")
    for f in rows:
        where = _short(f.file, r.target)
        if f.member:
            where += f" [{f.member}]"
        if f.offset is not None:
            where += f" @{f.offset}"
        table.add_row(Text(tr(f.severity), style=_STYLE[f.severity]), Text(f.kind), Text(text.clean(where)),
                      Text(text.clean(f.message)))  # fmt: skip
    return Group(*parts, table)

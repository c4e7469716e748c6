"""``ScanReport`` to a rich renderable: a summary line and a table of findings."""

from __future__ import annotations

import os

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...scan.records import SEVERITIES, ScanReport
from .. import text

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
    counts = ", ".join(f"{r.count(s)} {s}" for s in SEVERITIES if r.count(s))
    verdict = "findings" if r.fails(threshold) else "clean"
    head = Text.assemble(
        (text.clean(r.target), "bold"), f" · {len(r.files)} file{'' if len(r.files) == 1 else 's'} · ",
        (verdict, "bold red" if verdict == "findings" else "bold green"), f" ({counts or 'nothing found'})",
    )  # fmt: skip
    rows = [f for f in r.findings if show_info or f.severity != "info"]
    if not rows:
        return head
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for col in ("severity", "kind", "where", "finding"):
        table.add_column(col, overflow="fold")
    for f in rows:
        where = _short(f.file, r.target)
        if f.member:
            where += f" [{f.member}]"
        if f.offset is not None:
            where += f" @{f.offset}"
        table.add_row(Text(f.severity, style=_STYLE[f.severity]), Text(f.kind), Text(text.clean(where)),
                      Text(text.clean(f.message)))  # fmt: skip
    return Group(head, table)

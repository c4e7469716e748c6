"""Layout pieces for 80-column screens: lines that break only between words, sections with air.

Rich wraps a cell at any space, so ``111.00 MiB`` can become ``111.00`` / ``MiB`` and a one-line
overview wraps mid-phrase. ``Flow`` breaks only between whole words (a number and its unit are one
word) and indents its continuation lines; ``spaced`` puts one blank line between sections;
``footer`` lists labelled notes (``not counted:``, ``note:``) with a hanging indent, one per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from .. import text

#: A space that never breaks a line: between a number and its unit or a following count word.
_GLUE = re.compile(
    r"(?<=\d) (?=(?:B|KiB|MiB|GiB|TiB|K|M|T|bpw|tokens|chars|params|files?|requests?|bytes)\b)"
    r"|(?<=\bid) (?=\d)|(?<=\bat) (?=\d)|(?<=^\+) |(?<= \+) (?=\S)"
)


_CJK = re.compile(r"[\u3000-\u30ff\u4e00-\u9fff\uff00-\uffef]")


def words(value: str, style: str = "") -> list[Text]:
    """``value`` cut into unbreakable words (untrusted text is escaped)."""
    glued = _GLUE.sub("\x00", text.clean(value))
    return [Text(w.replace("\x00", " "), style=style) for w in glued.split(" ") if w]


class Flow:
    """Words (or phrases) joined by ``sep``, wrapped only between them; continuation lines indented."""

    def __init__(self, items: Sequence[Text], sep: str = " ", *, lead: Text | None = None, indent: int | None = None) -> None:
        self.items = list(items)
        self.sep = sep
        self.lead = lead or Text()
        self.indent = len(self.lead) if indent is None else indent

    @classmethod
    def of(cls, value: str, style: str = "") -> Flow | Text:
        """A plain sentence (file text allowed: it is escaped).

        Chinese text has no spaces to break at and may break between any two characters: rich's own
        wrapping does that, so it comes back as ``Text``.
        """
        if _CJK.search(value):
            return Text(text.clean(value), style=style, overflow="fold")
        return cls(words(value, style))

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max((len(i) for i in self.items), default=0)
        whole = len(self.lead) + sum(len(i) for i in self.items) + len(self.sep) * max(len(self.items) - 1, 0)
        return Measurement(min(longest + self.indent, whole), whole)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        lines = [self.lead.copy()]
        first = True
        for item in self.items:
            if not first and len(lines[-1]) + len(self.sep) + len(item) > width:
                lines.append(Text(" " * self.indent))
                first = True
            if not first:
                lines[-1].append(self.sep)
            lines[-1].append_text(item)
            first = False
        # each line fits, so rich breaks none of them; a single word wider than the screen folds
        yield Text("\n").join(lines)


def spaced(parts: Iterable[RenderableType | None]) -> Group:
    """The sections of a screen with exactly one blank line between them (``None`` parts skipped)."""
    out: list[RenderableType] = []
    for p in parts:
        if p is None:
            continue
        if out:
            out.append(Text())
        out.append(p)
    return Group(*out)


def footer(rows: Iterable[tuple[str, str, str]]) -> Table:
    """Labelled notes, one per row, wrapped under their text: (label, text, label style)."""
    grid = Table(box=None, show_header=False, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column()
    for label, value, style in rows:
        grid.add_row(Text(label, style=style), Flow.of(value, "dim" if style == "dim" else ""))
    return grid

"""Records of ``mfi scan``: findings with a severity and kind, and the report over a file or folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..records import FileEntry


#: Finding severities, worst first (``mfi scan``).
SEVERITIES = ("critical", "high", "medium", "low", "info")


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing ``mfi scan`` found: how bad, what kind, where, and what it means."""

    severity: str
    #: ``pickle``, ``template``, ``remote-code``, ``integrity``, ``path``, ``unreadable``, ``format``.
    kind: str
    #: The file (a path as given); ``member`` names a zip member inside it.
    file: str
    message: str
    #: Byte offset in ``file`` (or in ``member`` when that is compressed), when one applies.
    offset: int | None = None
    member: str | None = None
    #: Machine-readable details: the global's module and name, the template pattern, a sha256...
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ScanReport:
    """Everything ``mfi scan`` found in a file or folder."""

    target: str
    files: tuple[FileEntry, ...]
    findings: tuple[Finding, ...]

    def count(self, severity: str) -> int:
        """How many findings have this severity."""
        return sum(1 for f in self.findings if f.severity == severity)

    def worst(self) -> str | None:
        """The most severe finding's severity, or ``None`` when there are none."""
        return next((s for s in SEVERITIES if self.count(s)), None)

    def fails(self, threshold: str = "low") -> bool:
        """Whether any finding is at least as severe as ``threshold`` (exit status 1)."""
        limit = SEVERITIES.index(threshold)
        return any(SEVERITIES.index(f.severity) <= limit for f in self.findings)

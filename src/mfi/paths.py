"""Safe file names from untrusted sources (hub listings, index files)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from .errors import UsageError


def safe_join(folder: str | Path, name: str) -> Path:
    """``folder / name``, refusing names that are absolute or climb out of ``folder`` (``..``)."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not name or name.startswith(("/", "\\")) or (parts and ":" in parts[0]) or any(p in ("..", "") for p in parts):
        raise UsageError(name, "file name escapes the target folder; refused")
    return Path(folder).joinpath(*parts)

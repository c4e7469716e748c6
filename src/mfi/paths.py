"""File names from untrusted listings (hub file lists, index ``weight_map`` values) made safe to use.

Every place mfi writes or opens a file named by a model repository goes through ``safe_join``:
a name that is absolute, has a drive, climbs with ``..``, or resolves (through symlinks) outside
the folder is refused, never cleaned up into something else.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import UsageError


def unsafe_reason(name: str) -> str | None:
    """Why ``name`` may not be used as a path inside a model folder, or ``None`` when it is fine."""
    if not name or name in (".", ".."):
        return "is empty or a folder reference"
    if "\x00" in name:
        return "contains a NUL byte"
    if any(ord(c) < 32 for c in name):
        return "contains control characters"
    win = PureWindowsPath(name)
    if name.startswith(("/", "\\")) or win.drive or win.root:
        return "is an absolute path"
    if ".." in PurePosixPath(name.replace("\\", "/")).parts:
        return "climbs out of the folder with '..'"
    return None


def safe_join(folder: str | os.PathLike[str], name: str) -> Path:
    """``folder / name`` when ``name`` stays inside ``folder``; ``UsageError`` otherwise.

    Checks the name's text first (absolute paths, drives, ``..``), then the resolved path, so a
    symlink already in the folder cannot carry a write outside it either.
    """
    reason = unsafe_reason(name)
    if reason is not None:
        raise UsageError(str(folder), f"refusing file name {name!r}: it {reason}")
    base = Path(folder)
    path = base / name.replace("\\", "/")
    root = base.resolve()
    resolved = path.resolve()
    if resolved != root and root not in resolved.parents:
        raise UsageError(str(folder), f"refusing file name {name!r}: it resolves outside the folder")
    return path

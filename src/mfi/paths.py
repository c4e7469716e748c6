"""Safe file names from untrusted sources (hub listings, index files).

Every place mfi writes or opens a file named by a model repository goes through ``safe_join``; a
name that is absolute, has a drive, climbs with ``..`` or carries control characters is refused,
never cleaned up into something else. ``mfi scan`` reports the same names with ``unsafe_reason``.
The check is on the text of the name: symlinks already inside the folder (the Hugging Face cache
links snapshots to blobs) are the folder owner's business.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from .errors import UsageError


def unsafe_reason(name: str) -> str | None:
    """Why ``name`` may not be used as a path inside a model folder, or ``None`` when it is fine."""
    if not name or name in (".", ".."):
        return "is empty or a folder reference"
    if any(ord(c) < 32 for c in name):
        return "contains control characters"
    win = PureWindowsPath(name)
    if name.startswith(("/", "\\")) or win.drive or win.root:
        return "is an absolute path"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if parts and ":" in parts[0]:
        return "names a drive"
    if ".." in parts:
        return "climbs out of the folder with '..'"
    return None


def posix_name(name: str) -> str:
    """``name`` as a relative POSIX path, ``\\`` read as ``/`` and ``.`` parts dropped (``./a\\b`` -> ``a/b``).

    Only the text changes; check the name with ``unsafe_reason`` first.
    """
    return "/".join(PurePosixPath(name.replace("\\", "/")).parts)


def safe_join(folder: str | Path, name: str) -> Path:
    """``folder / name``, refusing names that are absolute or climb out of ``folder`` (``..``)."""
    reason = unsafe_reason(name)
    if reason is not None:
        raise UsageError(name, f"file name escapes the target folder ({reason}); refused")
    return Path(folder).joinpath(*posix_name(name).split("/"))

"""Where a pull may write: names a listing may not use, and folders that must not be links.

A hostile listing can name ``.git/config`` (``git status`` in a cloned folder then runs the mirror's
``core.fsmonitor`` command) or mfi's own ``.cache/mfi/`` records; a folder the user already has can
hold ``sub -> /elsewhere``. So: reserved names are refused (and the rest is pulled), the listing
must fit a file system (no name over ``NAME_MAX``, no path that is both a file and a folder), every
folder is created or checked one component at a time and must be a real folder, and the files mfi
writes itself (partial downloads, records, refs) are opened with ``O_NOFOLLOW`` (issue 10).
"""

from __future__ import annotations

import os
import stat
import unicodedata
from pathlib import Path

from ..errors import SourceError, UsageError

#: Longest file name most file systems take (ext4, APFS, NTFS: 255 bytes).
NAME_MAX = 255
#: What a partial download adds to a file name (``.<hash16>.part``).
PARTIAL_SUFFIX = 22


def _plain(part: str) -> str:
    """A path component as a case-insensitive file system sees it.

    macOS folds case and drops ignorable code points (``.g\\u200cit`` is ``.git``; git's
    ``is_hfs_dotgit``), Windows drops trailing dots and spaces (``.git.``).
    """
    kept = "".join(c for c in part if unicodedata.category(c) != "Cf")
    return kept.rstrip(". ").casefold()


def refused_reason(path: str) -> str | None:
    """Why a listing's ``path`` is never written by a pull, or ``None`` when it may be."""
    parts = [_plain(p) for p in path.split("/")]
    if ".git" in parts:
        return "is inside a .git folder, whose config and hooks git runs"
    for i in range(len(parts) - 1):
        if parts[i] == ".cache" and parts[i + 1] == "mfi":
            return "is inside .cache/mfi/, where mfi keeps its own partial downloads and records"
    return None


def check_names(repo_id: str, paths: list[str]) -> None:
    """Refuse a listing that no folder can hold: an over-long name, or one path both a file and a folder."""
    files = set(paths)
    for path in paths:
        parts = path.split("/")
        for part in parts:
            n = len(part.encode("utf-8", "surrogatepass"))
            if n > NAME_MAX - PARTIAL_SUFFIX:
                shown = part[:40] + "..."
                raise UsageError(repo_id, f"the listing names {shown!r}, a file name of {n} bytes; file systems take "
                                          f"{NAME_MAX} (and a partial download adds {PARTIAL_SUFFIX}); refused")  # fmt: skip
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in files:
                raise UsageError(repo_id, f"the listing names both a file {folder!r} and {path!r} inside it; refused")


def ensure_folder(root: Path, folder: Path) -> None:
    """Create ``folder`` under ``root`` one component at a time; each must be a real folder, not a link."""
    root.mkdir(parents=True, exist_ok=True)  # the folder the user named (or the cache) is theirs to place
    try:
        rel = folder.relative_to(root)
    except ValueError:
        raise SourceError(str(folder), f"is outside {root}; refused") from None
    here = root
    for part in rel.parts:
        here = here / part
        try:
            st = os.lstat(here)
        except FileNotFoundError:
            try:
                os.mkdir(here)
            except FileExistsError:
                pass  # made meanwhile (another download of the same pull): checked below
            except OSError as e:
                raise SourceError(str(here), f"cannot create the folder: {e.strerror or e}") from None
            st = os.lstat(here)
        if stat.S_ISLNK(st.st_mode):
            raise SourceError(str(here), f"is a symbolic link inside {root}; refused to write through it")
        if not stat.S_ISDIR(st.st_mode):
            raise SourceError(str(here), "is a file where the listing needs a folder; refused")


def open_file(path: Path, mode: str) -> int:
    """A descriptor for a file mfi writes itself (``w`` create or truncate, ``a`` keep), never through a link."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    if mode == "w":
        flags |= os.O_TRUNC
    try:
        return os.open(path, flags, 0o644)
    except OSError as e:
        if stat.S_ISLNK(_lmode(path)):
            raise SourceError(str(path), "is a symbolic link; refused to write through it") from None
        raise SourceError(str(path), e.strerror or str(e)) from None


def write_file(root: Path, path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under ``root``, creating folders safely and never following a link."""
    ensure_folder(root, path.parent)
    fd = open_file(path, "w")
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def size_of(path: Path) -> int:
    """Size of a regular file at ``path`` (0 when missing; a link or folder there is refused)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return 0
    if not stat.S_ISREG(st.st_mode):
        raise SourceError(str(path), "is not a regular file; refused to write through it")
    return st.st_size


def _lmode(path: Path) -> int:
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0

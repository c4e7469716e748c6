"""A folder of files, local or remote: names as relative POSIX paths, each opened as a ``ByteSource``.

``inspect`` reads a model's index, shards and sidecars through a tree and ``scan`` walks one, so the
same code serves a local folder and a hub repo (``hub.remote.tree`` builds the remote one from a
listing and an HTTP session).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from .. import limits
from ..errors import LimitError, SourceError
from . import ByteSource
from .local import LocalFile

#: Folders a walk does not enter: version control and bytecode caches.
SKIP_DIRS = frozenset({".git", "__pycache__", ".cache"})


class Tree(Protocol):
    """Files under one root, named by relative POSIX paths."""

    #: True when every read is a request (checks that cost a request per storage are skipped).
    remote: bool

    @property
    def paths(self) -> list[str]:
        """Every file of the tree (a walk, capped at ``limits.MAX_SCAN_FILES``)."""
        ...

    def display(self, rel: str) -> str:
        """How summaries and findings name the file (a path or ``hf://org/name@rev/path``)."""
        ...

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is a file of the tree."""
        ...

    def size(self, rel: str) -> int:
        """The file's size in bytes (0 when unknown)."""
        ...

    def open(self, rel: str) -> AbstractContextManager[ByteSource]:
        """A byte source for the file, as a context manager."""
        ...


class LocalTree:
    """A local file or folder; ``paths`` walks it on first use (a file is a tree of one)."""

    remote = False

    def __init__(self, root: Path, skip: frozenset[str] = SKIP_DIRS) -> None:
        self.root = root
        self.base = root if root.is_dir() else root.parent
        #: Folder names the walk does not enter (``mfi scan`` enters all but ``.git``: loaders read the rest).
        self.skip = skip
        self._paths: list[str] | None = None

    @property
    def paths(self) -> list[str]:
        """Every file below the root, sorted, ``SKIP_DIRS`` left out."""
        if self._paths is None:
            files = _walk(self.root, self.skip) if self.root.is_dir() else [self.root]
            self._paths = [p.relative_to(self.base).as_posix() for p in files]
        return self._paths

    def display(self, rel: str) -> str:
        """The file's path as the user would type it."""
        return str(self.base / rel)

    def exists(self, rel: str) -> bool:
        """Whether ``rel`` is a file (links followed: the Hugging Face cache links snapshots to blobs)."""
        return (self.base / rel).is_file()

    def size(self, rel: str) -> int:
        """The file's size in bytes (0 when it cannot be read)."""
        try:
            return (self.base / rel).stat().st_size
        except OSError:
            return 0

    def open(self, rel: str) -> AbstractContextManager[ByteSource]:
        """The file as a ``LocalFile`` (closed by the context manager)."""
        return LocalFile(self.base / rel)


class RemoteTree:
    """Files named by a listing, each read through ``source(rel)`` (HTTP Range requests, nothing to close)."""

    remote = True

    def __init__(
        self, name: str, files: Mapping[str, int | None], source: Callable[[str], ByteSource],
        display: Callable[[str], str], path: str | None = None,
    ) -> None:  # fmt: skip
        self.name, self._files, self._source, self._display = name, files, source, display
        prefix = (path or "").strip("/")
        if prefix and prefix in files:
            self._paths = [prefix]
        else:
            self._paths = [n for n in files if not prefix or n.startswith(prefix + "/")]
            if not self._paths:
                raise SourceError(f"{name}/{prefix}", "no such file or folder in the repo")
        if len(self._paths) > limits.MAX_SCAN_FILES:
            raise LimitError(name, f"more than {limits.MAX_SCAN_FILES} files; name a folder of the repo")

    @property
    def paths(self) -> list[str]:
        """The listed files under the chosen path."""
        return self._paths

    def display(self, rel: str) -> str:
        """``hf://org/name[@rev]/path``."""
        return self._display(rel)

    def exists(self, rel: str) -> bool:
        """Whether the listing has the file."""
        return posixpath.normpath(rel) in self._files

    def size(self, rel: str) -> int:
        """The size the listing publishes (0 when unknown)."""
        return self._files.get(rel) or 0

    def open(self, rel: str) -> AbstractContextManager[ByteSource]:
        """A range-reading source for the file."""
        return contextlib.nullcontext(self._source(rel))


def _walk(root: Path, skip: frozenset[str]) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip)
        for name in sorted(filenames):
            out.append(Path(dirpath) / name)
            if len(out) > limits.MAX_SCAN_FILES:
                raise LimitError(str(root), f"more than {limits.MAX_SCAN_FILES} files; name a smaller folder")
    return out

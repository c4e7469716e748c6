"""A local file as a byte source: positional reads, no mapping, no whole-file reads."""

from __future__ import annotations

import os

from ..errors import SourceError


class LocalFile:
    """A file on disk, read with ``os.pread`` (one descriptor, no shared position)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.name = os.fspath(path)
        try:
            self._fd = os.open(self.name, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except IsADirectoryError:
            raise SourceError(self.name, "is a folder, not a file") from None
        except OSError as e:
            raise SourceError(self.name, e.strerror or str(e)) from None
        self._size = os.fstat(self._fd).st_size
        #: How many reads and bytes this source served (benchmarks and tests read these).
        self.requests = 0
        self.bytes_read = 0

    @property
    def size(self) -> int:
        """Size of the file when it was opened."""
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``."""
        if length <= 0 or offset >= self._size:
            return b""
        length = min(length, self._size - offset)
        try:
            data = os.pread(self._fd, length, offset)
        except OSError as e:
            raise SourceError(self.name, e.strerror or str(e), offset) from None
        self.requests += 1
        self.bytes_read += len(data)
        return data

    def close(self) -> None:
        """Release the descriptor."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "LocalFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        fd = getattr(self, "_fd", -1)
        if fd >= 0:
            os.close(fd)

"""A local file as a byte source: positional reads, no mapping, no whole-file reads."""

from __future__ import annotations

import os
import stat

from ..errors import SourceError


class LocalFile:
    """A file on disk, read with ``os.pread`` (one descriptor, no shared position)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.name = os.fspath(path)
        self._fd = -1
        try:
            mode = os.stat(self.name).st_mode
        except OSError as e:
            raise SourceError(self.name, e.strerror or str(e)) from None
        # a FIFO blocks open() until a writer comes; a device may never end (issue 11 item 10)
        special = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else None
        if special is None and (stat.S_ISCHR(mode) or stat.S_ISBLK(mode)):
            special = "device"
        if special is not None:
            raise SourceError(self.name, f"is a {special}, not a file: never opened")
        try:
            # O_NONBLOCK: should a FIFO take the file's place after the check, open() still returns
            self._fd = os.open(self.name, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0))
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

"""Sequential, buffered reads over a ``ByteSource`` with a window that grows as needed."""

from __future__ import annotations

from ..errors import TruncatedError
from ..sources import ByteSource

#: Largest window a size hint may ask for: a hint is an estimate from counts the file claims, and a
#: hostile count must not turn into one huge read (over HTTP, one huge request held in memory).
MAX_WINDOW = 32 << 20


class Cursor:
    """Reads forward through a source, a window at a time; never reads the whole file.

    ``need(n, hint)`` makes ``n`` bytes available at ``buf[p:]``; ``hint`` asks for a larger
    window when the caller knows more is coming (a long array), so a remote source can fetch the
    rest of a header in one request instead of many.
    """

    __slots__ = ("src", "name", "size", "buf", "start", "p", "chunk")

    def __init__(self, src: ByteSource, offset: int = 0, chunk: int = 1 << 20) -> None:
        self.src = src
        self.name = src.name
        self.size = src.size
        self.buf = b""
        #: Absolute offset of ``buf[0]``.
        self.start = offset
        #: Read position inside ``buf``.
        self.p = 0
        self.chunk = chunk

    @property
    def pos(self) -> int:
        """Absolute offset of the next byte."""
        return self.start + self.p

    def need(self, n: int, hint: int = 0) -> None:
        """Make ``n`` bytes available at ``buf[p:]`` or raise ``TruncatedError``."""
        if self.p + n <= len(self.buf):
            return
        pos = self.pos
        if pos + n > self.size:
            raise TruncatedError(
                self.name, f"needs {n} more bytes but the file ends at byte {self.size}", pos
            )
        rest = self.buf[self.p :]
        want = min(max(n, min(hint, MAX_WINDOW), self.chunk), self.size - pos)
        data = self.src.read_at(pos + len(rest), want - len(rest))
        self.buf = rest + data
        self.start = pos
        self.p = 0
        if len(self.buf) < n:
            raise TruncatedError(self.name, f"file ended early: read {len(self.buf)} of {n} bytes", pos)

    def take(self, n: int) -> bytes:
        """The next ``n`` bytes."""
        self.need(n)
        p = self.p
        self.p = p + n
        return self.buf[p : p + n]

    def skip(self, n: int) -> None:
        """Move ``n`` bytes forward without reading them (when they are not buffered)."""
        pos = self.pos
        if pos + n > self.size:
            raise TruncatedError(self.name, f"needs {n} more bytes but the file ends at byte {self.size}", pos)
        if self.p + n <= len(self.buf):
            self.p += n
        else:
            self.buf, self.start, self.p = b"", pos + n, 0

    def seek(self, offset: int) -> None:
        """Jump to an absolute offset (reuses the buffer when it covers it)."""
        if self.start <= offset <= self.start + len(self.buf):
            self.p = offset - self.start
        else:
            self.buf, self.start, self.p = b"", offset, 0

"""Byte sources that read no file of their own: bytes already in memory, or a window of another source."""

from __future__ import annotations

from . import ByteSource


class BytesSource:
    """Bytes already in memory (an inflated zip member) as a byte source."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self._data = data

    @property
    def size(self) -> int:
        """Length of the bytes."""
        return len(self._data)

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``."""
        return self._data[offset : offset + max(0, length)]


class WindowSource:
    """``[start, start + size)`` of a byte source (a stored zip member), as a byte source of its own."""

    def __init__(self, src: ByteSource, start: int, size: int) -> None:
        self.name, self._src, self._start = src.name, src, start
        self._size = max(0, min(size, src.size - start))

    @property
    def size(self) -> int:
        """Length of the window."""
        return self._size

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset`` inside the window."""
        length = min(length, self._size - offset)
        return self._src.read_at(self._start + offset, length) if length > 0 and offset >= 0 else b""

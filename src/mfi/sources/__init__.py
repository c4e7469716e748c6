"""Byte sources: random access to the bytes of one file, wherever it lives.

Readers take a ``ByteSource``, never a path. The only ``open()`` of a model file is in ``LocalFile``;
a later HTTP source plugs in unchanged.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from .local import LocalFile

__all__ = ["ByteSource", "LocalFile"]


@runtime_checkable
class ByteSource(Protocol):
    """Random access to one file's bytes."""

    #: How errors name the file (a path or a URL).
    name: str

    @property
    def size(self) -> int:
        """Total size of the file in bytes."""
        ...

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``; fewer only at the end of the file."""
        ...

"""Zip archives (torch checkpoints, .npz) read through a ``ByteSource``: members listed, never extracted.

The standard library's ``zipfile`` parses the central directory through ``SourceIO``, a small
read-only, buffered file object over the byte source. Every read it makes is capped, so a claimed
directory or member size cannot make us allocate more than the caps in ``mfi.limits``.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from dataclasses import dataclass

from .. import limits
from ..errors import FormatError, LimitError, MfiError, TruncatedError
from ..sources import ByteSource

ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
#: What zipfile raises on damaged or unsupported archives (it has no single error type).
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, ValueError,
               struct.error, EOFError, zlib.error, OSError, KeyError)  # fmt: skip


class SourceIO(io.RawIOBase):
    """A read-only, seekable file object over ``[start, end)`` of a byte source.

    Reads go through a buffer (``pickletools`` asks for one byte at a time); one read larger than
    ``max_read`` raises ``LimitError`` instead of allocating.
    """

    def __init__(self, src: ByteSource, start: int = 0, end: int | None = None, *, max_read: int, chunk: int = 1 << 16) -> None:
        super().__init__()
        self.src = src
        self.start = start
        self.end = src.size if end is None else min(end, src.size)
        self.max_read = max_read
        self.chunk = chunk
        self._pos = start
        self._buf = b""
        self._buf_at = start

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Always seekable."""
        return True

    def tell(self) -> int:
        """Position relative to ``start``."""
        return self._pos - self.start

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move within ``[start, end]`` (positions past the end read as empty)."""
        base = {0: self.start, 1: self._pos, 2: self.end}[whence]
        pos = base + offset
        if pos < self.start:
            raise ValueError("negative seek position")
        self._pos = pos
        return pos - self.start

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all the rest for ``n < 0``), within the read cap."""
        lo = self._pos - self._buf_at
        if n is not None and 0 < n <= self.max_read and 0 <= lo and lo + n <= len(self._buf):  # buffered
            self._pos += n
            return self._buf[lo : lo + n]
        rest = max(0, self.end - self._pos)
        n = rest if n is None or n < 0 else min(n, rest)
        if n > self.max_read:
            raise LimitError(self.src.name, f"a read of {n} bytes exceeds the cap of {self.max_read}", self._pos)
        if n == 0:
            return b""
        lo = self._pos - self._buf_at
        if not (0 <= lo and lo + n <= len(self._buf)):
            want = min(max(n, self.chunk), self.end - self._pos)
            self._buf, self._buf_at, lo = self.src.read_at(self._pos, want), self._pos, 0
        data = self._buf[lo : lo + n]
        self._pos += len(data)
        return data

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]  # any writable buffer; typeshed's type has no slice assignment
        """``read`` into a buffer (io.RawIOBase protocol)."""
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def readline(self, limit: int | None = -1) -> bytes:
        """Up to and including the next newline, never more than ``max_read`` bytes."""
        limit = self.max_read if limit is None or limit < 0 else min(limit, self.max_read)
        out = bytearray()
        while len(out) < limit:
            piece = self.read(min(self.chunk, limit - len(out), max(0, self.end - self._pos)))
            if not piece:
                break
            cut = piece.find(b"\n")
            if cut >= 0:
                out += piece[: cut + 1]
                self._pos -= len(piece) - cut - 1
                break
            out += piece
        return bytes(out)


@dataclass(frozen=True, slots=True)
class ZipMember:
    """One member of a zip archive as its central directory lists it."""

    name: str
    #: Absolute offset of the member's local header (its bytes follow: ``ZipArchive.data_offset``).
    header_offset: int
    size: int
    compressed_size: int
    stored: bool


class ZipArchive:
    """A zip archive's member list, and capped reads of small members."""

    def __init__(self, src: ByteSource) -> None:
        self.src = src
        self.name = src.name
        # The end record and (usually) the central directory sit in the last 64 KiB: one read that a
        # remote source keeps, instead of the many small reads zipfile makes there.
        src.read_at(max(0, src.size - (1 << 16)), 1 << 16)
        try:
            self._zf = zipfile.ZipFile(SourceIO(src, max_read=limits.MAX_ZIP_DIRECTORY))
            infos = self._zf.infolist()
        except MfiError:
            raise
        except _ZIP_ERRORS as e:
            raise FormatError(self.name, f"damaged zip archive ({e})") from None
        if len(infos) > limits.MAX_ZIP_MEMBERS:
            raise LimitError(self.name, f"{len(infos)} zip members exceed the cap of {limits.MAX_ZIP_MEMBERS}")
        #: Every member in central-directory order, duplicates included (``members`` keeps the last of a name).
        self.entries: tuple[ZipMember, ...] = tuple(
            ZipMember(i.filename, i.header_offset, i.file_size, i.compress_size, i.compress_type == zipfile.ZIP_STORED)
            for i in infos
        )  # fmt: skip
        self._infos = {i.header_offset: i for i in infos}
        self.members: dict[str, ZipMember] = {m.name: m for m in self.entries}
        seen: set[str] = set()
        #: Names listed more than once, compared case-insensitively (miniz, torch's reader, looks up that way).
        self.duplicates: list[str] = []
        for m in self.entries:
            if m.name.lower() in seen and m.name not in self.duplicates:
                self.duplicates.append(m.name)
            seen.add(m.name.lower())
        self._offsets: dict[int, int] = {}

    def data_offset(self, name: str) -> int:
        """Where a member's bytes start: after its local header (30 bytes + name + extra field)."""
        return self.entry_offset(self.members[name])

    def entry_offset(self, m: ZipMember) -> int:
        """Where one entry's bytes start; read on demand (one small read), so remote listings stay cheap."""
        at = m.header_offset
        if at not in self._offsets:
            head = self.src.read_at(at, 30)
            if len(head) < 30:
                raise TruncatedError(self.name, f"local header of {m.name!r} runs past the end", at)
            if head[:4] != ZIP_MAGIC:
                raise FormatError(self.name, f"bad local header signature for {m.name!r}", at)
            name_len, extra_len = struct.unpack("<HH", head[26:30])
            self._offsets[at] = at + 30 + name_len + extra_len
        return self._offsets[at]

    def read(self, name: str, cap: int) -> bytes:
        """The whole (decompressed) member ``name``; ``LimitError`` when it exceeds ``cap`` bytes."""
        return self.read_entry(self.members[name], cap)

    def head(self, m: ZipMember, n: int) -> bytes:
        """The first ``n`` (decompressed) bytes of one entry."""
        if m.stored:
            return self.src.read_at(self.entry_offset(m), min(n, m.size))
        return self.read_entry(m, n, partial=True)

    def read_entry(self, m: ZipMember, cap: int, partial: bool = False) -> bytes:
        """One entry's (decompressed) bytes; over ``cap`` is a ``LimitError``, or cut at ``cap`` when ``partial``."""
        info = self._infos[m.header_offset]
        name = m.name
        if info.file_size > cap and not partial:
            raise LimitError(self.name, f"zip member {name!r} of {info.file_size} bytes exceeds the cap of {cap}")
        try:
            with self._zf.open(info) as f:
                parts, got = [], 0
                while got <= cap and (piece := f.read(min(1 << 20, cap + 1 - got))):  # bounded, even when inflating
                    parts.append(piece)
                    got += len(piece)
            data = b"".join(parts)
        except MfiError:
            raise
        except _ZIP_ERRORS as e:
            raise FormatError(self.name, f"cannot read zip member {name!r} ({e})", info.header_offset) from None
        if partial:
            return data[:cap]
        if len(data) > cap:
            raise LimitError(self.name, f"zip member {name!r} inflates past the cap of {cap} bytes")
        return data


def is_zip(head: bytes) -> bool:
    """Whether the first bytes of a file are a zip local header (or an empty archive)."""
    return head[:4] in (ZIP_MAGIC, _EMPTY_ZIP_MAGIC)

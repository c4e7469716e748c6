"""Zip archives (torch checkpoints, .npz) read through a ``ByteSource``: members listed, never extracted.

Read twice (issue 11 item 3): the way torch's miniz reader does (end record, central directory,
local headers; ``ZipArchive._miniz``) and with the standard library's ``zipfile`` (what ``np.load``
uses) through ``SourceIO``, a small read-only, buffered file object over the byte source. Every
read is capped, so a claimed directory or member size cannot make us allocate more than the caps
in ``mfi.limits``; compressed members are inflated as a stream (``InflateIO``), never whole.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from lzma import LZMADecompressor, LZMAError
from typing import Any

from .. import limits
from ..errors import FormatError, LimitError, TruncatedError
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
    """One member of a zip archive as a central directory lists it."""

    name: str
    #: Absolute offset of the member's local header (its bytes follow: ``ZipArchive.data_offset``).
    header_offset: int
    size: int
    compressed_size: int
    stored: bool
    #: Compression method (0 stored, 8 deflate, 12 bzip2, 14 lzma).
    method: int = 0


_EOCD = struct.Struct("<IHHHHIIH")
_EOCD64 = struct.Struct("<IQHHIIQQQQ")
_CDIR = struct.Struct("<IHHHHHHIIIHHHHHII")


class ZipArchive:
    """A zip archive read the way torch's reader (miniz) reads it, checked against Python's ``zipfile``.

    torch.load goes through ``PyTorchFileReader``, which uses miniz: the end record is the last
    ``PK\\x05\\x06`` with 22 bytes after it, the central directory sits where that record says,
    members are found by central-directory name and read from their local header on. numpy's
    ``np.load`` uses ``zipfile``, which reads the central directory right before the end record and
    shifts every offset to match (archives with bytes in front), and checks local names. Both
    readings are kept: ``entries`` holds every member either one finds, and ``disagreements`` says
    where they part ways (a scan reports that: what runs cannot be verified).
    """

    def __init__(self, src: ByteSource) -> None:
        self.src = src
        self.name = src.name
        # The end record and (usually) the central directory sit in the last 64 KiB: one read that a
        # remote source keeps, instead of many small reads there.
        src.read_at(max(0, src.size - (1 << 16)), 1 << 16)
        #: Where the two readings differ (empty for any archive a normal writer made).
        self.disagreements: list[str] = []
        miniz = self._miniz()
        python = self._python()
        if python is None:
            self.disagreements.append("Python's zipfile (np.load) cannot read the archive")
        elif miniz is not None and {(m.name, m.header_offset) for m in miniz} != {(m.name, m.header_offset) for m in python}:
            only = sorted({m.name for m in python} ^ {m.name for m in miniz})
            what = f"list different members ({', '.join(only[:3])})" if only else "read the members from different bytes"
            self.disagreements.append(f"torch's zip reader and Python's zipfile {what}")
        if miniz is None and python is None:
            raise FormatError(self.name, f"damaged zip archive ({self._miniz_error})")
        entries = list(miniz or [])
        seen = {m.header_offset for m in entries}
        entries += [m for m in python or [] if m.header_offset not in seen]
        if len(entries) > limits.MAX_ZIP_MEMBERS:
            raise LimitError(self.name, f"{len(entries)} zip members exceed the cap of {limits.MAX_ZIP_MEMBERS}")
        #: Every member either reader lists, torch's reading first, duplicates included.
        self.entries: tuple[ZipMember, ...] = tuple(entries)
        #: torch's reading (miniz), when it could read the archive.
        self.torch_entries: tuple[ZipMember, ...] = tuple(miniz or ())
        self.members: dict[str, ZipMember] = {}
        for m in reversed(self.entries):  # the first listing of a name wins, as miniz's lookup finds it
            self.members[m.name] = m
        seen_names: set[str] = set()
        #: Names listed more than once, compared case-insensitively (miniz, torch's reader, looks up that way).
        self.duplicates: list[str] = []
        for m in miniz or python or ():
            if m.name.lower() in seen_names and m.name not in self.duplicates:
                self.duplicates.append(m.name)
            seen_names.add(m.name.lower())
        self._offsets: dict[int, int] = {}
        self._names: dict[int, str] = {}

    def _miniz(self) -> list[ZipMember] | None:
        """The members as miniz lists them (``mz_zip_reader_read_central_dir``), or None when it cannot."""
        self._miniz_error = ""
        size = self.src.size
        tail_at = max(0, size - (1 << 16) - _EOCD.size)
        tail = self.src.read_at(tail_at, size - tail_at)
        at = tail.rfind(b"PK\x05\x06", 0, max(0, len(tail) - _EOCD.size + 4))
        if at < 0:
            self._miniz_error = "no end-of-central-directory record"
            return None
        _, _, _, _, count, cd_size, cd_offset, _ = _EOCD.unpack_from(tail, at)
        if 0xFFFFFFFF in (cd_size, cd_offset) or count == 0xFFFF:  # zip64: the locator sits just before
            loc = tail[at - 20 : at] if at >= 20 else b""
            if loc[:4] != b"PK\x06\x07":
                self._miniz_error = "zip64 end record missing"
                return None
            (rec_at,) = struct.unpack_from("<Q", loc, 8)
            rec = self.src.read_at(rec_at, _EOCD64.size) if rec_at < size else b""
            if len(rec) < _EOCD64.size or rec[:4] != b"PK\x06\x06":
                self._miniz_error = f"zip64 end record at byte {rec_at} is missing"
                return None
            count, cd_size, cd_offset = _EOCD64.unpack(rec)[7:10]
        if cd_offset + cd_size > size:
            self._miniz_error = f"central directory at byte {cd_offset} ({cd_size} bytes) lies past the end ({size} bytes)"
            return None
        if cd_size > limits.MAX_ZIP_DIRECTORY:
            raise LimitError(self.name, f"central directory of {cd_size} bytes exceeds the cap of {limits.MAX_ZIP_DIRECTORY}")
        if count > limits.MAX_ZIP_MEMBERS:
            raise LimitError(self.name, f"{count} zip members exceed the cap of {limits.MAX_ZIP_MEMBERS}")
        cd = self.src.read_at(cd_offset, cd_size)
        out: list[ZipMember] = []
        pos = 0
        for _ in range(count):
            if len(cd) - pos < _CDIR.size or cd[pos : pos + 4] != b"PK\x01\x02":
                self._miniz_error = f"central directory entry {len(out)} is damaged"
                return None
            f = _CDIR.unpack_from(cd, pos)
            method, csize, usize, nlen, xlen, clen, offset = f[4], f[8], f[9], f[10], f[11], f[12], f[16]
            raw = cd[pos + _CDIR.size : pos + _CDIR.size + nlen]
            extra = cd[pos + _CDIR.size + nlen : pos + _CDIR.size + nlen + xlen]
            usize, csize, offset = _zip64_extra(extra, usize, csize, offset)
            name = raw.decode("utf-8" if f[3] & 0x800 else "cp437", "replace")
            out.append(ZipMember(name, offset, usize, csize, method == 0, method))
            pos += _CDIR.size + nlen + xlen + clen
        return out

    def _python(self) -> list[ZipMember] | None:
        """The members as Python's ``zipfile`` (np.load) lists them, or None when it refuses the archive."""
        try:
            zf = zipfile.ZipFile(SourceIO(self.src, max_read=limits.MAX_ZIP_DIRECTORY))
            infos = zf.infolist()
        except LimitError:
            raise
        except (*_ZIP_ERRORS, OverflowError):
            return None
        if len(infos) > limits.MAX_ZIP_MEMBERS:
            raise LimitError(self.name, f"{len(infos)} zip members exceed the cap of {limits.MAX_ZIP_MEMBERS}")
        return [ZipMember(i.filename, i.header_offset, i.file_size, i.compress_size, i.compress_type == 0, i.compress_type)
                for i in infos]  # fmt: skip

    def data_offset(self, name: str) -> int:
        """Where a member's bytes start: after its local header (30 bytes + name + extra field)."""
        return self.entry_offset(self.members[name])

    def local_name(self, m: ZipMember) -> str:
        """The name the member's local header gives (miniz ignores it; zipfile insists it matches)."""
        self.entry_offset(m)
        return self._names[m.header_offset]

    def entry_offset(self, m: ZipMember) -> int:
        """Where one entry's bytes start; its local header is read once, on demand (remote listings stay cheap)."""
        at = m.header_offset
        if at not in self._offsets:
            # one read for the header and a name as long as the central one (a remote request each)
            head = self.src.read_at(at, 30 + len(m.name.encode()) + 2)
            if len(head) < 30:
                raise TruncatedError(self.name, f"local header of {m.name!r} runs past the end", at)
            if head[:4] != ZIP_MAGIC:
                raise FormatError(self.name, f"bad local header signature for {m.name!r}", at)
            name_len, extra_len = struct.unpack("<HH", head[26:30])
            raw = head[30 : 30 + name_len] if len(head) >= 30 + name_len else self.src.read_at(at + 30, name_len)
            self._names[at] = raw.decode("utf-8", "replace")
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

    def stream(self, m: ZipMember) -> InflateIO:
        """A forward-only stream over one compressed entry's bytes, inflated as they are read."""
        import bz2

        makers = {8: lambda: zlib.decompressobj(-15), 12: bz2.BZ2Decompressor, 14: _LzmaZip}
        if m.method not in makers:
            raise FormatError(self.name, f"zip member {m.name!r} uses compression method {m.method}", m.header_offset)
        return InflateIO(self.src, self.entry_offset(m), m.compressed_size, makers[m.method], f"zip member {m.name!r}",
                         cap=limits.MAX_MEMBER_INFLATE)  # fmt: skip

    def read_entry(self, m: ZipMember, cap: int, partial: bool = False) -> bytes:
        """One entry's (decompressed) bytes; over ``cap`` is a ``LimitError``, or cut at ``cap`` when ``partial``."""
        if m.size > cap and not partial:
            raise LimitError(self.name, f"zip member {m.name!r} of {m.size} bytes exceeds the cap of {cap}")
        if m.stored:
            data = self.src.read_at(self.entry_offset(m), min(m.size, cap + 1))
        else:
            s = self.stream(m)
            data = s.read(cap + 1)
        if partial:
            return data[:cap]
        if len(data) > cap:
            raise LimitError(self.name, f"zip member {m.name!r} inflates past the cap of {cap} bytes")
        return data


def _zip64_extra(extra: bytes, usize: int, csize: int, offset: int) -> tuple[int, int, int]:
    """Sizes and offset from a zip64 extra field (0x0001), for the fields set to 0xFFFFFFFF."""
    pos = 0
    while pos + 4 <= len(extra):
        tag, n = struct.unpack_from("<HH", extra, pos)
        if tag == 1:
            vals = list(struct.unpack_from(f"<{n // 8}Q", extra, pos + 4)) if pos + 4 + n <= len(extra) else []
            if usize == 0xFFFFFFFF and vals:
                usize = vals.pop(0)
            if csize == 0xFFFFFFFF and vals:
                csize = vals.pop(0)
            if offset == 0xFFFFFFFF and vals:
                offset = vals.pop(0)
            break
        pos += 4 + n
    return usize, csize, offset


class InflateIO(io.RawIOBase):
    """Compressed bytes of a source as a forward-only stream: inflated a chunk at a time, never whole.

    A 261 KB zip member can inflate to 256 MiB (issue 11 item 11); the pickle walk reads it through
    this stream and steps over long arguments, so memory stays at a chunk or two. Inflating more
    than ``cap`` bytes is a ``LimitError``, which bounds the time too.
    """

    def __init__(self, src: ByteSource, at: int, length: int, make: Callable[[], Any], what: str, *, multi: bool = False,
                 cap: int = limits.MAX_PICKLE_BYTES, chunk: int = 1 << 16) -> None:  # fmt: skip
        super().__init__()
        self._src, self._make, self._what, self._multi, self._cap, self._chunk = src, make, what, multi, cap, chunk
        self._d = make()
        self._at, self._left, self._start = at, length, at
        self._buf = b""
        self._pos = 0
        self.name = src.name

    def _fill(self, want: int) -> None:
        while len(self._buf) < want:
            raw = getattr(self._d, "unconsumed_tail", b"")
            if not raw:
                if self._left <= 0:
                    return
                raw = self._src.read_at(self._at, min(self._chunk, self._left))
                if not raw:
                    self._left = 0
                    return
                self._at += len(raw)
                self._left -= len(raw)
            try:
                if hasattr(self._d, "unconsumed_tail"):  # zlib: bound the output of each call
                    piece = self._d.decompress(raw, max(self._chunk, want - len(self._buf)))
                else:
                    piece = self._d.decompress(raw)
            except (zlib.error, OSError, EOFError, ValueError, LZMAError) as e:
                raise FormatError(self.name, f"cannot inflate {self._what} ({e})", self._start) from None
            if self._pos + len(self._buf) + len(piece) > self._cap:
                raise LimitError(self.name, f"{self._what} inflates past the cap of {self._cap} bytes", self._start)
            self._buf += piece
            if getattr(self._d, "eof", False):
                rest = getattr(self._d, "unused_data", b"")
                if not self._multi or not (rest or self._left > 0):
                    self._left = 0
                    return
                self._d = self._make()  # concatenated gzip / bz2 / xz streams: the readers go on
                if rest:
                    self._at -= len(rest)
                    self._left += len(rest)

    def readable(self) -> bool:
        """Always readable."""
        return True

    def tell(self) -> int:
        """Bytes inflated and consumed so far."""
        return self._pos

    def at_end(self) -> bool:
        """Whether every byte has been consumed."""
        self._fill(1)
        return not self._buf

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (``n < 0``: up to 16 MiB, the pickle read cap)."""
        n = limits.MAX_PICKLE_STRING if n is None or n < 0 else n
        self._fill(n)
        data, self._buf = self._buf[:n], self._buf[n:]
        self._pos += len(data)
        return data

    def readline(self, limit: int | None = -1) -> bytes:
        """Up to and including the next newline, never more than 16 MiB."""
        limit = limits.MAX_PICKLE_STRING if limit is None or limit < 0 else limit
        out = bytearray()
        while len(out) < limit:
            if not self._buf:
                self._fill(1)
                if not self._buf:
                    break
            cut = self._buf.find(b"\n", 0, limit - len(out))
            take = cut + 1 if cut >= 0 else min(len(self._buf), limit - len(out))
            out += self._buf[:take]
            self._buf = self._buf[take:]
            self._pos += take
            if cut >= 0:
                break
        return bytes(out)

    def skip(self, n: int) -> bool:
        """Inflate and drop ``n`` bytes, a megabyte at a time; False when the data ends first."""
        while n > 0:
            if not self._buf:
                self._fill(min(n, 1 << 20))
                if not self._buf:
                    return False
            take = min(n, len(self._buf))
            self._buf = self._buf[take:]
            self._pos += take
            n -= take
        return True


#: Decompressors by leading bytes: what joblib.load and pandas.read_pickle undo before unpickling
#: (joblib/compressor.py prefixes; pandas infers by suffix, the same formats).
COMPRESSED = {
    b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"\x5d\x00\x00": "lzma", b"\x78\x01": "zlib",
    b"\x78\x5e": "zlib", b"\x78\x9c": "zlib", b"\x78\xda": "zlib", b"\x04\x22\x4d\x18": "lz4", b"\x28\xb5\x2f\xfd": "zstd",
}  # fmt: skip


def compression(head: bytes) -> str | None:
    """The compression a file's first bytes announce (``gzip``, ``zlib``, ``bz2``, ``xz``, ``lzma``, ``lz4``, ``zstd``)."""
    for magic, kind in COMPRESSED.items():
        if head.startswith(magic):
            return kind
    return None


def decompressing(src: ByteSource, kind: str) -> InflateIO:
    """A stream over the whole of ``src`` decompressed (gzip, zlib, bz2, xz, lzma)."""
    import bz2
    import lzma

    makers = {"gzip": lambda: zlib.decompressobj(31), "zlib": lambda: zlib.decompressobj(15), "bz2": bz2.BZ2Decompressor,
              "xz": lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ), "lzma": lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE)}  # fmt: skip
    if kind not in makers:
        raise FormatError(src.name, f"{kind}-compressed data cannot be read without the {kind} package")
    return InflateIO(src, 0, src.size, makers[kind], f"the {kind} stream", multi=kind in ("gzip", "bz2", "xz"))


class _LzmaZip:
    """Zip's LZMA (method 14): a 4-byte version/size prefix and the LZMA1 properties, then raw LZMA1 data."""

    def __init__(self) -> None:
        self._d: LZMADecompressor | None = None
        self._pre = b""
        self.eof = False

    def decompress(self, raw: bytes) -> bytes:
        """Inflate one more piece (the prefix is gathered first)."""
        import lzma

        if self._d is None:
            self._pre += raw
            if len(self._pre) < 9:
                return b""
            # properties (5 bytes): lc/lp/pb packed in one byte, then the dictionary size (APPNOTE 5.8.8)
            d, dict_size = self._pre[4], struct.unpack("<I", self._pre[5:9])[0]
            lzma1 = {"id": lzma.FILTER_LZMA1, "lc": d % 9, "lp": d // 9 % 5, "pb": d // 45, "dict_size": dict_size}
            self._d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])
            raw, self._pre = self._pre[9:], b""
        out = self._d.decompress(raw)
        self.eof = self._d.eof
        return out


def is_zip(head: bytes) -> bool:
    """Whether the first bytes of a file are a zip local header (or an empty archive)."""
    return head[:4] in (ZIP_MAGIC, _EMPTY_ZIP_MAGIC)

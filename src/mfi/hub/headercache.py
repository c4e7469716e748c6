"""Header bytes kept between remote inspects: the same file again costs the listing and nothing more.

What is kept is the spans of a file that an inspect read (a GGUF or safetensors header, a JSON
sidecar), keyed by the hub, the repo, the path and the file's content id from the listing (LFS
sha256 or git blob id, else the commit): a new version of a file has a new key, so nothing goes
stale. The key holds the mirror's endpoint, so a hostile mirror publishing a real file's sha256 can
only fill its own entries. Cached bytes are parsed again by the same readers as bytes from the
network (they are as untrusted); an entry is also checked on the way back in (magic, sizes, spans
in order and inside the file, a sha256 over the whole entry) and dropped when anything is off.
Entries are capped at ``MAX_ENTRY`` bytes and the folder at ``MAX_TOTAL`` (oldest removed first).

Folder: ``$MFI_CACHE_DIR``, else ``$XDG_CACHE_HOME/mfi/headers``, else ``~/.cache/mfi/headers``.
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
from pathlib import Path

from ..sources.http import MAX_CACHED

MAGIC = b"MFIHC1\n"
#: Largest entry written or read back (what one ``HttpSource`` keeps at most).
MAX_ENTRY = MAX_CACHED
#: Most spans in one entry (a header read in a few windows has a handful).
MAX_SPANS = 1024
#: Largest size of the whole folder; past it the least recently written entries go.
MAX_TOTAL = 512 << 20
_HEAD = struct.Struct("<QI")  # file size, span count
_SPAN = struct.Struct("<QQ")  # offset, length


def folder() -> Path:
    """Where entries live (created on first write, private to the user)."""
    env = os.environ.get("MFI_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mfi" / "headers"


def key(endpoint: str, repo_id: str, path: str, content_id: str) -> str:
    """The entry name for one file version on one hub."""
    return hashlib.sha256("\0".join((endpoint, repo_id, path, content_id)).encode()).hexdigest()


def load(name: str, size: int) -> list[tuple[int, bytes]] | None:
    """The spans kept under ``name`` for a file of ``size`` bytes, or ``None`` (missing or not valid)."""
    path = folder() / name
    try:
        # no link followed, and a FIFO planted under the name cannot block the open
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        limit = len(MAGIC) + _HEAD.size + MAX_SPANS * _SPAN.size + MAX_ENTRY + 32
        if not (st.st_mode & 0o170000 == 0o100000) or st.st_size > limit:
            _drop(path)
            return None
        with os.fdopen(fd, "rb") as f:
            fd = -1
            raw = f.read(limit + 1)
    finally:
        if fd >= 0:
            os.close(fd)
    spans = _parse(raw, size)
    if spans is None:
        _drop(path)
    return spans


def _parse(raw: bytes, size: int) -> list[tuple[int, bytes]] | None:
    if len(raw) < len(MAGIC) + _HEAD.size + 32 or not raw.startswith(MAGIC):
        return None
    body, digest = raw[:-32], raw[-32:]
    if hashlib.sha256(body).digest() != digest:
        return None
    p = len(MAGIC)
    file_size, n = _HEAD.unpack_from(body, p)
    p += _HEAD.size
    if file_size != size or n > MAX_SPANS or len(body) < p + n * _SPAN.size:
        return None
    table = [_SPAN.unpack_from(body, p + i * _SPAN.size) for i in range(n)]
    p += n * _SPAN.size
    spans: list[tuple[int, bytes]] = []
    end = 0
    for offset, length in table:
        if offset < end or length == 0 or offset + length > size or p + length > len(body):
            return None
        spans.append((offset, body[p : p + length]))
        p += length
        end = offset + length
    if p != len(body) or sum(len(d) for _, d in spans) > MAX_ENTRY:
        return None
    return spans


def _drop(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def save(name: str, size: int, spans: list[tuple[int, bytes]]) -> None:
    """Keep ``spans`` of a file of ``size`` bytes under ``name``; a cache that cannot be written is skipped."""
    if not spans or len(spans) > MAX_SPANS or sum(len(d) for _, d in spans) > MAX_ENTRY:
        return
    parts = [MAGIC, _HEAD.pack(size, len(spans))]
    parts += [_SPAN.pack(offset, len(data)) for offset, data in spans]
    parts += [data for _, data in spans]
    body = b"".join(parts)
    top = folder()
    try:
        top.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=top, prefix=".tmp-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body + hashlib.sha256(body).digest())
        os.replace(tmp, top / name)  # rename: a link planted under the name is replaced, never followed
        _trim(top)
    except OSError:
        _drop(Path(tmp))


def _trim(top: Path) -> None:
    """Remove the oldest entries while the folder holds more than ``MAX_TOTAL`` bytes."""
    entries = []
    for p in top.iterdir():
        try:
            st = p.lstat()
        except OSError:
            continue
        entries.append((st.st_mtime_ns, st.st_size, p))
    total = sum(size for _, size, _ in entries)
    for _, size, p in sorted(entries, key=lambda e: e[0]):
        if total <= MAX_TOTAL:
            break
        _drop(p)
        total -= size

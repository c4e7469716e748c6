"""Pickle findings: every global outside the allow-list, in bare pickles, torch checkpoints, zips and npy.

``pickle.load`` runs opcodes in order, so globals seen before a damaged spot still count: the
walks here are partial (``walk_pickle(partial=True)``) and report the damage as its own finding.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import PurePosixPath
from typing import Any

from .. import limits
from ..errors import LimitError, MfiError
from ..formats.npy import NPY_MAGIC, read_npy
from ..formats.pickle import (
    ALLOWED,
    DANGEROUS,
    PickleGlobal,
    PickleWalk,
    pickle_stream,
    starts_like_pickle,
    walk_pickle,
)
from ..formats.torch import LEGACY_MAGIC, read_torch
from ..formats.ziparchive import InflateIO, ZipArchive, ZipMember, decompressing
from ..sources import ByteSource
from ..sources.memory import WindowSource
from .records import Finding


def global_findings(file: str, found: list[PickleGlobal], oddities: list[tuple[int, str]], member: str | None) -> list[Finding]:
    """One finding per global outside the allow-list (dangerous ones critical), and per odd opcode."""
    out = []
    for g in found:
        if g.verdict == ALLOWED:
            continue
        detail = {"module": g.module, "name": g.name, "opcode": g.opcode, "verdict": g.verdict}
        if g.verdict == DANGEROUS:
            out.append(Finding("critical", "pickle", file, f"pickle imports {g.qualname}, which {g.why}; loading it runs code",
                               g.offset, member, detail))  # fmt: skip
        else:
            out.append(Finding("high", "pickle", file, f"pickle imports {g.qualname}, outside the checkpoint allow-list; "
                               "loading it calls that code", g.offset, member, detail))  # fmt: skip
    for offset, what in oddities:
        out.append(Finding("high", "pickle", file, f"pickle uses {what}", offset, member, {"opcode": what.split()[0]}))
    return out


def _walk_all(file: str, src: Any, base: int, member: str | None) -> tuple[list[Finding], int, list[PickleWalk]]:
    """Walk pickle after pickle to the end of ``src``; returns findings, globals seen, and the walks.

    ``src`` is a byte source, or a compressed one with ``stream()`` (read forward only). torch's
    legacy layout holds five pickles in a row (the first is the magic number, however it is
    encoded), then raw storages; any other file is walked to its end, since a loader may call
    ``pickle.load`` again where the last one stopped. Bytes after a STOP that break before importing
    anything are not a pickle (``pickle.load`` never reads past STOP): an info note, not damage.
    """
    out: list[Finding] = []
    stream = src.stream() if hasattr(src, "stream") else pickle_stream(src)
    seen = 0
    opcodes = 0
    walks: list[PickleWalk] = []
    legacy = False
    while True:
        at = stream.tell()
        walk = walk_pickle(file, stream, base=base, partial=True)
        if walks and not legacy and walk.error is not None and not walk.globals and not walk.oddities:
            rest = f"{src.size - at} bytes" if src.size is not None else "the bytes"
            out.append(Finding("info", "format", file, f"{rest} after the pickle's STOP are not a pickle",
                               base + at, member, {"trailing": True}))  # fmt: skip
            break
        walks.append(walk)
        seen += len(walk.globals)
        opcodes += walk.opcodes
        out += global_findings(file, walk.globals, walk.oddities, member)
        if walk.error is not None:
            # our reading and pickle.load's may part ways at the damage: what follows could still run
            out.append(Finding("high", "pickle", file, f"pickle could not be fully checked: {walk.error.problem}; "
                               "code may run", walk.error.offset, member, {"damaged": True}))  # fmt: skip
            break
        legacy = legacy or (len(walks) == 1 and walk.value == LEGACY_MAGIC and not isinstance(walk.value, bool))
        if (legacy and len(walks) == 5) or (stream.at_end() if hasattr(stream, "at_end") else stream.tell() >= src.size):
            break  # legacy: raw storages follow the fifth pickle, torch reads them as bytes
        if len(walks) >= limits.MAX_PICKLES or opcodes > limits.MAX_PICKLE_OPCODES:
            out.append(Finding("high", "pickle", file, f"more than {len(walks)} pickles ({opcodes} opcodes) in a row; "
                               "the rest could not be checked; code may run", base + stream.tell(), member,
                               {"damaged": True}))  # fmt: skip
            break
    return out, seen, walks


def _clean_note(file: str, n: int, member: str | None) -> Finding:
    return Finding("info", "pickle", file, f"pickle imports only allow-listed globals ({n} imports); "
                   "safetensors would avoid pickle altogether", member=member, detail={"imports": n})  # fmt: skip


def scan_pickle_file(file: str, src: ByteSource, names: set[str] | None = None, *, sniffed: bool = False) -> list[Finding] | None:
    """A bare pickle or a legacy torch checkpoint: every pickle's globals, then the tensor table's damage.

    ``sniffed`` files (no pickle suffix, only first bytes that decode as an opcode) that break before
    any import are not pickles: ``None``."""
    out, n, walks = _walk_all(file, src, 0, None)
    if sniffed and out and all(f.detail.get("damaged") for f in out):
        return None  # bytes that merely start like a pickle, and break before importing anything
    legacy = walks[0].error is None and walks[0].value == LEGACY_MAGIC
    # without a persistent id there is no storage, so no tensor table; a complete walk is reused
    reuse = {"": walks[0]} if not legacy and walks[0].error is None else {}
    integrity = _torch_integrity(file, src, out, names, reuse) if legacy or walks[0].persistent else []
    loud = [f for f in out if f.severity != "info"]
    return out + integrity + ([] if loud else [_clean_note(file, n, None)])


def _torch_integrity(file: str, src: ByteSource, earlier: list[Finding], names: set[str] | None, walked: dict[str, PickleWalk]) -> list[Finding]:
    """Damage in the tensor table (storages missing or short); fills ``names`` with the tensor names.

    Quiet when the pickle already has findings: its tensor table would only repeat that damage.
    """
    quiet = any(f.severity in ("critical", "high") or "could not" in f.message for f in earlier)
    try:
        ck = read_torch(src, walked)
    except MfiError as e:
        return [] if quiet else [Finding("medium", "integrity", file, f"checkpoint unreadable: {e.problem}", e.offset)]
    if names is not None:
        names.update(t.name for t in ck.tensors)
        names.update(ck.aliases)  # a tied view: in the file, kept once in the tensor table
    return [] if quiet else [Finding("medium", "integrity", file, p) for p in ck.problems]


def scan_zip(file: str, src: ByteSource, names: set[str] | None = None, *, deep: bool = True) -> list[Finding]:
    """Every member whose bytes are a pickle or an npy array (whatever its name), code members, duplicates.

    ``np.load`` and ``torch.load`` go by content, not by name, so every member's first bytes are
    sniffed. ``deep`` also reads a torch checkpoint's tensor table for integrity problems and tensor
    names; without it (remote scans) a torch archive's ``data/N`` storages, which torch reads raw,
    are not opened (one request each).
    """
    z = ZipArchive(src)
    out: list[Finding] = []
    clean: list[str] = []
    walked: dict[str, PickleWalk] = {}
    allowed = 0
    for problem in z.disagreements:
        out.append(Finding("high", "pickle", file, f"the archive reads two ways: {problem}; what a loader runs cannot "
                           "be verified", detail={"damaged": True}))  # fmt: skip
    # torch's reader takes the folder of the first member as the archive's name, then looks records up
    # under it case-insensitively (caffe2/serialize/inline_container.cc, PyTorchFileReader::init)
    first = z.torch_entries[0].name if z.torch_entries else ""
    prefix = first.split("/", 1)[0].lower() + "/" if "/" in first else ""
    has_torch = any(m.name.lower() == prefix + "data.pkl" for m in z.torch_entries)
    storage = re.compile(re.escape(prefix) + r"data/\d+") if has_torch else None
    for name in z.duplicates:
        out.append(Finding("high", "pickle", file, f"archive lists {name!r} more than once: loaders disagree on which "
                           "copy they read", member=name, detail={"duplicate": name}))  # fmt: skip
    for m in z.entries[: limits.MAX_ZIP_MEMBERS]:
        name = m.name
        lower = name.lower()
        suffix = PurePosixPath(lower).suffix
        if suffix == ".py" or "/code/" in lower:
            out.append(Finding("medium", "remote-code", file, f"archive holds code ({name}): TorchScript or Python that a "
                               "loader may run", member=name))  # fmt: skip
            continue
        is_storage = storage is not None and storage.fullmatch(lower) is not None
        if is_storage and not deep:
            continue
        try:
            local = z.local_name(m)
            head = z.head(m, _MEMBER_SNIFF)
        except MfiError as e:  # one bad member must not hide the others' findings
            out.append(Finding("high", "pickle", file, f"member {name!r} could not be read ({e.problem}); a loader may "
                               "still read it: what runs cannot be verified", e.offset, name, {"damaged": True}))  # fmt: skip
            continue
        if local != name:
            out.append(Finding("high", "pickle", file, f"member {name!r} is named {local!r} in its local header: torch "
                               "reads it, zipfile refuses it; what runs cannot be verified", member=name,
                               detail={"damaged": True, "local_name": local}))  # fmt: skip
        if is_npy(head):
            data_src, base = _member_source(z, m)
            out += _npy_findings(file, data_src, base, name)
        elif is_storage:
            continue  # torch reads a storage as raw bytes, never as a pickle (issue 11 item 8)
        elif starts_like_pickle(head, cut=len(head) < m.size):
            named = suffix in (".pkl", ".pickle")
            data_src, base = _member_source(z, m)
            found, n, walks = _walk_all(file, data_src, base, name)
            if walks[0].error is None and name not in z.duplicates:
                walked[name] = walks[0]
            if not named and found and all(f.detail.get("damaged") for f in found):
                continue  # raw bytes that merely start like an opcode
            allowed += n
            out += found
            if not [f for f in found if f.severity != "info"]:
                clean.append(name)
    main = next((m.name for m in z.torch_entries if m.name.lower() == prefix + "data.pkl"), None)
    # the tensor table needs one small read per storage: skipped remotely; and when data.pkl could not
    # be walked to its end (reading it again for the table would only repeat the damage, at its cost)
    if has_torch and deep and main in walked:
        out += _torch_integrity(file, src, out, names, walked)
    if clean and not any(f.kind == "pickle" and f.severity != "info" for f in out):
        out.append(_clean_note(file, allowed, None))
    return out


#: Bytes read from each zip member to tell pickles and npy arrays from raw data.
_MEMBER_SNIFF = 4096
_TORCH_STORAGE = re.compile(r"(?:.*/)?data/\d+")


def _member_source(z: ZipArchive, m: ZipMember) -> tuple[ByteSource, int]:
    """A byte source for one member: the archive itself when stored, else its inflated bytes."""
    if m.stored:
        at = z.entry_offset(m)
        return WindowSource(z.src, at, m.size), at
    return _Inflated(z, m), 0


class _Inflated:
    """A compressed member as a source ``_walk_all`` reads through one forward-only stream (never whole)."""

    def __init__(self, z: ZipArchive, m: ZipMember) -> None:
        self.name, self._z, self._m = z.name, z, m
        self.size = m.size

    def stream(self) -> InflateIO:
        """The member's inflating stream, from its first byte."""
        return self._z.stream(self._m)

    def read_at(self, offset: int, length: int) -> bytes:
        """Bytes at ``offset`` (inflating from the start: only for small headers)."""
        return self._z.head(self._m, offset + length)[offset:]


class _After:
    """An inflating source from ``offset`` on (the pickle after a compressed .npy header)."""

    def __init__(self, src: _Inflated, offset: int) -> None:
        self.name, self._src, self._offset = src.name, src, offset
        self.size = max(0, src.size - offset)

    def stream(self) -> InflateIO:
        """The inflating stream, moved past the header."""
        s = self._src.stream()
        s.skip(self._offset)
        return s

    def read_at(self, offset: int, length: int) -> bytes:
        """Bytes at ``offset`` after the header (small reads only)."""
        return self._src.read_at(self._offset + offset, length)


def _npy_findings(file: str, src: ByteSource, base: int, member: str | None) -> list[Finding]:
    try:
        header = read_npy(src)
    except MfiError as e:
        return [Finding("medium", "integrity", file, f"array header unreadable: {e.problem}", e.offset, member)]
    if not header.has_object:
        return []
    out = [Finding("high", "pickle", file, f"object array or unusual dtype ({str(header.descr)[:40]}): "
                   "np.load(allow_pickle=True) may unpickle it", base + header.data_offset, member, {"descr": str(header.descr)[:200]})]  # fmt: skip
    data = _After(src, header.data_offset) if isinstance(src, _Inflated) else WindowSource(src, header.data_offset, src.size)
    found, _, _ = _walk_all(file, data, base + header.data_offset, member)
    return out + found


def scan_npy(file: str, src: ByteSource) -> list[Finding]:
    """A standalone .npy file."""
    return _npy_findings(file, src, 0, None)


def is_npy(head: bytes) -> bool:
    """Whether bytes start with the .npy magic."""
    return head[:6] == NPY_MAGIC


#: The members torch < 0.4 wrote in its tar layout (torch.serialization legacy_load); three are unpickled.
_TORCH_TAR = {"sys_info", "pickle", "tensors", "storages"}


class _Decompressed:
    """A whole compressed file as a source ``_walk_all`` reads through one decompressing stream."""

    def __init__(self, src: ByteSource, kind: str) -> None:
        self.name, self._src, self._kind = src.name, src, kind
        #: Unknown until decompressed: the walk asks the stream whether it has ended.
        self.size = None

    def stream(self) -> InflateIO:
        """The decompressing stream, from the first byte."""
        return decompressing(self._src, self._kind)

    def read_at(self, offset: int, length: int) -> bytes:
        """Bytes at ``offset`` of the decompressed data (small reads near the start only)."""
        s = self.stream()
        s.skip(offset)
        return s.read(length)


def scan_compressed(file: str, src: ByteSource, kind: str) -> list[Finding] | None:
    """A gzip / zlib / bz2 / xz / lzma file holding pickles (joblib.load and pandas.read_pickle undo it first).

    ``None`` when the decompressed bytes are not a pickle (or the data does not decompress at all).
    lz4 and zstd need packages mfi does not carry: a high finding, the pickle inside unchecked.
    """
    if kind in ("lz4", "zstd"):
        return [Finding("high", "pickle", file, f"{kind}-compressed: joblib and pandas unpickle what is inside, "
                        "which mfi cannot decompress; what runs cannot be verified", detail={"damaged": True})]  # fmt: skip
    data = _Decompressed(src, kind)
    try:
        head = data.read_at(0, _MEMBER_SNIFF)
    except MfiError:
        return None
    if not starts_like_pickle(head, cut=True):
        return None
    found, n, _ = _walk_all(file, data, 0, None)
    if found and all(f.detail.get("damaged") or f.severity == "info" for f in found) and n == 0:
        return None  # decompressed bytes that merely start like an opcode
    found = [dataclasses.replace(f, detail={**f.detail, "compression": kind}) for f in found]
    loud = [f for f in found if f.severity != "info"]
    return found + ([] if loud else [_clean_note(file, n, None)])


def scan_tar(file: str, src: ByteSource) -> list[Finding]:
    """A tar archive (torch < 0.4 saved ``sys_info``, ``pickle``, ``tensors`` and ``storages`` members):
    every member that starts like a pickle or an npy array is walked (torch.load unpickles three of them)."""
    import tarfile

    from ..formats.ziparchive import SourceIO

    out: list[Finding] = []
    try:
        with tarfile.open(fileobj=SourceIO(src, max_read=limits.MAX_ZIP_DIRECTORY), mode="r:") as tar:
            members = []
            for info in tar:
                members.append(info)
                if len(members) > limits.MAX_ZIP_MEMBERS:
                    raise LimitError(file, f"more than {limits.MAX_ZIP_MEMBERS} tar members")
    except (tarfile.TarError, OSError, ValueError, EOFError) as e:
        return [Finding("high", "pickle", file, f"tar archive could not be read ({e}); torch.load may still read it: "
                        "what runs cannot be verified", detail={"damaged": True})]  # fmt: skip
    n = 0
    for info in members:
        if not info.isreg():
            continue
        part = WindowSource(src, info.offset_data, info.size)
        head = part.read_at(0, _MEMBER_SNIFF)
        if is_npy(head):
            out += _npy_findings(file, part, info.offset_data, info.name)
        elif starts_like_pickle(head, cut=len(head) < info.size):
            found, k, _ = _walk_all(file, part, info.offset_data, info.name)
            named = info.name in _TORCH_TAR or PurePosixPath(info.name.lower()).suffix in (".pkl", ".pickle")
            if not named and not k and all(f.detail.get("damaged") or f.severity == "info" for f in found):
                continue  # a text or data member that merely starts like an opcode
            n += k
            out += found
    loud = [f for f in out if f.severity != "info"]
    return out + ([] if loud else [_clean_note(file, n, None)])

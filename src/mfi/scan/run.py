"""Walk a file or folder and collect findings from every file mfi knows how to check."""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
from pathlib import Path
from typing import Any

from .. import limits
from ..errors import LimitError, MfiError, SourceError
from ..formats.gguf import read_gguf
from ..formats.jsonfile import read_json
from ..formats.pickle import starts_like_pickle
from ..formats.safetensors import read_safetensors
from ..formats.ziparchive import compression, is_zip
from ..records import FileEntry
from ..sources import ByteSource
from ..sources.tree import LocalTree, Tree
from ..targets import unsafe_reason
from . import pickles, remote_code, templates
from .records import SEVERITIES, Finding, ScanReport

#: Suffixes whose files are walked as pickles whenever their first opcode decodes.
_PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".zip", ".tar",
                    ".pt2", ".ptl", ".mar", ".dat"}  # fmt: skip
#: Files read by suffix; every other file is sniffed by its first bytes (up to ``MAX_SCAN_SNIFF_FILES``).
_CHECKED = _PICKLE_SUFFIXES | {".json", ".jinja", ".j2", ".gguf", ".safetensors"}
#: Only git's own store is skipped: hidden folders (``.cache/``) and ``__pycache__`` hold what loaders read.
_SKIP_DIRS = frozenset({".git"})
_PNG = b"\x89PNG\r\n\x1a\n"


def _special(tree: Tree, rel: str) -> str | None:
    """``FIFO``, ``socket`` or ``device`` for local files that are not regular (opening one may block forever)."""
    if tree.remote:
        return None
    try:
        mode = os.stat(tree.display(rel)).st_mode
    except OSError:
        return None
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return None


def scan_path(target: str) -> ScanReport:
    """Scan a local file or folder; ``SourceError`` when it does not exist."""
    root = Path(target)
    if not root.exists():
        raise SourceError(target, "no such file or folder")
    return scan_tree(target, LocalTree(root, _SKIP_DIRS))


def scan_tree(target: str, tree: Tree) -> ScanReport:
    """Scan every file of a tree (a local folder or a hub repo) and sort the findings."""
    modules = {posixpath.splitext(posixpath.basename(p))[0] for p in tree.paths if p.endswith(".py")}
    findings: list[Finding] = []
    entries: list[FileEntry] = []
    used: set[str] = set()
    indexes: list[tuple[str, Any]] = []
    tensors: dict[str, set[str]] = {}
    sniffs = 0
    for rel in tree.paths:
        reason = unsafe_reason(rel)
        if reason is not None:  # only a hub listing can name such a file
            findings.append(Finding("critical", "path", tree.display(rel), f"the listing names {rel!r}, which {reason}: "
                                    "a downloader would write outside the model folder", detail={"file": rel}))  # fmt: skip
            continue
        sniff = posixpath.splitext(rel)[1].lower() not in _CHECKED and not rel.endswith(".py")
        sniffs += sniff
        if sniff and sniffs == limits.MAX_SCAN_SNIFF_FILES + 1:
            findings.append(Finding("medium", "unreadable", target, f"more than {limits.MAX_SCAN_SNIFF_FILES} files of "
                                    "unknown type; the rest were not opened"))  # fmt: skip
        role, found, extra = _scan_file(tree, rel, modules, tensors, sniffs <= limits.MAX_SCAN_SNIFF_FILES)
        findings += found
        entries.append(FileEntry(tree.display(rel), tree.size(rel), role))
        used |= extra.get("modules", set())
        if role == "index":
            indexes.append((rel, extra.get("doc")))
    for rel in tree.paths:
        if rel.endswith(".py") and unsafe_reason(rel) is None and _special(tree, rel) is None:
            findings.append(_python(tree, rel, posixpath.splitext(posixpath.basename(rel))[0] in used))
    for rel, doc in indexes:
        findings += _index_findings(tree, rel, doc, tensors)
    misnamed = _misnamed(tree, entries)
    if not findings and all(e.role == "other" for e in entries):
        raise SourceError(target, _nothing(entries, misnamed))
    findings += misnamed
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (order[f.severity], f.file, f.offset or 0))
    return ScanReport(target, tuple(entries), tuple(findings))


#: The first bytes of a Git LFS pointer file (git-lfs spec, docs/spec.md): what a clone without LFS leaves.
_LFS = b"version https://git-lfs"


def _misnamed(tree: Tree, entries: list[FileEntry]) -> list[Finding]:
    """Files named ``.gguf`` that are not GGUF (not checked): a Git LFS pointer, or something else."""
    out = []
    listed = [rel for rel in tree.paths if unsafe_reason(rel) is None]  # the paths ``entries`` holds, in order
    for rel, e in zip(listed, entries):
        if e.role != "other" or not rel.lower().endswith(".gguf"):
            continue
        with tree.open(rel) as src:
            head = src.read_at(0, min(src.size, len(_LFS)))
        what = "a Git LFS pointer, not the file (fetch it with git lfs pull)" if head == _LFS else "not a GGUF file (no GGUF magic)"
        out.append(Finding("low", "format", e.path, f"named .gguf but {what}; not checked"))
    return out


def _nothing(entries: list[FileEntry], misnamed: list[Finding]) -> str:
    """The one-line error of a scan with nothing to check: why, naming the files."""
    if not entries:
        return "nothing to scan: no files"
    if len(entries) == 1 and misnamed:
        return "nothing to scan: " + misnamed[0].message.removesuffix("; not checked")
    names = ", ".join(posixpath.basename(e.path) for e in entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
    return f"nothing to scan: no model, pickle, config, template or code file ({len(entries)} not checked: {names})"


def _scan_file(tree: Tree, rel: str, modules: set[str], tensors: dict[str, set[str]], sniff: bool = True) -> tuple[str, list[Finding], dict[str, Any]]:
    """(role, findings, extras for the folder-level checks) for one file; unreadable files become findings.

    Known suffixes pick the reader; any other file is sniffed: zip, npy, GGUF and pickle bytes are
    checked whatever the name (``model.pth.tar``, ``.pt2``, no suffix at all).
    """
    name = tree.display(rel)
    base = posixpath.basename(rel)
    suffix = posixpath.splitext(base)[1].lower()
    special = _special(tree, rel)
    if special is not None:
        return "other", [Finding("info", "format", name, f"a {special}, not a file: skipped, never opened")], {}
    if suffix == ".pyc":
        return "code", [Finding("high", "remote-code", name, "compiled Python (.pyc): Python imports it in place of, or "
                                "without, its .py source, so the code that runs cannot be reviewed")], {}  # fmt: skip
    if suffix == ".py":
        return "code", [], {}
    if suffix not in _CHECKED and not sniff:
        return "other", [], {}
    try:
        with tree.open(rel) as src:
            if suffix in (".jinja", ".j2"):
                return "tokenizer", templates.template_findings(_text(src), name, base), {}
            if suffix == ".json":
                return _json(src, name, base, modules)
            peek = src.read_at(0, min(src.size, limits.MAX_SCAN_SNIFF_BYTES))  # one read a remote source keeps
            head = peek[:16]
            if head[:4] == b"GGUF":
                g = read_gguf(src)
                tensors[rel] = {t.name for t in g.tensors}
                out = [Finding("medium", "integrity", name, p) for p in g.problems]
                for key, value in g.metadata.items():
                    if key.startswith("tokenizer.chat_template") and isinstance(value, str):
                        out += templates.template_findings(value, name, key)
                return "weights", out, {}
            if suffix == ".safetensors":
                st = read_safetensors(src)
                tensors[rel] = {t.name for t in st.tensors}
                return "weights", [Finding("medium", "integrity", name, p) for p in st.problems], {}
            names: set[str] = set()
            found: list[Finding] | None
            kind = compression(head)
            if head[:8] == _PNG:  # 0x89 'P': pickle.load stops at the persistent id, torch.load too
                return "other", [Finding("info", "format", name, "a PNG image, not a checkpoint; not checked")], {}
            if kind is not None and (found := pickles.scan_compressed(name, src, kind)) is not None:
                return "weights", found, {}
            if peek[257:262] == b"ustar":
                return "weights", pickles.scan_tar(name, src), {}
            if is_zip(head):
                found = pickles.scan_zip(name, src, names, deep=not tree.remote)
            elif pickles.is_npy(head):
                found = pickles.scan_npy(name, src)
            elif starts_like_pickle(peek, cut=len(peek) < src.size):  # a parse failure on the first opcode: pickle.load fails there too
                found = pickles.scan_pickle_file(name, src, names, sniffed=suffix not in _PICKLE_SUFFIXES)
                if found is None:
                    return "other", [], {}
            elif suffix in _PICKLE_SUFFIXES:
                return "other", [Finding("info", "format", name, "not a pickle, zip or npy file; not checked")], {}
            else:
                return "other", [], {}
            if names:
                tensors[rel] = names
            return "weights", found, {}
    except MfiError as e:
        return "other", [Finding("medium", "unreadable", name, f"could not be read: {e.problem}", e.offset)], {}


def _text(src: ByteSource) -> str:
    if src.size > limits.MAX_SCAN_TEXT:
        raise LimitError(src.name, f"{src.size} bytes exceed the cap of {limits.MAX_SCAN_TEXT} for a text file")
    return src.read_at(0, src.size).decode("utf-8", errors="replace")


def _json(src: ByteSource, name: str, base: str, modules: set[str]) -> tuple[str, list[Finding], dict[str, Any]]:
    doc = read_json(src)
    out, used = remote_code.config_findings(doc, name, modules)
    role = "config"
    if isinstance(doc, dict):
        if isinstance(doc.get("weight_map"), dict):
            return "index", out, {"doc": doc, "modules": used}
        value = doc.get("chat_template")
        if isinstance(value, str):
            out += templates.template_findings(value, name, f"{base}:chat_template")
            role = "tokenizer"
        elif isinstance(value, list):  # [{"name": ..., "template": ...}]
            for item in value[:100]:
                if isinstance(item, dict) and isinstance(item.get("template"), str):
                    out += templates.template_findings(item["template"], name, f"{base}:chat_template[{item.get('name')}]")
            role = "tokenizer"
    return role, out, {"modules": used}


def _python(tree: Tree, rel: str, used: bool) -> Finding:
    h = hashlib.sha256()
    size = 0
    module = posixpath.splitext(posixpath.basename(rel))[0]
    try:
        with tree.open(rel) as src:
            size = src.size
            if size > limits.MAX_SCAN_TEXT:
                raise LimitError(src.name, f"{size} bytes exceed the cap of {limits.MAX_SCAN_TEXT} for a text file")
            for off in range(0, size, 1 << 20):
                h.update(src.read_at(off, 1 << 20))
    except MfiError as e:
        return Finding("medium", "unreadable", tree.display(rel), f"could not be read: {e.problem}")
    return remote_code.python_finding(tree.display(rel), module, size, h.hexdigest(), used)


def _index_findings(tree: Tree, rel: str, doc: Any, tensors: dict[str, set[str]]) -> list[Finding]:
    """Shard names that escape the folder, shards missing, and tensors the index and shards disagree on."""
    name = tree.display(rel)
    weight_map = {str(k): v for k, v in doc["weight_map"].items()}
    out: list[Finding] = []
    bad = {v for v in weight_map.values() if not isinstance(v, str)}
    if bad:
        out.append(Finding("medium", "integrity", name, f"{len(bad)} weight_map value(s) are not file names"))
    shards = sorted({v for v in weight_map.values() if isinstance(v, str)})
    folder = posixpath.dirname(rel)
    for shard in shards:
        reason = unsafe_reason(shard)
        shard_rel = posixpath.join(folder, shard) if folder else shard
        if reason is not None:
            out.append(Finding("critical", "path", name, f"index names shard {shard!r}, which {reason}: "
                               "a downloader would write outside the model folder", detail={"file": shard}))  # fmt: skip
        elif not tree.exists(shard_rel):
            out.append(Finding("high", "integrity", name, f"shard {shard} named in the index is missing",
                               detail={"file": shard}))  # fmt: skip
        elif shard_rel in tensors:
            promised = {t for t, f in weight_map.items() if f == shard}
            missing = promised - tensors[shard_rel]
            extra = tensors[shard_rel] - promised
            if missing:
                out.append(Finding("medium", "integrity", name, f"{len(missing)} tensor(s) the index puts in {shard} are not "
                                   f"there (first: {min(missing)})", detail={"file": shard}))  # fmt: skip
            if extra:
                out.append(Finding("low", "integrity", name, f"{shard} holds {len(extra)} tensor(s) the index does not list "
                                   f"(first: {min(extra)})", detail={"file": shard}))  # fmt: skip
    return out

"""Walk a file or folder and collect findings from every file mfi knows how to check."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .. import limits
from ..errors import LimitError, MfiError, SourceError
from ..formats.gguf import read_gguf
from ..formats.jsonfile import read_json
from ..formats.pickle import looks_like_pickle
from ..formats.safetensors import read_safetensors
from ..formats.ziparchive import is_zip
from ..paths import unsafe_reason
from ..records import SEVERITIES, FileEntry, Finding, ScanReport
from ..sources import LocalFile
from . import pickles, remote, templates

_PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib", ".npy", ".npz", ".zip"}
_SKIP_DIRS = {".git", "__pycache__", ".cache"}


def scan_path(target: str) -> ScanReport:
    """Scan a local file or folder; ``SourceError`` when it does not exist."""
    root = Path(target)
    if not root.exists():
        raise SourceError(target, "no such file or folder")
    paths = [root] if root.is_file() else _files(root)
    modules = {p.stem for p in paths if p.suffix == ".py"}
    findings: list[Finding] = []
    entries: list[FileEntry] = []
    used: set[str] = set()
    indexes: list[tuple[Path, Any]] = []
    tensors: dict[str, set[str]] = {}
    for path in paths:
        role, found, extra = _scan_file(path, modules, tensors)
        findings += found
        entries.append(FileEntry(str(path), _size(path), role))
        if role == "config":
            used |= extra.get("modules", set())
        if role == "index":
            indexes.append((path, extra.get("doc")))
    for path in paths:
        if path.suffix == ".py":
            findings.append(_python(path, path.stem in used))
    for path, doc in indexes:
        findings += _index_findings(path, doc, tensors)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (order[f.severity], f.file, f.offset or 0))
    return ScanReport(target, tuple(entries), tuple(findings))


def _files(root: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            out.append(Path(dirpath) / name)
            if len(out) > limits.MAX_SCAN_FILES:
                raise LimitError(str(root), f"more than {limits.MAX_SCAN_FILES} files; scan a smaller folder")
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _scan_file(path: Path, modules: set[str], tensors: dict[str, set[str]]) -> tuple[str, list[Finding], dict]:
    """(role, findings, extras for the folder-level checks) for one file; unreadable files become findings."""
    name = str(path)
    try:
        with LocalFile(path) as src:
            head = src.read_at(0, 16)
            if path.suffix == ".py":
                return "code", [], {}
            if path.suffix in (".jinja", ".j2"):
                return "tokenizer", templates.template_findings(_text(src), name, path.name), {}
            if path.suffix == ".json":
                return _json(src, path, modules)
            if head[:4] == b"GGUF":
                g = read_gguf(src)
                tensors[path.name] = {t.name for t in g.tensors}
                out = [Finding("medium", "integrity", name, p) for p in g.problems]
                for key, value in g.metadata.items():
                    if key.startswith("tokenizer.chat_template") and isinstance(value, str):
                        out += templates.template_findings(value, name, key)
                return "weights", out, {}
            if path.suffix == ".safetensors":
                st = read_safetensors(src)
                tensors[path.name] = {t.name for t in st.tensors}
                return "weights", [Finding("medium", "integrity", name, p) for p in st.problems], {}
            if is_zip(head):
                names: set[str] = set()
                found = pickles.scan_zip(name, src, names)
                if names:
                    tensors[path.name] = names
                return "weights", found, {}
            if pickles.is_npy(head):
                return "weights", pickles.scan_npy(name, src), {}
            if looks_like_pickle(head) or (path.suffix in _PICKLE_SUFFIXES and head[:1] == b"\x80"):
                names = set()
                found = pickles.scan_pickle_file(name, src, names)
                if names:
                    tensors[path.name] = names
                return "weights", found, {}
            if path.suffix in _PICKLE_SUFFIXES:
                return "other", [Finding("info", "format", name, "not a pickle, zip or npy file; not checked")], {}
            return "other", [], {}
    except MfiError as e:
        return "other", [Finding("medium", "unreadable", name, f"could not be read: {e.problem}", e.offset)], {}


def _text(src) -> str:
    if src.size > limits.MAX_SCAN_TEXT:
        raise LimitError(src.name, f"{src.size} bytes exceed the cap of {limits.MAX_SCAN_TEXT} for a text file")
    return src.read_at(0, src.size).decode("utf-8", errors="replace")


def _json(src, path: Path, modules: set[str]) -> tuple[str, list[Finding], dict]:
    doc = read_json(src)
    name = str(path)
    out, used = remote.config_findings(doc, name, modules)
    role = "config"
    if isinstance(doc, dict):
        if isinstance(doc.get("weight_map"), dict):
            return "index", out, {"doc": doc}
        for key in ("chat_template",):
            value = doc.get(key)
            if isinstance(value, str):
                out += templates.template_findings(value, name, f"{path.name}:{key}")
                role = "tokenizer"
            elif isinstance(value, list):  # [{"name": ..., "template": ...}]
                for item in value[:100]:
                    if isinstance(item, dict) and isinstance(item.get("template"), str):
                        out += templates.template_findings(item["template"], name, f"{path.name}:{key}[{item.get('name')}]")
                role = "tokenizer"
    return role, out, {"modules": used}


def _python(path: Path, used: bool) -> Finding:
    h = hashlib.sha256()
    size = 0
    try:
        with LocalFile(path) as src:
            size = src.size
            for off in range(0, size, 1 << 20):
                h.update(src.read_at(off, 1 << 20))
    except MfiError as e:
        return Finding("medium", "unreadable", str(path), f"could not be read: {e.problem}")
    return remote.python_finding(str(path), path.stem, size, h.hexdigest(), used)


def _index_findings(path: Path, doc: Any, tensors: dict[str, set[str]]) -> list[Finding]:
    """Shard names that escape the folder, shards missing, and tensors the index and shards disagree on."""
    name = str(path)
    weight_map = {str(k): v for k, v in doc["weight_map"].items()}
    out: list[Finding] = []
    bad = {v for v in weight_map.values() if not isinstance(v, str)}
    if bad:
        out.append(Finding("medium", "integrity", name, f"{len(bad)} weight_map value(s) are not file names"))
    shards = sorted({v for v in weight_map.values() if isinstance(v, str)})
    base = path.parent
    for shard in shards:
        reason = unsafe_reason(shard)
        if reason is not None:
            out.append(Finding("critical", "path", name, f"index names shard {shard!r}, which {reason}: "
                               "a downloader would write outside the model folder", detail={"file": shard}))  # fmt: skip
        elif not (base / shard).is_file():
            out.append(Finding("high", "integrity", name, f"shard {shard} named in the index is missing",
                               detail={"file": shard}))  # fmt: skip
        elif shard in tensors:
            promised = {t for t, f in weight_map.items() if f == shard}
            missing = promised - tensors[shard]
            extra = tensors[shard] - promised
            if missing:
                out.append(Finding("medium", "integrity", name, f"{len(missing)} tensor(s) the index puts in {shard} are not "
                                   f"there (first: {sorted(missing)[0]})", detail={"file": shard}))  # fmt: skip
            if extra:
                out.append(Finding("low", "integrity", name, f"{shard} holds {len(extra)} tensor(s) the index does not list "
                                   f"(first: {sorted(extra)[0]})", detail={"file": shard}))  # fmt: skip
    return out

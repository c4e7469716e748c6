"""Which files a pull fetches, where they go, and which are already there.

Pattern semantics (one rule for positional patterns, ``--include`` and ``--exclude``): a pattern is a
shell glob (``fnmatch``, case-sensitive) matched against the file's whole path in the repo; ``*``
also matches ``/``. A file is taken when it matches any positional or ``--include`` pattern (all
files when none is given) or the ``--quant`` choice, and dropped when it matches any ``--exclude``.
``--quant Q4_K_M`` takes the ``.gguf`` files whose name has ``Q4_K_M`` as a whole token (case-
insensitive, between ``-``/``_``/``.`` and ``-``/``.``) or that sit in a folder named so: every part
of a split model, and not ``Q4_K_M_XL`` or ``Q4_K``.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from pathlib import Path

from ..errors import SourceError, UsageError
from ..targets import safe_join
from .records import PlanEntry, PullPlan, RemoteFile, RepoListing

#: Folder (inside a --local-dir) holding partial downloads and verification records.
STATE_DIR = ".cache/mfi"
#: Bytes read at a time when hashing a file on disk.
HASH_BLOCK = 1 << 20


def quant_matches(path: str, quant: str) -> bool:
    """Whether ``path`` is a GGUF file of quantization ``quant`` (see the module docstring)."""
    if not path.endswith(".gguf"):
        return False
    q = re.escape(quant)
    *folders, base = path.split("/")
    return any(f.lower() == quant.lower() for f in folders) or re.search(rf"(?i)(^|[-_.]){q}([-.]|$)", base) is not None


def quants_in(listing: RepoListing) -> list[str]:
    """GGUF quantization names found in the repo's file names (for error messages)."""
    found = set()
    for f in listing.files:
        m = re.search(r"(?i)(?:^|[-_.])((?:I?Q\d|F16|BF16|F32|MXFP4)[A-Z0-9_]*?)(?:-\d{5}-of-\d{5})?\.gguf$", f.path)
        if m:
            found.add(m.group(1))
    return sorted(found)


def select(listing: RepoListing, patterns: list[str], exclude: list[str], quant: str | None) -> list[RemoteFile]:
    """The files a pull takes (module docstring: the one pattern semantics)."""
    chosen = []
    for f in listing.files:
        wanted = (not patterns and not quant) or any(fnmatch.fnmatchcase(f.path, p) for p in patterns)
        if quant and quant_matches(f.path, quant):
            wanted = True
        if wanted and not any(fnmatch.fnmatchcase(f.path, p) for p in exclude):
            chosen.append(f)
    if quant and not any(quant_matches(f.path, quant) for f in chosen):
        have = ", ".join(quants_in(listing)) or "none"
        raise UsageError(listing.repo_id, f"no GGUF file of quantization {quant} (found: {have})")
    if not chosen:
        raise UsageError(listing.repo_id, "no file matches the patterns")
    return chosen


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, as huggingface_hub finds it (HF_HUB_CACHE, HF_HOME, default)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]) / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def ms_cache_dir() -> Path:
    """The ModelScope cache (MODELSCOPE_CACHE, default ~/.cache/modelscope/hub)."""
    return Path(os.environ.get("MODELSCOPE_CACHE") or Path.home() / ".cache" / "modelscope" / "hub")


def plan(listing: RepoListing, files: list[RemoteFile], local_dir: str | os.PathLike | None) -> PullPlan:
    """Where each file goes, and what is already on disk."""
    entries = []
    if local_dir is not None:
        root = Path(local_dir)
        state = root / STATE_DIR
        for f in files:
            dest = safe_join(root, f.path)
            tag = (f.etag or "nohash")[:16]
            partial = safe_join(state, f"{f.path}.{tag}.part")
            record = safe_join(state, f"{f.path}.json")
            entries.append(_entry(f, dest, partial, record))
        return PullPlan(listing, tuple(entries), root, "local", root)
    if listing.mirror.protocol == "ms":
        root = safe_join(ms_cache_dir() / "models", listing.repo_id)
        for f in files:
            partial = safe_join(root / "._____temp", f"{f.path}.{(f.etag or 'nohash')[:16]}.part")
            entries.append(_entry(f, safe_join(root, f.path), partial, None))
        return PullPlan(listing, tuple(entries), root, "cache", root)
    if not listing.commit:
        raise SourceError(listing.repo_id, f"{listing.mirror.name} sent no commit id, which the cache layout needs; use --local-dir")
    root = safe_join(hf_cache_dir(), "models--" + listing.repo_id.replace("/", "--"))
    # listing.checked() made the commit and the hashes plain hex; safe_join holds the line regardless
    snapshot = safe_join(root / "snapshots", listing.commit)
    for f in files:
        blob = safe_join(root / "blobs", f.etag or "nohash-" + hashlib.sha256(f.path.encode()).hexdigest()[:16])
        entries.append(_entry(f, safe_join(snapshot, f.path), blob.with_name(blob.name + ".incomplete"), None, blob))
    return PullPlan(listing, tuple(entries), root, "cache", snapshot)


def _entry(f: RemoteFile, dest: Path, partial: Path, record: Path | None, blob: Path | None = None) -> PlanEntry:
    present = dest.is_file() and (f.size is None or dest.stat().st_size == f.size) and _same_content(f, dest, record, blob)
    have = (f.size or 0) if present else (partial.stat().st_size if partial.is_file() else 0)
    return PlanEntry(f, dest, partial, record, blob, have, present)


def _same_content(f: RemoteFile, dest: Path, record: Path | None, blob: Path | None) -> bool:
    """Whether ``dest`` (of the right size) holds the content the listing publishes for ``f``.

    A cache link to the blob named by the published hash is that content. A ``.cache/mfi`` record
    (written when the file was placed or last hashed) that names other hashes than the listing means
    the hub has changed: not present. A file with no record, or modified since its record, is hashed.
    """
    if f.etag is None:
        return True  # nothing published to compare with: the size decides
    if blob is not None and dest.is_symlink():
        return blob.is_file() and os.path.realpath(dest) == os.path.realpath(blob)
    if record is not None and record.is_file():
        try:
            saved = json.loads(record.read_text())
        except (OSError, ValueError):
            saved = None
        if isinstance(saved, dict):
            if (saved.get("size"), saved.get("sha256"), saved.get("git_oid")) != (f.size, f.sha256, f.git_oid):
                return False  # the hub has another version now
            if saved.get("mtime_ns") == dest.stat().st_mtime_ns:
                return True  # untouched since the record was written
    got = file_digest(dest, f)
    return got is not None and got[1] == f.etag


def file_digest(path: Path, f: RemoteFile) -> tuple[str, str] | None:
    """(kind, hex) of ``path`` in the kind the hub publishes for ``f``: sha256, else git blob sha1."""
    if f.sha256:
        h = hashlib.sha256()
        kind = "sha256"
    elif f.git_oid:
        h = hashlib.sha1(b"blob %d\x00" % path.stat().st_size)
        kind = "git blob id"
    else:
        return None
    with open(path, "rb") as fh:
        while block := fh.read(HASH_BLOCK):
            h.update(block)
    return kind, h.hexdigest()

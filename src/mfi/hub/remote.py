"""Inspect a hub repo without downloading it: headers only, through HTTP Range requests.

Cost for a safetensors repo: the listing, config.json, tokenizer_config.json, tokenizer.json, the
index, and one request per shard header (100 KB first; a second request only for a longer header)
= shards + 5 at most. A GGUF file is read with the reader's growing window, which stops after the
tensor table. The summary is the one ``summary.build`` makes for local files.
"""

from __future__ import annotations

import dataclasses
import posixpath
from typing import Any

from .. import limits, targets
from ..errors import FormatError, LimitError, SourceError, UsageError
from ..records import FileEntry, Fetched, ModelSummary
from ..sources.http import HttpSession, HttpSource
from . import mirrors
from .listing import RepoListing, list_repo

#: First request for a safetensors shard: the 8-byte length and, for most files, the whole header
#: (huggingface_hub measured 97% of the top 1,000 models below 100 KB).
SAFETENSORS_FIRST = 100_000
#: Sidecars read remotely (generation_config.json and chat_template.* are not: request budget).
REMOTE_SIDECARS = ("config.json", "tokenizer_config.json", "tokenizer.json")


def session_for(mirror: mirrors.Mirror, token: str | None, allow_redirects: bool = False) -> HttpSession:
    """An HTTP session bound to ``mirror``."""
    return HttpSession(mirror.endpoint, token=token, allowed=mirror.allowed, follow_any=allow_redirects)


def inspect(
    target: str, *, mirror: str | None = None, token: str | None = None, full_metadata: bool = False,
    allow_redirects: bool = False,
) -> ModelSummary:  # fmt: skip
    """Summarise a remote model (``hf://org/name[@rev][/path]``, ``ms://...`` or plain ``org/name``)."""
    ref, m = mirrors.locate(target, mirror)
    listing = list_repo(m, ref.repo_id, ref.revision, token)
    with session_for(m, token, allow_redirects) as session:
        summary = summarize(listing, ref.path, session, target=target, full=full_metadata)
        cost = Fetched(session.requests + 1, session.bytes, m.endpoint, listing.revision, listing.commit)
    return dataclasses.replace(summary, fetched=cost)


def choose(listing: RepoListing, path: str | None) -> tuple[str, list[str], str | None]:
    """(format, weight paths in order, index path) for ``path`` (a file or folder) in the listing."""
    names = [f.path for f in listing.files]
    if path and listing.get(path) is not None:
        if path.endswith(".index.json"):
            return "safetensors", [], path
        if path.endswith(".gguf"):
            return "gguf", _split_parts(listing, path), None
        if path.endswith(".safetensors"):
            return "safetensors", [path], None
        raise UsageError(path, "not a .gguf, .safetensors or index .json file")
    folder = (path or "").strip("/")
    inside = [n[len(folder) + 1 :] if folder else n for n in names if not folder or n.startswith(folder + "/")]
    top = [n for n in inside if "/" not in n]
    if not inside:
        raise SourceError(f"{listing.repo_id}/{folder}", "no such file or folder in the repo")
    join = (lambda n: f"{folder}/{n}") if folder else (lambda n: n)
    if targets.INDEX_NAME in top:
        return "safetensors", [], join(targets.INDEX_NAME)
    st = sorted(n for n in top if n.endswith(".safetensors"))
    if st:
        return "safetensors", [join(n) for n in st], None
    ggufs = sorted(n for n in top if n.endswith(".gguf") and not n.startswith("mmproj"))
    firsts = [n for n in ggufs if not (mm := targets.SPLIT_GGUF.match(n)) or mm["no"] == "00001"]
    if len(firsts) == 1:
        return "gguf", _split_parts(listing, join(firsts[0])), None
    if len(firsts) > 1:
        shown = ", ".join(firsts[:4]) + ("..." if len(firsts) > 4 else "")
        raise UsageError(str(listing.repo_id), f"holds {len(firsts)} GGUF models ({shown}); name one as hf://{listing.repo_id}/FILE")
    raise UsageError(str(listing.repo_id), "holds no .safetensors or .gguf weights at " + (folder or "its top level"))


def _split_parts(listing: RepoListing, path: str) -> list[str]:
    base = posixpath.basename(path)
    m = targets.SPLIT_GGUF.match(base)
    if not m:
        return [path]
    count = int(m["count"])
    if not 1 <= count <= limits.MAX_SHARDS:
        raise UsageError(path, f"split count {count} in the file name is out of range")
    folder = posixpath.dirname(path)
    parts = [posixpath.join(folder, f"{m['prefix']}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]
    missing = [p for p in parts if listing.get(p) is None]
    if missing:
        raise SourceError(path, f"split part {posixpath.basename(missing[0])} is not in the repo")
    return parts


def display(listing: RepoListing, path: str) -> str:
    """How a remote file is named in summaries and errors: ``hf://org/name@rev/path``."""
    rev = f"@{listing.revision}" if listing.revision != listing.mirror.default_revision else ""
    return f"{listing.mirror.protocol}://{listing.repo_id}{rev}/{path}"


def source(listing: RepoListing, path: str, session: HttpSession, first_request: int = 0) -> HttpSource:
    """A byte source for one file of the listing (size known: no HEAD request)."""
    f = listing.get(path)
    size = f.size if f is not None else None
    return HttpSource(session, listing.url(path), name=display(listing, path), size=size, first_request=first_request)


def summarize(listing: RepoListing, path: str | None, session: HttpSession, *, target: str, full: bool = False) -> ModelSummary:
    """Read the chosen weights' headers and sidecars remotely and build the usual summary."""
    from ..formats.gguf import read_gguf
    from ..formats.safetensors import read_safetensors
    from ..summary import build

    kind, weights, index = choose(listing, path)
    if kind == "gguf":
        shards = [read_gguf(source(listing, p, session), full=full) for p in weights]
        extra = build.split_problems(shards) if len(shards) > 1 else []
        return build.summarize_gguf(target, shards, extra_problems=extra)

    files: list[FileEntry] = []
    weight_map: dict[str, str] = {}
    total = None
    folder = posixpath.dirname(index) if index else posixpath.dirname(weights[0])
    if index is not None:
        idx = _json(listing, index, session)
        files.append(FileEntry(display(listing, index), listing.get(index).size or 0, "index"))  # type: ignore[union-attr]
        if not isinstance(idx, dict) or not isinstance(idx.get("weight_map"), dict):
            raise FormatError(display(listing, index), "not a safetensors index (no weight_map object)")
        weight_map = {str(k): str(v) for k, v in idx["weight_map"].items()}
        shard_names = sorted(set(weight_map.values()))
        if len(shard_names) > limits.MAX_SHARDS:
            raise LimitError(display(listing, index), f"{len(shard_names)} shards exceed the cap of {limits.MAX_SHARDS}")
        for shard in shard_names:
            p = posixpath.normpath(posixpath.join(folder, shard))
            if shard.startswith("/") or p.startswith("../") or listing.get(p) is None:
                raise SourceError(display(listing, index), f"shard {shard} named in the index is not in the repo")
            weights.append(p)
        meta = idx.get("metadata")
        total = meta.get("total_size") if isinstance(meta, dict) else None
    shards = [read_safetensors(source(listing, p, session, SAFETENSORS_FIRST)) for p in weights]
    files += [FileEntry(s.name, s.file_size, "weights") for s in shards]
    problems: list[str] = []
    warnings: list[str] = []
    if weight_map:
        problems += build.index_problems(weight_map, shards)
        data = sum(t.n_bytes or 0 for s in shards for t in s.tensors)
        if isinstance(total, int) and total != data:
            warnings.append(f"index metadata.total_size is {total} but the shards hold {data} bytes of tensors")
    sidecars: dict[str, Any] = {}
    for name in REMOTE_SIDECARS:
        p = posixpath.join(folder, name) if folder else name
        if listing.get(p) is not None:
            sidecars[name] = _json(listing, p, session)
            role = "config" if name == "config.json" else "tokenizer"
            files.append(FileEntry(display(listing, p), listing.get(p).size or 0, role))  # type: ignore[union-attr]
    return build.summarize_safetensors(target, shards, sidecars, files, warnings, problems)


def _json(listing: RepoListing, path: str, session: HttpSession) -> Any:
    from ..formats.jsonfile import read_json

    return read_json(source(listing, path, session))

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

from .. import limits, paths, targets
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


def token_for(mirror: mirrors.Mirror, token: str | None) -> str | None:
    """The token sent to ``mirror``: ``--token`` if given, else the saved Hugging Face token for huggingface.co only.

    The saved token is ``huggingface_hub.get_token()`` (``HF_TOKEN``, then the token file), the one the
    listing client uses; a mirror never gets it.
    """
    if token:
        return token
    if mirror.official_hf:
        from huggingface_hub import get_token

        return get_token()
    return None


def session_for(mirror: mirrors.Mirror, token: str | None, allow_redirects: bool = False) -> HttpSession:
    """An HTTP session bound to ``mirror``, carrying ``token_for(mirror, token)`` to that host only."""
    return HttpSession(mirror.endpoint, token=token_for(mirror, token), allowed=mirror.allowed, follow_any=allow_redirects)


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
    """(format, weight paths in order, index path) for ``path`` (a file or folder) in the listing.

    A folder is chosen by ``targets.choose_weights``, the rule local folders follow.
    """
    if path and listing.get(path) is not None:
        folder, base = posixpath.split(path)
        if path.endswith(".index.json"):
            return "safetensors", [], path
        if path.endswith(".gguf"):
            parts = targets.split_names(base, lambda n: listing.get(_join(folder, n)) is not None, path)
            return "gguf", [_join(folder, n) for n in parts], None
        if path.endswith(".safetensors"):
            return "safetensors", [path], None
        raise UsageError(path, "not a .gguf, .safetensors or index .json file")
    folder = (path or "").strip("/")
    inside = [f.path[len(folder) + 1 :] if folder else f.path for f in listing.files if not folder or f.path.startswith(folder + "/")]
    if not inside:
        raise SourceError(f"{listing.repo_id}/{folder}", "no such file or folder in the repo")
    where = f"{listing.repo_id}/{folder}" if folder else listing.repo_id
    top = [n for n in inside if "/" not in n]
    fmt, weights, index, _ = targets.choose_weights(top, where, f"name one as {display(listing, 'FILE')}")
    if fmt == "pytorch":
        raise UsageError(where, "holds PyTorch checkpoints only; a remote inspect reads .safetensors and .gguf headers")
    return fmt, [_join(folder, n) for n in weights], _join(folder, index) if index else None


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


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
            # the rule api.py applies to local indexes: the name's text, never a path resolved elsewhere
            reason = paths.unsafe_reason(shard)
            if reason is not None:
                raise FormatError(display(listing, index), f"shard name {shard!r} {reason}")
            p = _join(folder, paths.posix_name(shard))
            if listing.get(p) is None:
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

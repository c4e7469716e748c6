"""Inspect a hub repo without downloading it: headers only, through HTTP Range requests.

Cost for a safetensors repo: the listing, config.json, tokenizer_config.json, tokenizer.json, the
index, and one request per shard header (100 KB first; a second request only for a longer header)
= shards + 5 at most. A GGUF file is read with the reader's growing window, which stops after the
tensor table. The summary is the one ``summary.build`` makes for local files.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Iterator
from contextlib import contextmanager

from .. import targets
from ..errors import SourceError, UsageError
from ..records import Fetched, ModelSummary
from ..sources.http import HttpSession, HttpSource
from ..sources.tree import RemoteTree
from . import mirrors
from .mirrors import session_for
from .listing import list_repo
from .records import RepoListing

#: First request for a safetensors shard: the 8-byte length and, for most files, the whole header
#: (huggingface_hub measured 97% of the top 1,000 models below 100 KB).
SAFETENSORS_FIRST = 100_000
#: Sidecars read remotely (generation_config.json and chat_template.* are not: request budget).
REMOTE_SIDECARS = ("config.json", "tokenizer_config.json", "tokenizer.json")


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


@contextmanager
def open_tree(target: str, *, mirror: str | None = None, token: str | None = None) -> Iterator[RemoteTree]:
    """A hub repo (or the folder or file the target names in it) as a tree, its session open while in use."""
    ref, m = mirrors.locate(target, mirror)
    listing = list_repo(m, ref.repo_id, ref.revision, token)
    with session_for(m, token) as session:
        yield tree(listing, session, ref.path)


def tree(listing: RepoListing, session: HttpSession, path: str | None = None) -> RemoteTree:
    """The repo (or the folder or file ``path`` in it) as a tree read by Range requests through ``session``."""
    files = {f.path: f.size for f in listing.files}
    return RemoteTree(listing.repo_id, files, lambda rel: source(listing, rel, session, _first_request(rel)),
                      lambda rel: display(listing, rel), path)  # fmt: skip


def _first_request(rel: str) -> int:
    return SAFETENSORS_FIRST if rel.endswith(".safetensors") else 0


def summarize(listing: RepoListing, path: str | None, session: HttpSession, *, target: str, full: bool = False) -> ModelSummary:
    """Read the chosen weights' headers and sidecars remotely and build the usual summary."""
    from ..formats.gguf import read_gguf
    from ..summary import build, shards

    kind, weights, index = choose(listing, path)
    if kind == "gguf":
        parts = [read_gguf(source(listing, p, session), full=full) for p in weights]
        extra = build.split_problems(parts) if len(parts) > 1 else []
        return build.summarize_gguf(target, parts, extra_problems=extra)
    return shards.read_weights(tree(listing, session), target, weights, index, sidecars=REMOTE_SIDECARS)

"""Inspect a hub repo without downloading it: headers only, through HTTP Range requests.

Cost for a safetensors repo: the listing, config.json, tokenizer_config.json, tokenizer.json, the
index, and one request per shard header (100 KB first; a second request only for a longer header)
= shards + 5 at most, the shards and sidecars read at once. A GGUF file is read with the reader's
growing window, which stops after the tensor table (split parts at once). The summary is the one
``summary.build`` makes for local files. Bytes read are kept in ``headercache`` (keyed by the
file's hash or the commit) so the same inspect again costs the listing only.
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .. import limits, targets
from ..errors import SourceError, UsageError
from ..records import Fetched, ModelSummary
from ..sources.http import DEFAULT_DEADLINE, Deadline, HttpSession, HttpSource
from ..sources.tree import RemoteTree
from . import headercache, mirrors
from .mirrors import session_for
from .listing import list_repo
from .records import RepoListing

#: First request for a safetensors shard: the 8-byte length and, for most files, the whole header
#: (huggingface_hub measured 97% of the top 1,000 models below 100 KB).
SAFETENSORS_FIRST = 100_000
#: Sidecars read remotely (generation_config.json and chat_template.* are not: request budget).
REMOTE_SIDECARS = ("config.json", "tokenizer_config.json", "tokenizer.json")
#: Headers read at once (the shards of a model and its sidecars).
PARALLEL_READS = 8


def inspect(
    target: str, *, mirror: str | None = None, token: str | None = None, full_metadata: bool = False,
    allow_redirects: bool = False, timeout: float | None = None, cache: bool = True,
) -> ModelSummary:  # fmt: skip
    """Summarise a remote model (``hf://org/name[@rev][/path]``, ``ms://...`` or plain ``org/name``).

    ``timeout``: seconds for the whole command's network work (default ``DEFAULT_DEADLINE``);
    ``cache``: reuse header bytes kept from an earlier inspect of the same file (``headercache``).
    """
    deadline = Deadline(timeout or DEFAULT_DEADLINE)
    ref, m = mirrors.locate(target, mirror)
    listing = list_repo(m, ref.repo_id, ref.revision, token, deadline)
    with session_for(m, token, allow_redirects, deadline) as session:
        summary = summarize(listing, ref.path, session, target=target, full=full_metadata, cache=cache)
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


def source(
    listing: RepoListing, path: str, session: HttpSession, first_request: int = 0, budget: int | None = None,
) -> HttpSource:  # fmt: skip
    """A byte source for one file of the listing (size known: no HEAD request); ``budget`` caps its bytes."""
    f = listing.get(path)
    size = f.size if f is not None else None
    return HttpSource(session, listing.url(path), name=display(listing, path), size=size,
                      first_request=first_request, budget=budget)  # fmt: skip


@contextmanager
def open_tree(target: str, *, mirror: str | None = None, token: str | None = None, timeout: float | None = None) -> Iterator[RemoteTree]:
    """A hub repo (or the folder or file the target names in it) as a tree, its session open while in use.

    For a remote scan: every file is read within ``limits.MAX_REMOTE_READ`` bytes (no whole
    downloads), and the whole scan within ``timeout`` seconds (default ``DEFAULT_DEADLINE``).
    """
    deadline = Deadline(timeout or DEFAULT_DEADLINE)
    ref, m = mirrors.locate(target, mirror)
    listing = list_repo(m, ref.repo_id, ref.revision, token, deadline)
    with session_for(m, token, deadline=deadline) as session:
        yield tree(listing, session, ref.path, budget=limits.MAX_REMOTE_READ)


def tree(
    listing: RepoListing, session: HttpSession, path: str | None = None, *, budget: int | None = None,
    open_source: Callable[[str], HttpSource] | None = None,
) -> RemoteTree:  # fmt: skip
    """The repo (or the folder or file ``path`` in it) as a tree read by Range requests through ``session``.

    ``budget`` caps the bytes read from each file (a remote scan); ``open_source`` replaces ``source``.
    """
    files = {f.path: f.size for f in listing.files}
    opener = open_source or (lambda rel: source(listing, rel, session, _first_request(rel), budget))
    return RemoteTree(listing.repo_id, files, opener, lambda rel: display(listing, rel), path)


def _first_request(rel: str) -> int:
    return SAFETENSORS_FIRST if rel.endswith(".safetensors") else 0


class _Sources:
    """The byte sources of one summary, one per file (a second open reuses its bytes), kept in ``headercache``."""

    def __init__(self, listing: RepoListing, session: HttpSession, cache: bool) -> None:
        self.listing, self.session, self.cache = listing, session, cache
        self.opened: dict[str, tuple[str | None, HttpSource]] = {}

    def _key(self, path: str) -> str | None:
        f = self.listing.get(path)
        content = (f.etag if f is not None else None) or self.listing.commit
        if not self.cache or f is None or f.size is None or content is None:
            return None
        return headercache.key(self.listing.mirror.endpoint, self.listing.repo_id, path, content)

    def open(self, path: str) -> HttpSource:
        if path in self.opened:
            return self.opened[path][1]
        src = source(self.listing, path, self.session, _first_request(path))
        key = self._key(path)
        if key is not None:
            spans = headercache.load(key, src.size)
            if spans:
                src.preload(spans)
        self.opened[path] = (key, src)
        return src

    def save(self) -> None:
        """Keep what was fetched for next time (sources that fetched nothing new are left as they are)."""
        for key, src in self.opened.values():
            if key is not None and src.requests:
                headercache.save(key, src.size, src.spans())


def _parallel(calls: list[Callable[[], Any]], session: HttpSession) -> list[Any]:
    """Run ``calls`` at once (header reads wait on the network, not the CPU); results in order.

    Ctrl-C shuts the session's transfers so the reads in flight stop now instead of running on.
    """
    if len(calls) <= 1:
        return [c() for c in calls]
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(calls)))
    try:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        session.abort("interrupted")
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _prefetch(src: HttpSource) -> None:
    """Fetch what the reader will read of ``src``: a safetensors header, or a JSON sidecar whole."""
    if src.name.endswith(".safetensors"):
        head = src.read_at(0, 8)
        if len(head) == 8:
            n = int.from_bytes(head, "little")
            if n <= limits.MAX_SAFETENSORS_HEADER:
                src.read_at(8, n)
    elif src.size <= limits.MAX_JSON_BYTES:
        src.read_at(0, src.size)


def summarize(
    listing: RepoListing, path: str | None, session: HttpSession, *, target: str, full: bool = False, cache: bool = False,
) -> ModelSummary:  # fmt: skip
    """Read the chosen weights' headers and sidecars remotely (at once) and build the usual summary."""
    from ..formats.gguf import read_gguf
    from ..summary import build, shards

    kind, weights, index = choose(listing, path)
    sources = _Sources(listing, session, cache)
    if kind == "gguf":
        parts = _parallel([functools.partial(read_gguf, sources.open(p), full=full) for p in weights], session)
        extra = build.split_problems(parts) if len(parts) > 1 else []
        summary = build.summarize_gguf(target, parts, extra_problems=extra)
    else:
        t = tree(listing, session, open_source=sources.open)
        names = list(weights)
        if index is not None:
            names += shards.read_index(t, index).shards
        folder = posixpath.dirname(index if index is not None else names[0])
        names += [p for p in (_join(folder, n) for n in REMOTE_SIDECARS) if listing.get(p) is not None]
        # every header and sidecar at once; the readers below then find their bytes already here
        _parallel([functools.partial(_prefetch, sources.open(p)) for p in names], session)
        summary = shards.read_weights(t, target, weights, index, sidecars=REMOTE_SIDECARS)
    sources.save()
    return summary

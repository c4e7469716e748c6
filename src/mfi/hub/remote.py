"""Inspect a hub repo without downloading it: headers only, through HTTP Range requests.

Cost for a safetensors repo: the listing, config.json, tokenizer_config.json, tokenizer.json, the
index, and one request per shard header (100 KB first; a second request only for a longer header)
= shards + 5 at most. A GGUF file is read with the reader's growing window, which stops after the
tensor table. The summary is the one ``summary.build`` makes for local files.
"""

from __future__ import annotations

import dataclasses
import functools
import posixpath
from typing import Any, Callable

from .. import limits, paths, targets
from ..errors import FormatError, LimitError, SourceError, UsageError
from ..records import FileEntry, Fetched, ModelSummary
from ..sources.http import DEFAULT_DEADLINE, Deadline, HttpSession, HttpSource
from . import headercache, mirrors
from .listing import RepoListing, list_repo

#: First request for a safetensors shard: the 8-byte length and, for most files, the whole header
#: (huggingface_hub measured 97% of the top 1,000 models below 100 KB).
SAFETENSORS_FIRST = 100_000
#: Headers read at once (the shards of a model and its sidecars).
PARALLEL_READS = 8
#: Sidecars read remotely (generation_config.json and chat_template.* are not: request budget).
REMOTE_SIDECARS = ("config.json", "tokenizer_config.json", "tokenizer.json")


def token_for(mirror: mirrors.Mirror, token: str | None) -> str | None:
    """The token sent to ``mirror``: ``--token`` if given, else a saved token for the exact official host only.

    Saved tokens: ``huggingface_hub.get_token()`` (``HF_TOKEN``, then the token file) for
    https://huggingface.co, and the modelscope client's (``MODELSCOPE_API_TOKEN``, then its saved
    login) for https://www.modelscope.cn; the hosts are compared exactly after parsing the URL
    (``mirrors.official``), so a look-alike host or a mirror never gets them.
    """
    if token:
        return token
    if mirror.official_hf:
        from huggingface_hub import get_token

        return get_token()
    if mirror.official_ms:
        from modelscope_hub.config import HubConfig

        return HubConfig(endpoint=mirror.endpoint).token or None
    return None


def session_for(
    mirror: mirrors.Mirror, token: str | None, allow_redirects: bool = False, deadline: Deadline | None = None,
) -> HttpSession:  # fmt: skip
    """An HTTP session bound to ``mirror``, carrying ``token_for(mirror, token)`` to that host only."""
    cookie = "m_session_id" if mirror.protocol == "ms" else None
    return HttpSession(mirror.endpoint, token=token_for(mirror, token), allowed=mirror.allowed,
                       follow_any=allow_redirects, deadline=deadline, cookie=cookie)  # fmt: skip


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


def source(listing: RepoListing, path: str, session: HttpSession, first_request: int = 0, budget: int | None = None) -> HttpSource:
    """A byte source for one file of the listing (size known: no HEAD request); ``budget`` caps its bytes."""
    f = listing.get(path)
    size = f.size if f is not None else None
    return HttpSource(session, listing.url(path), name=display(listing, path), size=size, first_request=first_request, budget=budget)


class _Sources:
    """The byte sources of one summary, seeded from and saved to ``headercache`` when ``cache`` is on."""

    def __init__(self, listing: RepoListing, session: HttpSession, cache: bool) -> None:
        self.listing, self.session, self.cache = listing, session, cache
        self.opened: list[tuple[str, HttpSource]] = []

    def _key(self, path: str) -> str | None:
        f = self.listing.get(path)
        content = (f.etag if f is not None else None) or self.listing.commit
        if not self.cache or f is None or f.size is None or content is None:
            return None
        return headercache.key(self.listing.mirror.endpoint, self.listing.repo_id, path, content)

    def open(self, path: str, first_request: int = 0) -> HttpSource:
        src = source(self.listing, path, self.session, first_request)
        key = self._key(path)
        if key is not None:
            spans = headercache.load(key, src.size)
            if spans:
                src.preload(spans)
            self.opened.append((key, src))
        return src

    def save(self) -> None:
        """Keep what was fetched for next time (sources that fetched nothing new are left as they are)."""
        for key, src in self.opened:
            if src.requests:
                headercache.save(key, src.size, src.spans())


def _parallel(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` at once (header reads wait on the network, not the CPU); results in order."""
    if len(calls) <= 1:
        return [c() for c in calls]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(PARALLEL_READS, len(calls))) as pool:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]


def summarize(
    listing: RepoListing, path: str | None, session: HttpSession, *, target: str, full: bool = False, cache: bool = False,
) -> ModelSummary:  # fmt: skip
    """Read the chosen weights' headers and sidecars remotely (in parallel) and build the usual summary."""
    sources = _Sources(listing, session, cache)
    summary = _summarize(listing, path, sources, target=target, full=full)
    sources.save()
    return summary


def _summarize(listing: RepoListing, path: str | None, sources: _Sources, *, target: str, full: bool) -> ModelSummary:
    from ..formats.gguf import read_gguf
    from ..formats.jsonfile import read_json
    from ..formats.safetensors import read_safetensors
    from ..summary import build

    kind, weights, index = choose(listing, path)
    if kind == "gguf":
        shards = _parallel([functools.partial(read_gguf, sources.open(p), full=full) for p in weights])
        extra = build.split_problems(shards) if len(shards) > 1 else []
        return build.summarize_gguf(target, shards, extra_problems=extra)

    files: list[FileEntry] = []
    weight_map: dict[str, str] = {}
    total = None
    folder = posixpath.dirname(index) if index else posixpath.dirname(weights[0])
    if index is not None:
        idx = read_json(sources.open(index))
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
    sidecar_paths = [p for p in (_join(folder, n) for n in REMOTE_SIDECARS) if listing.get(p) is not None]
    calls: list[Callable[[], Any]] = [functools.partial(read_safetensors, sources.open(p, SAFETENSORS_FIRST)) for p in weights]
    calls += [functools.partial(read_json, sources.open(p)) for p in sidecar_paths]
    results = _parallel(calls)
    shards = results[: len(weights)]
    files += [FileEntry(s.name, s.file_size, "weights") for s in shards]
    problems: list[str] = []
    warnings: list[str] = []
    if weight_map:
        problems += build.index_problems(weight_map, shards)
        data = sum(t.n_bytes or 0 for s in shards for t in s.tensors)
        if isinstance(total, int) and total != data:
            warnings.append(f"index metadata.total_size is {total} but the shards hold {data} bytes of tensors")
    sidecars: dict[str, Any] = {}
    for p, doc in zip(sidecar_paths, results[len(weights) :]):
        name = posixpath.basename(p)
        sidecars[name] = doc
        role = "config" if name == "config.json" else "tokenizer"
        files.append(FileEntry(display(listing, p), listing.get(p).size or 0, role))  # type: ignore[union-attr]
    return build.summarize_safetensors(target, shards, sidecars, files, warnings, problems)

"""The library's front door, and the only one: ``inspect``, ``compare``, ``plan``, ``scan``, ``pull``.

Each takes a target as text (a local path, ``hf://org/name[@rev][/path]``, ``ms://...`` or plain
``org/name``) and keyword options, and returns a frozen record. Errors are ``mfi.errors.MfiError``;
a bad option names the parameter (``ctx``, ``memory``), not a command-line flag.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from . import targets
from .errors import UsageError
from .records import ModelSummary

if TYPE_CHECKING:
    from .compare.records import Comparison
    from .hub.records import Progress, PullReport
    from .plan.records import Plan
    from .scan.records import ScanReport

Target = str | os.PathLike[str]


def inspect(
    target: Target, *, full_metadata: bool = False, mirror: str | None = None, token: str | None = None,
    timeout: float | None = None, cache: bool = True,
) -> ModelSummary:  # fmt: skip
    """Read the headers of a GGUF, safetensors or PyTorch model (file, split set, folder, index or hub repo).

    ``full_metadata`` materialises every GGUF metadata array instead of keeping samples.
    Remote targets are read over HTTP Range requests from ``mirror`` (docs/hub.md), all within
    ``timeout`` seconds; ``cache`` reuses header bytes kept from an earlier remote inspect.
    """
    name = os.fspath(target)
    if targets.parse_ref(name) is not None:
        from .hub import remote

        return remote.inspect(name, mirror=mirror, token=token, full_metadata=full_metadata, timeout=timeout, cache=cache)
    local = targets.resolve(name)
    if local.format == "gguf":
        from .formats.gguf import read_gguf
        from .sources import LocalFile
        from .summary import build

        # Sources stay open with their records: token texts are fetched lazily by index.
        shards = [read_gguf(LocalFile(p), full=full_metadata) for p in local.weights]
        extra = build.split_problems(shards) if len(shards) > 1 else []
        return build.summarize_gguf(name, shards, extra_problems=extra)
    from .sources.tree import LocalTree
    from .summary import shards as weights

    tree = LocalTree(local.folder)
    rel = [p.name for p in local.weights]
    index = local.index.name if local.index is not None else None
    if local.format == "pytorch":
        from .formats.torch import read_torch  # the pickle walker loads only for checkpoints

        return weights.read_weights(tree, name, rel, index, read=read_torch, fmt="pytorch", notes=local.notes)
    return weights.read_weights(tree, name, rel, index, notes=local.notes)


def compare(
    left: Target, right: Target, *, weights: bool = False, sample: int | None = None, template_diff: bool = False,
    mirror: str | None = None, token: str | None = None, timeout: float | None = None, cache: bool = True,
) -> Comparison:  # fmt: skip
    """Compare two models (any formats): structure always, values too with ``weights``.

    ``sample`` compares that many evenly spaced rows per tensor instead of all of them (implies ``weights``).
    """
    from .compare import match

    if sample is not None and sample < 1:
        raise UsageError("sample", f"needs a positive number of rows, not {sample}")
    sides = [inspect(t, mirror=mirror, token=token, timeout=timeout, cache=cache) for t in (left, right)]
    c = match.compare(*sides, template_diff=template_diff)
    if not weights and sample is None:
        return c
    for s in sides:
        if s.fetched is not None:
            raise UsageError(s.target, "comparing values reads tensor data: pull the model first (mfi pull), then compare the local copy")
    from .compare.values import compare_values
    from .sources import LocalFile

    opened: dict[str, LocalFile] = {}

    def open_source(path: str) -> LocalFile:
        if path not in opened:
            opened[path] = LocalFile(path)
        return opened[path]

    try:
        values, layers = compare_values(c, open_source, sample=sample)
    finally:
        for src in opened.values():
            src.close()
    return dataclasses.replace(c, values=values, layer_values=layers, sample=sample)


def plan(
    target: Target | ModelSummary, *, ctx: int | None = None, memory: int | str | None = None,
    cache_type: str | None = None, cache_type_k: str | None = None, cache_type_v: str | None = None,
    parallel: int = 1, runtime: str | None = None, swa_full: bool = False, mirror: str | None = None,
    token: str | None = None, timeout: float | None = None, cache: bool = True,
) -> Plan:  # fmt: skip
    """Will it run, and on what: memory at ``ctx`` tokens, runtimes, remote code and capabilities.

    ``target`` is anything ``inspect`` takes, or a summary it returned. ``memory`` is bytes or a size
    as text (``24GiB``, ``16GB``): the plan then says the largest context that fits. ``cache_type``
    sets K and V; ``cache_type_k``/``cache_type_v`` one side each.
    """
    from .plan.assess import assess
    from .plan.memory import options

    opts = options(ctx=ctx, memory=memory, cache_type=cache_type, cache_type_k=cache_type_k, cache_type_v=cache_type_v,
                   parallel=parallel, runtime=runtime, swa_full=swa_full)  # fmt: skip
    summary = target if isinstance(target, ModelSummary) else inspect(target, mirror=mirror, token=token, timeout=timeout, cache=cache)
    return assess(summary, opts)


def scan(target: Target, *, mirror: str | None = None, token: str | None = None, timeout: float | None = None) -> ScanReport:
    """Check a file, folder or hub repo for hostile content; nothing in it is run or rendered.

    Pickle globals, chat-template injection patterns, remote code, damaged or inconsistent files,
    path-escaping names: ``ScanReport.findings``, worst first. Remote targets (as for ``inspect``)
    are read with Range requests: headers, pickles and small text files only.
    """
    from .scan import run

    name = os.fspath(target)
    if targets.parse_ref(name) is not None:
        from .hub.remote import open_tree

        with open_tree(name, mirror=mirror, token=token, timeout=timeout) as tree:
            return run.scan_tree(name, tree)
    return run.scan_path(name)


def pull(
    repo: str, patterns: Sequence[str] = (), *, mirror: str | None = None, revision: str | None = None,
    local_dir: str | os.PathLike[str] | None = None, token: str | None = None, exclude: Sequence[str] = (),
    quant: str | None = None, max_workers: int = 4, dry_run: bool = False, verify: bool = False,
    allow_redirects: bool = False, retries: int = 3, progress: Progress | None = None, timeout: float | None = None,
) -> PullReport:  # fmt: skip
    """Download ``repo`` (or the files matching ``patterns``), or only plan it (``dry_run``) or re-check it (``verify``).

    ``quant`` picks one GGUF quantization (all its split parts); ``local_dir`` writes real files
    there instead of the hub cache; ``progress`` receives per-file progress (``hub.records.Progress``).
    ``timeout`` bounds the whole command (without it: the listing 300 s, downloads only the idle timeout).
    """
    from .hub import pull as hub_pull

    return hub_pull.run(
        repo, list(patterns), mirror=mirror, revision=revision, local_dir=Path(local_dir) if local_dir else None,
        token=token, exclude=list(exclude), quant=quant, max_workers=max_workers, dry_run=dry_run, verify=verify,
        allow_redirects=allow_redirects, retries=retries, progress=progress, timeout=timeout,
    )  # fmt: skip

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
    from .plan.records import Options
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
    target: Target | ModelSummary, *, ctx: int | str | None = None, memory: int | str | None = None,
    cache_type: str | None = None, cache_type_k: str | None = None, cache_type_v: str | None = None,
    parallel: int = 1, runtime: str | None = None, swa_full: bool = False, gpu_memory_utilization: float = 0.9,
    mem_fraction_static: float | None = None, mirror: str | None = None, token: str | None = None,
    timeout: float | None = None, cache: bool = True,
) -> Plan:  # fmt: skip
    """Will it run, and on what: memory at ``ctx`` tokens, runtimes, remote code and capabilities.

    ``target`` is anything ``inspect`` takes, or a summary it returned; a folder or repo holding several
    GGUF models gives one row per quantization in ``Plan.choices`` (headers only) and the plan of the
    recommended one. ``ctx`` is tokens or text (``32k`` = 32,768). ``memory`` is bytes or a size with a
    unit (``24GiB``, ``16GB``): the plan then says the largest context that fits, and for a safetensors
    model how vLLM (``gpu_memory_utilization``) and SGLang (``mem_fraction_static``) size their KV cache.
    ``cache_type`` sets K and V; ``cache_type_k``/``cache_type_v`` one side each; ``timeout`` and ``cache``
    as for ``inspect`` (each remote read within ``timeout``).
    """
    from .plan.assess import assess
    from .plan.memory import options

    opts = options(ctx=ctx, memory=memory, cache_type=cache_type, cache_type_k=cache_type_k, cache_type_v=cache_type_v,
                   parallel=parallel, runtime=runtime, swa_full=swa_full, gpu_memory_utilization=gpu_memory_utilization,
                   mem_fraction_static=mem_fraction_static)  # fmt: skip
    if isinstance(target, ModelSummary):
        summary = target
    else:
        models = _gguf_models(os.fspath(target), mirror, token, timeout)
        if models is not None:
            return _plan_quantizations(os.fspath(target), models, opts, mirror=mirror, token=token, timeout=timeout, cache=cache)
        summary = inspect(target, mirror=mirror, token=token, timeout=timeout, cache=cache)
    return dataclasses.replace(assess(summary, opts), model=summary)


def _gguf_models(name: str, mirror: str | None, token: str | None, timeout: float | None) -> list[tuple[str, list[str]]] | None:
    """(target to inspect, its files) per GGUF model when ``name`` is a folder or repo holding several, else ``None``."""
    if targets.parse_ref(name) is not None:
        from .hub import listing, mirrors, remote
        from .sources.http import DEFAULT_DEADLINE, Deadline

        ref, m = mirrors.locate(name, mirror)
        files = listing.list_repo(m, ref.repo_id, ref.revision, token, Deadline(timeout or DEFAULT_DEADLINE))
        folder = (ref.path or "").strip("/")
        if folder and files.get(folder) is not None:
            return None  # a file: plan it alone
        inside = [f.path[len(folder) + 1 :] if folder else f.path for f in files.files if not folder or f.path.startswith(folder + "/")]
        found = _several(inside, name)
        return None if found is None else [(remote.display(files, _join(folder, p[0])), [_join(folder, n) for n in p]) for p in found]
    path = Path(name)
    if not path.is_dir():
        return None
    names: list[str] = []
    for entry in sorted(path.iterdir()):  # the folder and its immediate subfolders (one per quantization)
        if entry.name.startswith("."):  # .cache, .git
            continue
        try:
            names += [f"{entry.name}/{e.name}" for e in sorted(entry.iterdir())] if entry.is_dir() else [entry.name]
        except OSError:  # an unreadable subfolder holds no model we could plan
            continue
    found = _several(names, name)
    return None if found is None else [(str(path / p[0]), p) for p in found]


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def _several(names: list[str], source: str) -> list[list[str]] | None:
    """The GGUF models among ``names`` when there are several and no safetensors or PyTorch weights beside them."""
    top = [n for n in names if "/" not in n]
    if any(n.endswith(".safetensors") or n in (targets.INDEX_NAME, targets.PT_INDEX_NAME)
           or (n.startswith("pytorch_model") and n.endswith(".bin")) for n in top):  # fmt: skip
        return None
    models = targets.gguf_models(names, source)
    return models if len(models) > 1 else None


def _plan_quantizations(
    source: str, models: list[tuple[str, list[str]]], opts: Options, *, mirror: str | None, token: str | None,
    timeout: float | None, cache: bool,
) -> Plan:  # fmt: skip
    """One row per GGUF model, each from its headers; the full plan of the recommended (else smallest) one."""
    from .plan import choices
    from .plan.assess import assess

    names = choices.names([files[0] for _, files in models])
    plans, rows = [], []
    for name, (where, files) in zip(names, models):
        summary = inspect(where, mirror=mirror, token=token, timeout=timeout, cache=cache)
        p = dataclasses.replace(assess(summary, opts), model=summary)
        plans.append(p)
        rows.append(choices.row(name, tuple(files), p, opts.memory))
    table = choices.of_models(rows, plans[0].memory.context, opts.memory, source)
    return dataclasses.replace(plans[choices.pick(table)], choices=table)


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

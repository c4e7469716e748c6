"""The library's front door: ``inspect()`` a model file, folder or index into a ``ModelSummary``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import limits, paths, targets
from .errors import FormatError, LimitError, SourceError
from .formats.gguf import read_gguf
from .formats.jsonfile import read_json
from .formats.safetensors import read_safetensors
from .records import FileEntry, ModelSummary, ScanReport
from .sources import LocalFile
from .summary import build

_ROLES = {
    "config.json": "config",
    "generation_config.json": "generation",
    "preprocessor_config.json": "config",
    targets.INDEX_NAME: "index",
    targets.PT_INDEX_NAME: "index",
}


def inspect(
    target: str | os.PathLike[str], *, full_metadata: bool = False, mirror: str | None = None,
    token: str | None = None,
) -> ModelSummary:  # fmt: skip
    """Read the headers of a GGUF or safetensors model (file, split set, folder or index).

    ``full_metadata`` materialises every GGUF metadata array instead of keeping samples.
    Remote targets (``hf://org/name[@rev][/path]``, ``ms://...``, or ``org/name`` when no such local
    path exists) are read over HTTP Range requests from ``mirror`` (docs/hub.md).
    """
    name = os.fspath(target)
    from .hub.mirrors import parse_ref

    if parse_ref(name) is not None:
        from .hub import remote

        return remote.inspect(name, mirror=mirror, token=token, full_metadata=full_metadata)
    local = targets.resolve(name)
    if local.format == "gguf":
        return _gguf(name, local, full_metadata)
    if local.format == "pytorch":
        from .formats.torch import read_torch  # the pickle walker loads only for checkpoints

        return _safetensors(name, local, read=read_torch, fmt="pytorch")
    return _safetensors(name, local)


def scan(target: str | os.PathLike[str], *, mirror: str | None = None, token: str | None = None) -> ScanReport:
    """Check a file, folder or hub repo for hostile content; nothing in it is run or rendered.

    Pickle globals, chat-template injection patterns, remote code, damaged or inconsistent files,
    path-escaping names: ``ScanReport.findings``, worst first. Remote targets (as for ``inspect``)
    are read with Range requests: headers, pickles and small text files only.
    """
    from .hub.mirrors import parse_ref
    from .scan import run

    name = os.fspath(target)
    if parse_ref(name) is not None:
        return run.scan_remote(name, mirror=mirror, token=token)
    return run.scan_path(name)


def _gguf(name: str, local: targets.LocalTarget, full: bool) -> ModelSummary:
    # Sources stay open with their records: token texts are fetched lazily by index.
    shards = [read_gguf(LocalFile(p), full=full) for p in local.weights]
    extra = build.split_problems(shards) if len(shards) > 1 else []
    return build.summarize_gguf(name, shards, extra_problems=extra)


def _read_sidecars(folder: Path) -> tuple[dict[str, Any], list[FileEntry]]:
    found: dict[str, Any] = {}
    files: list[FileEntry] = []
    for fname in targets.SIDECARS:
        path = folder / fname
        if not path.is_file():
            continue
        with LocalFile(path) as src:
            if fname.endswith(".jinja"):
                if src.size > limits.MAX_STRING_BYTES:
                    raise LimitError(src.name, f"chat template of {src.size} bytes exceeds the cap")
                found[fname] = src.read_at(0, src.size).decode("utf-8", errors="replace")
            else:
                found[fname] = read_json(src)
            role = _ROLES.get(fname, "tokenizer" if "token" in fname or "chat" in fname else "other")
            files.append(FileEntry(str(path), src.size, role))
    return found, files


def _safetensors(name: str, local: targets.LocalTarget, read=read_safetensors, fmt: str = "safetensors") -> ModelSummary:
    """safetensors weights, or (``read=read_torch``) PyTorch checkpoints: same index, same summary."""
    warnings = list(local.notes)
    problems: list[str] = []
    files: list[FileEntry] = []
    weights = list(local.weights)
    weight_map: dict[str, str] = {}
    if local.index is not None:
        with LocalFile(local.index) as src:
            index = read_json(src)
            files.append(FileEntry(str(local.index), src.size, "index"))
        if not isinstance(index, dict) or not isinstance(index.get("weight_map"), dict):
            raise FormatError(str(local.index), f"not a {fmt} index (no weight_map object)")
        weight_map = {str(k): str(v) for k, v in index["weight_map"].items()}
        shard_names = sorted(set(weight_map.values()))
        if len(shard_names) > limits.MAX_SHARDS:
            raise LimitError(str(local.index), f"{len(shard_names)} shards exceed the cap of {limits.MAX_SHARDS}")
        for shard in shard_names:
            # The name's text is checked, not its resolved target: the Hugging Face cache links
            # snapshot files to blobs outside the snapshot folder, and that is fine.
            reason = paths.unsafe_reason(shard)
            if reason is not None:
                raise FormatError(str(local.index), f"shard name {shard!r} {reason}")
            path = local.folder / shard
            if not path.is_file():
                raise SourceError(str(local.index), f"shard {shard} named in the index is missing")
            weights.append(local.folder / shard)
        total = (index.get("metadata") or {}).get("total_size") if isinstance(index.get("metadata"), dict) else None
    shards = []
    for path in weights:
        with LocalFile(path) as src:
            shards.append(read(src))
        files.append(FileEntry(str(path), shards[-1].file_size, "weights"))
    if weight_map:
        problems += build.index_problems(weight_map, shards)
        data = sum(t.n_bytes or 0 for s in shards for t in s.tensors)
        if isinstance(total, int) and total != data:
            warnings.append(f"index metadata.total_size is {total} but the shards hold {data} bytes of tensors")
    sidecars, side_files = _read_sidecars(local.folder)
    return build.summarize_safetensors(name, shards, sidecars, files + side_files, warnings, problems, fmt=fmt)


def compare(
    left: str | os.PathLike[str],
    right: str | os.PathLike[str],
    *,
    weights: bool = False,
    sample: int | None = None,
    template_diff: bool = False,
    mirror: str | None = None,
    token: str | None = None,
):
    """Compare two models (any formats): structure always, values too with ``weights``.

    ``sample`` compares that many evenly spaced rows per tensor instead of all of them.
    Returns a ``mfi.compare_records.Comparison``.
    """
    import dataclasses

    from .errors import UsageError
    from .compare import match as compare_mod

    if sample is not None and sample < 1:
        raise UsageError("--sample", f"needs a positive number of rows, not {sample}")
    sides = [inspect(t, mirror=mirror, token=token) for t in (left, right)]
    c = compare_mod.compare(*sides, template_diff=template_diff)
    if not weights:
        return c
    for s in sides:
        if s.fetched is not None:
            raise UsageError(s.target, "--weights reads tensor data: pull the model first (mfi pull), then compare the local copy")
    from .compare.values import compare_values

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


def pull(repo: str, patterns: list[str] | None = None, **options: Any):
    """Download ``repo`` (or the files matching ``patterns``), or plan or verify it: see ``hub.pull.run``.

    Returns a ``hub.pull.PullReport``; options: mirror, revision, local_dir, token, exclude, quant,
    max_workers, dry_run, verify, allow_redirects, retries, progress.
    """
    from .hub import pull as hub_pull

    return hub_pull.run(repo, patterns, **options)

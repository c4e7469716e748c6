"""A model's files read through a tree, local or remote: index checks, shards, sidecars, one summary.

``api.inspect`` (a local folder) and ``hub.remote`` (a hub repo over Range requests) both call
``read_weights``: the index rules (a ``weight_map`` object, the shard cap, names that escape the
folder, missing shards, ``metadata.total_size``) are written once, here.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import limits, targets
from ..errors import FormatError, LimitError, SourceError
from ..formats.jsonfile import read_json
from ..formats.safetensors import read_safetensors
from ..records import FileEntry, ModelSummary, TensorInfo
from ..sources import ByteSource
from ..sources.tree import LocalTree, Tree
from . import build

_ROLES = {
    "config.json": "config",
    "generation_config.json": "generation",
    "preprocessor_config.json": "config",
    targets.INDEX_NAME: "index",
    targets.PT_INDEX_NAME: "index",
}


@dataclass(frozen=True, slots=True)
class ShardIndex:
    """A checked ``*.index.json``: which tensor lives in which shard, and the shards in order."""

    weight_map: dict[str, str]
    #: Shard paths relative to the tree, sorted by name.
    shards: tuple[str, ...]
    #: ``metadata.total_size`` when it is an integer.
    total_size: int | None


def join(folder: str, name: str) -> str:
    """``folder/name`` in a tree (``name`` alone at the top)."""
    return f"{folder}/{name}" if folder else name


def read_index(tree: Tree, rel: str, fmt: str = "safetensors") -> ShardIndex:
    """Read and check an index: a weight_map object, at most ``MAX_SHARDS`` shards, safe names, all present.

    The name's text is checked, not its resolved target: the Hugging Face cache links snapshot
    files to blobs outside the snapshot folder, and that is fine.
    """
    shown = tree.display(rel)
    with tree.open(rel) as src:
        doc = read_json(src)
    if not isinstance(doc, dict) or not isinstance(doc.get("weight_map"), dict):
        raise FormatError(shown, f"not a {fmt} index (no weight_map object)")
    weight_map = {str(k): str(v) for k, v in doc["weight_map"].items()}
    names = sorted(set(weight_map.values()))
    if len(names) > limits.MAX_SHARDS:
        raise LimitError(shown, f"{len(names)} shards exceed the cap of {limits.MAX_SHARDS}")
    folder = posixpath.dirname(rel)
    shards = []
    for shard in names:
        reason = targets.unsafe_reason(shard)
        if reason is not None:
            raise FormatError(shown, f"shard name {shard!r} {reason}")
        path = join(folder, targets.posix_name(shard))
        if not tree.exists(path):
            raise SourceError(shown, f"shard {shard} named in the index is missing")
        shards.append(path)
    meta = doc.get("metadata")
    total = meta.get("total_size") if isinstance(meta, dict) else None
    return ShardIndex(weight_map, tuple(shards), total if isinstance(total, int) and not isinstance(total, bool) else None)


def index_problems(weight_map: dict[str, str], shards: Iterable[Any]) -> list[str]:
    """Names the index promises that their shard lacks, and tensors the index does not list."""
    have: set[tuple[str, str]] = set()
    for s in shards:
        base = Path(s.name).name
        have.update((base, t.name) for t in s.tensors)
        have.update((base, alias) for alias in getattr(s, "aliases", ()))  # torch: a tied view kept once
    missing = [n for n, f in weight_map.items() if (posixpath.basename(targets.posix_name(f)), n) not in have]
    extra = [n for f, n in have if n not in weight_map]
    problems = []
    if missing:
        problems.append(f"{len(missing)} tensor(s) in the index are not in their shard (first: {missing[0]})")
    if extra:
        problems.append(f"{len(extra)} tensor(s) in the shards are not in the index (first: {sorted(extra)[0]})")
    return problems


def read_sidecars(tree: Tree, folder: str, names: Iterable[str]) -> tuple[dict[str, Any], list[FileEntry]]:
    """The JSON and template files among ``names`` that exist beside the weights, parsed, with their entries."""
    found: dict[str, Any] = {}
    files: list[FileEntry] = []
    for fname in names:
        rel = join(folder, fname)
        if not tree.exists(rel):
            continue
        with tree.open(rel) as src:
            if fname.endswith(".jinja"):
                if src.size > limits.MAX_STRING_BYTES:
                    raise LimitError(src.name, f"chat template of {src.size} bytes exceeds the cap")
                found[fname] = src.read_at(0, src.size).decode("utf-8", errors="replace")
            else:
                found[fname] = read_json(src)
            role = _ROLES.get(fname, "tokenizer" if "token" in fname or "chat" in fname else "other")
            files.append(FileEntry(tree.display(rel), src.size, role))
    return found, files


def read_weights(
    tree: Tree, target: str, weights: Iterable[str], index: str | None, *, sidecars: Iterable[str] = targets.SIDECARS,
    read: Callable[[ByteSource], Any] = read_safetensors, fmt: str = "safetensors", notes: Iterable[str] = (),
) -> ModelSummary:  # fmt: skip
    """safetensors weights, or (``read=read_torch``) PyTorch checkpoints, plus index and sidecars: one summary."""
    warnings = list(notes)
    problems: list[str] = []
    files: list[FileEntry] = []
    paths = list(weights)
    idx = None
    if index is not None:
        idx = read_index(tree, index, fmt)
        files.append(FileEntry(tree.display(index), tree.size(index), "index"))
        paths += idx.shards
    shards: list[Any] = []  # SafetensorsFile or TorchCheckpoint: the same tensor table
    rels: dict[str, str] = {}
    for rel in paths:
        with tree.open(rel) as src:
            shards.append(read(src))
            rels[src.name] = rel
        files.append(FileEntry(tree.display(rel), shards[-1].file_size, "weights"))
    if idx is not None:
        problems += index_problems(idx.weight_map, shards)
        data = sum(t.n_bytes or 0 for s in shards for t in s.tensors)
        if idx.total_size is not None and idx.total_size != data:
            warnings.append(f"index metadata.total_size is {idx.total_size} but the shards hold {data} bytes of tensors")
    folder = posixpath.dirname(index if index is not None else paths[0])
    found, side_files = read_sidecars(tree, folder, sidecars)

    def small(t: TensorInfo) -> bytes:
        """A few bytes of tensor data (a bitsandbytes quant_state), read only from local files."""
        with tree.open(rels[t.file]) as src:
            return src.read_at(t.offset, t.n_bytes or 0)

    # Over HTTP each read is a request: remote summaries stay header-only (a bitsandbytes 4-bit
    # weight's shape then shows flat; its parameter count is exact either way).
    local = isinstance(tree, LocalTree)
    return build.summarize_safetensors(
        target, shards, found, files + side_files, warnings, problems, fmt=fmt, read=small if local else None
    )

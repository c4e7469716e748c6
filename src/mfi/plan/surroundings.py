"""Will it run, and on what: the library's front door for memory, runtimes and capabilities.

``plan(summary, options)`` reads the small files around the weights (tokenizer_config.json,
generation_config.json, README.md front matter, the folder's file names) and combines the
summary layer's answers into one ``Plan``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

from ..errors import LimitError, MfiError, UsageError
from ..formats.frontmatter import read_front_matter
from ..records import ModelSummary
from ..sources import LocalFile
from . import capabilities
from . import layout
from . import memory
from . import runtimes
from .memory import Options, parse_size

#: Most folder entries listed when looking for mmproj and .py files.
MAX_LISTED = 10_000


@dataclass(frozen=True, slots=True)
class Plan:
    """Memory estimate, runtime verdicts and capabilities of one model."""

    layout: layout.Layout
    memory: memory.Estimate
    runtimes: runtimes.Runtimes
    capabilities: capabilities.Capabilities
    #: Sidecar files that could not be read (named, not fatal).
    warnings: tuple[str, ...] = ()


def _read(path: Path, reader: Callable[[LocalFile], Any], warnings: list[str]) -> dict[str, Any]:
    """A small file beside the weights; ``{}`` when absent, not an object, or unreadable (named in ``warnings``)."""
    if not path.is_file():
        return {}
    try:
        with LocalFile(path) as src:
            value = reader(src)
    except MfiError as e:
        warnings.append(str(e))
        return {}
    return value if isinstance(value, dict) else {}


def surroundings(s: ModelSummary) -> tuple[runtimes.Surroundings, list[str]]:
    """What lies beside the model's first file: names, tokenizer/generation config, card front matter."""
    warnings: list[str] = []
    if not s.files:
        return runtimes.Surroundings(), warnings
    side = s.sidecars  # already read with the summary: not read again
    if s.fetched is not None:  # a remote summary: its files are URLs; only the fetched ones are known
        warnings.append("remote target: only the files read for the summary were looked at (no README, no folder listing)")
        names = tuple(sorted(f.path.rsplit("/", 1)[-1] for f in s.files))
        return runtimes.Surroundings(names, _dict(side.get("tokenizer_config.json")), _dict(side.get("generation_config.json"))), warnings
    folder = Path(s.files[0].path).parent
    try:
        with os.scandir(folder) as it:
            names = []
            for entry in it:
                names.append(entry.name)
                if len(names) >= MAX_LISTED:
                    warnings.append(f"{folder}: more than {MAX_LISTED} entries; listed the first {MAX_LISTED}")
                    break
    except OSError as e:
        warnings.append(f"{folder}: {e.strerror or e}")
        names = []
    card = _read(folder / "README.md", read_front_matter, warnings)
    gen, tok = _dict(side.get("generation_config.json")), _dict(side.get("tokenizer_config.json"))
    return runtimes.Surroundings(tuple(sorted(names)), tok, gen, card), warnings


def _dict(value: Any) -> dict[str, Any]:
    """A sidecar that should be a JSON object, or nothing."""
    return value if isinstance(value, dict) else {}


def plan_options(
    *, ctx: int | None = None, memory: str | None = None, cache_type: str | None = None, cache_type_k: str | None = None,
    cache_type_v: str | None = None, parallel: int = 1, runtime: str | None = None, swa_full: bool = False,
) -> Options:  # fmt: skip
    """Memory options from what a user typed: ``--ctx``, ``--memory 24GiB``, ``--cache-type`` (K and V) or per side.

    Raises ``UsageError`` for a context or parallel count below 1 and for a size it cannot read.
    """
    if ctx is not None and ctx < 1:
        raise UsageError("--ctx", "must be at least 1")
    if parallel < 1:
        raise UsageError("--parallel", "must be at least 1")
    return Options(
        context=ctx, parallel=parallel, runtime=runtime, memory=None if memory is None else parse_size(memory),
        cache_type_k=cache_type_k or cache_type, cache_type_v=cache_type_v or cache_type, swa_full=swa_full,
    )  # fmt: skip


def plan(s: ModelSummary, options: memory.Options | None = None) -> Plan:
    """Memory at a context length, runtimes, remote code and capabilities for a summarised model."""
    options = options or memory.Options()
    env, warnings = surroundings(s)
    try:
        lay = layout.from_summary(s)
    except LimitError as e:  # a hostile layer count: no memory figure, but the rest of the answer stands
        warnings.append(str(e))
        lay = layout.Layout(None, unknown=e.problem)
    return Plan(
        layout=lay,
        memory=memory.estimate(s, lay, options),
        runtimes=runtimes.assess(s, env),
        capabilities=capabilities.detect(s, env),
        warnings=tuple(warnings),
    )

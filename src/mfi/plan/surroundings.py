"""What lies around the weights: the folder's file names, tokenizer/generation config, card front matter.

The runtime and capability verdicts need them; the JSON sidecars were already read with the summary
(``ModelSummary.sidecars``) and are not read again.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import MfiError
from ..formats.frontmatter import read_front_matter
from ..records import ModelSummary
from ..sources import ByteSource, LocalFile
from ..summary.fields import mapping
from .records import Surroundings

#: Most folder entries listed when looking for mmproj and .py files.
MAX_LISTED = 10_000


def _read(path: Path, reader: Callable[[ByteSource], Any], warnings: list[str]) -> dict[str, Any]:
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


def surroundings(s: ModelSummary) -> tuple[Surroundings, list[str]]:
    """What lies beside the model's first file: names, tokenizer/generation config, card front matter."""
    warnings: list[str] = []
    if not s.files:
        return Surroundings(), warnings
    side = s.sidecars  # already read with the summary: not read again
    if s.fetched is not None:  # a remote summary: its files are URLs; only the fetched ones are known
        warnings.append("remote target: only the files read for the summary were looked at (no README, no folder listing)")
        fetched = tuple(sorted(f.path.rsplit("/", 1)[-1] for f in s.files))
        return Surroundings(fetched, mapping(side.get("tokenizer_config.json")), mapping(side.get("generation_config.json"))), warnings
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
    gen, tok = mapping(side.get("generation_config.json")), mapping(side.get("tokenizer_config.json"))
    return Surroundings(tuple(sorted(names)), tok, gen, card), warnings

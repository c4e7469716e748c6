"""What a local target names: which weight files, which sidecars, in which format."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from . import limits
from .errors import SourceError, UsageError

#: ``name-00001-of-00003.gguf``: llama.cpp's gguf-split naming (1-based in the name).
SPLIT_GGUF = re.compile(r"^(?P<prefix>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")
INDEX_NAME = "model.safetensors.index.json"
#: Files read beside safetensors weights.
SIDECARS = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "preprocessor_config.json",
    "chat_template.json",
    "chat_template.jinja",
)


@dataclass(slots=True)
class LocalTarget:
    """A resolved local target: its format, weight files in order, and the folder around them."""

    format: str  # "gguf" | "safetensors"
    weights: list[Path]
    folder: Path
    index: Path | None = None
    notes: list[str] = field(default_factory=list)


def _sniff(path: Path) -> str | None:
    try:
        with path.open("rb") as f:  # only the magic; readers get a byte source
            head = f.read(9)
    except OSError as e:
        raise SourceError(str(path), e.strerror or str(e)) from None
    if head[:4] == b"GGUF":
        return "gguf"
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    return None


def split_parts(path: Path) -> list[Path]:
    """All parts of a split GGUF given any one of them (just ``[path]`` for a single file)."""
    m = SPLIT_GGUF.match(path.name)
    if not m:
        return [path]
    count = int(m.group("count"))
    if not 1 <= count <= limits.MAX_SHARDS:
        raise UsageError(str(path), f"split count {count} in the file name is out of range")
    parts = [path.with_name(f"{m.group('prefix')}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise SourceError(str(path), f"split part {missing[0]} is missing" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return parts


def resolve(target: str) -> LocalTarget:
    """Turn a path (file, folder, index json) into a ``LocalTarget``."""
    path = Path(target)
    if not path.exists():
        raise SourceError(target, "no such file or folder")
    if path.is_dir():
        return _folder(path)
    if path.name.endswith(".index.json"):
        return LocalTarget("safetensors", [], path.parent, index=path)
    kind = "gguf" if path.suffix == ".gguf" else "safetensors" if path.suffix == ".safetensors" else _sniff(path)
    if kind is None:
        raise UsageError(target, "not a GGUF or safetensors file (unknown extension and magic)")
    if kind == "gguf":
        return LocalTarget("gguf", split_parts(path), path.parent)
    notes = []
    if (path.parent / INDEX_NAME).is_file():
        notes.append(f"{path.name} is one shard of a sharded model; inspect the folder for the whole model")
    return LocalTarget("safetensors", [path], path.parent, notes=notes)


def _folder(folder: Path) -> LocalTarget:
    if (folder / INDEX_NAME).is_file():
        return LocalTarget("safetensors", [], folder, index=folder / INDEX_NAME)
    shards = sorted(folder.glob("*.safetensors"))
    if shards:
        others = len(list(folder.glob("*.gguf")))
        notes = [f"the folder also holds {others} GGUF file(s); name one to inspect it"] if others else []
        return LocalTarget("safetensors", shards, folder, notes=notes)
    ggufs = sorted(p for p in folder.glob("*.gguf") if not p.name.startswith("mmproj"))
    firsts = [p for p in ggufs if not SPLIT_GGUF.match(p.name) or SPLIT_GGUF.match(p.name).group("no") == "00001"]  # type: ignore[union-attr]
    if len(firsts) == 1:
        return LocalTarget("gguf", split_parts(firsts[0]), folder)
    if len(firsts) > 1:
        names = ", ".join(p.name for p in firsts[:4])
        raise UsageError(str(folder), f"holds {len(firsts)} GGUF models ({names}...); name one")
    raise UsageError(str(folder), "holds no .safetensors or .gguf weights")

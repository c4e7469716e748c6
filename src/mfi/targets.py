"""What a target names: a local file or folder (format, weight files in order, sidecars) or a hub repo.

Also the one rule for file names that come from untrusted sources (hub listings, index files):
every place mfi writes or opens a file named by a model repository goes through ``safe_join``; a
name that is absolute, has a drive, climbs with ``..`` or carries control characters is refused,
never cleaned up into something else. ``mfi scan`` reports the same names with ``unsafe_reason``.
The check is on the text of the name: symlinks already inside the folder (the Hugging Face cache
links snapshots to blobs) are the folder owner's business.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from . import limits
from .errors import SourceError, UsageError

#: ``name-00001-of-00003.gguf``: llama.cpp's gguf-split naming (1-based in the name).
SPLIT_GGUF = re.compile(r"^(?P<prefix>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")
INDEX_NAME = "model.safetensors.index.json"
#: PyTorch pickle checkpoints (read statically by formats/torch.py, never unpickled).
PT_INDEX_NAME = "pytorch_model.bin.index.json"
PT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt")
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

    format: str  # "gguf" | "safetensors" | "pytorch"
    weights: list[Path]
    folder: Path
    index: Path | None = None
    notes: list[str] = field(default_factory=list)


def _sniff(path: Path) -> str | None:
    try:
        regular = stat.S_ISREG(path.stat().st_mode)
        # a FIFO blocks open() until a writer comes, a device may never end (issue 11 item 10)
        if regular:
            with path.open("rb") as f:  # only the magic; readers get a byte source
                head = f.read(9)
    except OSError as e:
        raise SourceError(str(path), e.strerror or str(e)) from None
    if not regular:
        raise SourceError(str(path), "is a FIFO, socket or device, not a file: never opened")
    if head[:4] == b"GGUF":
        return "gguf"
    if len(head) == 9 and head[8:9] == b"{":
        return "safetensors"
    return None


def split_names(name: str, exists: Callable[[str], bool], source: str | None = None) -> list[str]:
    """File names of all parts of a split GGUF given one part's name (``[name]`` for a single file).

    ``exists`` says whether a name is present beside ``name`` (a local folder, a hub listing);
    errors name ``source`` (default: ``name``).
    """
    m = SPLIT_GGUF.match(name)
    if not m:
        return [name]
    count = int(m.group("count"))
    if not 1 <= count <= limits.MAX_SHARDS:
        raise UsageError(source or name, f"split count {count} in the file name is out of range")
    parts = [f"{m.group('prefix')}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)]
    missing = [p for p in parts if not exists(p)]
    if missing:
        raise SourceError(source or name, f"split part {missing[0]} is missing" + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    return parts


def split_parts(path: Path) -> list[Path]:
    """All parts of a split GGUF given any one of them (just ``[path]`` for a single file)."""
    return [path.with_name(n) for n in split_names(path.name, lambda n: path.with_name(n).is_file(), str(path))]


def choose_weights(names: Iterable[str], source: str, name_one: str = "name one") -> tuple[str, list[str], str | None, list[str]]:
    """(format, weight names in order, index name, notes) for a folder holding the files ``names``.

    The one folder rule for local folders and hub repos: a safetensors index, else ``*.safetensors``,
    else a PyTorch index, else ``pytorch_model*.bin``, else the one GGUF model (all its split parts;
    ``mmproj`` projectors are not models). Errors name ``source``; ``name_one`` ends the message
    when the folder holds several GGUF models.
    """
    have = set(names)
    if INDEX_NAME in have:
        return "safetensors", [], INDEX_NAME, []
    shards = sorted(n for n in have if n.endswith(".safetensors"))
    if shards:
        others = sum(n.endswith(".gguf") for n in have)
        return "safetensors", shards, None, [f"the folder also holds {others} GGUF file(s); name one to inspect it"] if others else []
    if PT_INDEX_NAME in have:
        return "pytorch", [], PT_INDEX_NAME, []
    bins = sorted(n for n in have if n.startswith("pytorch_model") and n.endswith(".bin"))
    if bins:
        return "pytorch", bins, None, []
    ggufs = sorted(n for n in have if n.endswith(".gguf") and not n.startswith("mmproj"))
    firsts = [n for n in ggufs if not (m := SPLIT_GGUF.match(n)) or m.group("no") == "00001"]
    if len(firsts) == 1:
        return "gguf", split_names(firsts[0], have.__contains__, source), None, []
    if len(firsts) > 1:
        shown = ", ".join(firsts[:4]) + ("..." if len(firsts) > 4 else "")
        raise UsageError(source, f"holds {len(firsts)} GGUF models ({shown}); {name_one} (mfi plan compares them all)")
    raise UsageError(source, "holds no .safetensors, .gguf or pytorch_model*.bin weights")


def gguf_models(names: Iterable[str], source: str) -> list[list[str]]:
    """The GGUF models among ``names`` (paths with ``/``), each as its files in order (all split parts).

    ``mmproj`` projectors are not models. The order is the names' sorted order; errors name ``source``.
    """
    have = set(names)
    out = []
    for name in sorted(have):
        folder, _, base = name.rpartition("/")
        if not base.endswith(".gguf") or base.startswith("mmproj"):
            continue
        m = SPLIT_GGUF.match(base)
        if m and m.group("no") != "00001":
            continue
        prefix = f"{folder}/" if folder else ""
        out.append([prefix + n for n in split_names(base, lambda n: prefix + n in have, source)])
    return out


def resolve(target: str) -> LocalTarget:
    """Turn a path (file, folder, index json) into a ``LocalTarget``."""
    path = Path(target)
    if not path.exists():
        raise SourceError(target, "no such file or folder")
    if path.is_dir():
        return _folder(path)
    if path.name.endswith(".index.json"):
        fmt = "pytorch" if path.name.removesuffix(".index.json").endswith(PT_SUFFIXES) else "safetensors"
        return LocalTarget(fmt, [], path.parent, index=path)
    kind = "gguf" if path.suffix == ".gguf" else "safetensors" if path.suffix == ".safetensors" else _sniff(path)
    if kind is None and path.suffix in PT_SUFFIXES:
        kind = "pytorch"
    if kind == "pytorch":
        notes = [f"{path.name} is one shard of a sharded model; inspect the folder for the whole model"] if (
            path.parent / PT_INDEX_NAME
        ).is_file() else []  # fmt: skip
        return LocalTarget("pytorch", [path], path.parent, notes=notes)
    if kind is None:
        raise UsageError(target, "not a GGUF or safetensors file (unknown extension and magic)")
    if kind == "gguf":
        return LocalTarget("gguf", split_parts(path), path.parent)
    notes = []
    if (path.parent / INDEX_NAME).is_file():
        notes.append(f"{path.name} is one shard of a sharded model; inspect the folder for the whole model")
    return LocalTarget("safetensors", [path], path.parent, notes=notes)


def _folder(folder: Path) -> LocalTarget:
    names = [p.name for p in folder.iterdir() if p.is_file()]  # is_file follows the HF cache's blob links
    fmt, weights, index, notes = choose_weights(names, str(folder))
    return LocalTarget(fmt, [folder / n for n in weights], folder, index=folder / index if index else None, notes=notes)


@dataclass(frozen=True, slots=True)
class RepoRef:
    """A remote target: ``hf://org/name[@rev][/path]``, ``ms://...`` or plain ``org/name``."""

    protocol: str
    repo_id: str
    revision: str | None = None
    path: str | None = None

    def __str__(self) -> str:
        rev = f"@{self.revision}" if self.revision else ""
        path = f"/{self.path}" if self.path else ""
        return f"{self.protocol}://{self.repo_id}{rev}{path}"


_REPO = re.compile(r"^(?P<org>[A-Za-z0-9][\w.-]*)/(?P<name>[\w.-]+)(?:@(?P<rev>[^/]+))?(?:/(?P<path>.+))?$")


def parse_ref(target: str, *, plain: bool = True) -> RepoRef | None:
    """The remote reference ``target`` names, or ``None`` when it is not one.

    A plain ``org/name[@rev]`` counts only when ``plain`` and no such local path exists.
    """
    protocol = None
    rest = target
    for scheme, proto in (("hf://", "hf"), ("ms://", "ms"), ("modelscope://", "ms")):
        if target.startswith(scheme):
            protocol, rest = proto, target[len(scheme) :]
    if protocol is None:
        if not plain or os.path.exists(target) or target.startswith((".", "/", "~")):
            return None
        protocol = "hf"
    m = _REPO.match(rest)
    if m is None:
        if target.startswith(("hf://", "ms://", "modelscope://")):
            raise UsageError(target, "not a repo reference; expected hf://org/name[@revision][/path]")
        return None
    if not target.startswith(("hf://", "ms://", "modelscope://")) and (
        m["path"] or m["name"].endswith((".gguf", ".safetensors", ".json"))
    ):
        return None  # a plain name is only ``org/name[@rev]``: a mistyped local path stays local
    return RepoRef(protocol, f"{m['org']}/{m['name']}", m["rev"], m["path"].strip("/") if m["path"] else None)


def unsafe_reason(name: str) -> str | None:
    """Why ``name`` may not be used as a path inside a model folder, or ``None`` when it is fine."""
    if not name or name in (".", ".."):
        return "is empty or a folder reference"
    if any(ord(c) < 32 for c in name):
        return "contains control characters"
    win = PureWindowsPath(name)
    if name.startswith(("/", "\\")) or win.drive or win.root:
        return "is an absolute path"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if parts and ":" in parts[0]:
        return "names a drive"
    if ".." in parts:
        return "climbs out of the folder with '..'"
    return None


def posix_name(name: str) -> str:
    """``name`` as a relative POSIX path, ``\\`` read as ``/`` and ``.`` parts dropped (``./a\\b`` -> ``a/b``).

    Only the text changes; check the name with ``unsafe_reason`` first.
    """
    return "/".join(PurePosixPath(name.replace("\\", "/")).parts)


def safe_join(folder: str | Path, name: str) -> Path:
    """``folder / name``, refusing names that are absolute or climb out of ``folder`` (``..``)."""
    reason = unsafe_reason(name)
    if reason is not None:
        raise UsageError(name, f"file name escapes the target folder ({reason}); refused")
    return Path(folder).joinpath(*posix_name(name).split("/"))

"""The YAML front matter of a model card (README.md): the flat keys a card carries.

A deliberately small reader (no YAML package): ``key: value`` lines and ``- item`` lists under a
key, between the leading ``---`` lines. Nested mappings are skipped. Only the first 64 KiB are read.
"""

from __future__ import annotations

from typing import Any

from ..sources import ByteSource

#: Bytes of README.md read to find the front matter.
MAX_CARD_BYTES = 64 * 1024


def _scalar(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(p) for p in text[1:-1].split(",") if p.strip()]
    return text


def parse_front_matter(text: str) -> dict[str, Any]:
    """Top-level keys of the front matter; ``{}`` when the text has none."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}
    out: dict[str, Any] = {}
    key = None
    for line in lines[1:]:
        if line.strip() in ("---", "..."):
            return out
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith((" ", "-", "\t")):
            item = line.strip()
            if key is not None and item.startswith("- ") and ": " not in item:  # scalars, not mappings
                current = out.get(key)
                out[key] = (current if isinstance(current, list) else []) + [_scalar(item[2:])]
            continue
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip()
        out[key] = _scalar(value) if value.strip() else None
    return {}  # no closing line: not front matter


def read_front_matter(src: ByteSource) -> dict[str, Any]:
    """Front matter of the card behind a byte source (first 64 KiB, UTF-8 with replacement)."""
    return parse_front_matter(src.read_at(0, min(src.size, MAX_CARD_BYTES)).decode("utf-8", errors="replace"))

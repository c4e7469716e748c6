"""Values read from a model file (or a hub's JSON answer) checked into what they claim to be.

A count, a size or a token id is an ``int`` that is not a ``bool`` (JSON ``true`` is not one layer);
anything else is unknown (``None``), never 0. One definition for summary, plan and hub.
"""

from __future__ import annotations

from typing import Any, TypeGuard


def is_count(v: object) -> TypeGuard[int]:
    """Whether a value is a non-negative integer, booleans excluded (a token id, a size in bytes)."""
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def count(v: object) -> int | None:
    """A non-negative integer (0 means something: no KV heads on a recurrent layer), else ``None``."""
    return v if is_count(v) else None


def positive(v: object) -> int | None:
    """A size or count that 0 cannot be (layers, heads, widths): a positive integer, else ``None``."""
    return v if is_count(v) and v > 0 else None


def number(v: object) -> int | float | None:
    """A value as a number, or ``None`` when it is not one (strings, booleans, NaN)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
        return None
    return v


def text(v: object) -> str:
    """A value as text; the empty string when it is not a string."""
    return v if isinstance(v, str) else ""


def mapping(v: object) -> dict[str, Any]:
    """A value that should be a JSON object; an empty one when it is not."""
    return v if isinstance(v, dict) else {}

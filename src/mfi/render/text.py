"""Number and text formatting shared by the terminal and markdown renderers."""

from __future__ import annotations

import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")
DASH = "-"


def clean(s: Any) -> str:
    """Untrusted text with control and bidi characters shown as escapes (``\\x1b``), never sent raw."""
    s = str(s)
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)


def size(n: int | float | None) -> str:
    """Bytes in binary units: ``1.50 GiB``."""
    if n is None:
        return DASH
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1024
    return DASH  # pragma: no cover


def count(n: int | None) -> str:
    """Parameter counts: ``7.62 B``, ``1.23 M``, ``4.1 K``."""
    if n is None:
        return DASH
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return str(n)


def number(v: Any) -> str:
    """A field value for a table: dash for unknown, thousands separators, compact floats."""
    if v is None:
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{int(v):,}" if v.is_integer() and abs(v) < 1e15 else f"{v:g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}={number(x)}" for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(number(x) for x in v) + "]"
    return clean(v)


def bpw(v: float | None) -> str:
    """Bits per weight with two decimals."""
    return DASH if v is None else f"{v:.2f}"


def share(v: float | None) -> str:
    """A fraction as a percentage."""
    return DASH if v is None else f"{v * 100:.1f}%"

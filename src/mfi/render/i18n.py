"""The language of the screens: ``--lang`` or the locale, and the texts of each language from data files.

English texts are written in the renderers and are the keys; ``data/messages.<lang>.json`` maps each
key to its translation (``{n}``-style fields filled after), ``data/patterns.<lang>.json`` translates
texts with names in them by regular expression. ``data/explain.<lang>.json`` holds the
longer ``--explain`` texts. One term per idea in each language (zh: 显存 for the memory a model
needs, 内存 for system memory, 词元 for token).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from importlib import resources
from typing import Any

from . import text

LANGUAGES = ("en", "zh")
_current: ContextVar[str] = ContextVar("mfi_language", default="en")


def resolve(lang: str | None) -> str | None:
    """``en`` or ``zh`` for ``--lang`` (``zh_CN``, ``zh-Hans`` and ``en_US`` too), ``None`` for an unknown one.

    Without ``--lang``: the first of LC_ALL, LC_MESSAGES, LANG that is set; a locale of another
    language (or ``C``) means English.
    """
    if lang is not None:
        code = lang.strip().lower().replace("-", "_").split("_")[0].split(".")[0]
        return code if code in LANGUAGES else None
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@contextmanager
def language(lang: str) -> Iterator[None]:
    """Render in ``lang`` inside the block."""
    token = _current.set(lang if lang in LANGUAGES else "en")
    try:
        yield
    finally:
        _current.reset(token)


def current() -> str:
    """The language being rendered."""
    return _current.get()


@cache
def _messages(lang: str) -> dict[str, str]:
    if lang == "en":
        return {}
    data = resources.files("mfi.data").joinpath(f"messages.{lang}.json").read_text(encoding="utf-8")
    table: dict[str, str] = json.loads(data)
    return table


@cache
def explanations(lang: str) -> dict[str, str]:
    """The ``--explain`` texts of one language."""
    data = resources.files("mfi.data").joinpath(f"explain.{lang}.json").read_text(encoding="utf-8")
    table: dict[str, str] = json.loads(data)
    return table


@cache
def _patterns(lang: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    if lang == "en":
        return ()
    data = resources.files("mfi.data").joinpath(f"patterns.{lang}.json").read_text(encoding="utf-8")
    return tuple((re.compile(p), r) for p, r in json.loads(data))


def tr(message: str, **fields: Any) -> str:
    """``message`` in the current language, its ``{fields}`` filled in (English when untranslated).

    Texts the library builds with names in them (``architecture llama is known to llama.cpp``) are
    matched whole against the language's patterns (data/patterns.<lang>.json).
    """
    lang = current()
    table = _messages(lang)
    if message in table:
        out = table[message]
        return out.format(**fields) if fields else out
    if not fields:
        for pattern, replacement in _patterns(lang):
            m = pattern.fullmatch(message)
            if m:
                return m.expand(replacement)
    return message.format(**fields) if fields else message


def count(n: int | None) -> str:
    """A parameter count: ``8.19 B`` in English, ``81.90 亿`` in Chinese (万, 亿: the units a Chinese reader counts in)."""
    if n is None or current() != "zh":
        return text.count(n)
    for div, unit in ((1e8, "亿"), (1e4, "万")):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return str(n)


def yes_no(v: bool | None) -> str:
    """yes / no / dash."""
    return text.DASH if v is None else tr("yes" if v else "no")

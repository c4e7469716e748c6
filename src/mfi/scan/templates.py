"""Chat templates checked as text, never rendered: the patterns Jinja sandbox escapes are built from.

A chat template is a Jinja program that runtimes render with every prompt. Escapes from Jinja's
sandbox (server-side template injection) reach Python through dunder attributes
(``''.__class__.__mro__[1].__subclasses__()``), the ``attr`` filter, escaped underscores that hide
those names, or Jinja's own globals (``cycler.__init__.__globals__``). Plain chat templates use
none of these. Only text inside ``{{ }}`` and ``{% %}`` is checked: the rest is output.
"""

from __future__ import annotations

import re

from .records import Finding

_OPEN = re.compile(r"\{[{%]")
#: Dunders that classic sandbox escapes chain together.
_ESCAPE_DUNDERS = {"class", "mro", "subclasses", "globals", "builtins", "import", "base", "bases", "init",
                   "getattribute", "code", "func", "closure", "dict", "loader", "spec", "reduce", "reduce_ex"}  # fmt: skip
# (severity, name, regex, what it means), checked inside tags.
_PATTERNS = [
    ("critical", "dunder", re.compile(r"__(" + "|".join(sorted(_ESCAPE_DUNDERS)) + r")__"),
     "reaches Python internals ({m}): the start of a sandbox escape"),
    ("high", "other-dunder", re.compile(r"__(?!(?:" + "|".join(sorted(_ESCAPE_DUNDERS)) + r")__)\w+__"),
     "uses a dunder attribute ({m}), which chat templates never need"),
    ("high", "attr-filter", re.compile(r"\|\s*attr\s*\(|\battr\s*\("),
     "uses the attr() filter ({m}), which reaches attributes by computed name"),
    ("high", "escaped-underscore", re.compile(r"\\x5f|\\u005f|\\U0000005f|\\137|\\N\{", re.IGNORECASE),
     "hides underscores in an escape ({m}), the way attribute names are smuggled"),
    ("high", "underscore-concat", re.compile(r"""(?:\[|~)\s*(['"])(?:_[^'"]*|[^'"]*_)\1|(['"])(?:_[^'"]*|[^'"]*_)\2\s*~"""),
     "builds a name from pieces that start or end with '_' ({m}), the way dunders are smuggled"),
    ("high", "code-call", re.compile(r"\b(eval|exec|system|popen|spawn\w*|compile|getattr|setattr|import_module|"
                                     r"check_output|run_path|load_module)\s*\("),
     "calls {m}, which runs code or programs"),
    ("high", "module-name", re.compile(r"\b(os|subprocess|builtins|importlib|sys|posix)\s*\.\s*\w+"),
     "names a Python module attribute ({m})"),
    ("high", "private-context", re.compile(r"_TemplateReference__context|\bself\s*\._"),
     "reaches the template's private context ({m})"),
    ("medium", "jinja-global", re.compile(r"\b(lipsum|cycler|joiner|url_for|get_flashed_messages|request|config)\b"),
     "names a Jinja/Flask global ({m}) that template escapes start from"),
    ("medium", "load", re.compile(r"\{%-?\s*(include|import|extends|from)\b"),
     "loads another template ({m}): its content is not in this file"),
]  # fmt: skip
#: Real chat templates are a few KiB; DeepSeek's and Qwen's tool-calling ones stay below 20 KiB.
LARGE_TEMPLATE = 256 * 1024


def _tags_only(text: str) -> str:
    """``text`` with everything outside ``{{ }}`` and ``{% %}`` tags blanked to NUL (same length).

    One linear pass; a tag ends at the first ``}}``/``%}`` outside a quoted string (as Jinja's lexer
    reads it), and an unclosed tag runs to the end (Jinja would refuse the template; we still check
    it). Positions stay those of ``text``, so each pattern runs once over the whole string.
    """
    pieces, pos = [], 0
    while (m := _OPEN.search(text, pos)) is not None:
        end = _tag_end(text, m.end(), "}}" if m.group(0) == "{{" else "%}")
        pieces += ["\x00" * (m.start() - pos), text[m.start() : end]]
        pos = end
    pieces.append("\x00" * (len(text) - pos))
    return "".join(pieces)


def _tag_end(text: str, i: int, close: str) -> int:
    """Index just past the tag's closing ``close``, skipping quoted strings; ``len(text)`` when unclosed."""
    n = len(text)
    while i < n:
        m = _TAG_TOKEN.search(text, i)
        if m is None:
            return n
        if m.group(0) == close:
            return m.end()
        if m.group(0) in _STRING:
            s = _STRING[m.group(0)].match(text, m.start())
            i = n if s is None else s.end()  # an unclosed string runs to the end
        else:
            i = m.end()
    return n


_TAG_TOKEN = re.compile(r"""['"]|\}\}|%\}""")
_STRING = {q: re.compile(q + r"(?:[^" + q + r"\\]|\\.)*" + q, re.DOTALL) for q in ("'", '"')}


def _where(text: str, pos: int) -> str:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return f"line {line}, column {col}"


def template_findings(text: str, file: str, where: str, member: str | None = None) -> list[Finding]:
    """Injection patterns in one chat template; ``where`` names it (a GGUF key, a JSON field)."""
    found: dict[str, tuple[str, str, int, str, int]] = {}
    tags = _tags_only(text)
    for severity, name, rx, meaning in _PATTERNS:
        for m in rx.finditer(tags):
            if name in found:
                sev, msg, first, snippet, n = found[name]
                found[name] = (sev, msg, first, snippet, n + 1)
            else:
                found[name] = (severity, meaning.format(m=m.group(0).strip()[:40]), m.start(), m.group(0)[:40], 1)
    out = []
    for name, (severity, meaning, pos, snippet, n) in found.items():
        more = f" ({n} places)" if n > 1 else ""
        out.append(Finding(severity, "template", file, f"chat template {where} {meaning} at {_where(text, pos)}{more}",
                           member=member, detail={"template": where, "pattern": name, "match": snippet, "count": n}))  # fmt: skip
    if len(text) > LARGE_TEMPLATE:
        out.append(Finding("low", "template", file, f"chat template {where} is unusually large ({len(text)} characters)",
                           member=member, detail={"template": where, "pattern": "size"}))  # fmt: skip
    return out

"""Chat templates checked as text, never rendered: the patterns Jinja sandbox escapes are built from.

A chat template is a Jinja program that runtimes render with every prompt. Escapes from Jinja's
sandbox (server-side template injection) reach Python through dunder attributes
(``''.__class__.__mro__[1].__subclasses__()``), the ``attr`` filter, escaped underscores that hide
those names, or Jinja's own globals (``cycler.__init__.__globals__``). Plain chat templates use
none of these. Only what is inside ``{{ }}`` and ``{% %}`` is checked: the rest is output.

Tags are cut by Jinja's own lexer (``Environment.lexer.tokenize``: it lexes, never renders), so
``{{ {'a': {'b': 1}}.a.__class__ }}`` is one tag and string escapes (``'\\x5f\\x5f'``) arrive
decoded; names built at run time show as their pieces (``'_'``, ``'%c'|format(95)``). Without
jinja2, or for a template it cannot lex, the text patterns below run over the tags instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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


_CODE_CALLS = {"eval", "exec", "system", "popen", "compile", "getattr", "setattr", "import_module", "check_output",
               "run_path", "load_module", "spawn", "spawnv", "spawnl"}  # fmt: skip
_MODULES = {"os", "subprocess", "builtins", "importlib", "sys", "posix"}
#: Jinja/Flask globals escapes start from (``namespace``, which chat templates use, is not one).
_GLOBALS = {"lipsum", "cycler", "joiner", "url_for", "get_flashed_messages", "request", "config"}
_DUNDER = re.compile(r"__(\w+?)__")
_ESCAPED = re.compile(r"\\x5f|\\u005f|\\U0000005f|\\137|\\N\{", re.IGNORECASE)


def _lexed(text: str) -> list[tuple[int, str, object]] | None:
    """(line, type, value) of every token inside tags, strings decoded; None when jinja2 cannot lex it.

    Each string also appears raw (type ``raw-string``, as written, escapes and all) just before itself.
    """
    try:
        import jinja2
    except ImportError:
        return None
    lexer = jinja2.Environment().lexer
    try:
        raw = list(lexer.tokeniter(text, None))
        out: list[tuple[int, str, object]] = []
        for (line, kind, value), tok in zip((r for r in raw if r[1] not in _IGNORED), lexer.wrap(iter(raw))):
            if tok.type == "data":
                continue
            if tok.type == "string":
                out.append((line, "raw-string", value))
            out.append((tok.lineno, tok.type, tok.value))
        return out
    except (jinja2.TemplateSyntaxError, ValueError, RecursionError):
        return None


#: Raw token types ``Lexer.wrap`` drops (jinja2/lexer.py ``ignored_tokens``).
_IGNORED = frozenset({"comment_begin", "comment", "comment_end", "whitespace", "linecomment_begin", "linecomment_end",
                      "linecomment"})  # fmt: skip


def _token_hits(tokens: list[tuple[int, str, object]]) -> Iterator[tuple[str, str, str, int, str]]:
    """(severity, pattern, meaning, line, match) for each suspicious token, judged with its neighbours."""
    # names the template binds itself ({% set request = ... %}, {% for config in ... %}) are its own variables
    bound = {tokens[i + 1][2] for i, t in enumerate(tokens[:-1])
             if t[1] == "name" and t[2] in ("set", "for", "macro") and tokens[i + 1][1] == "name"}  # fmt: skip
    for i, (line, kind, value) in enumerate(tokens):
        before = tokens[i - 1][1] if i else ""
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if kind in ("name", "string") and isinstance(value, str):
            for m in _DUNDER.finditer(value):
                if m.group(1) in _ESCAPE_DUNDERS:
                    yield "critical", "dunder", "reaches Python internals ({m}): the start of a sandbox escape", line, m.group(0)
                else:
                    yield "high", "other-dunder", "uses a dunder attribute ({m}), which chat templates never need", line, m.group(0)
        if kind == "string" and isinstance(value, str):
            if value and (value[0] == "_" or value[-1] == "_") and not _DUNDER.fullmatch(value):
                yield ("high", "underscore-concat", "holds a string piece that starts or ends with '_' ({m}), the way "
                       "dunder names are built at run time", line, repr(value)[:40])  # fmt: skip
            if "%c" in value:
                yield ("high", "char-format", "formats characters from their codes ({m}), the way '_' is built at run "
                       "time", line, repr(value)[:40])  # fmt: skip
        if kind == "raw-string" and isinstance(value, str) and (esc := _ESCAPED.search(value)) is not None:
            yield ("high", "escaped-underscore", "hides underscores in an escape ({m}), the way attribute names are "
                   "smuggled", line, esc.group(0))  # fmt: skip
        if kind != "name" or not isinstance(value, str):
            continue
        if value == "attr" and before == "pipe" or value == "attr" and after == "lparen":
            yield "high", "attr-filter", "uses the attr() filter ({m}), which reaches attributes by computed name", line, value
        elif value in _CODE_CALLS and after == "lparen":
            yield "high", "code-call", "calls {m}, which runs code or programs", line, value
        elif value in _MODULES and after == "dot":
            yield "high", "module-name", "names a Python module attribute ({m})", line, value
        elif value == "_TemplateReference__context" or (value == "self" and after == "dot" and i + 2 < len(tokens)
                                                        and str(tokens[i + 2][2]).startswith("_")):  # fmt: skip
            yield "high", "private-context", "reaches the template's private context ({m})", line, value
        elif value in _GLOBALS and value not in bound and before != "dot" and after in ("dot", "lbracket", "pipe"):
            yield "medium", "jinja-global", "names a Jinja/Flask global ({m}) that template escapes start from", line, value
        elif value in ("include", "import", "extends", "from") and before == "block_begin":
            yield "medium", "load", "loads another template ({m}): its content is not in this file", line, value


def _text_hits(text: str) -> Iterator[tuple[str, str, str, int, str]]:
    """The same judgement from text patterns over the tags, for templates Jinja cannot lex."""
    tags = _tags_only(text)
    for severity, name, rx, meaning in _PATTERNS:
        for m in rx.finditer(tags):
            yield severity, name, meaning, text.count("\n", 0, m.start()) + 1, m.group(0).strip()[:40]


def template_findings(text: str, file: str, where: str, member: str | None = None) -> list[Finding]:
    """Injection patterns in one chat template; ``where`` names it (a GGUF key, a JSON field)."""
    found: dict[str, tuple[str, str, int, str, int]] = {}
    tokens = _lexed(text)
    for severity, name, meaning, line, snippet in _token_hits(tokens) if tokens is not None else _text_hits(text):
        if name in found:
            sev, msg, first, first_snippet, n = found[name]
            found[name] = (sev, msg, first, first_snippet, n + 1)
        else:
            found[name] = (severity, meaning.format(m=snippet), line, snippet, 1)
    out = []
    for name, (severity, meaning, line, snippet, n) in found.items():
        more = f" ({n} places)" if n > 1 else ""
        out.append(Finding(severity, "template", file, f"chat template {where} {meaning} at line {line}{more}",
                           member=member, detail={"template": where, "pattern": name, "match": snippet, "count": n}))  # fmt: skip
    if len(text) > LARGE_TEMPLATE:
        out.append(Finding("low", "template", file, f"chat template {where} is unusually large ({len(text)} characters)",
                           member=member, detail={"template": where, "pattern": "size"}))  # fmt: skip
    return out

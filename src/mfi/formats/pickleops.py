"""Pickle opcodes and their arguments, read the way CPython's C unpickler (``Modules/_pickle.c``) reads them.

``pickletools`` supplies the opcode table only: its argument readers refuse what the C unpickler
(``pickle.load``, ``torch.load``) accepts (``I010`` as octal 8, a NUL ending a number, a STRING in
UTF-8, BINSTRING lengths above 2**31), and a walk that stops where the loader reads on says
"not a pickle" about a file that runs code (issue 11 item 1). Arguments longer than 64 KiB are
stepped over (``Big``), never read into memory (item 11).
"""

from __future__ import annotations

import pickletools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import limits


@dataclass(frozen=True, slots=True)
class Big:
    """A string, bytes or integer argument too long to keep: skipped over, never read into memory."""

    kind: str
    size: int


#: Longest string, bytes or integer argument kept as a value; longer ones become ``Big`` (item 11 of
#: issue 11: a sparse pickle of 32 strings of 16 MiB must not cost 512 MiB).
_KEEP = 1 << 16
_SPACE = b" \t\n\v\f\r"
_FLOAT = re.compile(rb"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)", re.IGNORECASE)
#: Counted arguments: opcode -> (bytes of the length field, what the bytes become). Lengths are
#: unsigned, as ``calc_binsize`` reads them in _pickle.c (pickletools wrongly refuses a BINSTRING
#: length above 2**31; the loader reads on).
_COUNTED = {
    "SHORT_BINSTRING": (1, "str8"), "BINSTRING": (4, "str8"), "SHORT_BINBYTES": (1, "bytes"), "BINBYTES": (4, "bytes"),
    "BINBYTES8": (8, "bytes"), "BYTEARRAY8": (8, "bytes"), "SHORT_BINUNICODE": (1, "str"), "BINUNICODE": (4, "str"),
    "BINUNICODE8": (8, "str"),
}  # fmt: skip
OPCODES = {op.code.encode("latin-1"): op for op in pickletools.opcodes}


def _line(stream: Any, op: str) -> bytes:
    """One argument line with its newline (``_Unpickler_Readline``); shorter than 2 bytes is ``bad_readline``."""
    line: bytes = stream.readline()
    if not line.endswith(b"\n"):
        raise ValueError(f"{op}: pickle data was truncated")
    if len(line) < (1 if op in ("UNICODE", "PERSID", "STRING") else 2):
        raise ValueError(f"{op}: bad readline")
    return line


def skip(stream: Any, n: int) -> bool:
    """Move past ``n`` bytes without reading them; False (at the end) when fewer are left."""
    if hasattr(stream, "skip"):
        return bool(stream.skip(n))
    pos = stream.tell()
    end = stream.seek(0, 2)
    if end - pos < n:
        return False
    stream.seek(pos + n)
    return True


def _cstr(line: bytes) -> bytes:
    """The line as the C code sees it: a C string, so it ends at the first NUL."""
    cut = line.find(b"\0")
    return line if cut < 0 else line[:cut]


def _strtol(s: bytes) -> tuple[int | None, int]:
    """C ``strtol(s, &end, 0)``: leading space, sign, ``0x`` hex or leading-0 octal; (value, end index)."""
    i = 0
    while i < len(s) and s[i] in _SPACE:
        i += 1
    neg = i < len(s) and s[i] == 45  # '-'
    if i < len(s) and s[i] in b"+-":
        i += 1
    base, digits = 10, b"0123456789"
    if s[i : i + 2].lower() == b"0x" and s[i + 2 : i + 3].lower() in (b"0123456789abcdef"[k : k + 1] for k in range(16)):
        base, digits, i = 16, b"0123456789abcdefABCDEF", i + 2
    elif s[i : i + 1] == b"0":
        base, digits = 8, b"01234567"
    j = i
    while j < len(s) and s[j] in digits:
        j += 1
    if j == i:
        return None, 0
    value = int(s[i:j], base)
    return (-value if neg else value), j


def _pylong(text: bytes, base: int) -> int:
    """``PyLong_FromString(s, NULL, base)`` on a C string: Python's own ``int()`` grammar, ASCII only."""
    if len(text) > limits.MAX_PICKLE_STRING:
        raise ValueError("integer argument too long")
    return int(_cstr(text).decode("ascii"), base)


def _read_int(line: bytes) -> int | bool:
    """``load_int``: strtol base 0, the end must be the newline or a NUL; else ``PyLong_FromString``."""
    value, end = _strtol(line)
    if value is not None and line[end : end + 1] in (b"\n", b"\0") and -(1 << 63) <= value < 1 << 63:
        return bool(value) if len(line) == 3 and value in (0, 1) else value
    return _pylong(line, 0)


def _read_long(line: bytes) -> int:
    """``load_long``: an ``L`` before the newline is dropped (the string ends there), then base 0."""
    return _pylong(line[:-2] if line[-2:-1] == b"L" else line, 0)


def _read_float(line: bytes) -> float:
    """``load_float``: ``PyOS_string_to_double`` (no leading space), ending at the newline or a NUL."""
    m = _FLOAT.match(line)
    if m is None or line[m.end() : m.end() + 1] not in (b"\n", b"\0"):
        raise ValueError("could not convert string to float")
    value = float(m.group())
    if value in (float("inf"), float("-inf")) and b"inf" not in m.group().lower():
        raise ValueError("FLOAT overflows")
    return value


def _text(data: bytes) -> str:
    """STRING/BINSTRING bytes as a str: UTF-8 (torch.load's encoding), else Latin-1 (numpy's, pandas')."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _read_string(line: bytes) -> str:
    """``load_string``: quoted alike at both ends, escapes decoded, then decoded as text."""
    body = line[:-1]
    if len(body) < 2 or body[0] != body[-1] or body[:1] not in (b"'", b'"'):
        raise ValueError("the STRING opcode argument must be quoted")
    import codecs

    return _text(codecs.escape_decode(body[1:-1])[0])


def _read_counted(stream: Any, op: str) -> Any:
    """A counted string or bytes argument; longer than ``_KEEP`` is skipped (``Big``), never allocated."""
    width, kind = _COUNTED[op]
    raw = stream.read(width)
    if len(raw) < width:
        raise ValueError(f"{op}: pickle data was truncated")
    n = int.from_bytes(raw, "little")
    if width == 8 and n >= 1 << 63:
        raise OverflowError(f"{op} exceeds the largest size")
    if n > _KEEP:
        if not skip(stream, n):
            raise ValueError(f"{op}: pickle data was truncated")
        return Big(kind, n)
    data = stream.read(n)
    if len(data) < n:
        raise ValueError(f"{op}: pickle data was truncated")
    if kind == "str":
        return data.decode("utf-8", "surrogatepass")
    return _text(data) if kind == "str8" else data


def _read_arg(stream: Any, op: pickletools.OpcodeInfo) -> Any:
    """One opcode's argument, read as ``Modules/_pickle.c`` reads it (not as pickletools does)."""
    name = op.name
    if name in _COUNTED:
        return _read_counted(stream, name)
    if name == "INT":
        return _read_int(_line(stream, name))
    if name == "LONG":
        return _read_long(_line(stream, name))
    if name == "FLOAT":
        return _read_float(_line(stream, name))
    if name == "STRING":
        return _read_string(_line(stream, name))
    if name in ("GET", "PUT"):
        return _pylong(_line(stream, name), 10)
    if name in ("GLOBAL", "INST"):  # two lines, each UTF-8 (load_global)
        module = _line(stream, name)[:-1].decode("utf-8")
        return module + " " + _line(stream, name)[:-1].decode("utf-8")
    if name == "PERSID":
        return _line(stream, name)[:-1].decode("ascii")
    if name in ("LONG1", "LONG4"):
        raw = stream.read(1 if name == "LONG1" else 4)
        n = int.from_bytes(raw, "little", signed=name == "LONG4")
        if len(raw) < (1 if name == "LONG1" else 4) or n < 0:
            raise ValueError(f"{name}: bad byte count")
        if n > _KEEP:
            if not skip(stream, n):
                raise ValueError(f"{name}: pickle data was truncated")
            return Big("int", n)
        data = stream.read(n)
        if len(data) < n:
            raise ValueError(f"{name}: pickle data was truncated")
        return int.from_bytes(data, "little", signed=True)
    return None if op.arg is None else op.arg.reader(stream)


def genops(stream: Any) -> Iterator[tuple[Any, Any, int]]:
    """(opcode, argument, position) up to STOP, each argument read the way ``pickle.load`` reads it."""
    while True:
        pos = stream.tell()
        code = stream.read(1)
        op = OPCODES.get(code) if code else None
        if op is None:
            raise ValueError("pickle exhausted before seeing STOP" if not code else f"unknown opcode {code!r}")
        yield op, _read_arg(stream, op), pos
        if op.name == "STOP":
            return

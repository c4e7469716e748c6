"""numpy .npy headers (also the members of .npz archives): dtype, shape, and whether a pickle follows.

Format (numpy.lib.format): ``\\x93NUMPY``, major and minor version, a 2-byte (v1) or 4-byte (v2, v3)
little-endian header length, then a Python dict literal. It is parsed with ``ast.literal_eval``,
which builds constants only and never calls anything. An ``object`` dtype means the data is a
pickle, which ``np.load(allow_pickle=True)`` would run.
"""

from __future__ import annotations

import ast
import re
import struct
from dataclasses import dataclass
from typing import Any, NoReturn

from .. import limits
from ..errors import FormatError, LimitError, TruncatedError
from ..sources import ByteSource

NPY_MAGIC = b"\x93NUMPY"


@dataclass(frozen=True, slots=True)
class NpyHeader:
    """One .npy array's declared layout."""

    descr: Any
    shape: tuple[int, ...]
    fortran_order: bool
    #: Absolute offset of the array data (or of the pickle, for object arrays).
    data_offset: int

    @property
    def has_object(self) -> bool:
        """Whether the dtype holds Python objects (data stored as a pickle)."""
        return _has_object(self.descr)


_SIMPLE = re.compile(r"[<>|=]?[?bBhHiIlLqQpPefdgFDGSUVaumMc]\d*(\[\w+\])?")


def _has_object(descr: Any) -> bool:
    """Whether a descr may hold Python objects: anything but a plain simple code is suspect.

    numpy accepts far more spellings than ``|O`` (``object``, ``(1,)O``, ``f4,O``, ``[('x', 'O')]``,
    dict descrs); instead of mirroring its parser, only plain codes such as ``<f4`` or ``|S10`` pass.
    """
    if isinstance(descr, str):
        return _SIMPLE.fullmatch(descr) is None
    if isinstance(descr, list):  # structured: [(name, descr[, shape]), ...]
        return any(not isinstance(x, tuple) or len(x) < 2 or _has_object(x[1]) for x in descr) or not descr
    return True


def _not_a_dict(name: str, why: str, at: int) -> NoReturn:
    raise FormatError(name, f".npy header is not a dict literal ({why})", at)


def _py2_header(name: str, text: str, at: int) -> Any:
    """A header written by Python 2 (``(1L,)``): numpy drops an ``L`` after a number and reads it again.

    Mirrors ``numpy.lib.format._filter_header`` (used for format versions up to 2.0).
    """
    import io
    import tokenize

    tokens = []
    last_number = False
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if not (last_number and tok.type == tokenize.NAME and tok.string == "L"):
                tokens.append(tok)
            last_number = tok.type == tokenize.NUMBER
        return ast.literal_eval(tokenize.untokenize(tokens))
    except (tokenize.TokenError, SyntaxError, ValueError, TypeError, MemoryError, RecursionError) as e:
        _not_a_dict(name, type(e).__name__, at)


def read_npy(src: ByteSource, offset: int = 0) -> NpyHeader:
    """Read the .npy header at ``offset`` of ``src``."""
    head = src.read_at(offset, 12)
    if head[:6] != NPY_MAGIC:
        raise FormatError(src.name, "not a .npy array (bad magic)", offset)
    if len(head) < 10:
        raise TruncatedError(src.name, ".npy header cut short", offset)
    major = head[6]
    if major == 1:
        (n,), start = struct.unpack("<H", head[8:10]), offset + 10
    elif major in (2, 3):
        if len(head) < 12:
            raise TruncatedError(src.name, ".npy header cut short", offset)
        (n,), start = struct.unpack("<I", head[8:12]), offset + 12
    else:
        raise FormatError(src.name, f".npy format version {major} is unknown", offset + 6)
    if n > limits.MAX_NPY_HEADER:
        raise LimitError(src.name, f".npy header of {n} bytes exceeds the cap of {limits.MAX_NPY_HEADER}", offset + 8)
    raw = src.read_at(start, n)
    if len(raw) < n:
        raise TruncatedError(src.name, f".npy header of {n} bytes runs past the end", start)
    text = raw.decode("utf-8" if major == 3 else "latin-1")
    try:
        header = ast.literal_eval(text)
    except SyntaxError:
        header = _py2_header(src.name, text, start) if major <= 2 else _not_a_dict(src.name, "SyntaxError", start)
    except (ValueError, TypeError, MemoryError, RecursionError) as e:
        _not_a_dict(src.name, type(e).__name__, start)
    if not isinstance(header, dict) or not {"descr", "shape", "fortran_order"} <= set(header):
        raise FormatError(src.name, ".npy header lacks descr, shape or fortran_order", start)
    shape = header["shape"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise FormatError(src.name, ".npy shape is not a tuple of sizes", start)
    return NpyHeader(header["descr"], shape, bool(header["fortran_order"]), start + n)

"""safetensors header reader: 8-byte little-endian length, then a JSON header. Data is never read.

Validation follows the format (huggingface/safetensors README): header within the file, offsets
contiguous from 0 with no holes or overlaps, byte size = elements x dtype size, data ending at the
end of the file, no duplicate names. Damage that still lets us summarise goes to ``problems``.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import limits
from ..errors import FormatError, LimitError, TruncatedError
from ..records import TensorInfo
from ..sources import ByteSource
from . import tables


@dataclass(slots=True)
class SafetensorsFile:
    """One safetensors file's header."""

    name: str
    #: Length of the JSON header (the 8-byte length prefix not included).
    header_size: int
    metadata: dict[str, str]
    tensors: tuple[TensorInfo, ...]
    file_size: int
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def data_offset(self) -> int:
        """Where the tensor data starts."""
        return 8 + self.header_size


def _no_duplicates(name: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            seen: set[str] = set()
            for k, _ in pairs:
                if k in seen:
                    raise FormatError(name, f"duplicate entry {k!r} in the header")
                seen.add(k)
        return out

    return hook


def read_safetensors(src: ByteSource) -> SafetensorsFile:
    """Read and validate the header of the safetensors file behind ``src``."""
    name, size = src.name, src.size
    if size < 8:
        raise TruncatedError(name, f"too short for a safetensors file ({size} bytes)")
    (n,) = struct.unpack("<Q", src.read_at(0, 8))
    if n > limits.MAX_SAFETENSORS_HEADER:
        raise LimitError(name, f"header length {n} exceeds the cap of {limits.MAX_SAFETENSORS_HEADER} bytes", 0)
    if 8 + n > size:
        raise TruncatedError(name, f"header length {n} runs past the end of the file ({size} bytes)", 0)
    raw = src.read_at(8, n)
    if not raw.lstrip(b" ").startswith(b"{"):
        raise FormatError(name, "not a safetensors file (the header is not a JSON object)", 8)
    # Each tensor is a JSON object: counting braces first bounds the tensor count before json.loads
    # builds anything (a 99 MB header of 1.6M entries cost 1.3 GiB and 8.5 s; issue 11 item 11).
    # Braces inside strings only raise the count, and only past a cap no real file comes near.
    objects = raw.count(b"{")
    if objects > limits.MAX_TENSOR_COUNT + 2:
        raise LimitError(name, f"header holds {objects} JSON objects, more than the cap of {limits.MAX_TENSOR_COUNT} tensors", 8)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates(name))
    except UnicodeDecodeError as e:
        raise FormatError(name, f"header is not UTF-8 ({e.reason})", 8 + e.start) from None
    except json.JSONDecodeError as e:
        raise FormatError(name, f"invalid JSON header: {e.msg}", 8 + e.pos) from None
    except ValueError as e:  # e.g. an integer longer than Python's 4,300-digit conversion limit
        raise FormatError(name, f"invalid JSON header: {e}", 8) from None
    except RecursionError:
        raise FormatError(name, "JSON header nested too deeply", 8) from None
    if not isinstance(header, dict):
        raise FormatError(name, "not a safetensors file (the header is not a JSON object)", 8)

    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise FormatError(name, "__metadata__ is not a JSON object", 8)
    if len(header) > limits.MAX_TENSOR_COUNT:
        raise LimitError(name, f"tensor count {len(header)} exceeds the cap of {limits.MAX_TENSOR_COUNT}", 8)

    dtypes = tables.safetensors_dtypes()
    base = 8 + n
    tensors: list[TensorInfo] = []
    problems: list[str] = []
    unknown: dict[str, int] = {}
    for tname, entry in header.items():
        dtype, shape, (begin, end) = _entry(name, tname, entry)
        count = math.prod(shape)
        bits = dtypes.get(dtype)
        if bits is None:
            unknown[dtype] = unknown.get(dtype, 0) + 1
        elif count * bits != (end - begin) * 8:
            problems.append(f"tensor {tname}: {count} x {dtype} needs {count * bits / 8:g} bytes, offsets give {end - begin}")
        tensors.append(TensorInfo(tname, dtype, shape, base + begin, end - begin, name))

    bad_meta = [k for k, v in metadata.items() if not isinstance(v, str)]
    if bad_meta:
        problems.append(f"__metadata__ value of {bad_meta[0]!r} is not a string (the format allows only strings)")
    problems.extend(_layout_problems(tensors, base, size))
    warnings = [
        f"{k} tensor(s) of dtype {d}, unknown to the installed safetensors package; sizes taken from offsets"
        for d, k in unknown.items()
    ]
    metadata = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    return SafetensorsFile(name, n, metadata, tuple(tensors), size, problems, warnings)


def _entry(name: str, tname: str, entry: Any) -> tuple[str, tuple[int, ...], tuple[int, int]]:
    """Check one header entry's shape and types."""
    if not isinstance(entry, dict):
        raise FormatError(name, f"tensor {tname!r}: entry is not an object")
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or not dtype:
        raise FormatError(name, f"tensor {tname!r}: missing or invalid dtype")
    if type(shape) is not list or any(type(d) is not int or d < 0 for d in shape):
        raise FormatError(name, f"tensor {tname!r}: shape {shape!r} is not a list of non-negative integers")
    if len(shape) > limits.MAX_DIMS:
        raise LimitError(name, f"tensor {tname!r} has {len(shape)} dimensions, above the cap of {limits.MAX_DIMS}")
    if (
        type(offsets) is not list
        or len(offsets) != 2
        or type(offsets[0]) is not int
        or type(offsets[1]) is not int
        or not 0 <= offsets[0] <= offsets[1]
    ):
        raise FormatError(name, f"tensor {tname!r}: data_offsets {offsets!r} are not [begin, end] with begin <= end")
    count = math.prod(shape)
    if count > limits.MAX_TENSOR_ELEMENTS:
        raise LimitError(name, f"tensor {tname!r} claims {count} elements, above the cap of 2**53")
    return dtype, tuple(shape), (offsets[0], offsets[1])


def _layout_problems(tensors: list[TensorInfo], base: int, size: int) -> list[str]:
    """Holes, overlaps and a data span that does not end at the end of the file."""
    problems = []
    expected = base
    for t in sorted(tensors, key=lambda t: (t.offset, t.n_bytes)):
        if t.offset > expected:
            problems.append(f"hole of {t.offset - expected} bytes before tensor {t.name}")
        elif t.offset < expected:
            problems.append(f"tensor {t.name} overlaps the tensor before it")
        expected = max(expected, t.offset + (t.n_bytes or 0))
    if expected > size:
        problems.append(f"tensor data needs {expected} bytes, the file has {size}: truncated download?")
    elif expected < size:
        problems.append(f"{size - expected} bytes after the last tensor's data")
    return problems

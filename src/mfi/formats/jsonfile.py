"""JSON sidecar files (config.json, tokenizer.json, ...): read whole, within a cap."""

from __future__ import annotations

import json
from typing import Any

from .. import limits
from ..errors import FormatError, LimitError
from ..sources import ByteSource


def read_json(src: ByteSource) -> Any:
    """Parse the JSON file behind ``src``; errors name the file and the byte offset."""
    if src.size > limits.MAX_JSON_BYTES:
        raise LimitError(src.name, f"JSON file of {src.size} bytes exceeds the cap of {limits.MAX_JSON_BYTES} bytes")
    raw = src.read_at(0, src.size)
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise FormatError(src.name, f"not UTF-8 text ({e.reason})", e.start) from None
    except json.JSONDecodeError as e:
        raise FormatError(src.name, f"invalid JSON: {e.msg}", e.pos) from None
    except ValueError as e:  # e.g. an integer longer than Python's 4,300-digit conversion limit
        raise FormatError(src.name, f"invalid JSON: {e}") from None
    except RecursionError:
        raise FormatError(src.name, "JSON nested too deeply") from None

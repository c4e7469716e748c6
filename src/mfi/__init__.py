"""mfi, the model-file inspector: what is inside a model before you download, run or trust it.

Importing ``mfi`` costs nothing: the library's functions load on first use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # the idiom that keeps `typing` out of `import mfi`
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "inspect"]


def __getattr__(name: str) -> Any:
    # Lazy front door: `mfi.inspect(...)` without importing readers at `import mfi` time.
    if name in ("inspect",):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'mfi' has no attribute {name!r}")

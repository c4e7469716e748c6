"""mfi, the model-file inspector: what is inside a model before you download, run or trust it.

Importing ``mfi`` costs nothing: the library's functions load on first use.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "compare", "inspect", "plan", "pull", "scan"]


def __getattr__(name: str):
    # Lazy front door: `mfi.inspect(...)` without importing readers at `import mfi` time.
    if name in ("inspect", "compare", "plan", "scan", "pull"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'mfi' has no attribute {name!r}")

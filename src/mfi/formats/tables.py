"""Format knowledge taken from the ``gguf`` and ``safetensors`` packages, never retyped.

``gguf.constants`` is loaded on its own, without running ``gguf/__init__`` (which imports numpy and
the package's whole reader and writer: about 0.1 s we do not need for reading a header).
"""

from __future__ import annotations

import ctypes
import importlib.util
import re
import sys
from functools import cache
from types import ModuleType

_CONSTANTS = "mfi._gguf_constants"


@cache
def gguf_constants() -> ModuleType:
    """The installed ``gguf.constants`` module, loaded alone."""
    loaded = sys.modules.get("gguf.constants")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("gguf")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("the gguf package is not installed")
    path = f"{list(spec.submodule_search_locations)[0]}/constants.py"
    cspec = importlib.util.spec_from_file_location(_CONSTANTS, path)
    assert cspec is not None and cspec.loader is not None
    module = importlib.util.module_from_spec(cspec)
    sys.modules[_CONSTANTS] = module  # enum pickling and dataclass lookups need the module known
    cspec.loader.exec_module(module)
    return module


@cache
def ggml_types() -> dict[int, tuple[str, int, int]]:
    """Every tensor type the installed gguf knows: id -> (name, block size, bytes per block)."""
    c = gguf_constants()
    return {int(t): (t.name, *c.GGML_QUANT_SIZES[t]) for t in c.GGMLQuantizationType if t in c.GGML_QUANT_SIZES}


@cache
def file_type_name(file_type: int) -> str:
    """``general.file_type`` by name without its prefix: 15 -> ``Q4_K_M``, 0 -> ``F32``."""
    c = gguf_constants()
    try:
        name: str = c.LlamaFileType(file_type).name
    except ValueError:
        return f"UNKNOWN({file_type})"
    for prefix in ("MOSTLY_", "ALL_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


@cache
def gguf_architectures() -> frozenset[str]:
    """Architecture names llama.cpp knows, per the installed gguf package."""
    return frozenset(gguf_constants().MODEL_ARCH_NAMES.values())


@cache
def safetensors_dtypes() -> dict[str, float]:
    """Every dtype the installed safetensors can write: header code (``BF16``) -> bits per element.

    The safetensors package has no public table, so ask its writer: it lists the dtypes it
    supports when given an unknown one, and serialising 8 elements tells each one's size.
    """
    import safetensors

    buf = ctypes.create_string_buffer(128)
    ptr = ctypes.addressof(buf)
    try:
        safetensors.TensorSpec(dtype="?", shape=[8], data_ptr=ptr, data_len=0)
    except Exception as e:  # the package's own error type varies by version
        listed = re.search(r"Supported dtypes:\s*(.*)", str(e))
    else:  # pragma: no cover - a future version that accepts anything
        listed = None
    if listed is None:  # pragma: no cover
        raise RuntimeError("cannot read the dtype list from the installed safetensors")
    table: dict[str, float] = {}
    for dtype in (d.strip() for d in listed.group(1).split(",")):
        for nbytes in range(1, 129):
            spec = safetensors.TensorSpec(dtype=dtype, shape=[8], data_ptr=ptr, data_len=nbytes)
            try:
                safetensors.serialize({"t": spec})
            except Exception:
                continue
            elements = spec.shape[0] if spec.shape else 1
            table[spec.dtype] = nbytes * 8 / elements
            break
    return table

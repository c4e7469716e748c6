"""Remote code: what a model folder would run under ``trust_remote_code=True``.

transformers imports the classes a config's ``auto_map`` names (``modeling_x.XModel`` from the
repository's own ``modeling_x.py``, or ``owner/repo--modeling_x.XModel`` from another repository)
when the caller passes ``trust_remote_code=True``. The scan names the code files and their sha256
so a reviewer can read exactly what would run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .records import Finding

#: ``owner/repo--module.Class`` (transformers' dynamic_module_utils): code from another repository.
_OTHER_REPO = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)--(?P<ref>[\w.]+)$")
_MAX_DEPTH = 32


def _walk(doc: Any, path: tuple[str, ...] = (), depth: int = 0) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(key path, key, value) for every key of every nested object, bounded in depth."""
    if depth > _MAX_DEPTH:
        return
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield path, str(k), v
            yield from _walk(v, path + (str(k),), depth + 1)
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:10_000]):
            yield from _walk(v, path + (str(i),), depth + 1)


def _refs(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return []


def config_findings(doc: Any, file: str, present: set[str]) -> tuple[list[Finding], set[str]]:
    """``auto_map`` entries and ``trust_remote_code`` flags in one JSON document.

    ``present`` holds the folder's .py module names (``modeling_x``). Returns the findings and the
    module names ``auto_map`` refers to, so the .py findings can say which files would run.
    """
    out: list[Finding] = []
    modules: set[str] = set()
    for path, key, value in _walk(doc):
        where = ".".join(path + (key,))
        if key == "auto_map" and isinstance(value, (dict, list)):
            # a list is the legacy tokenizer form ["tokenization_x.Cls", "tokenization_x.ClsFast"], which
            # AutoTokenizer still reads (transformers tokenization_auto.py, "Legacy format for dynamic tokenizers")
            entries = {str(k): _refs(v) for k, v in value.items()} if isinstance(value, dict) else {"AutoTokenizer": _refs(value)}
            out.append(Finding("high", "remote-code", file,
                               f"{where} makes transformers import the repository's own code with trust_remote_code=True "
                               f"({', '.join(sorted(entries))})", detail={"auto_map": entries}))  # fmt: skip
            for cls, refs in entries.items():
                for ref in refs:
                    m = _OTHER_REPO.match(ref)
                    if m:
                        out.append(Finding("high", "remote-code", file,
                                           f"{where}.{cls} loads code from another repository, {m.group('repo')} ({ref})",
                                           detail={"repo": m.group("repo"), "reference": ref}))  # fmt: skip
                        continue
                    module = ref.rsplit(".", 1)[0] if "." in ref else ref
                    modules.add(module)
                    if present is not None and module not in present:
                        out.append(Finding("medium", "remote-code", file,
                                           f"{where}.{cls} names {module}.py, which is not in the folder (fetched on load?)",
                                           detail={"module": module, "reference": ref}))  # fmt: skip
        elif key == "trust_remote_code" and value is True:
            out.append(Finding("high", "remote-code", file, f"{where} is set to true inside the config",
                               detail={"key": where}))  # fmt: skip
    return out, modules


def python_finding(file: str, module: str, size: int, sha256: str, used: bool) -> Finding:
    """One .py file in the folder: what would run, and its digest for review."""
    why = "imported by auto_map under trust_remote_code=True" if used else "Python code shipped with the model"
    return Finding("medium" if used else "low", "remote-code", file, f"{module}.py: {why} ({size} bytes, sha256 {sha256[:16]}...)",
                   detail={"module": module, "sha256": sha256, "size": size, "auto_map": used})  # fmt: skip

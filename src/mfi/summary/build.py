"""Build one ``ModelSummary`` from format records: GGUF files or safetensors files plus sidecars."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..formats import tables
from ..records import (
    Architecture,
    FileEntry,
    ModelSummary,
    Parameters,
    Quantization,
    QuantRow,
    TensorInfo,
)
from . import architecture, tokenizer
from .fields import mapping

if TYPE_CHECKING:
    from ..formats.gguf import GGUFFile

# Input embedding and output head, in GGUF and Hugging Face naming.
_EMBEDDING = re.compile(
    r"^(token_embd|output)\.weight$"
    r"|(^|\.)(embed_tokens|lm_head|wte|word_embeddings|embed_out|tok_embeddings)\.weight$"
)
#: Routed experts: GGUF stacks them in ``*_exps`` tensors, HF names them ``...experts.N...``
#: (``shared_experts`` / ``shexp`` are always active and do not match). Also read by ``plan.memory``.
EXPERT = re.compile(r"_exps\.|(^|\.)experts\.")
# Sub-models of multimodal checkpoints (HF names; GGUF keeps them in a separate mmproj file).
_TOWERS = (
    ("vision", re.compile(r"(^|\.)(visual|vision_tower|vision_model|vision_encoder|image_encoder|vpm|multi_modal_projector|mm_projector)\.")),
    ("audio", re.compile(r"(^|\.)(audio_tower|audio_model|audio_encoder|apm)\.")),
)
_LAYER = re.compile(r"(?:^|\.)(?:blk|layers|h|layer|block)\.(\d{1,9})\.")  # 9 digits: int() stays cheap


def parameters(tensors: Iterable[TensorInfo], arch: Architecture) -> Parameters:
    """Exact counts from shapes: total, per dtype, embedding, experts, active per token."""
    total = embedding = experts = 0
    by_dtype: dict[str, int] = {}
    towers: dict[str, int] = {}
    for t in tensors:
        n = t.n_params
        total += n
        by_dtype[t.dtype] = by_dtype.get(t.dtype, 0) + n
        tower = next((name for name, pattern in _TOWERS if pattern.search(t.name)), None)
        if tower:
            towers[tower] = towers.get(tower, 0) + n
        elif _EMBEDDING.search(t.name):
            embedding += n
        elif EXPERT.search(t.name):
            experts += n
    active: int | None = total
    if experts:
        if arch.experts and arch.experts_used:
            active = total - experts + experts * arch.experts_used // arch.experts
        else:
            active = None
    by_dtype = dict(sorted(by_dtype.items(), key=lambda kv: -kv[1]))
    return Parameters(total, by_dtype, embedding, experts, active, towers)


def quant_rows(tensors: Iterable[TensorInfo]) -> tuple[QuantRow, ...]:
    """Per-type tensor count, parameters, bytes and share of bytes, largest first."""
    acc: dict[str, list[Any]] = {}
    for t in tensors:
        row = acc.setdefault(t.dtype, [0, 0, 0])
        row[0] += 1
        row[1] += t.n_params
        row[2] = None if row[2] is None or t.n_bytes is None else row[2] + t.n_bytes
    known = [r[2] for r in acc.values()]
    total = None if any(b is None for b in known) else sum(known)
    rows = [
        QuantRow(dtype, n, params, nbytes, (nbytes / total) if total and nbytes is not None else None)
        for dtype, (n, params, nbytes) in acc.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-(r.bytes or 0), -r.params)))


def _layer_warning(tensors: Iterable[TensorInfo], arch: Architecture) -> list[str]:
    """The config's layer count against the layers the tensor names actually cover."""
    found = {int(m.group(1)) for t in tensors if (m := _LAYER.search(t.name)) and "visual" not in t.name and "vision" not in t.name}
    if not found or arch.layers is None or max(found) + 1 == arch.layers:
        return []
    return [f"the architecture declares {arch.layers} layers but tensors cover {max(found) + 1}"]


def _file_type_warning(file_type: str | None, rows: tuple[QuantRow, ...]) -> list[str]:
    """Warn when ``general.file_type`` names a type that no tensor uses (a mislabelled file)."""
    if not file_type or file_type.startswith(("UNKNOWN", "GUESSED")):
        return []
    names = {n for n, *_ in tables.ggml_types().values()}
    used = {r.dtype for r in rows}
    base = file_type
    while base not in names and "_" in base:  # Q4_K_M -> Q4_K, MXFP4_MOE -> MXFP4
        base = base.rsplit("_", 1)[0]
    if base in names and base not in used:
        return [f"general.file_type says {file_type}, but no tensor is {base} (tensors use {', '.join(sorted(used))})"]
    return []


def uniform_type(rows: tuple[QuantRow, ...]) -> str | None:
    """The one tensor type when every tensor has it (``F32``), as the overview line names the storage."""
    return rows[0].dtype if len(rows) == 1 else None


def summarize_gguf(target: str, shards: list[GGUFFile], extra_problems: Iterable[str] = ()) -> ModelSummary:
    """One summary for a GGUF model (one file or all parts of a split model, in order)."""
    first = shards[0]
    md = first.metadata
    tensors = tuple(t for s in shards for t in s.tensors)
    arch = architecture.from_gguf(md, {t.name for t in tensors})
    rows = quant_rows(tensors)
    ft = md.get(tables.gguf_constants().Keys.General.FILE_TYPE)
    file_type = tables.file_type_name(ft) if isinstance(ft, int) else uniform_type(rows)
    warnings = [w for s in shards for w in s.warnings]
    warnings += _file_type_warning(file_type, rows) + _layer_warning(tensors, arch)
    if arch.name and arch.name not in tables.gguf_architectures():
        warnings.append(f"architecture {arch.name!r} is unknown to the installed gguf package (and likely to llama.cpp)")
    return ModelSummary(
        format="gguf",
        target=target,
        files=tuple(FileEntry(s.name, s.file_size) for s in shards),
        architecture=arch,
        parameters=parameters(tensors, arch),
        quantization=Quantization(rows, file_type=file_type),
        tokenizer=tokenizer.from_gguf(first),
        tensors=tensors,
        metadata=md,
        warnings=tuple(warnings),
        problems=tuple(f"{s.name}: {p}" if len(shards) > 1 else p for s in shards for p in s.problems)
        + tuple(extra_problems),
        format_info={
            "version": first.version,
            "byte_order": first.byte_order,
            "alignment": first.alignment,
            "header_bytes": sum(s.header_size for s in shards),
            "data_bytes": sum(s.data_size for s in shards),
            "splits": len(shards),
        },
    )


def summarize_safetensors(
    target: str,
    shards: list[Any],  # SafetensorsFile, or TorchCheckpoint with fmt="pytorch"
    sidecars: dict[str, Any],
    files: Iterable[FileEntry],
    extra_warnings: Iterable[str] = (),
    extra_problems: Iterable[str] = (),
    fmt: str = "safetensors",
    read: Callable[[TensorInfo], bytes] | None = None,
) -> ModelSummary:
    """One summary for safetensors weights plus the folder's config and tokenizer files.

    ``fmt="pytorch"``: the shards are ``formats.torch.TorchCheckpoint`` records (same tensor table).
    Quantized weights are shown as logical tensors (``quantized.logical_view``); ``read`` returns a
    small tensor's bytes, for the few layouts that keep a weight's shape in data (bitsandbytes 4-bit).
    """
    from . import quantized  # the packed layouts' tables load only for safetensors and PyTorch weights

    config = mapping(sidecars.get("config.json"))
    stored = tuple(t for s in shards for t in s.tensors)
    arch = architecture.from_config(config) if config else Architecture()
    qc = architecture.text_config(config).get("quantization_config") or config.get("quantization_config")
    qc = qc if isinstance(qc, dict) else {}
    method = qc.get("quant_method")
    if method is None and (qc.get("load_in_4bit") or qc.get("load_in_8bit")):
        method = "bitsandbytes"
    view = quantized.logical_view(stored, config, read) if fmt == "safetensors" else None
    tensors = stored
    if view is not None and view.quantized:  # packed parts grouped: the model's own weights
        tensors = tuple(lt.as_tensor_info() for lt in view.tensors)
        if not isinstance(method, str):
            method = view.method
            mlx = config.get("quantization")
            qc = dict(mlx) if method == quantized.MLX and isinstance(mlx, dict) else qc
    rows = quant_rows(tensors)
    warnings = [w for s in shards for w in s.warnings] + list(extra_warnings)
    warnings += view.warnings if view is not None else ()
    if not config:
        warnings.append("no config.json beside the weights: architecture unknown")
    warnings += _layer_warning(tensors, arch)
    metadata: dict[str, Any] = {}
    for s in shards:
        metadata.update({f"__metadata__.{k}": v for k, v in s.metadata.items()})
    if fmt == "pytorch":
        info: dict[str, Any] = {
            "layouts": sorted({s.layout for s in shards}),
            "storage_bytes": sum(s.info.get("storage_bytes", 0) for s in shards),
            "shards": len(shards),
        }
    else:
        info = {"header_bytes": sum(s.header_size + 8 for s in shards), "shards": len(shards)}
    return ModelSummary(
        format=fmt,
        target=target,
        files=tuple(files),
        architecture=arch,
        parameters=parameters(tensors, arch),
        quantization=Quantization(
            rows, file_type=uniform_type(rows), method=method if isinstance(method, str) else None,
            details={k: v for k, v in qc.items() if k != "quant_method"},
        ),  # fmt: skip
        tokenizer=tokenizer.from_hf(
            sidecars.get("tokenizer.json"),
            sidecars.get("tokenizer_config.json"),
            (sidecars.get("generation_config.json") or {}, architecture.text_config(config), config),
            sidecars.get("chat_template.jinja"),
        ),
        tensors=tensors,
        metadata=metadata,
        warnings=tuple(warnings),
        problems=tuple(f"{s.name}: {p}" if len(shards) > 1 else p for s in shards for p in s.problems)
        + tuple(extra_problems),
        format_info=info,
        sidecars=dict(sidecars),
        stored_tensors=stored if tensors is not stored else (),
    )


def split_problems(shards: list[GGUFFile]) -> list[str]:
    """Check split.* keys against the parts found (spec: llama.cpp gguf-split)."""
    problems = []
    count = len(shards)
    total = shards[0].metadata.get("split.tensors.count")
    for i, s in enumerate(shards):
        if s.metadata.get("split.no") != i or s.metadata.get("split.count") != count:
            problems.append(
                f"{s.name}: split.no={s.metadata.get('split.no')} split.count={s.metadata.get('split.count')}, "
                f"expected {i} and {count}"
            )
    n = sum(len(s.tensors) for s in shards)
    if isinstance(total, int) and total != n:
        problems.append(f"split.tensors.count is {total} but the parts hold {n} tensors")
    return problems

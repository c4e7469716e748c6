"""What llama.cpp's converter does to single HF tensors beyond renaming: splits, transposes, shifts.

The ``gguf`` package's tensor-name map says where a tensor goes, not how its values are cut. These
rules follow ``modify_tensors`` of the converter classes in llama.cpp's convert_hf_to_gguf.py (cited
per rule); each rewrites one HF name into the HF names the converter then passes to
``map_tensor_name``, so the GGUF names still come from the package's map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .records import Cut


@dataclass(frozen=True, slots=True)
class Part(Cut):
    """One output of a converter rule: the HF name the converter maps, and how the values are cut."""

    name: str


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    #: Replacement of the matched text, one per output part, in the converter's order.
    targets: tuple[str, ...]
    interleaved: bool = False
    axis: int = -2
    transposed: bool = False


_GATE_UP = (".experts.gate_proj.weight", ".experts.up_proj.weight")

#: GGUF architecture -> rules. Architectures whose fused tensors stay fused in GGUF (phi3's
#: ``qkv_proj`` and ``gate_up_proj`` become ``attn_qkv`` and ``ffn_up`` whole) need none.
_RULES: dict[str, tuple[_Rule, ...]] = {
    # GptOssModel.modify_tensors: expert matrices are stored (experts, in, out) and transposed with
    # ``transpose(-1, -2)``; gate and up rows are interleaved: ``data_torch[:, ::2, :]`` is gate,
    # ``[:, 1::2, :]`` up; biases likewise ``[..., ::2]`` / ``[..., 1::2]``; ``sinks`` gains ``.weight``
    # (filter_tensors). The MXFP4 ``_blocks``/``_scales`` form is not handled here.
    "gpt-oss": (
        _Rule(re.compile(r"\.experts\.gate_up_proj$"), _GATE_UP, interleaved=True, transposed=True),
        _Rule(
            re.compile(r"\.experts\.gate_up_proj_bias$"),
            (".experts.gate_proj.bias", ".experts.up_proj.bias"),
            interleaved=True,
            axis=-1,
        ),
        _Rule(re.compile(r"\.experts\.down_proj$"), (".experts.down_proj.weight",), transposed=True),
        _Rule(re.compile(r"\.experts\.down_proj_bias$"), (".experts.down_proj.bias",), axis=-1),
        _Rule(re.compile(r"\.sinks$"), (".sinks.weight",), axis=-1),
    ),
    # Llama4Model.modify_tensors: ``data_torch.transpose(-1, -2).split(dim_half, dim=-2)``: gate is
    # the first half of the transposed rows, up the second; ``down_proj`` is transposed.
    "llama4": (
        _Rule(re.compile(r"\.experts\.gate_up_proj$"), _GATE_UP, transposed=True),
        _Rule(re.compile(r"\.experts\.down_proj$"), (".experts.down_proj.weight",), transposed=True),
    ),
    # GraniteMoeModel.modify_tensors: ``gate, up = data_torch.split(ffn_dim, dim=-2)`` of
    # ``block_sparse_moe.input_linear.weight`` (experts, 2 * ffn, hidden), not transposed, written
    # as FFN_GATE_EXP / FFN_UP_EXP: the HF names below are the ones the map files under those.
    "granitemoe": (
        _Rule(
            re.compile(r"\.block_sparse_moe\.input_linear\.weight$"),
            (".mlp.experts.gate_proj.weight", ".mlp.experts.up_proj.weight"),
        ),
    ),
}

#: GGUF architectures whose converter adds a constant to every HF tensor named ``*norm.weight``:
#: GemmaModel and Gemma2Model (``data_torch = data_torch + 1``), Gemma3Model and its subclass
#: EmbeddingGemma (``data_torch + self.norm_shift``, ``norm_shift = 1.0``); Gemma3NModel sets
#: ``norm_shift = 0.0`` and is left out.
NORM_SHIFT = {"gemma": 1.0, "gemma2": 1.0, "gemma3": 1.0, "gemma-embedding": 1.0}


def split(arch: str, name: str) -> tuple[Part, ...] | None:
    """The parts the converter makes of HF tensor ``name`` for GGUF ``arch``, or ``None`` (kept whole)."""
    for rule in _RULES.get(arch, ()):
        m = rule.pattern.search(name)
        if m is None:
            continue
        head = name[: m.start()]
        n = len(rule.targets)
        return tuple(
            Part(i, n, rule.interleaved, rule.axis, rule.transposed, name=head + target) for i, target in enumerate(rule.targets)
        )
    return None


def part_shape(shape: tuple[int, ...], p: Part) -> tuple[int, ...] | None:
    """The row-major shape of part ``p`` of a tensor of ``shape``, or ``None`` if it does not divide."""
    dims = list(shape)
    if p.transposed:
        if len(dims) < 2:
            return None
        dims[-1], dims[-2] = dims[-2], dims[-1]
    if len(dims) < -p.axis or dims[p.axis] % p.parts:
        return None
    dims[p.axis] //= p.parts
    return tuple(dims)


def norm_shift(arch: str | None, hf_name: str) -> float | None:
    """What the converter adds to the values of HF tensor ``hf_name`` for GGUF ``arch`` (``None``: nothing)."""
    shift = NORM_SHIFT.get(arch or "")
    return shift if shift and hf_name.endswith("norm.weight") else None

"""Records of a comparison of two models: what ``compare.match`` builds and the renderers show.

Kept beside ``records.py`` (and built on it) so the compare feature merges without touching it.
Shapes here are *logical*: row-major, slowest dimension first, whatever the file's own order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..records import ModelSummary

#: A field row's status: both sides agree, they disagree, or one side does not say.
EQUAL, DIFFERENT, MISSING = "equal", "different", "missing"


@dataclass(frozen=True, slots=True)
class FieldRow:
    """One named value on both sides; a value missing on one side is not a difference."""

    field: str
    left: Any
    right: Any
    #: ``equal``, ``different`` or ``missing``.
    status: str
    #: Why two unequal spellings count as equal (``qwen3_moe`` is GGUF's ``qwen3moe``).
    note: str | None = None

    @property
    def equal(self) -> bool | None:
        """``True``/``False``, or ``None`` when one side does not say."""
        return None if self.status == MISSING else self.status == EQUAL


@dataclass(frozen=True, slots=True)
class Cut:
    """How llama.cpp's converter cuts one tensor into the part a GGUF tensor holds.

    The tensor's logical view (last two dimensions swapped when ``transposed``) is cut along
    ``axis`` into ``parts`` equal parts, of which one holds ``part``: every ``parts``-th index from
    ``part`` (``interleaved``) or the ``part``-th contiguous block.
    """

    part: int
    parts: int
    interleaved: bool
    #: ``-2``: rows of a matrix (or of each expert's matrix); ``-1``: elements of a vector (biases).
    axis: int
    transposed: bool


@dataclass(frozen=True, slots=True)
class Slice(Cut):
    """A pair's ``Cut``: the whole tensor sits on ``side``, the other side holds the part."""

    side: str  # "left" | "right"


@dataclass(frozen=True, slots=True)
class TensorPair:
    """One logical tensor found on both sides (several HF expert tensors count as one)."""

    #: The name both sides are matched under (GGUF naming when the formats differ).
    key: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    left_type: str
    right_type: str
    left_shape: tuple[int, ...]
    right_shape: tuple[int, ...]
    left_bytes: int | None
    right_bytes: int | None
    #: Elements on the left side.
    params: int
    #: Block (layer) index, ``None`` for tensors outside the blocks.
    layer: int | None
    #: Shapes agree once size-1 dimensions are dropped.
    shape_equal: bool
    #: Heads of llama.cpp's Q/K row permutation to undo when comparing values, if any.
    qk_heads: int | None = None
    note: str | None = None
    #: The part of a tensor the converter split (or transposed) that this pair compares.
    split: Slice | None = None
    #: What the converter added to every value of the GGUF side (Gemma norms: 1.0), undone when comparing.
    shift: float | None = None

    @property
    def type_equal(self) -> bool:
        """Both sides store the tensor in the same type."""
        return self.left_type == self.right_type

    @property
    def left_bpw(self) -> float | None:
        """Storage bits per weight on the left."""
        return None if self.left_bytes is None or not self.params else self.left_bytes * 8 / self.params

    @property
    def right_bpw(self) -> float | None:
        """Storage bits per weight on the right."""
        n = math.prod(self.right_shape)
        return None if self.right_bytes is None or not n else self.right_bytes * 8 / n


@dataclass(frozen=True, slots=True)
class Unpaired:
    """A tensor on one side only that conversion explains (dropped, added or tied)."""

    side: str  # "left" | "right"
    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class LayerQuant:
    """One block's matched tensors and their storage on both sides."""

    layer: int | None
    pairs: tuple[TensorPair, ...]

    @property
    def params(self) -> int:
        """Elements in the block's matched tensors (left side)."""
        return sum(p.params for p in self.pairs)

    @property
    def left_bytes(self) -> int | None:
        """Bytes of the block's matched tensors on the left."""
        return _sum(p.left_bytes for p in self.pairs)

    @property
    def right_bytes(self) -> int | None:
        """Bytes of the block's matched tensors on the right."""
        return _sum(p.right_bytes for p in self.pairs)

    @property
    def left_bpw(self) -> float | None:
        """Bits per weight of the block on the left."""
        b = self.left_bytes
        return None if b is None or not self.params else b * 8 / self.params

    @property
    def right_bpw(self) -> float | None:
        """Bits per weight of the block on the right."""
        b = self.right_bytes
        return None if b is None or not self.params else b * 8 / self.params


def _sum(values: Any) -> int | None:
    total = 0
    for v in values:
        if v is None:
            return None
        total += v
    return total


@dataclass(frozen=True, slots=True)
class ValueStats:
    """How close two tensors' values are (left is the reference)."""

    #: Tensor key, or ``layer N`` / ``non-block`` for an aggregate.
    key: str
    layer: int | None
    cosine: float | None
    #: ``||right - left|| / ||left||``.
    rel_rms: float | None
    max_abs: float | None
    rows: int
    rows_total: int
    #: Why the values were not compared (unsupported type, shapes differ); ``None`` when compared.
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class TokenizerComparison:
    """Tokenizer facts side by side."""

    rows: tuple[FieldRow, ...]
    #: Special tokens by role; values are ``{"text": ..., "id": ...}`` dicts.
    special: tuple[FieldRow, ...]
    #: Token lists identical (by digest); ``None`` when a side has no complete list.
    tokens_identical: bool | None
    #: ``identical``, ``different``, ``missing`` (one side has none) or ``none`` (neither has one).
    chat_template: str
    #: Unified diff of the main chat templates, when asked for and they differ.
    template_diff: str | None = None


@dataclass(frozen=True, slots=True)
class Comparison:
    """Two models side by side: structure, tensors, tokenizer, totals and optionally values."""

    left: ModelSummary
    right: ModelSummary
    architecture: tuple[FieldRow, ...]
    #: How names were matched: ``gguf name map (llama)`` or ``names as written``.
    naming: str
    pairs: tuple[TensorPair, ...]
    only_left: tuple[str, ...]
    only_right: tuple[str, ...]
    #: Tensors on one side only that conversion explains; not counted as differences.
    unpaired: tuple[Unpaired, ...]
    layers: tuple[LayerQuant, ...]
    tokenizer: TokenizerComparison | None
    #: Parameters, bytes, file sizes: rows whose left/right are numbers.
    totals: tuple[FieldRow, ...]
    notes: tuple[str, ...] = ()
    #: Per tensor (in pair order) when values were compared, else ``None``.
    values: tuple[ValueStats, ...] | None = None
    #: Per block aggregates of ``values``.
    layer_values: tuple[ValueStats, ...] | None = None
    #: Rows compared per tensor (``None``: all).
    sample: int | None = None

    @property
    def shape_mismatch(self) -> tuple[TensorPair, ...]:
        """Matched tensors whose shapes disagree."""
        return tuple(p for p in self.pairs if not p.shape_equal)

    @property
    def differences(self) -> tuple[str, ...]:
        """Everything that differs, one line each (empty: the two models are the same)."""
        out = [f"architecture: {r.field} differs" for r in self.architecture if r.status == DIFFERENT]
        if self.only_left:
            out.append(f"tensors: {len(self.only_left)} only in the left model")
        if self.only_right:
            out.append(f"tensors: {len(self.only_right)} only in the right model")
        if self.shape_mismatch:
            out.append(f"tensors: {len(self.shape_mismatch)} shape mismatch(es)")
        retyped = sum(1 for p in self.pairs if not p.type_equal)
        if retyped:
            out.append(f"types: {retyped} matched tensor(s) stored in a different type")
        if self.tokenizer is not None:
            tok = self.tokenizer
            out += [f"tokenizer: {r.field} differs" for r in tok.rows + tok.special if r.status == DIFFERENT]
            if tok.tokens_identical is False:
                out.append("tokenizer: token lists differ")
            if tok.chat_template == "different":
                out.append("tokenizer: chat templates differ")
        if self.values is not None:
            changed = sum(1 for v in self.values if v.skipped is None and v.max_abs)
            if changed:
                out.append(f"values: {changed} tensor(s) not identical")
        return tuple(out)

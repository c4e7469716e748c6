"""Records shared by all layers: readers fill them, summaries combine them, renderers show them.

Frozen, slotted, stdlib types only. ``None`` means unknown and renders as a dash; it never turns
into 0 in a sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class TensorInfo:
    """One tensor as its file declares it (no data read)."""

    name: str
    #: The format's own type name: ``Q4_K``, ``BF16``, ``F8_E4M3``; ``UNKNOWN(153)`` for a new code.
    dtype: str
    #: Shape in the format's own order: GGUF lists ``ne`` (fastest dimension first),
    #: safetensors lists row-major (slowest first).
    shape: tuple[int, ...]
    #: Absolute byte offset of the data in its file.
    offset: int
    #: Bytes of data; for an unknown GGUF type, the distance to the next tensor.
    n_bytes: int | None
    #: Which file holds it (a path or URL as given).
    file: str = ""

    @property
    def n_params(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def bits_per_weight(self) -> float | None:
        """Bits of storage per element, including block scales."""
        n = self.n_params
        return None if self.n_bytes is None or n == 0 else self.n_bytes * 8 / n


@dataclass(frozen=True, slots=True)
class ArrayValue:
    """A metadata array walked, not materialised: its count, element type and a few samples."""

    elem_type: str
    count: int
    #: The first few elements (all of them when ``complete``).
    samples: tuple[Any, ...]
    #: sha256 of the array's raw bytes, for telling equal token lists apart cheaply.
    digest: str | None = None

    @property
    def complete(self) -> bool:
        """Whether ``samples`` holds every element."""
        return len(self.samples) == self.count


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One file that makes up the model."""

    path: str
    size: int
    #: ``weights``, ``config``, ``tokenizer``, ``index``, ``generation``, ``other``.
    role: str = "weights"


@dataclass(frozen=True, slots=True)
class Architecture:
    """Structure fields, named the same whether read from config.json or from GGUF keys."""

    name: str | None = None
    cls: str | None = None
    layers: int | None = None
    hidden_size: int | None = None
    intermediate_size: int | None = None
    attention_heads: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None
    vocab_size: int | None = None
    context_length: int | None = None
    rope_theta: float | None = None
    rope_scaling: dict[str, Any] | None = None
    experts: int | None = None
    experts_used: int | None = None
    expert_intermediate_size: int | None = None
    sliding_window: int | None = None
    norm_eps: float | None = None
    tie_word_embeddings: bool | None = None
    #: Sub-models of a multimodal model (``vision``, ``audio``): their own normalised fields.
    towers: dict[str, dict[str, Any]] = field(default_factory=dict)

    #: Field order for tables and JSON.
    FIELDS = (
        "name", "cls", "layers", "hidden_size", "intermediate_size", "attention_heads",
        "kv_heads", "head_dim", "vocab_size", "context_length", "rope_theta", "rope_scaling",
        "experts", "experts_used", "expert_intermediate_size", "sliding_window", "norm_eps",
        "tie_word_embeddings",
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Parameters:
    """Exact parameter counts from tensor shapes."""

    total: int
    by_dtype: dict[str, int]
    #: Token embedding and output head (``lm_head``/``output``) together.
    embedding: int
    #: Parameters in routed experts (MoE), 0 for dense models.
    experts: int
    #: Parameters used per token: all but the routed experts not chosen. ``None`` if unknown.
    active: int | None
    #: Parameters of the sub-models of a multimodal model (``vision``, ``audio``); the rest is text.
    towers: dict[str, int] = field(default_factory=dict)

    @property
    def non_embedding(self) -> int:
        """Everything but the embedding and output head."""
        return self.total - self.embedding


@dataclass(frozen=True, slots=True)
class QuantRow:
    """One tensor type's share of the model."""

    dtype: str
    tensors: int
    params: int
    bytes: int | None
    #: Fraction of all tensor bytes (0..1).
    share: float | None

    @property
    def bits_per_weight(self) -> float | None:
        """Storage bits per element for this type, including block scales."""
        return None if self.bytes is None or not self.params else self.bytes * 8 / self.params


@dataclass(frozen=True, slots=True)
class Quantization:
    """How the weights are stored: per-type shares and the declared scheme."""

    rows: tuple[QuantRow, ...]
    #: GGUF ``general.file_type`` by name (``Q4_K_M``); ``None`` when absent.
    file_type: str | None = None
    #: safetensors ``quantization_config.quant_method`` (``fp8``, ``gptq``, ``awq``...).
    method: str | None = None
    #: The rest of ``quantization_config`` (bits, group size, format...).
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def total_bytes(self) -> int | None:
        """All tensor bytes, or ``None`` when one type's size is unknown."""
        sizes = [r.bytes for r in self.rows if r.bytes is not None]
        return sum(sizes) if len(sizes) == len(self.rows) else None

    @property
    def bits_per_weight(self) -> float | None:
        """Storage bits per parameter over the whole model."""
        total = self.total_bytes
        params = sum(r.params for r in self.rows)
        return None if total is None or not params else total * 8 / params


@dataclass(frozen=True, slots=True)
class SpecialToken:
    """A special token by id and text."""

    id: int | None
    text: str | None


@dataclass(frozen=True, slots=True)
class Tokenizer:
    """Tokenizer facts from GGUF keys or tokenizer.json / tokenizer_config.json."""

    #: GGUF ``tokenizer.ggml.model`` (``gpt2``, ``llama``) or tokenizer.json ``model.type`` (``BPE``).
    model: str | None
    #: Base vocabulary plus added tokens not already in it.
    vocab_size: int | None
    merges: int | None = None
    #: ``bos``, ``eos``, ``pad``, ``unk`` (and others named in the files) to their token.
    special: dict[str, SpecialToken] = field(default_factory=dict)
    #: Chat templates by name (``default`` for the main one); raw text, never rendered here.
    chat_templates: dict[str, str] = field(default_factory=dict)
    #: ``tokenizer.ggml.pre`` or the pre-tokenizer type.
    pre: str | None = None
    added_tokens: int | None = None
    #: sha256 over the token list in id order (GGUF: the raw array bytes), for cheap equality.
    tokens_digest: str | None = None

    @property
    def chat_template(self) -> str | None:
        """The main chat template, if any."""
        return self.chat_templates.get("default")


@dataclass(frozen=True, slots=True)
class Fetched:
    """What reading a remote model cost: requests and bytes, from which hub, at which commit."""

    requests: int
    bytes: int
    endpoint: str
    revision: str | None = None
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class ModelSummary:
    """Everything ``mfi inspect`` knows about one model, whatever its format."""

    #: ``gguf``, ``safetensors`` or ``pytorch`` (a pickle checkpoint, read statically).
    format: str
    #: What the user named.
    target: str
    files: tuple[FileEntry, ...]
    architecture: Architecture
    parameters: Parameters
    quantization: Quantization
    tokenizer: Tokenizer | None
    tensors: tuple[TensorInfo, ...]
    #: Raw metadata: GGUF key/values, or safetensors ``__metadata__`` (``__metadata__.<key>``);
    #: config.json is kept once, in ``sidecars`` (see ``config`` and ``raw_metadata``).
    metadata: dict[str, Any]
    #: Things worth knowing that do not make the model unusable.
    warnings: tuple[str, ...] = ()
    #: Damage: truncated data, overlapping tensors, missing shards' tensors. Exit status 1.
    problems: tuple[str, ...] = ()
    #: Format details: GGUF version/endianness/alignment, safetensors header sizes.
    format_info: dict[str, Any] = field(default_factory=dict)
    #: The JSON and template files read beside the weights, by file name (raw and untrusted), so
    #: later steps (the will-it-run plan) use them without reading them again.
    sidecars: dict[str, Any] = field(default_factory=dict)
    #: Set for remote targets: the cost of reading the headers over HTTP.
    fetched: Fetched | None = None

    @property
    def total_size(self) -> int:
        """Bytes of all files listed."""
        return sum(f.size for f in self.files)

    @property
    def config(self) -> dict[str, Any]:
        """config.json beside safetensors or PyTorch weights (raw, untrusted); ``{}`` when absent or for GGUF."""
        value = self.sidecars.get("config.json")
        return value if isinstance(value, dict) else {}

    @property
    def raw_metadata(self) -> dict[str, Any]:
        """Every raw key for ``--metadata``: the format's own metadata, then config.json's keys as ``config.<key>``."""
        return {**self.metadata, **{f"config.{k}": v for k, v in self.config.items()}}

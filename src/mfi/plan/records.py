"""Records of the will-it-run plan: per-layer layout, memory terms and estimate, runtime verdicts,
remote code, capabilities, and the ``Plan`` that holds them. Renderers import these and nothing else of ``plan``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..records import ModelSummary

#: llama.cpp's default physical batch (``-ub``), which the sliding-window cache adds to the window.
LLAMA_UBATCH = 512


def layer_ranges(idx: tuple[int, ...]) -> str:
    """Layer indices as compact ranges: (0, 1, 2, 4) -> ``0-2,4``."""
    out, start, prev = [], idx[0], idx[0]
    for i in idx[1:] + (None,):
        if i is not None and i == prev + 1:
            prev = i
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ",".join(out)


@dataclass(frozen=True, slots=True)
class LayerSpec:
    """What one layer stores per token (attention) or per sequence (recurrent state)."""

    index: int
    #: ``full``, ``swa`` (sliding window), ``mla`` (latent K, no V), ``recurrent``, ``none``.
    kind: str
    kv_heads: int = 0
    head_dim_k: int = 0
    #: 0 for MLA layers: llama.cpp keeps no V cache there.
    head_dim_v: int = 0
    window: int | None = None
    #: Recurrent layers: elements of conv state (r) and SSM state (s) per sequence.
    state_r: int = 0
    state_s: int = 0


@dataclass(frozen=True, slots=True)
class Layout:
    """The per-layer facts memory needs, from either format."""

    arch: str | None
    layers: tuple[LayerSpec, ...] = ()
    #: True when the runtime keeps no KV cache at all (encoders, diffusion models).
    no_cache: bool = False
    max_context: int | None = None
    #: Model weight dtype (``bfloat16``...) from config.json; the default vLLM cache dtype.
    dtype: str | None = None
    #: Where the facts came from and what was assumed.
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: Why no layout could be made (missing layer count, heads...), or ``None``.
    unknown: str | None = None


@dataclass(frozen=True, slots=True)
class Term:
    """One step of a figure: a name, its value and the formula that gave it."""

    name: str
    value: int | float | str | None
    formula: str
    #: Key into the explain texts (data/explain.*.json), or empty.
    explain: str = ""


@dataclass(frozen=True, slots=True)
class Options:
    """What the user runs with."""

    context: int | None = None
    parallel: int = 1
    runtime: str | None = None
    cache_type_k: str | None = None
    cache_type_v: str | None = None
    memory: int | None = None
    swa_full: bool = False
    n_ubatch: int = LLAMA_UBATCH
    #: vLLM ``--gpu-memory-utilization``: the share of the GPU vLLM budgets for itself.
    gpu_memory_utilization: float = 0.9
    #: SGLang ``--mem-fraction-static`` (``None``: SGLang's default for the GPU size).
    mem_fraction_static: float | None = None


@dataclass(frozen=True, slots=True)
class LayerGroup:
    """Consecutive-or-not layers with identical cache rows, shown as one table row."""

    kind: str
    layers: tuple[int, ...]
    cells: int
    k_row_bytes: int
    v_row_bytes: int
    #: Bytes of all layers in the group.
    bytes: int
    formula: str

    @property
    def span(self) -> str:
        """The layer indices as ranges: ``0-4,6-10``."""
        return layer_ranges(self.layers)


@dataclass(frozen=True, slots=True)
class KVCache:
    """KV cache (plus recurrent state) at one context length, or why it has no number."""

    context: int
    bytes: int | None
    groups: tuple[LayerGroup, ...] = ()
    terms: tuple[Term, ...] = ()
    #: Why ``bytes`` is ``None`` (quantized cache on an odd head dim, unknown layout).
    blocked: str | None = None


@dataclass(frozen=True, slots=True)
class Weights:
    """Weight bytes as loaded: all of it, what must sit on the accelerator, what can be offloaded."""

    total: int | None
    accelerator: int | None
    offloadable: int
    terms: tuple[Term, ...] = ()


@dataclass(frozen=True, slots=True)
class Estimate:
    """The memory answer for one model, runtime and set of options."""

    runtime: str
    cache_type: str
    context: int
    weights: Weights
    kv: KVCache
    overhead: int
    table: tuple[KVCache, ...] = ()
    #: Largest context whose weights + KV + overhead fit ``Options.memory`` (``None``: not asked).
    fits: int | None = None
    fits_note: str | None = None
    not_counted: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    terms: tuple[Term, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int | None:
        """Weights on the accelerator plus KV cache plus the labelled overhead."""
        if self.weights.total is None or self.kv.bytes is None:
            return None
        return self.weights.total + self.kv.bytes + self.overhead


@dataclass(frozen=True, slots=True)
class Surroundings:
    """What lies beside the weights: file names and small JSON files (all optional)."""

    files: tuple[str, ...] = ()
    tokenizer_config: dict[str, Any] = field(default_factory=dict)
    generation_config: dict[str, Any] = field(default_factory=dict)
    #: README.md YAML front matter, flat keys (``license``, ``base_model``, ``pipeline_tag``...).
    card: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verdict:
    """One runtime's answer, for the version of the runtime its table was generated from (plan/registry.py)."""

    runtime: str
    #: ``yes``; ``yes with`` (``needs`` says what); ``convert first`` (to GGUF); ``no``; ``unknown``
    #: (the files name no architecture to look up).
    status: str
    reason: str
    #: The runtime version the answer holds for (``0.33.0``; llama.cpp: its commit and package).
    version: str | None = None
    #: What the user must supply or pass: flags (``--trust-remote-code``), a projector file, a conversion.
    needs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CodeFile:
    """A Python file that ``auto_map`` names."""

    name: str
    #: ``owner/repo`` for a reference to another repo, empty for this one.
    repo: str
    present: bool | None
    #: The auto_map entries that point at it (``AutoModelForCausalLM``...).
    used_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RemoteCode:
    """Whether loading needs ``trust_remote_code``, and which code it would run."""

    required: bool
    #: auto_map is present (even when a built-in class exists and would be used instead).
    offered: bool
    files: tuple[CodeFile, ...] = ()
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Runtimes:
    """Runtime verdicts, remote code, projector files and quantization implications."""

    verdicts: tuple[Verdict, ...]
    remote_code: RemoteCode
    #: GGUF only: ``needed`` (True/False/None) and the mmproj files found beside it.
    mmproj: dict[str, Any] = field(default_factory=dict)
    quantization: dict[str, str] = field(default_factory=dict)
    method: str | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Capabilities read from templates, configs and metadata; ``None`` means the files do not say."""

    #: ``chat``, ``base``, ``embedding``, ``reranker``.
    kind: str
    chat_template: bool
    tool_calling: bool | None
    reasoning: bool | None
    system_role: bool | None
    vision: bool | None
    audio: bool | None
    pooling: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    base_models: tuple[str, ...] = ()
    #: Which substrings or keys each answer came from.
    evidence: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Serving:
    """A serving runtime's own start-up sizing on one GPU (vLLM, SGLang): the KV cache left, its capacity,
    the concurrency at the context, the largest context that fits, and the error it would raise."""

    runtime: str
    #: The runtime version whose code the figures follow.
    version: str | None
    memory: int
    #: vLLM ``--max-model-len`` / the context asked for.
    context: int
    #: What the runtime lets itself use: memory x gpu_memory_utilization (vLLM) or x mem_fraction_static (SGLang).
    budget: int
    weights: int | None
    #: vLLM's profiled activation peak, estimated (``None`` for SGLang: inside its reserved fraction).
    activation: int | None
    cache_dtype: str
    #: Memory left for the KV cache (may be negative: then ``error`` says what the runtime raises).
    kv_available: int | None = None
    #: vLLM: bytes of one block of every layer of the largest group; SGLang: bytes per token (cell size).
    bytes_per_block: int | None = None
    num_blocks: int | None = None
    #: "KV cache size: N tokens" as the runtime logs it.
    capacity_tokens: int | None = None
    #: "Maximum concurrency for <context> tokens per request: X".
    concurrency: float | None = None
    #: The largest max_model_len whose KV cache fits (vLLM's estimate_max_model_len).
    largest_context: int | None = None
    #: The start-up error the runtime would raise with these settings, or ``None``.
    error: str | None = None
    #: Why there are no KV figures (a model kind not modelled), or ``None``.
    note: str | None = None
    terms: tuple[Term, ...] = ()
    not_counted: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Choice:
    """One way to run the model: a GGUF quantization (its files), or a runtime dtype and KV-cache dtype."""

    #: ``Q4_K_M`` (the file name part that differs between the repo's GGUF models), or ``bfloat16, cache fp8``.
    name: str
    #: Weight files, split parts summed (paths as in the folder or repo); the model's own files for dtype rows.
    files: tuple[str, ...]
    weights_bytes: int | None
    kv_cache_bytes: int | None
    #: The runtime's compute buffers (``None``: not computed yet; the total then counts the labelled overhead).
    compute_bytes: int | None
    #: What ``Estimate.total`` counts: weights + KV cache + compute (or the typical overhead).
    total_bytes: int | None
    #: ``total_bytes <= memory``; ``None`` when no memory was given or a figure is unknown.
    fits: bool | None
    #: Largest context that fits the memory (``None``: no memory given, or nothing fits).
    max_context: int | None
    runtime: str = ""
    cache_type: str = ""
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Choices:
    """Which quantization (or dtype) fits: one row per choice at one context, and the recommendation."""

    context: int
    memory: int | None
    rows: tuple[Choice, ...]
    #: The largest choice (by weight bytes) that fits at ``context``, or ``None``.
    recommended: str | None
    #: ``quantization`` (GGUF files) or ``dtype`` (a safetensors model under the runtime's dtype options).
    kind: str = "quantization"
    notes: tuple[str, ...] = ()
    #: The folder or repo the rows come from (quantization choices), else empty.
    source: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """Memory estimate, runtime verdicts and capabilities of one model."""

    layout: Layout
    memory: Estimate
    runtimes: Runtimes
    capabilities: Capabilities
    #: Sidecar files that could not be read (named, not fatal).
    warnings: tuple[str, ...] = ()
    #: The rows of ``mfi plan`` over quantizations or dtypes; the rest of the plan is of the recommended
    #: (else the smallest) choice when the target held several GGUF models.
    choices: Choices | None = None
    #: vLLM and SGLang sizing on one GPU of ``Options.memory`` (safetensors models, when a memory is given).
    serving: tuple[Serving, ...] = ()
    #: The summary the plan is of (set by ``api.plan``, so a caller that gave a target gets it back).
    model: ModelSummary | None = None

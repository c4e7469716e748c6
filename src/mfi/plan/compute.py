"""llama.cpp's compute and output buffers, from the worst-case graph it reserves.

llama_context::sched_reserve (src/llama-context.cpp) reserves the prompt-processing graph of one
micro-batch: ``n_tokens = min(n_ctx, n_ubatch)`` tokens, ``n_seq_max`` sequences, every token an
output (``n_outputs = min(n_tokens, n_batch)``), the KV cache seen at its full size
(``init_full``: ``n_kv`` = cells per stream). ggml-alloc (ggml/src/ggml-alloc.c) then places the
graph's tensors in one buffer, freeing each when its last consumer has run and letting in-place ops
(``ggml_op_can_inplace``: add, mul, scale, unary, rope, rms_norm, soft_max...) reuse their parent.
The buffer's size is the high-water mark of that placement, not a sum of tensors.

This module rebuilds that graph from the model's dimensions, tensor by tensor in the order llama.cpp
builds it (llm_graph_context::build_attn_mha, build_ffn, build_moe_ffn in src/llama-graph.cpp; the
per-architecture builders in src/models/), and replays ggml-alloc's allocator on it
(``_DynAlloc`` follows ggml_dyn_tallocr_alloc / free_bytes: best fit among free blocks, then the last
block; merge on free; 32-byte alignment of the CPU buffer, TENSOR_ALIGNMENT). Builders with their own
order or shapes are named in the sets below (gemma, cohere2, llama4, gpt-oss, deepseek2 MLA, Mamba,
falcon-h1, jamba, granite hybrids, qwen3next, phi3, T5, BERT-style encoders); any other architecture
is built as llama's graph, which is where a forecast can drift. docs/memory.md lists what was checked.

The output buffer is llama_context::output_reserve(n_seq_max) at start-up:
``n_vocab x n_outputs_max x 4`` bytes of logits (plus ``n_embd x n_outputs_max x 4`` of embeddings for
encoders and T5), ``n_outputs_max = n_seq_max``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..records import ModelSummary
from .records import LLAMA_BATCH, LLAMA_UBATCH, LayerSpec, Layout, Term

#: ggml-cpu's buffer alignment (ggml/src/ggml-impl.h TENSOR_ALIGNMENT).
ALIGN = 32
#: Bytes per element of the graph's activations (F32) and of the flash-attention mask (F16).
F32, F16 = 4, 2
#: Architectures whose graph is an encoder over the batch: no KV cache, attention over the ubatch
#: (llm_build_bert and kin); embeddings out, no logits.
ENCODERS = frozenset({
    "bert", "nomic-bert", "nomic-bert-moe", "jina-bert-v2", "jina-bert-v3", "neo-bert", "modern-bert",
    "t5encoder", "eurobert", "roberta", "xlm-roberta", "distilbert", "nomic_bert", "modernbert", "neobert",
    "electra", "camembert", "deberta", "deberta-v2", "jina_bert", "new", "mpnet", "albert",
})  # fmt: skip
#: Architectures with a final logit soft-cap (scale, tanh, scale in place on the logits).
_GELU_ARCHS = frozenset({"gemma", "gemma2", "gemma3", "gemma3n", "gemma-embedding", "gemma3_text"})


def _pad(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class _DynAlloc:
    """ggml_dyn_tallocr for one chunk: sorted free blocks, the last one open-ended; ``max_size`` grows."""

    def __init__(self) -> None:
        self.blocks: list[list[int]] = [[0, 1 << 62]]  # [offset, size]
        self.max_size = 0

    def alloc(self, size: int) -> int:
        size = _pad(size)
        best, best_size = -1, None
        for i, (_, bsize) in enumerate(self.blocks[:-1]):  # best fit besides the last block
            if bsize >= size and (best_size is None or bsize <= best_size):
                best, best_size = i, bsize
        if best < 0:
            best = len(self.blocks) - 1
        block = self.blocks[best]
        offset = block[0]
        block[0] += size
        block[1] -= size
        if block[1] == 0:
            del self.blocks[best]
        self.max_size = max(self.max_size, offset + size)
        return offset

    def free(self, offset: int, size: int) -> None:
        size = _pad(size)
        for i, block in enumerate(self.blocks):  # ggml_dyn_tallocr_free_bytes: merge with a neighbour
            if block[0] + block[1] == offset:
                block[1] += size
                if i + 1 < len(self.blocks) and block[0] + block[1] == self.blocks[i + 1][0]:
                    block[1] += self.blocks[i + 1][1]
                    del self.blocks[i + 1]
                return
            if offset + size == block[0]:
                block[0] = offset
                block[1] += size
                if i > 0 and self.blocks[i - 1][0] + self.blocks[i - 1][1] == block[0]:
                    self.blocks[i - 1][1] += block[1]
                    del self.blocks[i]
                return
        at = next((i for i, b in enumerate(self.blocks) if b[0] > offset), len(self.blocks))
        self.blocks.insert(at, [offset, size])


@dataclass(slots=True)
class _Node:
    nbytes: int
    srcs: tuple[int, ...]
    inplace: bool
    input: bool
    output: bool
    #: Index of the tensor this one is a view of (reshape, permute, a cache view): no memory of its own.
    view_of: int | None


class _Graph:
    """Tensors in llama.cpp's build order; ``-1`` stands for a weight or cache tensor (not in this buffer)."""

    def __init__(self) -> None:
        self.nodes: list[_Node] = []

    def input(self, nbytes: int) -> int:
        self.nodes.append(_Node(nbytes, (), False, True, False, None))
        return len(self.nodes) - 1

    def op(self, nbytes: int, *srcs: int, inplace: bool = False, output: bool = False) -> int:
        """A new tensor of ``nbytes``; ``inplace``: the op may reuse its first source of the same size."""
        self.nodes.append(_Node(nbytes, tuple(s for s in srcs if s >= 0), inplace, False, output, None))
        return len(self.nodes) - 1

    def view(self, src: int) -> int:
        """A view (reshape, permute, slice): no memory; like ggml, it points at the tensor that owns the data."""
        if src < 0:
            return src
        base = self.nodes[src].view_of
        self.nodes.append(_Node(0, (src,), False, False, False, src if base is None else base))
        return len(self.nodes) - 1

    def peak(self) -> int:
        """ggml_gallocr_alloc_graph_impl on this graph: the allocator's high-water mark in bytes."""
        nodes, alloc = self.nodes, _DynAlloc()
        children = [0] * len(nodes)
        views = [0] * len(nodes)
        where: dict[int, int] = {}  # tensor -> offset while allocated

        for i, n in enumerate(nodes):  # inputs first, in order ("allocate other graph inputs ... first")
            if n.input:
                where[i] = alloc.alloc(n.nbytes)
        for n in nodes:
            if n.view_of is not None:
                views[n.view_of] += 1
            for s in n.srcs:
                children[s] += 1
        for i, n in enumerate(nodes):
            if n.input or n.view_of is not None or n.nbytes == 0:
                pass  # inputs are placed already; views and cache writes (set_rows) own no memory
            else:
                # ggml_gallocr_allocate_node: reuse a parent in place when the op allows it, the parent is
                # this buffer's own tensor (a view's data is unset while reserving: "external"), not a graph
                # output, the same size, and this node is its last consumer
                for p in n.srcs if n.inplace else ():
                    if (p in where and nodes[p].view_of is None and not nodes[p].output and not nodes[p].input
                            and children[p] == 1 and views[p] == 0 and nodes[p].nbytes == n.nbytes):  # fmt: skip
                        where[i] = where.pop(p)
                        break
                else:
                    where[i] = alloc.alloc(n.nbytes)
            for p in n.srcs:
                children[p] -= 1
                if children[p] == 0 and views[p] == 0:
                    if nodes[p].view_of is not None:
                        b = nodes[p].view_of
                        assert b is not None
                        views[b] -= 1
                        if views[b] == 0 and children[b] == 0 and b in where and not nodes[b].output:
                            alloc.free(where.pop(b), nodes[b].nbytes)
                    elif p in where and not nodes[p].output:
                        alloc.free(where.pop(p), nodes[p].nbytes)
        return alloc.max_size


@dataclass(frozen=True, slots=True)
class Dims:
    """The model dimensions the graph needs (llama_hparams names in comments)."""

    arch: str
    n_layer: int
    n_embd: int
    n_vocab: int
    n_ff: int
    n_head: int
    #: Routed experts, experts per token, their FFN width, the shared experts' width (n_ff_shexp).
    n_expert: int = 0
    n_expert_used: int = 0
    n_ff_exp: int = 0
    n_ff_shexp: int = 0
    #: Leading dense layers (n_layer_dense_lead) and the MoE interleave step (n_moe_layer_step).
    n_dense_lead: int = 0
    moe_every: int = 0
    #: The layers with a router (GGUF: a ``blk.N.ffn_gate_inp`` tensor), when the tensor list says.
    moe_layers: frozenset[int] | None = None
    #: Mamba: d_inner, d_state, conv kernel, dt rank / SSM heads and groups (ssm.* keys).
    d_inner: int = 0
    d_state: int = 0
    d_conv: int = 0
    ssm_heads: int = 0
    ssm_groups: int = 0
    #: Mamba-2 with a grouped rms_norm before out_proj (an ssm_norm tensor); Jamba's dt/B/C norms (ssm_dt_norm).
    ssm_norm: bool = False
    ssm_dt_norm: bool = False
    #: Attention layers rotate Q and K (jamba has no positions; granite hybrids switch rope with
    #: rope.scaling.finetuned: llama_model_granite_hybrid::load_arch_hparams).
    rope: bool = True
    #: MLA: n_lora_kv, n_lora_q, rope dims (n_rot), the per-head query/key and value widths before absorption.
    kv_lora_rank: int = 0
    q_lora_rank: int = 0
    n_rot: int = 0
    mla_k: int = 0
    mla_v: int = 0
    #: Gemma-style logit soft-capping of attention (tanh, two scales, all in place).
    attn_soft_cap: bool = False
    #: The FFN has a gate (SwiGLU/GeGLU: up, gate and their product live at once), else up -> act -> down.
    gated: bool = True
    #: One projection for Q, K and V (attn_qkv) / for gate and up (ffn_up of 2 x n_ff: phi3).
    fused_qkv: bool = False
    fused_up: bool = False


def _pos(v: Any) -> int:
    if isinstance(v, (list, tuple)):
        v = max((x for x in v if isinstance(x, int)), default=0)
    elif hasattr(v, "samples"):
        v = max((x for x in v.samples if isinstance(x, int)), default=0)
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0


#: config.json model types under the GGUF architecture names the builders above use.
_HF_ARCH = {"qwen3_moe": "qwen3moe", "qwen2_moe": "qwen2moe", "gemma3_text": "gemma3", "deepseek_v2": "deepseek2",
            "deepseek_v3": "deepseek2", "gpt_oss": "gpt-oss", "falcon_h1": "falcon-h1", "llama4_text": "llama4",
            "granitemoehybrid": "granitehybrid", "qwen3_next": "qwen3next"}  # fmt: skip


def _granite_without_rope(text: dict[str, Any]) -> bool:
    """A granite hybrid with Mamba layers (not Bamba): the converter turns rope off (conversion/granite.py)."""
    types = text.get("layer_types")
    archs = text.get("architectures") or []
    return (text.get("model_type") == "granitemoehybrid" and isinstance(types, list) and "mamba" in types
            and "BambaForCausalLM" not in archs)  # fmt: skip


def _router_layers(s: ModelSummary) -> frozenset[int] | None:
    """Layers whose GGUF tensors include a router (``blk.N.ffn_gate_inp.weight``), or ``None`` when none do."""
    found = set()
    for t in s.tensors:
        if t.name.startswith("blk.") and t.name.endswith(".ffn_gate_inp.weight"):
            part = t.name.split(".")[1]
            if part.isdigit():
                found.add(int(part))
    return frozenset(found) or None


def dims(s: ModelSummary, layout: Layout) -> Dims | None:
    """Dimensions from GGUF keys (``{arch}.*``) or config.json; ``None`` when the widths are unknown."""
    a = s.architecture
    arch = layout.arch or a.name or ""
    md = s.metadata
    if s.format == "gguf":
        def k(name: str) -> int:
            return _pos(md.get(f"{arch}.{name}"))

        tokens = md.get("tokenizer.ggml.tokens")
        n_vocab = _pos(getattr(tokens, "count", None)) or k("vocab_size") or (a.vocab_size or 0)
        n_ff_exp = k("expert_feed_forward_length")
        d = Dims(
            arch, k("block_count"), k("embedding_length"), n_vocab, k("feed_forward_length"), k("attention.head_count"),
            n_expert=k("expert_count"), n_expert_used=k("expert_used_count"), n_ff_exp=n_ff_exp,
            # llama4 always has one shared expert of the routed width (llama_model_llama4::load_arch_tensors)
            n_ff_shexp=k("expert_shared_feed_forward_length") or n_ff_exp * (k("expert_shared_count") or (arch == "llama4")),
            n_dense_lead=k("leading_dense_block_count"), moe_every=k("interleave_moe_layer_step"),
            d_inner=k("ssm.inner_size"), d_state=k("ssm.state_size"), d_conv=k("ssm.conv_kernel"),
            ssm_heads=k("ssm.time_step_rank"), ssm_groups=k("ssm.group_count"),
            ssm_norm=any(t.name.endswith("ssm_norm.weight") for t in s.tensors[:4096]),
            ssm_dt_norm=any(t.name.endswith("ssm_dt_norm.weight") for t in s.tensors[:4096]),
            rope=arch != "jamba" and md.get(f"{arch}.rope.scaling.finetuned", True) is not False,
            moe_layers=_router_layers(s),
            fused_qkv=any(t.name.endswith(".attn_qkv.weight") for t in s.tensors[:4096]),
            fused_up=not any(".ffn_gate." in t.name for t in s.tensors[:4096]) and any(
                t.name.endswith(".ffn_up.weight") and len(t.shape) == 2 and t.shape[1] == 2 * k("feed_forward_length")
                for t in s.tensors[:4096]),
            kv_lora_rank=k("attention.kv_lora_rank"), q_lora_rank=k("attention.q_lora_rank"), n_rot=k("rope.dimension_count"),
            mla_k=k("attention.key_length_mla"), mla_v=k("attention.value_length_mla"),
            attn_soft_cap=bool(md.get(f"{arch}.attn_logit_softcapping")),
            gated=any(".ffn_gate" in t.name for t in s.tensors[:4096]),
        )  # fmt: skip
    else:
        c = s.config or {}
        text = c.get("text_config") if isinstance(c.get("text_config"), dict) else c
        assert isinstance(text, dict)
        arch = _HF_ARCH.get(arch, arch)
        hidden = a.hidden_size or 0
        expand = _pos(text.get("mamba_expand", text.get("expand"))) or 2
        n_ff_exp = a.expert_intermediate_size or 0
        nope, rope = _pos(text.get("qk_nope_head_dim")), _pos(text.get("qk_rope_head_dim"))
        n_ff = _pos(text.get("intermediate_size")) or a.intermediate_size or 0
        n_ff_shexp = _pos(text.get("shared_expert_intermediate_size", text.get("shared_intermediate_size")))
        if arch == "llama4":  # convert_hf_to_gguf (conversion/llama.py Llama4Model): the dense FFN is intermediate_size_mlp
            n_ff, n_ff_exp = _pos(text.get("intermediate_size_mlp")) or n_ff, n_ff
            n_ff_shexp = n_ff_exp
        names = [t.name for t in s.tensors[:4096]]
        d = Dims(
            arch, a.layers or 0, hidden, a.vocab_size or 0, n_ff,
            a.attention_heads or 0, n_expert=a.experts or 0, n_expert_used=a.experts_used or 0, n_ff_exp=n_ff_exp,
            n_ff_shexp=n_ff_shexp or n_ff_exp * _pos(text.get("n_shared_experts")),
            n_dense_lead=_pos(text.get("first_k_dense_replace")), moe_every=_pos(text.get("interleave_moe_layer_step")),
            d_inner=_pos(text.get("mamba_d_ssm")) or expand * hidden, d_state=_pos(text.get("mamba_d_state", text.get("state_size"))),
            d_conv=_pos(text.get("mamba_d_conv", text.get("conv_kernel"))),
            ssm_heads=_pos(text.get("mamba_n_heads", text.get("num_heads"))), ssm_groups=_pos(text.get("mamba_n_groups", text.get("n_groups"))),
            ssm_norm=bool(text.get("mamba_rms_norm", arch == "mamba2")), ssm_dt_norm=arch == "jamba",
            rope=arch != "jamba" and text.get("position_embedding_type", "rope") == "rope" and not _granite_without_rope(text),
            fused_qkv=any(".qkv_proj." in n for n in names), fused_up=arch == "phi3" and any(".gate_up_proj." in n for n in names),
            kv_lora_rank=_pos(text.get("kv_lora_rank")), q_lora_rank=_pos(text.get("q_lora_rank")), n_rot=rope,
            mla_k=nope + rope, mla_v=_pos(text.get("v_head_dim")),
            attn_soft_cap=bool(text.get("attn_logit_softcapping")),
            gated=any(g in n for n in names for g in ("gate_proj", "gate_up_proj", ".w1.", "w3")),
        )  # fmt: skip
    if not d.n_embd or not d.n_vocab:
        return None
    return d


@dataclass(frozen=True, slots=True)
class Compute:
    """llama.cpp's compute and output buffers for one setting."""

    compute_bytes: int | None
    output_bytes: int | None
    terms: tuple[Term, ...] = ()
    #: Why there is no figure.
    unknown: str | None = None


def flash_attn_enabled(setting: str) -> bool:
    """``-fa auto`` resolves to on for the CPU backend (llama_context: the device supports FLASH_ATTN_EXT)."""
    return setting != "off"


#: Builders that rope Q and K before the KV store and expand Q, K, V in that order (llm_build_gemma*);
#: the others expand Q, V, K (llm_graph_context::build_attn: "expand k later to enable rope fusion").
_QKV_ORDER = frozenset({"gemma2", "gemma3", "gemma3n", "gemma3_text", "cohere2", "llama4", "gpt-oss"})
#: Builders that scale the embeddings and Q in place (gemma: sqrt(n_embd), query_pre_attn_scalar).
_GEMMA = frozenset({"gemma", "gemma2", "gemma3", "gemma3n", "gemma3_text", "gemma-embedding"})
#: Builders with a norm after attention and after the FFN (rms_norm in place on the block's output).
_POST_NORMS = frozenset({"gemma2", "gemma3", "gemma3n", "gemma3_text", "olmo2", "exaone4"})
#: Builders that pick the output rows after the residual add, once (llm_build_falcon_h1).
_ROWS_AFTER_ADD = frozenset({"falcon-h1"})
#: Builders that pick the output rows after the last layer, before the output norm
#: ("if (!cparams.embeddings_nextn_masked && inp_out_ids)" in src/models/<arch>.cpp).
_ROWS_AT_END = frozenset({"bailingmoe3", "cohere2moe", "gemma4", "hy_v3", "mimo2", "nemotron_h", "gpt-oss", "qwen35",
                          "qwen35moe", "qwen3next", "step35"})  # fmt: skip
#: Builders with attention and FFN in parallel on one LayerNorm (llm_build_cohere2, llm_build_command_r):
#: the FFN runs before the attention's wo, and the output rows are picked from the norm, the residual and wo.
_PARALLEL = frozenset({"cohere2", "command-r"})
#: Builders whose output norm is a LayerNorm (ggml_norm: never in place) and whose logits are scaled in place.
_LAYERNORM_OUT = frozenset({"cohere2", "command-r"})
_LOGIT_SCALE = frozenset({"cohere2", "command-r"})
#: Hybrids whose graph fetches the next Mamba layer's conv state right after an attention layer's core.
_PREFETCH_AFTER_ATTN = frozenset({"jamba"})
#: Builders that add the FFN output onto the residual (phi3: ggml_add(residual, ffn_out)).
_FFN_RES_FIRST = frozenset({"phi3"})
#: Builders that call build_moe_ffn with norm_w = false (the selected weights are not renormalised).
_MOE_NO_NORM = frozenset({"jamba", "qwen2moe"})
#: Hybrids whose recurrent layers are gated delta nets (llm_build_qwen3next, qwen35, qwen35moe).
_GDN = frozenset({"qwen3next", "qwen35", "qwen35moe"})
#: Builders that add the block's output onto the residual (ggml_add(residual, out): the residual is reused).
_RES_FIRST = frozenset({"jamba"})
#: Builders with norms after attention and FFN only (no pre-norm: llm_build_olmo2, llm_build_exaone4).
_NO_PRE_NORM = frozenset({"olmo2", "exaone4"})
#: Builders with per-head Q/K norms (a new tensor: the norm's parent is a reshape view).
_QK_NORM = frozenset({"qwen3", "qwen3moe", "qwen3_moe", "gemma3", "gemma3_text", "olmo2", "exaone4", "qwen3next",
                      "qwen35", "qwen35moe"})  # fmt: skip
#: Builders that L2-normalise Q and K in place after rope (llm_build_llama4, its use_kq_norm layers).
_QK_L2 = frozenset({"llama4"})


def _attention(g: _Graph, cur: int, inp: dict[str, int], d: Dims, spec: LayerSpec, n_kv: int, T: int, fa: bool,
               mask: int, encoder: bool, wo: bool = True, after_core: Callable[[], None] | None = None) -> int:  # fmt: skip
    """One attention block from its normed input to the output projection (build_attn, build_attn_mha).

    Q/K/V projections (bias adds in place), rope (never in place: its parent is a reshape view, whose
    data ggml-alloc treats as external), the cache writes (views of the cache), then flash attention
    or KQ = K x Q (F32, n_kv x T x heads), soft_max in place, KQV and a contiguous copy; then wo.
    """
    H, Hk = d.n_head or 1, max(spec.kv_heads, 1)
    dk = spec.head_dim_k
    dv = spec.head_dim_v or dk
    if spec.kind == "mla":
        return _mla(g, cur, inp, d, spec, n_kv, T, fa, mask)
    qk_norm = d.arch in _QK_NORM

    # llama4: every 4th layer has no rope (n_no_rope_layer_step); its Q is scaled by inp_attn_scale instead
    no_rope = d.arch == "llama4" and (spec.index + 1) % 4 == 0

    def project(width: int, rope: bool) -> int:
        t = g.op(width * T * F32, cur)
        if no_rope:
            return g.op(width * T * F32, g.view(t), inp["attn_scale"]) if width == H * dk and rope else t
        if qk_norm and rope:
            t = g.op(width * T * F32, g.view(t))  # rms_norm of the heads (new), x weight in place
            t = g.op(width * T * F32, t, inplace=True)
            return g.op(width * T * F32, t, inp["pos"], inplace=True) if not encoder and d.rope else t
        if rope and not encoder and d.rope:
            t = g.op(width * T * F32, g.view(t), inp["pos"])
            return g.op(width * T * F32, t, inplace=True) if d.arch in _QK_L2 else t
        return t

    gated_q = d.arch in _GDN  # qwen3next: Q and its output gate from one projection
    fused = d.fused_qkv and not encoder and not gated_q  # (qwen3next: attn_qkv is its delta nets' projection)
    if fused:  # wqkv (phi3...): Q, K, V are views of one projection; rope gives new Q and K
        qkv = g.op((H * dk + Hk * dk + Hk * dv) * T * F32, cur)
        q = g.op(H * dk * T * F32, g.view(qkv), inp["pos"]) if d.rope else g.view(qkv)
        v = g.view(qkv)
        k = g.op(Hk * dk * T * F32, g.view(qkv), inp["pos"]) if d.rope else g.view(qkv)
    elif gated_q:
        q_full = g.op(2 * H * dk * T * F32, cur)
        q = g.op(H * dk * T * F32, g.op(H * dk * T * F32, g.view(q_full)), inplace=True)  # q_norm of the Q half
        q = g.op(H * dk * T * F32, q, inp["pos"], inplace=True)
    else:
        q = project(H * dk, True)
    if d.arch in _GEMMA:
        q = g.op(H * dk * T * F32, q, inplace=True)
    rk, rv = inp.get("k_rot", -1), inp.get("v_rot", -1)
    if rk >= 0:  # llama_mul_mat_hadamard: rotated copies (the rotation applies to Q and K alike)
        q = g.op(H * dk * T * F32, rk, g.view(q))
    if fused:
        k = g.op(Hk * dk * T * F32, rk, g.view(k)) if rk >= 0 else k
        v = g.op(Hk * dv * T * F32, rv, g.view(v)) if rv >= 0 else v
    elif d.arch in _QKV_ORDER or encoder:
        k = project(Hk * dk, True)
        k = g.op(Hk * dk * T * F32, rk, g.view(k)) if rk >= 0 else k
        v = project(Hk * dv, False)
        v = g.op(Hk * dv * T * F32, rv, g.view(v)) if rv >= 0 else v
    else:
        v = project(Hk * dv, False)
        v = g.op(Hk * dv * T * F32, rv, g.view(v)) if rv >= 0 else v
        k = project(Hk * dk, True)
        k = g.op(Hk * dk * T * F32, rk, g.view(k)) if rk >= 0 else k
    if encoder:  # no cache: K and V of the batch itself, cast to F16 for flash attention (ggml_cast)
        kk, vv = (g.op(Hk * dk * T * F16, g.view(k)), g.op(Hk * dv * T * F16, g.view(v))) if fa else (g.view(k), g.view(v))
    else:  # ggml_set_rows into the cache: a view of the cache, nothing allocated
        kind = "swa" if spec.kind == "swa" else "full"
        g.op(0, g.view(k), inp[f"k_idxs.{kind}"])
        g.op(0, g.view(v), inp[f"v_idxs.{kind}"])
        kk = vv = -1
    if fa:
        out = g.op(dv * H * T * F32, g.view(q), kk, vv, mask)
    else:
        if encoder:
            vv = g.op(Hk * dv * T * F32, vv)  # ggml_cont(ggml_transpose(v)) first: no transposed cache here
        kq = g.op(n_kv * T * H * F32, kk, g.view(q))
        for _ in range(3 if d.attn_soft_cap else 0):  # scale, tanh, scale
            kq = g.op(n_kv * T * H * F32, kq, inplace=True)
        kq = g.op(n_kv * T * H * F32, kq, mask, inplace=True)  # soft_max_ext
        kqv = g.op(dv * T * H * F32, vv, kq)
        out = g.op(dv * H * T * F32, g.view(kqv))  # cont_2d of the permuted heads
    if rv >= 0:  # the output rotated back
        out = g.op(dv * H * T * F32, rv, g.view(out))
    if gated_q:  # the gate half made contiguous, sigmoid in place, times the attention output in place
        gate = g.op(H * dk * T * F32, g.op(H * dk * T * F32, g.view(q_full)), inplace=True)
        out = g.op(H * dk * T * F32, g.view(out), gate, inplace=True)
    if after_core is not None:  # a hybrid's next recurrent layer fetches its state here, in graph order
        after_core()
    return g.op(d.n_embd * T * F32, g.view(out)) if wo else out  # wo


def _mla(g: _Graph, cur: int, inp: dict[str, int], d: Dims, spec: LayerSpec, n_kv: int, T: int, fa: bool,
         mask: int) -> int:  # fmt: skip
    """Absorbed multi-head latent attention (llm_build_deepseek2): the cache holds the latent and the rope part."""
    H, rank = d.n_head or 1, d.kv_lora_rank or spec.head_dim_k
    rope = d.n_rot or max(spec.head_dim_k - rank, 0)
    qk = d.mla_k or (rank + rope)
    v_head = d.mla_v or rank
    if d.q_lora_rank:  # q_a, its norm and weight in place, then q_b
        q = g.op(d.q_lora_rank * T * F32, cur)
        q = g.op(d.q_lora_rank * T * F32, g.op(d.q_lora_rank * T * F32, q, inplace=True), inplace=True)
        q = g.op(H * qk * T * F32, q)
    else:
        q = g.op(H * qk * T * F32, cur)
    q_nope = g.op(rank * T * H * F32, g.view(q))  # q_nope absorbed by wk_b
    q_pe = g.op(rope * H * T * F32, g.view(q), inp["pos"])  # rope of a view: a new tensor
    q = g.op((rank + rope) * H * T * F32, g.view(q_nope), q_pe)  # concat
    kv = g.op((rank + rope) * T * F32, cur)  # kv_a_mqa: latent and rope part
    k_lat = g.op(rank * T * F32, g.op(rank * T * F32, g.view(kv)), inplace=True)  # kv_a_norm of the latent
    k_pe = g.op(rope * T * F32, g.view(kv), inp["pos"])
    k = g.op((rank + rope) * T * F32, g.view(k_lat), k_pe)  # concat
    g.op(0, g.view(k), inp["k_idxs.full"])  # the cache write
    if fa:
        out = g.op(rank * H * T * F32, g.view(q), mask)
        out = g.op(v_head * H * T * F32, g.view(out))  # x wv_b
        out = g.op(v_head * H * T * F32, g.view(out))  # cont
    else:
        v = g.op(rank * n_kv * F16)  # ggml_cont(ggml_transpose(v)): the latent view of the K cache (F16)
        kq = g.op(n_kv * T * H * F32, g.view(q))
        kq = g.op(n_kv * T * H * F32, kq, mask, inplace=True)
        kqv = g.op(v_head * T * H * F32, g.op(rank * T * H * F32, v, kq))  # x latent V, then wv_b
        out = g.op(v_head * H * T * F32, g.view(kqv))
    return g.op(d.n_embd * T * F32, g.view(out))  # wo


def _ffn(g: _Graph, cur: int, d: Dims, T: int, n_ff: int) -> int:
    """build_ffn: gated (gate, up, then swiglu/geglu as a new tensor) or sequential (up, act in place), then down."""
    if d.fused_up:  # one up projection of 2 x n_ff, swiglu of its halves (a new tensor)
        return g.op(d.n_embd * T * F32, g.op(n_ff * T * F32, g.op(2 * n_ff * T * F32, cur)))
    if not d.gated:
        up = g.op(n_ff * T * F32, cur)
        return g.op(d.n_embd * T * F32, g.op(n_ff * T * F32, up, inplace=True))
    gate = g.op(n_ff * T * F32, cur)
    up = g.op(n_ff * T * F32, cur)
    return g.op(d.n_embd * T * F32, g.op(n_ff * T * F32, gate, up))


def _moe(g: _Graph, cur: int, d: Dims, T: int) -> int:
    """build_moe_ffn: router logits, soft_max (sigmoid for llama4), argsort, weights (normalised), mul_mat_id
    gate/up/down, weighted sum of the experts, shared experts added. llama4 weights the input, not the output."""
    E, U = d.n_expert, max(d.n_expert_used, 1)
    ff = d.n_ff_exp or d.n_ff
    ET = d.n_embd * T * F32
    logits = g.op(E * T * F32, cur)
    before = d.arch == "llama4"
    if before:  # sigmoid of the logits (new: the logits also feed the argsort)
        probs = g.op(E * T * F32, logits)
        order = g.op(E * T * 4, logits)
    else:
        probs = g.op(E * T * F32, logits, inplace=True)
        order = g.op(E * T * 4, probs)  # argsort, i32
    sel = g.view(order)
    w = g.op(U * T * F32, g.view(probs), sel)  # get_rows of the selected probabilities
    if before:
        x = g.op(d.n_embd * U * T * F32, g.op(d.n_embd * U * T * F32, g.view(cur)), w, inplace=True)  # repeat, x weights
    else:
        x = g.view(cur)
    if d.arch == "gpt-oss":  # soft_max over the selected logits (LLAMA_EXPERT_GATING_FUNC_TYPE_SOFTMAX_WEIGHT)
        w = g.op(U * T * F32, g.view(w))
    elif not before and U > 1 and d.arch not in _MOE_NO_NORM:
        wsum = g.op(T * F32, g.op(T * F32, g.view(w)), inplace=True)  # sum_rows, clamp
        w = g.op(U * T * F32, g.view(w), wsum)  # div: normalised weights
    gate = g.op(ff * U * T * F32, x, sel)
    up = g.op(ff * U * T * F32, x, sel)
    act = g.op(ff * U * T * F32, gate, up)
    experts = g.op(d.n_embd * U * T * F32, act, sel)
    if before:
        out = g.op(ET, g.view(experts))  # ggml_cont of the single expert's view
    else:
        experts = g.op(d.n_embd * U * T * F32, experts, g.view(w), inplace=True)
        out = g.op(ET, g.view(experts), g.view(experts)) if U > 1 else g.op(ET, g.view(experts))
        for _ in range(U - 2):
            out = g.op(ET, out, g.view(experts), inplace=True)
    if d.n_ff_shexp:
        sh = _ffn(g, cur, d, T, d.n_ff_shexp)
        if d.arch in _GDN:  # a sigmoid gate on the shared expert (ffn_gate_inp_shexp), in place
            sh = g.op(ET, sh, g.op(T * F32, g.op(T * F32, cur), inplace=True), inplace=True)
        out = g.op(ET, out, sh, inplace=True)
    return out


def _gdn(g: _Graph, cur: int, d: Dims, T: int, n_seq: int, inp: dict[str, int]) -> int:
    """A gated delta net block (llm_build_qwen3next / delta-net-base.cpp) from its normed input to out_proj.

    The conv state fetched, the fused q/k/v projection, concat and ssm_conv (silu in place), Q and K
    l2-normalised (new tensors) and repeated to the value heads, beta/alpha from one projection, the
    fused gated delta net (output and state), its rms_norm, the z gate (silu of a view: new) in place.
    """
    nk, nv, dk, dc = max(d.ssm_groups, 1), max(d.ssm_heads, 1), d.d_state or 1, max(d.d_conv, 2)
    di = d.d_inner
    conv_ch = 2 * nk * dk + di
    r = g.op((dc - 1) * conv_ch * n_seq * F32, inp["s_copy"])
    qkv = g.op(conv_ch * T * F32, cur)
    x = g.op(((dc - 1) * n_seq + T) * conv_ch * F32, g.view(r), g.view(qkv))  # concat
    state = g.op(dk * di * n_seq * F32, inp["s_copy"])  # get_rows of the recurrent states
    x = g.op(conv_ch * T * F32, g.op(conv_ch * T * F32, x), inplace=True)  # ssm_conv, silu
    qk = []
    for _ in range(2):  # l2 norm (new: its parent is a view), then repeated to the value heads
        t = g.op(nk * dk * T * F32, g.view(x))
        qk.append(g.op(nv * dk * T * F32, g.view(t)) if nv != nk else t)
    ba = g.op(2 * nv * T * F32, cur)
    a = g.op(nv * T * F32, g.op(nv * T * F32, g.op(nv * T * F32, g.view(ba)), inplace=True), inplace=True)
    a = g.op(nv * T * F32, a, inplace=True)  # + dt bias, softplus, x A: in place
    b = g.op(nv * T * F32, g.op(nv * T * F32, g.view(ba)), inplace=True)  # contiguous, sigmoid
    y = g.op((di * T + dk * di * n_seq) * F32, *(g.view(t) for t in qk), g.view(x), a, b, state)
    y = g.op(di * T * F32, g.op(di * T * F32, g.view(y)), inplace=True)  # rms_norm x weight
    z = g.op(di * T * F32, cur)
    y = g.op(di * T * F32, y, g.op(di * T * F32, g.view(z)), inplace=True)  # x silu(z)
    return g.op(d.n_embd * T * F32, y)


def _conv_state_bytes(d: Dims, n_seq: int) -> int:
    """The conv states of one layer fetched for the batch: (d_conv - 1) x channels x n_seq, F32."""
    channels = d.d_inner + 2 * d.ssm_groups * (d.d_state or 16) if d.ssm_groups else d.d_inner
    return (max(d.d_conv, 2) - 1) * channels * n_seq * F32


def _ssm(g: _Graph, cur: int, d: Dims, T: int, n_seq: int, inp: dict[str, int],
         after_scan: Callable[[], None] | None = None, states: dict[str, int] | None = None,
         prefetch: bool = False) -> int:  # fmt: skip
    """A Mamba block (llm_build_mamba_base::build_mamba_layer / build_mamba2_layer) on the residual ``cur``.

    The conv state fetched (before the block's norm, in graph order), the norm, in_proj (z, x and for Mamba-2 B, C, dt), the conv state fetched and concatenated, ssm_conv, bias and
    silu in place, dt, ssm_scan (y and the last state), z made contiguous, y + x*D, y*silu(z) (swiglu);
    Mamba-2 adds a grouped rms_norm (a new tensor) before out_proj.
    """
    di, ds, dc = d.d_inner, d.d_state or 16, max(d.d_conv, 2)
    m2 = d.ssm_groups > 0
    conv_ch = di + 2 * d.ssm_groups * ds if m2 else di
    r_bytes = _conv_state_bytes(d, n_seq)
    states = {} if states is None else states
    # get_rows of the conv states; the graph fetches the next recurrent layer's right after this scan
    r = states.pop("r", None) or g.op(r_bytes, inp["s_copy"])
    cur = g.op(d.n_embd * T * F32, g.op(d.n_embd * T * F32, cur), inplace=True)  # the block's rms_norm x weight
    zx = g.op(((2 * di + 2 * d.ssm_groups * ds + d.ssm_heads) if m2 else 2 * di) * T * F32, cur)  # in_proj
    x = g.op(((dc - 1) * n_seq + T) * conv_ch * F32, g.view(r), g.view(zx))  # concat with the conv state
    x = g.op(conv_ch * T * F32, x)  # ssm_conv
    x = g.op(conv_ch * T * F32, g.op(conv_ch * T * F32, x, inplace=True), inplace=True)  # + bias, silu
    dt_rank = d.ssm_heads or max(d.n_embd // 16, 1)
    if m2:  # dt is a slice of in_proj, made contiguous, + bias in place
        dt = g.op(dt_rank * T * F32, g.op(dt_rank * T * F32, g.view(zx)), inplace=True)
    else:  # x_proj -> dt, B, C; dt_proj of dt (contiguous) + bias in place
        x_db = g.op((dt_rank + 2 * ds) * T * F32, x)
        bc: tuple[int, ...] = ()
        if d.ssm_dt_norm:  # jamba: rms_norm x weight of dt, B and C (new tensors: their parents are views)
            dt = g.op(dt_rank * T * F32, g.op(dt_rank * T * F32, g.view(x_db)), inplace=True)
            dt = g.op(di * T * F32, g.op(di * T * F32, dt), inplace=True)
            bc = tuple(g.op(ds * T * F32, g.op(ds * T * F32, g.view(x_db)), inplace=True) for _ in range(2))
        else:
            dt = g.op(di * T * F32, g.op(di * T * F32, g.op(dt_rank * T * F32, g.view(x_db))), inplace=True)
    y = g.op((di * T + ds * di * n_seq) * F32, g.view(x), dt, *(bc if not m2 else ()), inp["s_copy"])  # ssm_scan
    if prefetch:
        states["r"] = g.op(r_bytes, inp["s_copy"])
    if after_scan is not None:  # falcon-h1: the attention's wo comes next in graph order
        after_scan()
    z = g.op(di * T * F32, g.view(zx))  # ggml_cont of the z part
    xd = g.op(di * T * F32, g.view(x) if m2 else x, inplace=not m2)  # x * D (Mamba-2: x is a view: new)
    y = g.op(di * T * F32, g.view(y), xd, inplace=True)  # y + x*D
    y = g.op(di * T * F32, z, y)  # y * silu(z) (swiglu)
    if m2 and d.ssm_norm:
        y = g.op(di * T * F32, g.op(di * T * F32, g.view(y)), inplace=True)  # grouped rms_norm x weight
    return g.op(d.n_embd * T * F32, g.view(y) if m2 else y)  # out_proj


def _layer_ff(d: Dims) -> int:
    return d.n_ff or 4 * d.n_embd


def _is_moe(d: Dims, il: int) -> bool:
    """Routed experts in this layer: past the leading dense layers, on the interleave step (llama4)."""
    if not d.n_expert or not d.n_expert_used or il < d.n_dense_lead:
        return False
    if d.moe_layers is not None:
        return il in d.moe_layers
    return not d.moe_every or (il + 1) % d.moe_every == 0


def _t5_decoder(d: Dims, layout: Layout, *, T: int, n_kv: int, n_enc: int, fa: bool, v_block: tuple[int, int]) -> _Graph:
    """The T5 decoder graph llama.cpp reserves (llm_build_t5_dec): self-attention with a relative position
    bias (kq_b: never flash attention), cross-attention over ``n_enc`` encoder outputs (n_ctx_train while
    reserving), a ReLU or gated FFN.

    Inputs: tokens, inp_embd, the cache row indices, pos_bucket (I32 n_kv x T), the KQ mask, cross_embd
    (E x n_enc), the cross mask (n_enc x T), out_ids.
    """
    E, H = d.n_embd, d.n_head or 1
    spec = next((sp for sp in layout.layers if sp.kind == "full"), None)
    Hk, dk = (spec.kv_heads, spec.head_dim_k) if spec else (H, E // H)
    dv = spec.head_dim_v if spec else dk
    ET, mask_b = E * T * F32, F16 if fa else F32
    g = _Graph()
    tokens = g.input(T * 4)
    g.input(ET)  # inp_embd
    k_idxs, v_idxs = g.input(T * 8), g.input(T * 8 if fa else T * Hk * dv * 8)
    bucket = g.input(n_kv * T * 4)
    mask = g.input(n_kv * T * mask_b)
    cross = g.input(E * n_enc * F32)
    cross_mask = g.input(n_enc * T * mask_b)
    out_ids = g.input(T * 4)
    cur = g.op(ET, tokens)
    n_layer = d.n_layer or len(layout.layers) or 1
    for il in range(n_layer):
        res = cur
        x = g.op(ET, g.op(ET, cur), inplace=True)
        q = g.op(H * dk * T * F32, x)
        v = g.op(Hk * dv * T * F32, x)
        k = g.op(Hk * dk * T * F32, x)
        g.op(0, g.view(k), k_idxs)
        g.op(0, g.view(v), v_idxs)
        # ggml_cont of the (untransposed) V cache view, in the cache type: (block, bytes per block)
        vc = g.op(n_kv * Hk * dv // v_block[0] * v_block[1]) if fa else -1
        kq = g.op(n_kv * T * H * F32, g.view(q))
        bias = g.op(n_kv * T * H * F32, g.op(n_kv * T * H * F32, g.view(bucket)))  # get_rows of attn_rel_b, cont
        kq = g.op(n_kv * T * H * F32, kq, bias, inplace=True)
        kq = g.op(n_kv * T * H * F32, kq, mask, inplace=True)  # soft_max
        o = g.op(dv * H * T * F32, g.op(dv * T * H * F32, vc, kq))  # kqv, cont
        cur = g.op(ET, g.op(ET, g.view(o)), res, inplace=True)  # attn_o, + residual
        res = cur
        x = g.op(ET, g.op(ET, cur), inplace=True)  # cross-attention norm
        q = g.op(H * dk * T * F32, x)
        k = g.op(Hk * dk * n_enc * F32, cross)
        v = g.op(Hk * dv * n_enc * F32, cross)
        if fa:
            kk = g.op(Hk * dk * n_enc * F16, g.view(k))
            vv = g.op(Hk * dv * n_enc * F16, g.view(v))
            o = g.op(dv * H * T * F32, g.view(q), kk, vv, cross_mask)
        else:
            vv = g.op(Hk * dv * n_enc * F32, g.view(v))
            kq = g.op(n_enc * T * H * F32, g.view(k), g.view(q))
            kq = g.op(n_enc * T * H * F32, kq, cross_mask, inplace=True)
            o = g.op(dv * H * T * F32, g.op(dv * T * H * F32, vv, kq))
        o = g.op(ET, g.view(o))  # cross_attn_o
        if il == n_layer - 1:
            o, res = g.op(ET, o, out_ids), g.op(ET, res, out_ids)
        cur = g.op(ET, o, res, inplace=True)
        res = cur
        x = g.op(ET, g.op(ET, cur), inplace=True)
        cur = g.op(ET, _ffn(g, x, d, T, _layer_ff(d)), res, inplace=True)
    normed = g.op(ET, g.op(ET, cur, inplace=True), inplace=True, output=True)
    g.op(d.n_vocab * T * F32, normed, output=True)
    return g


def build_graph(d: Dims, layout: Layout, *, n_ctx: int, n_seq: int, n_ubatch: int, swa_cells: int,
                full_cells: int, fa: bool, quantized_k: bool = False, quantized_v: bool = False,
                v_block: tuple[int, int] = (1, F16)) -> _Graph:  # fmt: skip
    """The prompt-processing graph llama.cpp reserves, as tensor sizes in build order.

    Inputs first, in the order the graph meets them (inp_tokens, inp_embd, inp_pos, the cache row
    indices, the masks, out_ids): ggml-alloc places them before any other tensor. ``inp_embd`` (the
    embeddings-input path, E x T F32) is never consumed and so never freed.
    """
    encoder = d.arch in ENCODERS or layout.no_cache
    T = min(n_ctx, n_ubatch)  # llama_context::sched_reserve: n_tokens = min(n_ctx, n_ubatch)
    if d.arch == "t5":
        return _t5_decoder(d, layout, T=T, n_kv=full_cells, n_enc=layout.max_context or T, fa=fa, v_block=v_block)
    E = d.n_embd
    g = _Graph()
    ET = E * T * F32
    layers = list(layout.layers)
    if encoder:  # encoders keep no per-layer spec: one full attention per block
        hd = E // max(d.n_head, 1)
        layers = [LayerSpec(i, "full", d.n_head, hd, hd) for i in range(d.n_layer or 1)]
    has_rec = any(sp.kind == "recurrent" for sp in layers)
    mask_b = F16 if fa else F32
    inp: dict[str, int] = {"tokens": g.input(T * 4), "embd_in": g.input(ET)}
    masks: dict[str, int] = {}

    # llama_kv_cache: a Hadamard rotation of Q/K (and V, the output) for a quantized cache whose head dim
    # is a multiple of 64 (attn_rot_k / attn_rot_v; build_input_k_rot: the largest 64 x 2^n dividing it)
    std = [sp for sp in layers if sp.kind in ("full", "swa")]
    hk = std[0].head_dim_k if std else 0
    hv = (std[0].head_dim_v or hk) if std else 0
    rot_k = quantized_k and not encoder and bool(std) and hk % 64 == 0
    rot_v = quantized_v and not encoder and bool(std) and hv % 64 == 0
    n_rot_k = 64
    while rot_k and hk % (n_rot_k * 2) == 0:
        n_rot_k *= 2

    def attention_inputs() -> None:
        if rot_k:
            inp["k_rot"] = g.input(n_rot_k * n_rot_k * F32)
        if d.rope or encoder:
            inp["pos"] = g.input(T * 4)
        if rot_v:
            inp["v_rot"] = g.input(64 * 64 * F32)
        if encoder:
            masks["full"] = g.input(T * T * mask_b)
            return
        first = next((sp.kind for sp in layers if sp.kind in ("full", "swa", "mla")), None)
        kinds = ["swa", "full"] if first == "swa" else ["full", "swa"]
        v_width = max((sp.head_dim_v * sp.kv_heads for sp in layers if sp.kind in ("full", "swa")), default=1)
        for kind in kinds:
            if any((sp.kind == "swa") == (kind == "swa") and sp.kind not in ("recurrent", "none") for sp in layers):
                inp[f"k_idxs.{kind}"] = g.input(T * 8)  # each cache (base, SWA) has its own row indices
                inp[f"v_idxs.{kind}"] = g.input(T * 8 if fa else T * v_width * 8)
                masks[kind] = g.input((swa_cells if kind == "swa" else full_cells) * T * mask_b)
                if kind == "swa" and d.arch == "llama4":
                    inp["attn_scale"] = g.input(T * F32)  # inp_attn_scale: temperature of the no-rope layers

    # inputs in the order the graph meets them: a hybrid whose first layer is recurrent fetches states first
    has_attn = encoder or any(sp.kind not in ("recurrent", "none") for sp in layers)
    rec_first = has_rec and layers[0].kind == "recurrent" and not any(
        sp.index == layers[0].index and sp.kind != "recurrent" for sp in layers)
    if rec_first:
        inp["s_copy"] = g.input(n_seq * 4)
    if has_attn:
        attention_inputs()
    if has_rec and not rec_first:
        inp["s_copy"] = g.input(n_seq * 4)
    out_ids = g.input(T * 4)
    mean = g.input(T * n_seq * F32) if encoder else -1
    cur = g.op(ET, inp["tokens"])  # get_rows of the token embeddings
    if encoder:  # + position and token-type embeddings, then LayerNorm (ggml_norm: never in place)
        cur = g.op(ET, g.op(ET, cur, inplace=True), g.op(ET, inp["pos"]), inplace=True)
        cur = g.op(ET, g.op(ET, cur), inplace=True)
    elif d.arch in _GEMMA:
        cur = g.op(ET, cur, inplace=True)  # scale by sqrt(n_embd)
    states: dict[str, int] = {}  # a recurrent state fetched ahead of its layer
    by_index: dict[int, list[LayerSpec]] = {}
    for sp in layers:
        by_index.setdefault(sp.index, []).append(sp)
    last = max(by_index) if by_index else -1
    for il in sorted(by_index):
        res, res_rows = cur, -1
        pre = not encoder and d.arch not in _NO_PRE_NORM
        attn = any(sp.kind not in ("recurrent", "none") for sp in by_index[il]) or d.arch in _GDN
        normed = g.op(ET, g.op(ET, cur), inplace=True) if pre and attn else cur  # attn_norm: new, x weight in place
        block = -1
        if d.arch in _PARALLEL and len(by_index[il]) == 1 and by_index[il][0].kind in ("full", "swa"):
            sp = by_index[il][0]
            n_kv = swa_cells if sp.kind == "swa" else full_cells
            att = _attention(g, normed, inp, d, sp, n_kv, T, fa, masks["swa" if sp.kind == "swa" else "full"], encoder,
                             wo=False)  # fmt: skip
            if il == last:
                normed = g.op(ET, normed, out_ids)
            f = _ffn(g, normed, d, T, _layer_ff(d))
            if il == last:
                res = g.op(ET, res, out_ids)
            f = g.op(ET, f, res, inplace=True)
            o = g.op(ET, g.view(att))  # wo, after the FFN in graph order
            if il == last:
                o = g.op(ET, o, out_ids)
            cur = g.op(ET, f, o, inplace=True)
            continue
        both = len(by_index[il]) > 1  # falcon-h1: attention, then an SSM on its own norm of the input, summed
        for sp in sorted(by_index[il], key=lambda sp: sp.kind == "recurrent"):
            if sp.kind == "none":
                continue
            if sp.kind == "recurrent" and d.arch in _GDN:
                out = g.view(_gdn(g, normed, d, T, n_seq, inp))  # reshaped: the residual add reuses the residual
            elif sp.kind == "recurrent":
                made: list[int] = []
                pre_wo = block
                nxt = by_index.get(il + 1, [])
                after: Callable[[], None] | None = None
                if block >= 0:  # falcon-h1: the attention's wo right after the scan; summed below
                    def after() -> None:
                        made.append(g.op(ET, g.view(pre_wo)))
                elif il == last and d.arch in _RES_FIRST:  # jamba: the residual's output rows come next
                    def after() -> None:
                        made.append(g.op(ET, res, out_ids))
                out = _ssm(g, res, d, T, n_seq, inp, after, states, prefetch=len(nxt) == 1 and nxt[0].kind == "recurrent")
                if made and block >= 0:
                    block = made[0]
                elif made:
                    res_rows = made[0]
            else:
                n_kv = T if encoder else (swa_cells if sp.kind == "swa" else full_cells)
                nxt = by_index.get(il + 1, [])
                fetch = None
                if d.arch in _PREFETCH_AFTER_ATTN and len(nxt) == 1 and nxt[0].kind == "recurrent":
                    def fetch() -> None:
                        states["r"] = g.op(_conv_state_bytes(d, n_seq), inp["s_copy"])
                out = _attention(g, normed, inp, d, sp, n_kv, T, fa, masks["swa" if sp.kind == "swa" else "full"], encoder,
                                 wo=not both, after_core=fetch)  # fmt: skip
            block = out if block < 0 else g.op(ET, block, out, inplace=True)
        if block < 0:
            block = normed
        if d.arch in _POST_NORMS:
            block = g.op(ET, g.op(ET, block, inplace=True), inplace=True)
        late_rows = d.arch in _ROWS_AFTER_ADD or d.arch in _ROWS_AT_END
        if il == last and not encoder and not late_rows:  # get_rows(cur, out_ids), get_rows(residual, out_ids)
            block = g.op(ET, block, out_ids)
            res = res_rows if res_rows >= 0 else g.op(ET, res, out_ids)
        cur = g.op(ET, *((res, block) if d.arch in _RES_FIRST else (block, res)), inplace=True)  # residual add
        if il == last and d.arch in _ROWS_AFTER_ADD:
            cur = g.op(ET, cur, out_ids)
        if encoder:  # post-norm: LayerNorm (new) after each residual
            cur = g.op(ET, g.op(ET, cur), inplace=True)
        if d.arch in ("mamba", "mamba2"):
            continue  # the Mamba block has no FFN
        ffn_res = cur
        normed = g.op(ET, g.op(ET, cur), inplace=True) if pre else cur
        f = _moe(g, normed, d, T) if _is_moe(d, il) else _ffn(g, normed, d, T, _layer_ff(d))
        if d.arch in _POST_NORMS:
            f = g.op(ET, g.op(ET, f, inplace=True), inplace=True)
        cur = g.op(ET, *((ffn_res, f) if d.arch in _RES_FIRST or d.arch in _FFN_RES_FIRST else (f, ffn_res)), inplace=True)
        if encoder:
            cur = g.op(ET, g.op(ET, cur), inplace=True)
    if encoder:  # mean pooling: transpose made contiguous, times the [T, n_seq] mean matrix
        g.op(E * n_seq * F32, g.op(ET, g.view(cur)), mean, output=True)
        return g
    if d.arch in _ROWS_AT_END:  # the last layer's output is kept as t_h_nextn (a graph output: never freed)
        g.nodes[cur].output = True
        cur = g.op(ET, cur, out_ids)
    normed = g.op(ET, g.op(ET, cur, inplace=d.arch not in _LAYERNORM_OUT), inplace=True, output=True)  # result_norm
    # in-place ops on the logits: gemma2's final soft-cap (scale, tanh, scale), cohere's logit scale
    n_in_place = 3 if d.attn_soft_cap and d.arch == "gemma2" else 1 if d.arch in _LOGIT_SCALE else 0
    logits = g.op(d.n_vocab * T * F32, normed, output=not n_in_place)  # result_output: every token's logits
    for i in range(n_in_place):
        logits = g.op(d.n_vocab * T * F32, logits, inplace=True, output=i == n_in_place - 1)
    return g


def output_bytes(d: Dims, *, n_seq: int, encoder: bool) -> int:
    """llama_context::output_reserve(n_seq_max): logits (and embeddings) of n_seq_max outputs, F32."""
    logits = d.n_vocab * n_seq * F32
    embd = d.n_embd * n_seq * F32 if encoder or d.arch == "t5" else 0
    return logits + embd


def compute(d: Dims | None, layout: Layout, *, n_ctx: int, n_seq: int, full_cells: int, swa_cells: int,
            n_ubatch: int = LLAMA_UBATCH, n_batch: int = LLAMA_BATCH, flash_attn: str = "auto",
            quantized_k: bool = False, quantized_v: bool = False, v_block: tuple[int, int] = (1, F16)) -> Compute:  # fmt: skip
    """Compute buffer (the reserved graph's peak) and output buffer of llama.cpp on the CPU."""
    if d is None:
        return Compute(None, None, unknown="model widths unknown (no embedding length or vocabulary size)")
    if layout.unknown and not layout.no_cache:
        return Compute(None, None, unknown=layout.unknown)
    encoder = d.arch in ENCODERS or layout.no_cache
    n_batch_eff = n_batch if encoder else min(n_ctx, n_batch)  # causal: n_batch <= n_ctx
    ub = min(n_batch_eff, n_ubatch)
    fa = flash_attn_enabled(flash_attn)
    g = build_graph(d, layout, n_ctx=n_ctx, n_seq=n_seq, n_ubatch=ub, swa_cells=swa_cells, full_cells=full_cells, fa=fa,
                    quantized_k=quantized_k, quantized_v=quantized_v, v_block=v_block)  # fmt: skip
    peak = g.peak()
    out = output_bytes(d, n_seq=n_seq, encoder=encoder)
    T = min(n_ctx, ub)
    terms = (
        Term("micro-batch", T, f"min(n_ctx {n_ctx}, -ub {n_ubatch}, -b {n_batch})", "ubatch"),
        Term("flash attention", "on" if fa else "off", f"-fa {flash_attn}" + (" (auto: on for the CPU)" if flash_attn == "auto" else ""), "flash_attn"),
        Term("logits in the graph", d.n_vocab * T * F32, f"{d.n_vocab} vocab x {T} outputs x 4 B", "logits"),
        *((Term("KQ mask", full_cells * T * (F16 if fa else F32),
                f"{full_cells} cells x {T} tokens x {F16 if fa else F32} B ({'F16 with' if fa else 'F32 without'} flash attention)", "mask"),)
          if not encoder and any(sp.kind in ("full", "mla") for sp in layout.layers) else ()),
        *((Term("KQ matrix (one layer)", full_cells * T * d.n_head * F32, f"{full_cells} cells x {T} tokens x {d.n_head} heads x 4 B", "kq"),)
          if not fa and not encoder and d.n_head else ()),
        Term("compute buffer", peak, "peak of the reserved graph's live tensors, placed as ggml-alloc does", "compute"),
        Term("output buffer", out, f"{d.n_vocab} vocab x {n_seq} seq x 4 B" + (" + embeddings" if encoder else ""), "output"),
    )  # fmt: skip
    return Compute(peak, out, terms)

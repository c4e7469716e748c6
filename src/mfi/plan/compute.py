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
block; merge on free; 32-byte alignment of the CPU buffer, TENSOR_ALIGNMENT). Where a builder's
graph is not rebuilt op by op (recurrent scans, MLA's absorbed attention, encoder-decoder models) the
largest tensors of its layer are, and docs/memory.md says which.

The output buffer is llama_context::output_reserve(n_seq_max) at start-up:
``n_vocab x n_outputs_max x 4`` bytes of logits (plus ``n_embd x n_outputs_max x 4`` of embeddings for
encoders and T5), ``n_outputs_max = n_seq_max``.
"""

from __future__ import annotations

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
        if src < 0:
            return src
        self.nodes.append(_Node(0, (src,), False, False, False, src))
        return len(self.nodes) - 1

    def peak(self) -> int:
        """ggml_gallocr_alloc_graph_impl on this graph: the allocator's high-water mark in bytes."""
        nodes, alloc = self.nodes, _DynAlloc()
        children = [0] * len(nodes)
        views = [0] * len(nodes)
        where: dict[int, int] = {}  # tensor -> offset while allocated

        def base(i: int) -> int:
            while nodes[i].view_of is not None:
                i = nodes[i].view_of  # type: ignore[assignment]
            return i

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
                reused = False
                if n.inplace and n.srcs:
                    p = n.srcs[0]
                    b = base(p)
                    if (children[p] == 1 and views[p] == 0 and nodes[b].nbytes == n.nbytes and b in where
                            and not nodes[b].output and (b == p or (views[b] == 1 and children[b] == 0))):
                        where[i] = where.pop(b)
                        reused = True
                if not reused:
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
    #: Routed experts, experts per token, and their FFN width (n_expert, n_expert_used, n_ff_exp).
    n_expert: int = 0
    n_expert_used: int = 0
    n_ff_exp: int = 0
    n_ff_shexp: int = 0
    #: Mamba: d_inner, d_state, conv kernel, SSM heads and groups (ssm.* keys).
    d_inner: int = 0
    d_state: int = 0
    d_conv: int = 0
    ssm_heads: int = 0
    ssm_groups: int = 0
    #: MLA: kv_lora_rank and the rope part of the key (n_lora_kv, n_rot).
    kv_lora_rank: int = 0
    #: Gemma-style logit soft-capping of attention (tanh, two scales, all in place).
    attn_soft_cap: bool = False
    #: The FFN has a gate (SwiGLU/GeGLU: up, gate and their product live at once), else up -> act -> down.
    gated: bool = True


def _pos(v: Any) -> int:
    if isinstance(v, (list, tuple)):
        v = max((x for x in v if isinstance(x, int)), default=0)
    elif hasattr(v, "samples"):
        v = max((x for x in v.samples if isinstance(x, int)), default=0)
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 0


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
        gated = any(".ffn_gate" in t.name for t in s.tensors[:4096])
        d = Dims(
            arch, k("block_count"), k("embedding_length"), n_vocab, k("feed_forward_length"), k("attention.head_count"),
            k("expert_count"), k("expert_used_count"), k("expert_feed_forward_length"),
            k("expert_shared_feed_forward_length"), k("ssm.inner_size"), k("ssm.state_size"), k("ssm.conv_kernel"),
            k("ssm.time_step_rank"), k("ssm.group_count"), k("attention.kv_lora_rank"),
            bool(md.get(f"{arch}.attn_logit_softcapping")), gated,
        )  # fmt: skip
    else:
        c = s.config or {}
        text = c.get("text_config") if isinstance(c.get("text_config"), dict) else c
        assert isinstance(text, dict)
        hidden = a.hidden_size or 0
        expand = _pos(text.get("mamba_expand", text.get("expand")))
        d_inner = _pos(text.get("mamba_d_ssm")) or (expand * hidden)
        gated = any(g in t.name for t in s.tensors[:4096] for g in ("gate_proj", "gate_up_proj", ".w1.", "w3"))
        d = Dims(
            arch, a.layers or 0, hidden, a.vocab_size or 0, _pos(text.get("intermediate_size")) or a.intermediate_size or 0,
            a.attention_heads or 0, a.experts or 0, a.experts_used or 0, a.expert_intermediate_size or 0,
            _pos(text.get("shared_expert_intermediate_size", text.get("shared_intermediate_size"))),
            d_inner, _pos(text.get("mamba_d_state", text.get("state_size"))),
            _pos(text.get("mamba_d_conv", text.get("conv_kernel"))),
            _pos(text.get("mamba_n_heads", text.get("num_heads"))), _pos(text.get("mamba_n_groups", text.get("n_groups"))),
            _pos(text.get("kv_lora_rank")), bool(text.get("attn_logit_softcapping")), gated,
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


def _attention(g: _Graph, cur: int, inp: dict[str, int], d: Dims, spec: Any, n_kv: int, T: int, fa: bool,
               mask: int, encoder: bool) -> int:  # fmt: skip
    """One attention block from its normed input to the output projection (build_qkv, build_attn_mha)."""
    H, Hk = d.n_head or 1, max(spec.kv_heads, 1)
    dk, dv = spec.head_dim_k, spec.head_dim_v or spec.head_dim_k
    if spec.kind == "mla":  # absorbed MLA: q as [kv_lora_rank + rope, H]; V is the latent (first kv_lora_rank)
        q = g.op(H * spec.head_dim_k * T * F32, cur)
        q = g.op(H * dk * T * F32, q, inplace=True)
        kv = g.op(dk * T * F32, cur)
        dv = d.kv_lora_rank or dk
        k = v = -1
        k = g.op(dk * T * F32, kv, inplace=True)
        v = -1
    else:
        q = g.op(H * dk * T * F32, cur)
        k = g.op(Hk * dk * T * F32, cur)
        v = g.op(Hk * dv * T * F32, cur)
        q = g.op(H * dk * T * F32, g.view(q), inp["pos"], inplace=True)  # rope
        k = g.op(Hk * dk * T * F32, g.view(k), inp["pos"], inplace=True)
    if encoder:  # no cache: attention over the batch's own K and V (F32, cast to F16 for flash attention)
        kk, vv = k, v
        if fa:
            kk = g.op(Hk * dk * T * F16, kk)
            vv = g.op(Hk * dv * T * F16, vv)
    else:  # ggml_set_rows into the cache: results are views of the cache, K and V read back as views
        g.op(0, k, inp["k_idxs"])
        if v >= 0:
            g.op(0, v, inp["v_idxs"])
        kk = vv = -1
    if fa:
        out = g.op(dv * H * T * F32, g.view(q), kk, vv, mask)
    else:
        kq = g.op(n_kv * T * H * F32, kk, g.view(q))
        if d.attn_soft_cap:
            kq = g.op(n_kv * T * H * F32, kq, inplace=True)
            kq = g.op(n_kv * T * H * F32, kq, inplace=True)
            kq = g.op(n_kv * T * H * F32, kq, inplace=True)
        kq = g.op(n_kv * T * H * F32, kq, mask, inplace=True)  # soft_max_ext
        if encoder:
            vv = g.op(Hk * dv * T * F32, g.view(vv))  # ggml_cont(transpose(v)): V is not transposed
        kqv = g.op(dv * T * H * F32, vv, kq)
        out = g.op(dv * H * T * F32, g.view(kqv))  # cont_2d of the permuted heads
    if spec.kind == "mla":
        out = g.op(spec.head_dim_v * H * T * F32 if spec.head_dim_v else H * (d.n_embd // H) * T * F32, g.view(out))
    return g.op(d.n_embd * T * F32, g.view(out))  # wo


def _ffn(g: _Graph, cur: int, d: Dims, T: int, n_ff: int) -> int:
    """build_ffn: with a parallel gate (SwiGLU/GeGLU) up, gate, glu (a new tensor), down; else up, act in place, down."""
    up = g.op(n_ff * T * F32, cur)
    if not d.gated:
        return g.op(d.n_embd * T * F32, g.op(n_ff * T * F32, up, inplace=True))
    gate = g.op(n_ff * T * F32, cur)
    act = g.op(n_ff * T * F32, gate, up)
    return g.op(d.n_embd * T * F32, act)


def _moe(g: _Graph, cur: int, d: Dims, T: int) -> int:
    """build_moe_ffn: router logits, softmax, top-k, weights, mul_mat_id up/gate/down, weighted sum."""
    E, U = d.n_expert, max(d.n_expert_used, 1)
    ff = d.n_ff_exp or d.n_ff
    logits = g.op(E * T * F32, cur)
    probs = g.op(E * T * F32, logits, inplace=True)
    order = g.op(E * T * 4, probs)  # argsort, i32
    sel = g.view(order)
    w = g.op(U * T * F32, probs, sel)  # get_rows of the selected probabilities
    up = g.op(ff * U * T * F32, cur, sel)
    gate = g.op(ff * U * T * F32, cur, sel)
    act = g.op(ff * U * T * F32, gate, up)
    experts = g.op(d.n_embd * U * T * F32, act, sel)
    experts = g.op(d.n_embd * U * T * F32, experts, w, inplace=True)
    out = g.op(d.n_embd * T * F32, g.view(experts), g.view(experts))
    for _ in range(U - 2):
        out = g.op(d.n_embd * T * F32, out, g.view(experts), inplace=True)
    if d.n_ff_shexp:
        sh = _ffn(g, cur, d, T, d.n_ff_shexp)
        out = g.op(d.n_embd * T * F32, out, sh, inplace=True)
    return out


def _ssm(g: _Graph, cur: int, d: Dims, T: int, n_seq: int, inp: dict[str, int]) -> int:
    """A Mamba block (build_mamba_layer / build_mamba2_layer): in_proj, conv, scan, gate, out_proj."""
    di, ds, dc = d.d_inner, d.d_state, max(d.d_conv, 1)
    groups = d.ssm_groups or 0
    heads = d.ssm_heads or 0
    xbc = di + 2 * groups * ds
    zx = g.op((di + xbc + heads) * T * F32 if groups else 2 * di * T * F32, cur)  # in_proj
    conv_state = g.op((dc - 1) * (xbc if groups else di) * n_seq * F32, inp["s_copy"])  # get_rows of the states
    conv_x = g.op(((dc - 1) + T // max(n_seq, 1)) * (xbc if groups else di) * n_seq * F32, conv_state, g.view(zx))
    x = g.op((xbc if groups else di) * T * F32, conv_x)  # ssm_conv
    x = g.op((xbc if groups else di) * T * F32, x, inplace=True)  # silu
    if groups:
        dt = g.view(zx)
    else:
        x_db = g.op((d.ssm_heads + 2 * ds) * T * F32 if d.ssm_heads else (di // 16 + 2 * ds) * T * F32, x)
        dt = g.op(di * T * F32, g.view(x_db))
    ssm_state = g.op(ds * di * n_seq * F32, inp["s_copy"])
    y_states = g.op((di * T + ds * di * n_seq) * F32, ssm_state, x, dt)  # ssm_scan
    y = g.op(di * T * F32, g.view(y_states), x)
    z = g.op(di * T * F32, g.view(zx))
    y = g.op(di * T * F32, y, z, inplace=True)
    return g.op(d.n_embd * T * F32, y)  # out_proj


def _layer_ff(d: Dims) -> int:
    return d.n_ff or 4 * d.n_embd


def build_graph(d: Dims, layout: Layout, *, n_ctx: int, n_seq: int, n_ubatch: int, swa_cells: int,
                full_cells: int, fa: bool) -> _Graph:  # fmt: skip
    """The prompt-processing graph llama.cpp reserves, as tensor sizes in build order."""
    encoder = d.arch in ENCODERS or layout.no_cache
    T = n_ubatch if encoder else min(n_ctx, n_ubatch)
    g = _Graph()
    inp: dict[str, int] = {"tokens": g.input(T * 4)}
    cur = g.op(d.n_embd * T * F32, inp["tokens"])  # get_rows of the token embeddings
    if d.arch in _GELU_ARCHS:
        cur = g.op(d.n_embd * T * F32, cur, inplace=True)  # scale by sqrt(n_embd)
    layers = layout.layers
    has_attn = any(sp.kind in ("full", "swa", "mla") for sp in layers) or encoder
    has_rec = any(sp.kind == "recurrent" for sp in layers)
    inp["pos"] = g.input(T * 4)
    mask_bytes = F16 if fa else F32
    masks: dict[str, int] = {}
    if encoder:
        masks["full"] = g.input(T * T * mask_bytes)
    elif has_attn:
        if any(sp.kind in ("full", "mla") for sp in layers):
            masks["full"] = g.input(full_cells * T * mask_bytes)
        if any(sp.kind == "swa" for sp in layers):
            masks["swa"] = g.input(swa_cells * T * mask_bytes)
        inp["k_idxs"] = g.input(T * 8)
        v_width = max((sp.head_dim_v * sp.kv_heads for sp in layers if sp.kind in ("full", "swa")), default=0)
        inp["v_idxs"] = g.input(T * 8 if fa else T * max(v_width, 1) * 8)
    if has_rec:
        inp["s_copy"] = g.input(n_seq * 4)
    out_ids = g.input(T * 4)
    specs = list(layers) if not encoder else []
    if encoder:  # encoders keep no per-layer spec: one full attention per block
        n_layer = d.n_layer or 1
        hd = d.n_embd // max(d.n_head, 1)
        specs = [LayerSpec(i, "full", d.n_head, hd, hd) for i in range(n_layer)]
    by_index: dict[int, list[Any]] = {}
    for sp in specs:
        by_index.setdefault(sp.index, []).append(sp)
    last = max(by_index) if by_index else -1
    for il in sorted(by_index):
        res = cur
        normed = g.op(d.n_embd * T * F32, cur)  # rms_norm (the residual keeps the input alive)
        normed = g.op(d.n_embd * T * F32, normed, inplace=True)  # x norm weight
        block = -1
        for sp in by_index[il]:
            if sp.kind == "recurrent":
                out = _ssm(g, normed, d, T, n_seq, inp)
            elif sp.kind == "none":
                continue
            else:
                m = masks["swa"] if sp.kind == "swa" else masks["full"]
                n_kv = T if encoder else (swa_cells if sp.kind == "swa" else full_cells)
                out = _attention(g, normed, inp, d, sp, n_kv, T, fa, m, encoder)
            block = out if block < 0 else g.op(d.n_embd * T * F32, block, out, inplace=True)
        if block < 0:
            block = normed
        if il == last:  # get_rows(cur, out_ids) and of the residual: n_outputs = n_tokens rows
            block = g.op(d.n_embd * T * F32, block, out_ids)
            res = g.op(d.n_embd * T * F32, res, out_ids)
        cur = g.op(d.n_embd * T * F32, block, res, inplace=True)  # residual add
        if d.arch in ("mamba", "mamba2"):
            continue  # the Mamba block has no FFN
        ffn_res = cur
        normed = g.op(d.n_embd * T * F32, cur)
        normed = g.op(d.n_embd * T * F32, normed, inplace=True)
        if d.n_expert and d.n_expert_used:
            f = _moe(g, normed, d, T)
        else:
            f = _ffn(g, normed, d, T, _layer_ff(d))
        cur = g.op(d.n_embd * T * F32, f, ffn_res, inplace=True)
    normed = g.op(d.n_embd * T * F32, cur)  # output norm
    normed = g.op(d.n_embd * T * F32, normed, inplace=True, output=True)  # result_norm (t_embd)
    if encoder:
        mean = g.input(T * T * F32)  # build_inp_mean: pooling = mean
        g.op(d.n_embd * n_seq * F32, g.view(normed), mean, output=True)
    else:
        g.op(d.n_vocab * T * F32, normed, output=True)  # result_output: the logits of every token
    return g


def output_bytes(d: Dims, *, n_seq: int, encoder: bool) -> int:
    """llama_context::output_reserve(n_seq_max): logits (and embeddings) of n_seq_max outputs, F32."""
    logits = d.n_vocab * n_seq * F32
    embd = d.n_embd * n_seq * F32 if encoder or d.arch == "t5" else 0
    return logits + embd


def compute(d: Dims | None, layout: Layout, *, n_ctx: int, n_seq: int, full_cells: int, swa_cells: int,
            n_ubatch: int = LLAMA_UBATCH, n_batch: int = LLAMA_BATCH, flash_attn: str = "auto") -> Compute:  # fmt: skip
    """Compute buffer (the reserved graph's peak) and output buffer of llama.cpp on the CPU."""
    if d is None:
        return Compute(None, None, unknown="model widths unknown (no embedding length or vocabulary size)")
    if layout.unknown and not layout.no_cache:
        return Compute(None, None, unknown=layout.unknown)
    encoder = d.arch in ENCODERS or layout.no_cache
    n_batch_eff = n_batch if encoder else min(n_ctx, n_batch)  # causal: n_batch <= n_ctx
    ub = min(n_batch_eff, n_ubatch)
    fa = flash_attn_enabled(flash_attn)
    g = build_graph(d, layout, n_ctx=n_ctx, n_seq=n_seq, n_ubatch=ub, swa_cells=swa_cells, full_cells=full_cells, fa=fa)
    peak = g.peak()
    out = output_bytes(d, n_seq=n_seq, encoder=encoder)
    T = ub if encoder else min(n_ctx, ub)
    terms = (
        Term("micro-batch", T, f"min(n_ctx, -ub {n_ubatch}, -b {n_batch})" if not encoder else f"-ub {n_ubatch}", "ubatch"),
        Term("flash attention", "on" if fa else "off", f"-fa {flash_attn}" + (" (auto: on for the CPU)" if flash_attn == "auto" else ""), "flash_attn"),
        Term("logits in the graph", d.n_vocab * T * F32, f"{d.n_vocab} vocab x {T} outputs x 4 B", "logits"),
        Term("compute buffer", peak, "peak of the reserved graph's live tensors, placed as ggml-alloc does", "compute"),
        Term("output buffer", out, f"{d.n_vocab} vocab x {n_seq} seq x 4 B" + (" + embeddings" if encoder else ""), "output"),
    )  # fmt: skip
    return Compute(peak, out, terms)

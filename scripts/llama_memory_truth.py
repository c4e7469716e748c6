"""Measure llama.cpp's own memory allocation for tiny models of every architecture mfi forecasts.

Issue 12, section 1: mfi's total memory must match what llama.cpp allocates (model, KV and recurrent
caches, compute and output buffers). This script builds that ground truth:

1. ``make``: for each architecture in ``ARCHS``, a tiny random-weight Hugging Face model made with
   transformers' ``from_config`` (small widths, but the real structure: GQA, sliding windows, MLA, MoE,
   recurrent state, encoder) and a tiny tokenizer, converted with llama.cpp's ``convert_hf_to_gguf.py``;
   a header-only copy of each GGUF (cut after the tensor infos) goes to ``tests/data/llama_truth/``.
2. ``run``: runs ``llama-completion`` (and ``llama-embedding`` for encoders) on the CPU with ``-v``
   (debug level: ``-lv 4`` leaves out the debug lines, such as the compute buffer with 4 decimals) over
   a grid of settings, parses every buffer it logs, and adds the exact bytes of llama.cpp's memory
   breakdown from ``scripts/llama_memory_probe.cpp``, into ``tests/data/llama_memory.json``.

Needs the ``truth`` extra (``pip install -e '.[truth]'``) and a llama.cpp source tree with its build;
see docs/llama-truth.md for the exact commands. Nothing here is imported by mfi.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TRUTH_DIR = DATA / "llama_truth"
TABLE = DATA / "llama_memory.json"
SCHEMA = "mfi.llama_memory_truth/1"

# A header-only GGUF above this size is committed gzip-compressed (the 262,144-token vocabulary of the
# Gemma 3 model alone is several MiB of token strings).
GZIP_ABOVE = 512 * 1024

PROMPT = "Hello world, this is a test"

CORPUS = (
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. "
    "How vexingly quick daft zebras jump! Sphinx of black quartz, judge my vow. "
    "Hello world, this is a test of a tiny tokenizer for memory measurements in llama.cpp. "
    "Models, tensors, caches and buffers: one two three four five six seven eight nine ten. "
)


@dataclass(frozen=True, slots=True)
class Arch:
    """One tiny model: its transformers config, model class, tokenizer kind and settings grid."""

    name: str
    config: str  # transformers config class
    kwargs: dict[str, Any]
    model: str = "AutoModelForCausalLM"  # transformers auto class (or model class) for from_config
    tokenizer: str = "bpe"  # bpe | spm | wordpiece
    swa: bool = False  # has sliding-window layers: add --swa-full runs
    recurrent: bool = False  # no maximum context: the grid stops at 32768
    embedding: bool = False  # encoder only: measured with llama-embedding too
    convert_args: tuple[str, ...] = ()  # extra convert_hf_to_gguf.py options
    symbols: tuple[str, ...] = ()  # tokens the SentencePiece model must hold


def _attn(hidden: int = 128, heads: int = 4, kv: int = 2, head_dim: int = 32, layers: int = 2,
          inter: int = 256, vocab: int = 2048, ctx: int = 32768) -> dict[str, Any]:
    return {
        "vocab_size": vocab, "hidden_size": hidden, "intermediate_size": inter,
        "num_hidden_layers": layers, "num_attention_heads": heads, "num_key_value_heads": kv,
        "head_dim": head_dim, "max_position_embeddings": ctx,
    }


ARCHS: tuple[Arch, ...] = (
    # SmolLM2-135M-like: the 49,152-token vocabulary, tied embeddings, GQA 9:3 scaled down to 4:2.
    Arch("llama", "LlamaConfig", {**_attn(vocab=49152, ctx=8192), "tie_word_embeddings": True}),
    # Gemma 3 270M-like: 262,144 tokens, 1 KV head, head_dim 256 -> 64, 5 sliding layers (512) per global.
    # SentencePiece: with a tokenizer.json the converter cuts token_embd to the tokenizer's own size
    # (conversion/gemma.py, Gemma3Model.modify_tensors), which a 300-token tokenizer would make tiny.
    Arch("gemma3", "Gemma3TextConfig", {
        **_attn(hidden=64, heads=4, kv=1, head_dim=64, layers=6, inter=128, vocab=262144, ctx=32768),
        "sliding_window": 512, "query_pre_attn_scalar": 64,
    }, model="Gemma3ForCausalLM", tokenizer="spm", swa=True),
    # Qwen3-0.6B-like: heads x head_dim (256) wider than hidden (128), 40,960 trained context.
    Arch("qwen3", "Qwen3Config", {**_attn(head_dim=64, ctx=40960), "tie_word_embeddings": True}),
    # all-MiniLM-L6-v2-like: BERT with the 30,522-token WordPiece vocabulary, 512 positions.
    Arch("bert", "BertConfig", {
        "vocab_size": 30522, "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
        "intermediate_size": 256, "max_position_embeddings": 512,
    }, model="BertModel", tokenizer="wordpiece", embedding=True),
    Arch("mamba", "MambaConfig", {
        "vocab_size": 2048, "hidden_size": 128, "state_size": 16, "num_hidden_layers": 2,
        "expand": 2, "conv_kernel": 4, "use_mambapy": False,
    }, recurrent=True),
    # wide layers and a small vocabulary: the feed-forward activations, not the logits, set the peak
    Arch("llama_wide", "LlamaConfig", _attn(hidden=1024, heads=16, kv=4, head_dim=64, inter=4096, ctx=8192)),
    Arch("qwen2", "Qwen2Config", _attn(ctx=32768)),
    Arch("mistral", "MistralConfig", {**_attn(ctx=32768), "sliding_window": 4096}),
    Arch("phi3", "Phi3Config", {**_attn(kv=4, ctx=4096), "original_max_position_embeddings": 4096,
                                "pad_token_id": 0}, tokenizer="spm",
         # llama-vocab.cpp sets attributes on these when the model name holds "phi3"
         symbols=("<s>", "<|endoftext|>")),
    Arch("qwen3_moe", "Qwen3MoeConfig", {
        **_attn(head_dim=64, ctx=40960), "num_experts": 8, "num_experts_per_tok": 2,
        "moe_intermediate_size": 64, "decoder_sparse_step": 1,
    }),
    Arch("gemma2", "Gemma2Config", {
        **_attn(layers=4, ctx=8192), "sliding_window": 4096, "query_pre_attn_scalar": 32,
    }, model="Gemma2ForCausalLM", tokenizer="spm", swa=True),
    Arch("cohere2", "Cohere2Config", {
        **_attn(layers=4, ctx=32768), "sliding_window": 4096, "sliding_window_pattern": 4,
        "rotary_pct": 1.0,  # the converter requires it (conversion/command_r.py, Cohere2Model)
    }, swa=True),
    # EXAONE 4.0 declares sliding layers; llama.cpp uses them only with 64 layers (issue 12).
    Arch("exaone4", "Exaone4Config", {
        **_attn(layers=4, ctx=32768), "sliding_window": 4096, "sliding_window_pattern": 4,
    }, swa=True),
    # MLA: the cached K row is kv_lora_rank + qk_rope_head_dim (96 here, 576 in DeepSeek-V3), a multiple
    # of 32 as a q8_0 cache needs; llama.cpp wants q_lora_rank unless the layer count is a Lite one (27, 26)
    Arch("deepseek2", "DeepseekV2Config", {
        **_attn(heads=4, kv=4, ctx=32768), "moe_intermediate_size": 64, "kv_lora_rank": 64,
        "q_lora_rank": 48, "qk_nope_head_dim": 32, "qk_rope_head_dim": 32, "v_head_dim": 32,
        "n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2, "first_k_dense_replace": 1,
    }),
    Arch("deepseek3", "DeepseekV3Config", {
        **_attn(heads=4, kv=4, ctx=32768), "moe_intermediate_size": 64, "kv_lora_rank": 64,
        "q_lora_rank": 48, "qk_nope_head_dim": 32, "qk_rope_head_dim": 32, "v_head_dim": 32,
        "n_routed_experts": 8, "n_shared_experts": 1, "num_experts_per_tok": 2, "first_k_dense_replace": 1,
        "n_group": 1, "topk_group": 1,
    }),
    Arch("gpt_oss", "GptOssConfig", {
        **_attn(ctx=131072, inter=128), "num_local_experts": 4, "num_experts_per_tok": 2,
        "sliding_window": 128,
    }, swa=True),
    Arch("llama4", "Llama4TextConfig", {
        **_attn(layers=4, ctx=65536, inter=128), "intermediate_size_mlp": 256, "num_local_experts": 4,
        "num_experts_per_tok": 1, "interleave_moe_layer_step": 1, "attention_chunk_size": 8192,
    }, model="Llama4ForCausalLM", swa=True),
    Arch("qwen3_next", "Qwen3NextConfig", {
        **_attn(layers=4, head_dim=64, ctx=65536), "full_attention_interval": 4,
        "linear_num_value_heads": 4, "linear_num_key_heads": 2, "linear_key_head_dim": 32,
        "linear_value_head_dim": 32, "linear_conv_kernel_dim": 4, "num_experts": 4,
        "num_experts_per_tok": 2, "moe_intermediate_size": 64, "shared_expert_intermediate_size": 64,
    }, convert_args=("--no-mtp",)),  # from_config makes no MTP block; real checkpoints carry one
    Arch("mamba2", "Mamba2Config", {
        "vocab_size": 2048, "hidden_size": 128, "num_hidden_layers": 2, "expand": 2, "head_dim": 32,
        "num_heads": 8, "n_groups": 1, "state_size": 16, "conv_kernel": 4,
    }, recurrent=True),
    Arch("falcon_h1", "FalconH1Config", {
        **_attn(ctx=16384), "mamba_d_ssm": 256, "mamba_n_heads": 8, "mamba_d_head": 32,
        "mamba_n_groups": 1, "mamba_d_state": 16, "mamba_d_conv": 4, "mamba_expand": 2,
    }),
    # two SSM groups: the conv state is (d_conv - 1) x (d_inner + 2 x n_group x d_state) (issue 12)
    Arch("granitemoehybrid", "GraniteMoeHybridConfig", {
        **_attn(layers=4, ctx=32768, inter=128), "layer_types": ["mamba", "attention", "mamba", "mamba"],
        "mamba_n_heads": 8, "mamba_d_head": 32, "mamba_n_groups": 2, "mamba_d_state": 16,
        "mamba_expand": 2, "num_local_experts": 4, "num_experts_per_tok": 2, "shared_intermediate_size": 128,
    }),
    Arch("jamba", "JambaConfig", {
        **_attn(layers=4, ctx=32768), "attn_layer_period": 4, "attn_layer_offset": 2,
        "expert_layer_period": 2, "expert_layer_offset": 1, "num_experts": 4, "num_experts_per_tok": 2,
        "mamba_d_state": 16, "mamba_d_conv": 4, "mamba_expand": 2, "use_mamba_kernels": False,
    }, tokenizer="spm"),  # without tokenizer.model the converter wants a Llama BPE tokenizer (conversion/jamba.py)
    Arch("t5", "T5Config", {
        "vocab_size": 2048, "d_model": 128, "d_kv": 32, "d_ff": 256, "num_layers": 2,
        "num_decoder_layers": 2, "num_heads": 4, "decoder_start_token_id": 0,
    }, model="T5ForConditionalGeneration", tokenizer="spm"),
)


# ---------------------------------------------------------------------------------------------------
# make: tiny HF models -> GGUF -> header-only copies


def _bpe_tokenizer(out: Path) -> None:
    """Save a byte-level BPE tokenizer of about 300 tokens (tokenizer.json) for the converter's gpt2 path."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<s>", "</s>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([CORPUS] * 4, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    fast.save_pretrained(out)


def _spm_tokenizer(out: Path, symbols: tuple[str, ...]) -> None:
    """Save a SentencePiece model (tokenizer.model) for converters that read only that (Gemma, Phi-3, T5)."""
    import io

    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(CORPUS.split(". ") * 8), model_writer=model,
                                   vocab_size=200, model_type="unigram", hard_vocab_limit=False,
                                   pad_id=0, eos_id=1, unk_id=2, bos_id=-1, minloglevel=2,
                                   user_defined_symbols=list(symbols))
    (out / "tokenizer.model").write_bytes(model.getvalue())


def _wordpiece_tokenizer(out: Path) -> None:
    """Save a WordPiece (BERT) tokenizer whose vocabulary is the corpus words and characters."""
    from transformers import BertTokenizerFast

    words = sorted(set(re.findall(r"\w+|[^\w\s]", CORPUS.lower())))
    chars = sorted({c for w in words for c in w} - set(words))
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *chars, *(f"##{c}" for c in chars)]
    path = out / "vocab.txt"
    path.write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast(vocab_file=str(path)).save_pretrained(out)


def make_hf(arch: Arch, out: Path) -> None:
    """Write a random-weight model of ``arch`` and its tokenizer to ``out`` (safetensors + config.json)."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = getattr(transformers, arch.config)(**arch.kwargs)
    cls = getattr(transformers, arch.model)
    model = cls.from_config(config) if arch.model.startswith("Auto") else cls(config)
    model = model.to(torch.float32)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    model.save_pretrained(out, safe_serialization=True)
    if arch.tokenizer == "wordpiece":
        _wordpiece_tokenizer(out)
    elif arch.tokenizer == "spm":
        _spm_tokenizer(out, arch.symbols)
    else:
        _bpe_tokenizer(out)


# The converter recognises a BPE pre-tokenizer by hashing how it splits a fixed text; a tiny trained
# tokenizer matches no upstream hash, so the converter is run with "gpt-2" as the answer. The
# pre-tokenizer only changes how text splits into tokens, never a buffer size.
_CONVERT = """
import runpy, sys
sys.path.insert(0, {src!r})
import conversion.base as base
base.TextModel.get_vocab_base_pre = lambda self, tokenizer: "gpt-2"
sys.argv = ["convert_hf_to_gguf.py", *{args!r}]
runpy.run_path({script!r}, run_name="__main__")
"""


def convert(llama_src: Path, hf: Path, gguf_out: Path, extra: tuple[str, ...] = ()) -> None:
    """Convert ``hf`` to an f16 GGUF with llama.cpp's converter."""
    args = [str(hf), "--outfile", str(gguf_out), "--outtype", "f16", *extra]
    code = _CONVERT.format(src=str(llama_src), args=args, script=str(llama_src / "convert_hf_to_gguf.py"))
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


def header_only(gguf_path: Path) -> bytes:
    """The GGUF's bytes up to the start of tensor data: header, metadata and tensor infos, padded."""
    from gguf import GGUFReader

    offset = GGUFReader(gguf_path).data_offset  # tensor infos end here, padded to general.alignment
    with gguf_path.open("rb") as f:
        return f.read(offset)


def commit_header(name: str, gguf_path: Path) -> Path:
    """Write the header-only copy under tests/data/llama_truth/, gzip-compressed when large."""
    TRUTH_DIR.mkdir(parents=True, exist_ok=True)
    head = header_only(gguf_path)
    for stale in TRUTH_DIR.glob(f"{name}.gguf*"):
        stale.unlink()
    if len(head) > GZIP_ABOVE:
        path = TRUTH_DIR / f"{name}.gguf.gz"
        path.write_bytes(gzip.compress(head, compresslevel=9, mtime=0))
    else:
        path = TRUTH_DIR / f"{name}.gguf"
        path.write_bytes(head)
    return path


def cmd_make(ns: argparse.Namespace) -> None:
    work: Path = ns.work
    for arch in _selected(ns.arch):
        hf = work / "hf" / arch.name
        out = work / "gguf" / f"{arch.name}.gguf"
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            make_hf(arch, hf)
            convert(ns.llama_src, hf, out, arch.convert_args)
        except subprocess.CalledProcessError as e:
            tail = (e.stderr or "").strip().splitlines()[-3:]
            print(f"{arch.name}: conversion failed: {' | '.join(tail)}", file=sys.stderr)
            continue
        except (ValueError, TypeError, AttributeError, KeyError, AssertionError, RuntimeError) as e:
            print(f"{arch.name}: model not made: {type(e).__name__}: {e}", file=sys.stderr)
            continue
        path = commit_header(arch.name, out)
        print(f"{arch.name}: {out.stat().st_size} bytes -> {path.relative_to(ROOT)} ({path.stat().st_size} bytes)")


# ---------------------------------------------------------------------------------------------------
# run: llama.cpp over a grid of settings; parse what it logs


def gguf_facts(path: Path) -> dict[str, Any]:
    """Architecture and trained context of a GGUF (for the grid's maximum context)."""
    from gguf import GGUFReader

    r = GGUFReader(path)
    arch = str(r.fields["general.architecture"].contents())
    field_ = r.fields.get(f"{arch}.context_length")
    return {"arch": arch, "n_ctx_train": int(field_.contents()) if field_ is not None else None}


def grid(arch: Arch, n_ctx_train: int | None) -> list[dict[str, Any]]:
    """The settings each model runs with: one factor at a time around ctx 4096, f16, fa on, np 1, ub 512."""
    ctxs = [512, 4096, 32768]
    if arch.recurrent or n_ctx_train is None:
        pass
    else:
        ctxs = sorted({c for c in ctxs if c < n_ctx_train} | {n_ctx_train})
    base = {"ctx": 4096 if 4096 in ctxs else ctxs[-1], "cache": "f16", "fa": "on", "np": 1, "ub": 512,
            "swa_full": False}
    runs: list[dict[str, Any]] = []

    def add(**kw: Any) -> None:
        run = {**base, **kw}
        if run not in runs:
            runs.append(run)

    for ctx in ctxs:
        for fa in ("on", "off"):
            add(ctx=ctx, fa=fa)
    top = ctxs[-1]
    for ctx in {base["ctx"], top}:
        add(ctx=ctx, cache="q8_0", fa="on")  # a quantized V cache needs flash attention
    for fa in ("on", "off"):
        add(np=2, fa=fa)
        add(ub=256, fa=fa)
    add(ctx=top, ub=256, fa="off")
    add(ctx=top, np=2, fa="off")
    if arch.swa:
        for ctx in {base["ctx"], top}:
            for fa in ("on", "off"):
                add(ctx=ctx, fa=fa, swa_full=True)
    return runs


def command(binary: Path, model: Path, run: dict[str, Any]) -> list[str]:
    """The llama.cpp command line for one run (CPU, one thread, a few prompt tokens, one new token)."""
    cmd = [str(binary), "-m", str(model), "-c", str(run["ctx"]), "-ub", str(run["ub"]),
           "-ctk", run["cache"], "-ctv", run["cache"], "-fa", run["fa"], "-np", str(run["np"]),
           "-t", "1", "-v", "-p", PROMPT, "--no-warmup", "-fit", "off"]
    if run["swa_full"]:
        cmd.append("--swa-full")
    if binary.name == "llama-embedding":
        # embedding.cpp turns -np 1 into n_seq_max sequences on a unified cache and sets
        # n_ubatch = n_batch >= n_ctx for non-causal models: recorded as it does it (see cparams)
        cmd += ["--pooling", "mean"]
    else:
        cmd += ["-n", "1", "--temp", "0", "-no-cnv"]
    return cmd


_MIB = r"([0-9]+\.[0-9]+) MiB"
_PATTERNS: dict[str, re.Pattern[str]] = {
    "model": re.compile(rf"load_tensors:\s+(\S+) model buffer size =\s+{_MIB}"),
    "output": re.compile(rf"llama_context:\s+(\S+)\s+output buffer size =\s+{_MIB}"),
    "kv": re.compile(rf"llama_kv_cache:\s+(\S+) KV buffer size =\s+{_MIB}"),
    "kv_detail": re.compile(
        r"llama_kv_cache: size =\s+([0-9.]+) MiB \(\s*(\d+) cells,\s+(\d+) layers,\s+(\d+)/(\d+) seqs\), "
        r"K \((\w+)\):\s+([0-9.]+) MiB, V \((\w+)\):\s+([0-9.]+) MiB"),
    "rs": re.compile(rf"llama_memory_recurrent:\s+(\S+) RS buffer size =\s+{_MIB}"),
    "rs_detail": re.compile(
        r"llama_memory_recurrent: size =\s+([0-9.]+) MiB \(\s*(\d+) cells,\s+(\d+) layers,\s+(\d+) seqs\s+(\d+) rs_seq\), "
        r"R \((\w+)\):\s+([0-9.]+) MiB, S \((\w+)\):\s+([0-9.]+) MiB"),
    "compute": re.compile(rf"sched_reserve:\s+(\S+) compute buffer size =\s+{_MIB}"),
    "compute_4dp": re.compile(r"~llama_context:\s+(\S+) compute buffer size (?:is|of)\s+([0-9.]+) MiB"),
    "graph": re.compile(r"sched_reserve: graph.*?: nodes = ([0-9 /]+), splits = ([0-9 /]+)"),
    "breakdown": re.compile(
        r"memory_breakdown_print: \|\s+- Host\s+\|\s+(\d+)\s*=\s*(\d+)\s*\+\s*(\d+)\s*\+\s*(\d+)\s+\|"),
    "iswa": re.compile(r"llama_kv_cache_iswa: creating\s+(non-SWA|SWA) KV cache, size = (\d+) cells"),
}
_CPARAMS = ("n_seq_max", "n_ctx", "n_ctx_seq", "n_batch", "n_ubatch", "causal_attn", "flash_attn",
            "kv_unified", "n_outputs_max")
_CPARAM = re.compile(r"llama_context: (\w+)\s+= (\S+)")


def parse_log(text: str) -> dict[str, Any]:
    """Every buffer size llama.cpp logged: MiB as printed (2 decimals; compute also with 4)."""
    rec: dict[str, Any] = {"model_mib": {}, "kv_mib": [], "rs_mib": [], "compute_mib": {}, "cparams": {}}
    kv_labels: list[str] = []
    for line in text.splitlines():
        if m := _PATTERNS["model"].search(line):
            rec["model_mib"][m[1]] = float(m[2])
        elif m := _PATTERNS["output"].search(line):
            rec["output_mib"] = float(m[2])
        elif m := _PATTERNS["iswa"].search(line):
            kv_labels.append(m[1])
        elif m := _PATTERNS["kv"].search(line):
            rec["kv_mib"].append({"buffer": m[1], "mib": float(m[2])})
        elif m := _PATTERNS["kv_detail"].search(line):
            rec["kv_mib"][-1].update(cells=int(m[2]), layers=int(m[3]), seqs=int(m[5]), type_k=m[6],
                                     k_mib=float(m[7]), type_v=m[8], v_mib=float(m[9]))
        elif m := _PATTERNS["rs"].search(line):
            rec["rs_mib"].append({"buffer": m[1], "mib": float(m[2])})
        elif m := _PATTERNS["rs_detail"].search(line):
            rec["rs_mib"][-1].update(cells=int(m[2]), layers=int(m[3]), seqs=int(m[4]), type_r=m[6],
                                     r_mib=float(m[7]), type_s=m[8], s_mib=float(m[9]))
        elif m := _PATTERNS["compute"].search(line):
            rec["compute_mib"][m[1]] = float(m[2])
        elif m := _PATTERNS["compute_4dp"].search(line):
            rec.setdefault("compute_mib_4dp", {})[m[1]] = float(m[2])
        elif m := _PATTERNS["graph"].search(line):
            rec["graph"] = {"nodes": m[1].strip(), "splits": m[2].strip()}
        elif m := _PATTERNS["breakdown"].search(line):
            rec["breakdown_host_mib"] = {"self": int(m[1]), "model": int(m[2]), "context": int(m[3]),
                                         "compute": int(m[4])}
        elif (m := _CPARAM.search(line)) and m[1] in _CPARAMS:
            rec["cparams"][m[1]] = m[2]
    # llama_kv_cache_iswa announces its two caches (non-SWA first) before each logs its buffer
    for entry, label in zip(rec["kv_mib"], kv_labels, strict=False):
        entry["kind"] = "swa" if label == "SWA" else "full"
    return rec


_PROBE = re.compile(r"memory_probe: (\S+) model=(\d+) context=(\d+) compute=(\d+)")


def build_probe(llama_src: Path, bin_dir: Path) -> Path:
    """Compile scripts/llama_memory_probe.cpp against the llama.cpp build (exact bytes of the breakdown)."""
    out = bin_dir / "llama-memory-probe"
    src = Path(__file__).with_name("llama_memory_probe.cpp")
    if out.exists() and out.stat().st_mtime > src.stat().st_mtime:
        return out
    includes = [f"-I{llama_src / d}" for d in ("include", "common", "src", "ggml/include", "vendor")]
    subprocess.run(["g++", "-std=c++17", "-O1", *includes, str(src), "-o", str(out), f"-L{bin_dir}",
                    "-lllama-common", "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{bin_dir}"], check=True)
    return out


def probe_bytes(probe: Path, cmd: list[str]) -> dict[str, dict[str, int]] | None:
    """Run the probe with a llama-completion command's arguments: model/context/compute bytes per buffer."""
    proc = subprocess.run([str(probe), *cmd[1:]], capture_output=True, text=True, timeout=600)
    found = {m[1]: {"model": int(m[2]), "context": int(m[3]), "compute": int(m[4])}
             for m in _PROBE.finditer(proc.stdout)}
    return found or None


def cmd_run(ns: argparse.Namespace) -> None:
    table = json.loads(TABLE.read_text()) if TABLE.exists() else {"records": []}
    selected = _selected(ns.arch)
    names = {a.name for a in selected}
    records = [r for r in table.get("records", []) if r["model"] not in names]
    probe = build_probe(ns.llama_src, ns.bin_dir)
    for arch in selected:
        gguf_path = ns.work / "gguf" / f"{arch.name}.gguf"
        if not gguf_path.exists():
            print(f"{arch.name}: no GGUF, skipped", file=sys.stderr)
            continue
        facts = gguf_facts(gguf_path)
        header = next(TRUTH_DIR.glob(f"{arch.name}.gguf*"))
        # encoders: llama-completion reserves the same buffers as a decoder would (then aborts, as BERT
        # adds EOS), llama-embedding is how they are served
        tools = ("llama-completion", "llama-embedding") if arch.embedding else ("llama-completion",)
        for tool, run in ((t, r) for t in tools for r in grid(arch, facts["n_ctx_train"])):
            binary = ns.bin_dir / tool
            cmd = command(binary, gguf_path, run)
            for _ in range(3):
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                log = proc.stdout + proc.stderr
                rec = parse_log(log)
                # the log goes through common_log's worker thread; now and then a run's log ends early
                if rec["compute_mib"]:
                    break
            # llama-embedding changes its parameters itself (see command()); the probe parses as llama-completion
            rec["breakdown_bytes"] = probe_bytes(probe, cmd) if tool == "llama-completion" else None
            shown = [Path(c).name if c in (str(binary), str(gguf_path)) else c for c in cmd]
            records.append({"model": arch.name, "arch": facts["arch"], "gguf": str(header.relative_to(ROOT)),
                            "n_ctx_train": facts["n_ctx_train"], "tool": tool, "settings": run,
                            "returncode": proc.returncode, "command": shown, **rec})
            status = "ok" if rec.get("compute_mib") else f"FAILED rc={proc.returncode}"
            print(f"{arch.name} {tool} {run}: compute {rec.get('compute_mib')} output {rec.get('output_mib')} {status}")
            if not rec.get("compute_mib"):
                (ns.work / "logs").mkdir(exist_ok=True)
                (ns.work / "logs" / f"{arch.name}-{len(records)}.log").write_text(log)
    order = {a.name: i for i, a in enumerate(ARCHS)}
    records.sort(key=lambda r: order.get(r["model"], len(order)))
    table = {"schema": SCHEMA, "llama_cpp": ns.version, "records": records}
    TABLE.write_text(json.dumps(table, indent=1) + "\n")
    print(f"{len(records)} records -> {TABLE.relative_to(ROOT)}")


def _selected(names: list[str] | None) -> list[Arch]:
    if not names:
        return list(ARCHS)
    known = {a.name: a for a in ARCHS}
    return [known[n] for n in names]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", choices=["make", "run", "all"])
    p.add_argument("--arch", nargs="*", help="architectures to do (default: all)")
    p.add_argument("--llama-src", type=Path, default=Path("/work/gt/llama_cpp_python-0.3.36/vendor/llama.cpp"))
    p.add_argument("--bin-dir", type=Path, default=Path("/work/gt/build/bin"))
    p.add_argument("--work", type=Path, default=Path("/work/gt/work"))
    p.add_argument("--version", default="llama.cpp 0c1e57098 (llama-cpp-python 0.3.36 sdist), CPU build")
    ns = p.parse_args()
    if ns.step in ("make", "all"):
        cmd_make(ns)
    if ns.step in ("run", "all"):
        cmd_run(ns)


if __name__ == "__main__":
    main()

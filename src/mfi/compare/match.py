"""Compare two ``ModelSummary`` objects: architecture, tensors across naming schemes, tokenizer, totals.

Hugging Face names are matched to GGUF names with the ``gguf`` package's own tensor-name map for the
architecture (``gguf.get_tensor_name_map``), so the map is never retyped here. What conversion
changes is undone before comparing: GGUF lists dimensions fastest first (shapes are reversed to
row-major), per-expert HF tensors become one stacked ``ffn_*_exps`` tensor, a tied output head is
absent, multimodal checkpoints nest the language model under ``model.language_model.``, and some
converters split or transpose a tensor or shift its values (``conversion`` holds those rules).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from dataclasses import dataclass, field
from typing import Any

from .records import (
    DIFFERENT,
    EQUAL,
    MISSING,
    Comparison,
    FieldRow,
    LayerQuant,
    Slice,
    TensorPair,
    TokenizerComparison,
    Unpaired,
)
from ..formats import tables
from ..records import ModelSummary, SpecialToken, TensorInfo, Tokenizer
from . import conversion

#: HF model types llama.cpp's converter writes under another architecture name
#: (convert_hf_to_gguf.py registers MistralForCausalLM and MixtralForCausalLM on LlamaModel).
_ARCH_ALIASES = {"mistral": "llama", "mixtral": "llama"}
#: GGUF architectures whose converter permutes attention Q/K rows (``LlamaModel.undo_permute = True``
#: in convert_hf_to_gguf.py and its subclasses GraniteModel, GraniteMoeModel, NanbeigeModel).
PERMUTED_ARCHES = frozenset({"llama", "granite", "granitemoe", "nanbeige"})
#: Prefixes under which multimodal checkpoints keep the language model (converters strip them).
_PREFIXES = (("model.language_model.", "model."), ("language_model.model.", "model."), ("language_model.", ""))
_SUFFIXES = (".weight", ".bias")
_EXPERT = re.compile(r"\.experts\.(\d{1,9})\.")  # 9 digits at most: int() of a 5,000-digit name raises
_BLOCK = re.compile(r"(?:^|\.)(?:blk|layers|h|layer|block|blocks)\.(\d{1,9})\.")
#: Top-level parts of multimodal checkpoints that are not the language model.
_TOWER = re.compile(r"(?:^|\.)(?:visual|vision_tower|vision_model|audio_tower|multi_modal_projector|mm_projector)\.")
_QK = re.compile(r"^blk\.\d+\.attn_(q|k)\.(?:weight|bias)$")
#: HF tensors the converter drops, and why.
_HF_DROPPED = (
    (re.compile(r"rotary_emb\.inv_freq$"), "rotary frequencies are recomputed at load time; the converter drops them"),
    (re.compile(r"\.(weight_scale_inv|weight_scale|input_scale)$"), "FP8 scales are folded into the weights on conversion"),
)
#: GGUF tokenizer models and the tokenizer.json model types they are converted from.
_TOKENIZER_KINDS = {"gpt2": {"BPE"}, "llama": {"BPE", "Unigram"}, "t5": {"Unigram"}, "bert": {"WordPiece"}}


def gguf_arch_name(s: ModelSummary) -> str | None:
    """The GGUF architecture name of a summary (``qwen3_moe`` -> ``qwen3moe``), if the package knows it."""
    name = s.architecture.name
    if not isinstance(name, str):
        return None
    known = tables.gguf_architectures()
    if s.format == "gguf":
        return name if name in known else None
    squashed = {re.sub(r"[-_]", "", n): n for n in known}
    low = name.lower()
    for cand in (low, low.removesuffix("_text"), _ARCH_ALIASES.get(low)):
        if cand and re.sub(r"[-_]", "", cand) in squashed:
            return squashed[re.sub(r"[-_]", "", cand)]
    return None


def _block(name: str) -> int | None:
    m = _BLOCK.search(name)
    return int(m.group(1)) if m else None


class _Namer:
    """HF tensor name -> GGUF name through the gguf package's map for one architecture."""

    def __init__(self, arch: str, n_blocks: int) -> None:
        import gguf

        enum = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[arch]
        self.arch = arch
        self.map = gguf.get_tensor_name_map(enum, n_blocks)
        self._vision: Any = None
        self._n_blocks = n_blocks

    def gguf_name(self, name: str) -> str | None:
        """The GGUF name the converter gives ``name``, or ``None``."""
        for cand in _candidates(name):
            got = self.map.get_name(cand, try_suffixes=_SUFFIXES)
            if got is not None:
                return got
        return None

    def gguf_type(self, gguf_name: str) -> Any:
        """The ``MODEL_TENSOR`` of a GGUF tensor name, or ``None``."""
        return self.map.get_type(gguf_name, try_suffixes=_SUFFIXES)

    def is_tower(self, name: str) -> bool:
        """Whether the mmproj map knows ``name`` (vision/audio towers go to a separate mmproj GGUF)."""
        if self._vision is None:
            import gguf

            self._vision = gguf.get_tensor_name_map(gguf.MODEL_ARCH.MMPROJ, self._n_blocks)
        cands = [name, name.removeprefix("model.")]
        return any(self._vision.get_name(c, try_suffixes=_SUFFIXES) is not None for c in cands)


def _candidates(name: str) -> list[str]:
    out = [name]
    for prefix, repl in _PREFIXES:
        if name.startswith(prefix):
            out.append(repl + name[len(prefix) :])
    return out


@dataclass(slots=True)
class _Entry:
    """One logical tensor on one side: a tensor, or a layer's experts grouped."""

    key: str
    infos: list[TensorInfo]
    shape: tuple[int, ...] | None
    experts: dict[int, TensorInfo] = field(default_factory=dict)
    #: The part of its one tensor the converter splits off (or transposes), if any.
    part: conversion.Part | None = None

    @property
    def dtype(self) -> str:
        types = {t.dtype for t in self.infos}
        return types.pop() if len(types) == 1 else "mixed(" + ",".join(sorted(types)) + ")"

    @property
    def n_bytes(self) -> int | None:
        total = 0
        for t in self.infos:
            if t.n_bytes is None:
                return None
            total += t.n_bytes
        return total // self.part.parts if self.part is not None else total


def _logical(s: ModelSummary, t: TensorInfo) -> tuple[int, ...]:
    """Row-major shape: GGUF lists ``ne`` fastest dimension first."""
    return tuple(reversed(t.shape)) if s.format == "gguf" else t.shape


def _plain_entries(s: ModelSummary) -> dict[str, _Entry]:
    return {t.name: _Entry(t.name, [t], _logical(s, t)) for t in s.tensors}


def _hf_entries(s: ModelSummary, namer: _Namer) -> tuple[dict[str, _Entry], list[Unpaired]]:
    """Key HF tensors by their GGUF names; group per-expert tensors; set aside what the converter drops."""
    entries: dict[str, _Entry] = {}
    dropped: list[Unpaired] = []
    unmapped: list[TensorInfo] = []
    for t in s.tensors:
        parts = conversion.split(namer.arch, t.name)
        if parts is not None:
            gnames = [g for part in parts if (g := namer.gguf_name(part.name)) is not None]
            if len(gnames) < len(parts) or any(g in entries for g in gnames):
                unmapped.append(t)
                continue
            for gname, part in zip(gnames, parts):
                kept = part if part.parts > 1 or part.transposed else None  # else a rename only
                entries[gname] = _Entry(gname, [t], conversion.part_shape(t.shape, part), part=kept)
            continue
        m = _EXPERT.search(t.name)
        if m:
            merged = t.name[: m.start()] + ".experts." + t.name[m.end() :]
            key = namer.gguf_name(merged)
            if key is not None:
                e = entries.setdefault(key, _Entry(key, [], None))
                e.experts[int(m.group(1))] = t
                continue
        key = namer.gguf_name(t.name)
        if key is None:
            reason = next((r for pat, r in _HF_DROPPED if pat.search(t.name)), None)
            if reason is None and (_TOWER.search(t.name) or namer.is_tower(t.name)):
                reason = "vision/audio tower: llama.cpp writes it to a separate mmproj GGUF"
            if reason is not None:
                dropped.append(Unpaired("", t.name, reason))
            else:
                unmapped.append(t)
            continue
        if key in entries:  # two HF names for one GGUF name: keep the second visible as unmatched
            unmapped.append(t)
            continue
        entries[key] = _Entry(key, [t], t.shape)
    for key, e in entries.items():
        if e.experts:
            order = sorted(e.experts)
            e.infos = [e.experts[i] for i in order]
            shapes = {t.shape for t in e.infos}
            if order == list(range(len(order))) and len(shapes) == 1:
                e.shape = (len(order), *shapes.pop())
    for t in unmapped:
        entries[t.name] = _Entry(t.name, [t], t.shape)
    return entries, dropped


def _n_blocks(left: ModelSummary, right: ModelSummary) -> int:
    found = [b for s in (left, right) for t in s.tensors if (b := _block(t.name)) is not None]
    declared = [s.architecture.layers for s in (left, right) if isinstance(s.architecture.layers, int)]
    return max([0, *declared, *(b + 1 for b in found)])


def _squeeze(shape: tuple[int, ...] | None) -> tuple[int, ...] | None:
    return None if shape is None else tuple(d for d in shape if d != 1)


def match_tensors(left: ModelSummary, right: ModelSummary) -> dict[str, Any]:
    """Pair the two sides' tensors; returns pairs, only_left, only_right, unpaired, naming, notes."""
    notes: list[str] = []
    unpaired: list[Unpaired] = []
    namer: _Namer | None = None
    if left.format != right.format:
        gguf_side = left if left.format == "gguf" else right
        arch = gguf_arch_name(gguf_side) or gguf_arch_name(right if gguf_side is left else left)
        if arch is None:
            notes.append("architecture unknown to the installed gguf package: tensor names compared as written")
        else:
            namer = _Namer(arch, _n_blocks(left, right))
    sides = []
    for side, s in (("left", left), ("right", right)):
        if namer is not None and s.format != "gguf":
            entries, dropped = _hf_entries(s, namer)
            unpaired += [Unpaired(side, u.name, u.reason) for u in dropped]
        else:
            entries = _plain_entries(s)
        sides.append(entries)
    lmap, rmap = sides
    prefixes = False
    if namer is None and "gguf" not in (left.format, right.format):
        lmap, rmap = _without_prefixes(lmap), _without_prefixes(rmap)
        prefixes = any(k != e.infos[0].name for m in (lmap, rmap) for k, e in m.items())
        unpaired += _towers(lmap, rmap)
    if namer is not None:
        rope = {"ROPE_FREQS", "ROPE_FACTORS_LONG", "ROPE_FACTORS_SHORT"}
        for side, entries, other in (("left", lmap, rmap), ("right", rmap, lmap)):
            for key in [k for k in entries if k not in other]:
                kind = namer.gguf_type(key)
                if kind is not None and kind.name in rope and (left if side == "left" else right).format == "gguf":
                    unpaired.append(Unpaired(side, key, "rope frequency factors computed by the converter from the rope scaling"))
                    del entries[key]
    for side, entries, other in (("left", lmap, rmap), ("right", rmap, lmap)):
        for key in [k for k in entries if k not in other and k.endswith("_scale_inv") and k.removesuffix("_scale_inv") in entries]:
            unpaired.append(Unpaired(side, key, "FP8 block scales of the weight beside them (applied when values are compared)"))
            del entries[key]
    unpaired += _tied(lmap, rmap, left, right)
    gguf_arch = namer.arch if namer is not None else None
    pairs = [_pair(lmap[k], rmap[k], left, right, gguf_arch) for k in lmap if k in rmap]
    # dict.fromkeys: a split tensor whose parts are all missing is listed once
    only_left = tuple(dict.fromkeys(t.name for k, e in lmap.items() if k not in rmap for t in e.infos))
    only_right = tuple(dict.fromkeys(t.name for k, e in rmap.items() if k not in lmap for t in e.infos))
    naming = f"gguf name map ({namer.arch})" if namer is not None else "names as written"
    if prefixes:
        naming += ", multimodal prefixes stripped"
    return {"pairs": pairs, "only_left": only_left, "only_right": only_right, "unpaired": unpaired, "naming": naming, "notes": notes}


def _without_prefixes(entries: dict[str, _Entry]) -> dict[str, _Entry]:
    """Entries keyed without the multimodal language-model prefix (``model.language_model.`` -> ``model.``).

    Kept as written when stripping would make two names one.
    """
    canon = {k: _candidates(k)[-1] for k in entries}
    if len(set(canon.values())) != len(canon):
        return entries
    return {canon[k]: dataclasses.replace(e, key=canon[k]) for k, e in entries.items()}


def _towers(lmap: dict[str, _Entry], rmap: dict[str, _Entry]) -> list[Unpaired]:
    """Vision/audio tower tensors of one checkpoint when the other has none (a text-only model)."""
    out = []
    for side, mine, other in (("left", lmap, rmap), ("right", rmap, lmap)):
        if any(_TOWER.search(k) for k in other):
            continue
        for key in [k for k in mine if _TOWER.search(k) and k not in other]:
            out += [Unpaired(side, t.name, "vision/audio tower; the other model is text-only") for t in mine.pop(key).infos]
    return out


def _is_output(key: str) -> bool:
    return key == "output.weight" or key.endswith("lm_head.weight")


def _is_embedding(key: str) -> bool:
    return key == "token_embd.weight" or key.endswith("embed_tokens.weight")


def _tied(lmap: dict[str, _Entry], rmap: dict[str, _Entry], left: ModelSummary, right: ModelSummary) -> list[Unpaired]:
    """An output head on one side only, where the other side ties it to the token embedding."""
    out = []
    for side, mine, other, other_s in (("left", lmap, rmap, right), ("right", rmap, lmap, left)):
        for key in [k for k in mine if _is_output(k) and k not in other]:
            has_output = any(_is_output(k) for k in other)
            embed = next((k for k in other if _is_embedding(k)), None)
            if not has_output and embed is not None and other_s.architecture.tie_word_embeddings is not False:
                other_side = "right" if side == "left" else "left"
                for t in mine.pop(key).infos:
                    out.append(Unpaired(side, t.name, f"output head tied to {embed} on the {other_side}"))
    return out


def _pair(le: _Entry, re_: _Entry, left: ModelSummary, right: ModelSummary, gguf_arch: str | None) -> TensorPair:
    ls, rs = le.shape, re_.shape
    shape_equal = ls is not None and rs is not None and _squeeze(ls) == _squeeze(rs)
    notes = []
    for e in (le, re_):
        if e.experts:
            notes.append(f"{len(e.experts)} experts stacked")
            if e.shape is None:
                notes.append("expert tensors incomplete or of different shapes")
    qk_heads = None
    m = _QK.match(le.key)
    if gguf_arch in PERMUTED_ARCHES and m:
        g = left if left.format == "gguf" else right
        o = right if g is left else left
        heads_q = g.architecture.attention_heads or o.architecture.attention_heads
        heads_k = g.architecture.kv_heads or o.architecture.kv_heads or heads_q
        qk_heads = heads_q if m.group(1) == "q" else heads_k
        notes.append("Q/K rows permuted by the converter")
    split = None
    for side, e in (("left", le), ("right", re_)):
        if e.part is not None:
            p = e.part
            split = Slice(p.part, p.parts, p.interleaved, p.axis, p.transposed, side=side)
            how = ("interleaved " if p.interleaved else "contiguous ") + ("rows" if p.axis == -2 else "elements")
            what = f"part {p.part + 1} of {p.parts} ({how})" if p.parts > 1 else "whole"
            notes.append(f"{what} of {e.infos[0].name}" + (", transposed" if p.transposed else "") + " (split by the converter)")
    shift = None
    if gguf_arch is not None:
        hf = right if left.format == "gguf" else left
        hf_entry = re_ if hf is right else le
        if hf.format != "gguf" and len(hf_entry.infos) == 1:
            shift = conversion.norm_shift(gguf_arch, hf_entry.infos[0].name)
            if shift:
                notes.append(f"the converter adds {shift:g} to {gguf_arch} norm weights")
    n = math.prod(ls or ())
    layer = _block(le.key)
    return TensorPair(
        key=le.key, left=tuple(t.name for t in le.infos), right=tuple(t.name for t in re_.infos),
        left_type=le.dtype, right_type=re_.dtype, left_shape=tuple(ls or ()), right_shape=tuple(rs or ()),
        left_bytes=le.n_bytes, right_bytes=re_.n_bytes, params=n, layer=layer, shape_equal=shape_equal,
        qk_heads=qk_heads, note="; ".join(notes) or None, split=split, shift=shift,
    )  # fmt: skip


# -- field rows ---------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, int) and isinstance(b, int):  # counts and sizes: exact
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=0.0)  # GGUF stores float32
    if isinstance(a, dict) and isinstance(b, dict):
        common = set(a) & set(b)
        return bool(common) and all(_same(a[k], b[k]) for k in common)
    return a == b


def field_row(name: str, left: Any, right: Any, note: str | None = None) -> FieldRow:
    """A row: ``missing`` when either side is unknown (or empty), else equal or different."""
    if left is None or right is None or left == {} or right == {}:
        return FieldRow(name, left, right, MISSING)
    return FieldRow(name, left, right, EQUAL if _same(left, right) else DIFFERENT, note)


def architecture_rows(left: ModelSummary, right: ModelSummary) -> tuple[FieldRow, ...]:
    """Every normalised architecture field left and right."""
    a, b = left.architecture, right.architecture
    rows = []
    for f in a.FIELDS:
        lv, rv = getattr(a, f), getattr(b, f)
        if f == "name" and lv is not None and rv is not None and lv != rv:
            la, ra = gguf_arch_name(left), gguf_arch_name(right)
            if la is not None and la == ra:
                rows.append(FieldRow(f, lv, rv, EQUAL, f"both are GGUF architecture {la}"))
                continue
        rows.append(field_row(f, lv, rv))
    if a.towers or b.towers:
        rows.append(field_row("towers", a.towers or None, b.towers or None))
    return tuple(rows)


def totals_rows(left: ModelSummary, right: ModelSummary, pairs: list[TensorPair]) -> tuple[FieldRow, ...]:
    """Parameters, matched parameters, tensor counts and bytes, bits per weight, file sizes."""
    matched_right = sum(math.prod(p.right_shape) for p in pairs)
    return (
        field_row("parameters", left.parameters.total, right.parameters.total),
        field_row("matched parameters", sum(p.params for p in pairs), matched_right),
        field_row("tensors", len(left.tensors), len(right.tensors)),
        field_row("tensor bytes", left.quantization.total_bytes, right.quantization.total_bytes),
        field_row("bits per weight", left.quantization.bits_per_weight, right.quantization.bits_per_weight),
        field_row("file size", left.total_size, right.total_size),
    )


def layer_quant(pairs: list[TensorPair]) -> tuple[LayerQuant, ...]:
    """Matched tensors grouped by block, blocks in order, tensors outside blocks last."""
    by: dict[int | None, list[TensorPair]] = {}
    for p in pairs:
        by.setdefault(p.layer, []).append(p)
    order = sorted((k for k in by if k is not None)) + ([None] if None in by else [])
    return tuple(LayerQuant(k, tuple(by[k])) for k in order)


# -- tokenizer ----------------------------------------------------------------------------------


def _special(sp: SpecialToken | None) -> dict[str, Any] | None:
    return None if sp is None else {"text": sp.text, "id": sp.id}


def _special_row(role: str, a: SpecialToken | None, b: SpecialToken | None) -> FieldRow:
    la, lb = _special(a), _special(b)
    if a is None or b is None:
        return FieldRow(role, la, lb, MISSING)
    # A side that knows only the id or only the text agrees when what it knows agrees.
    ids = a.id is None or b.id is None or a.id == b.id
    texts = a.text is None or b.text is None or a.text == b.text
    return FieldRow(role, la, lb, EQUAL if ids and texts else DIFFERENT)


def _kind_row(a: str | None, b: str | None) -> FieldRow:
    if a is not None and b is not None and a != b:
        for g, h in ((a, b), (b, a)):
            if h in _TOKENIZER_KINDS.get(g, ()):
                return FieldRow("model", a, b, EQUAL, f"GGUF {g} is converted from a tokenizer.json {h} model")
    return field_row("model", a, b)


def tokenizer_comparison(
    a: Tokenizer | None, b: Tokenizer | None, *, cross_format: bool = False, template_diff: bool = False
) -> TokenizerComparison | None:
    """Model type, vocabulary, special tokens, token-list identity and chat template, side by side."""
    if a is None and b is None:
        return None
    ga = (lambda attr: getattr(a, attr) if a is not None else None)  # noqa: E731
    gb = (lambda attr: getattr(b, attr) if b is not None else None)  # noqa: E731
    rows = [_kind_row(ga("model"), gb("model"))]
    if cross_format and ga("pre") and gb("pre"):  # GGUF names the pre-tokenizer by model family
        rows.append(FieldRow("pre", ga("pre"), gb("pre"), MISSING, "named differently by each format"))
    else:
        rows.append(field_row("pre", ga("pre"), gb("pre")))
    rows += [field_row(f, ga(f), gb(f)) for f in ("vocab_size", "merges", "added_tokens")]
    sa, sb = ga("special") or {}, gb("special") or {}
    special = tuple(_special_row(r, sa.get(r), sb.get(r)) for r in dict.fromkeys([*sa, *sb]))
    da, db = ga("tokens_digest"), gb("tokens_digest")
    identical = None if da is None or db is None else da == db
    ta = a.chat_template if a is not None else None
    tb = b.chat_template if b is not None else None
    if ta is None and tb is None:
        state = "none"
    elif ta is None or tb is None:
        state = "missing"
    else:
        state = "identical" if ta == tb else "different"
    diff = None
    if template_diff and ta is not None and tb is not None and ta != tb:  # state "different"
        diff = "".join(difflib.unified_diff(
            ta.splitlines(keepends=True), tb.splitlines(keepends=True), "left/chat_template", "right/chat_template",
        ))  # fmt: skip
    return TokenizerComparison(tuple(rows), special, identical, state, diff)


def compare(left: ModelSummary, right: ModelSummary, *, template_diff: bool = False) -> Comparison:
    """Structural comparison of two models (no tensor data read)."""
    m = match_tensors(left, right)
    pairs = m["pairs"]
    return Comparison(
        left=left, right=right,
        architecture=architecture_rows(left, right),
        naming=m["naming"],
        pairs=tuple(pairs),
        only_left=m["only_left"], only_right=m["only_right"],
        unpaired=tuple(m["unpaired"]),
        layers=layer_quant(pairs),
        tokenizer=tokenizer_comparison(
            left.tokenizer, right.tokenizer, cross_format=left.format != right.format, template_diff=template_diff
        ),
        totals=totals_rows(left, right, pairs),
        notes=tuple(m["notes"]),
    )  # fmt: skip

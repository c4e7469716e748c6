"""Tokenizer facts from GGUF keys or from tokenizer.json / tokenizer_config.json."""

from __future__ import annotations

import hashlib
import struct
from typing import TYPE_CHECKING, Any

from ..formats import tables
from ..records import ArrayValue, SpecialToken, Tokenizer
from .fields import is_count, mapping

if TYPE_CHECKING:
    from ..formats.gguf import GGUFFile

_ROLES = ("bos", "eos", "eot", "eom", "pad", "unk", "sep", "mask")


def from_gguf(gguf_file: GGUFFile) -> Tokenizer | None:
    """Read the embedded tokenizer of a GGUF file; ``None`` when it carries none."""
    md = gguf_file.metadata
    c = tables.gguf_constants().Keys.Tokenizer
    tokens = md.get(c.LIST)
    model = md.get(c.MODEL)
    if model is None and not isinstance(tokens, ArrayValue):
        return None
    merges = md.get(c.MERGES)
    ids = {}
    for role in _ROLES:
        key = "tokenizer.ggml.unknown_token_id" if role == "unk" else (
            "tokenizer.ggml.padding_token_id" if role == "pad" else f"tokenizer.ggml.{role}_token_id"
        )
        value = md.get(key)
        if is_count(value):
            ids[role] = value
    texts = gguf_file.strings(c.LIST, list(ids.values())) if ids else {}
    templates = {}
    if isinstance(md.get(c.CHAT_TEMPLATE), str):
        templates["default"] = md[c.CHAT_TEMPLATE]
    names = md.get(c.CHAT_TEMPLATES)
    if isinstance(names, ArrayValue):
        for name in names.samples:
            value = md.get(c.CHAT_TEMPLATE_N.format(name=name))
            if isinstance(value, str):
                templates[str(name)] = value
    return Tokenizer(
        model=model if isinstance(model, str) else None,
        vocab_size=tokens.count if isinstance(tokens, ArrayValue) else None,
        merges=merges.count if isinstance(merges, ArrayValue) else None,
        special={r: SpecialToken(i, texts.get(i)) for r, i in ids.items()},
        chat_templates=templates,
        pre=md.get(c.PRE) if isinstance(md.get(c.PRE), str) else None,
        tokens_digest=tokens.digest if isinstance(tokens, ArrayValue) else None,
    )


def tokens_digest(tokens: list[str]) -> str:
    """sha256 of a token list in GGUF's string-array encoding (u64 length + UTF-8), id order.

    The same digest the GGUF reader takes over the raw ``tokenizer.ggml.tokens`` bytes, so a GGUF
    vocabulary and a tokenizer.json vocabulary can be compared without keeping either.
    """
    h = hashlib.sha256()
    for t in tokens:
        b = t.encode("utf-8")
        h.update(struct.pack("<Q", len(b)))
        h.update(b)
    return h.hexdigest()


def _token_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(content := value.get("content"), str):
        return content
    return None


def from_hf(
    tokenizer_json: dict[str, Any] | None,
    tokenizer_config: dict[str, Any] | None,
    id_sources: tuple[dict[str, Any], ...] = (),
    chat_template_file: str | None = None,
) -> Tokenizer | None:
    """Combine the Hugging Face tokenizer files; ``None`` when there are none.

    ``id_sources`` (generation_config.json, then config.json) supply ``bos_token_id`` and the like
    where tokenizer_config.json names no token (Qwen sets ``bos_token: null``).
    """
    if tokenizer_json is None and tokenizer_config is None and chat_template_file is None:
        return None
    tj = tokenizer_json if isinstance(tokenizer_json, dict) else {}
    tc = tokenizer_config if isinstance(tokenizer_config, dict) else {}
    model = mapping(tj.get("model"))
    by_id: dict[int, str] = {}
    vocab = model.get("vocab")
    if isinstance(vocab, dict):  # BPE, WordPiece, WordLevel: token -> id
        by_id = {i: t for t, i in vocab.items() if is_count(i)}
    elif isinstance(vocab, list):  # Unigram: [token, score] in id order
        by_id = {i: e[0] for i, e in enumerate(vocab) if isinstance(e, list) and e and isinstance(e[0], str)}
    added_list = tj.get("added_tokens")
    added = [a for a in (added_list if isinstance(added_list, list) else []) if isinstance(a, dict) and is_count(a.get("id"))]
    for a in added:
        if isinstance(a.get("content"), str):
            by_id.setdefault(a["id"], a["content"])
    decoder = tc.get("added_tokens_decoder")
    if not by_id and isinstance(decoder, dict):  # no tokenizer.json: tokenizer_config still names ids
        for i, a in decoder.items():
            if str(i).isdigit() and (content := _token_text(a)):
                by_id[int(i)] = content
    ids_of = {t: i for i, t in by_id.items()}
    special: dict[str, SpecialToken] = {}
    for role in ("bos", "eos", "pad", "unk", "sep", "mask", "cls"):
        text = _token_text(tc.get(f"{role}_token"))
        if text is not None:
            special[role] = SpecialToken(ids_of.get(text), text)
    for role in ("bos", "eos", "pad"):
        for source in id_sources:
            gid = source.get(f"{role}_token_id") if isinstance(source, dict) else None
            if isinstance(gid, list) and gid:  # several EOS ids: the first is the main one
                gid = gid[0]
            if role not in special and is_count(gid):
                special[role] = SpecialToken(gid, by_id.get(gid))
    order = {r: i for i, r in enumerate(("bos", "eos", "pad", "unk", "sep", "mask", "cls"))}
    special = dict(sorted(special.items(), key=lambda kv: order[kv[0]]))
    templates: dict[str, str] = {}
    ct = tc.get("chat_template")
    if isinstance(ct, str):
        templates["default"] = ct
    elif isinstance(ct, list):  # [{"name": ..., "template": ...}]
        for entry in ct:
            if isinstance(entry, dict) and isinstance(entry.get("template"), str):
                templates[str(entry.get("name", "default"))] = entry["template"]
    if chat_template_file is not None and "default" not in templates:
        templates["default"] = chat_template_file
    merges = model.get("merges")
    complete = by_id and len(by_id) == max(by_id) + 1
    pre = tj.get("pre_tokenizer")
    return Tokenizer(
        model=model.get("type") if isinstance(model.get("type"), str) else (
            tc.get("tokenizer_class") if isinstance(tc.get("tokenizer_class"), str) else None
        ),
        vocab_size=len(by_id) or None,
        merges=len(merges) if isinstance(merges, list) else None,
        special=special,
        chat_templates=templates,
        pre=pre.get("type") if isinstance(pre, dict) and isinstance(pre.get("type"), str) else None,
        added_tokens=len(added) if tokenizer_json is not None else None,
        tokens_digest=tokens_digest([by_id[i] for i in range(len(by_id))]) if complete else None,
    )

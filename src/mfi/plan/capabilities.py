"""What the model can do, from its files alone: chat or base, tools, reasoning, modalities,
embedding/reranking, recommended sampling, license and lineage.

Chat templates are read as text (substring and regex checks); they are never rendered.
"""

from __future__ import annotations

import re
from typing import Any

from ..formats import tables
from ..records import ArrayValue, ModelSummary
from .records import Capabilities, Surroundings
from .runtimes import MMPROJ_ARCHS

_TOOLS = ("tool_call", "tools", "<tool_call>", "[TOOL_CALLS]", "<|python_tag|>", "functions", "tool_calls")
_REASONING = ("<think>", "</think>", "enable_thinking", "reasoning_content", "<|channel|>", "thinking", "<seed:think>")
_SYSTEM_REFUSED = re.compile(r"raise_exception\([^)]*[Ss]ystem role", re.S)
_VISION_MARKS = ("<|image_pad|>", "<image>", "<|vision_start|>", "<start_of_image>", "[IMG]", "image_url", "<|image|>")
_AUDIO_MARKS = ("<|audio_bos|>", "<audio>", "<|AUDIO|>", "audio_url", "<start_of_audio>")
#: GGUF ``{arch}.pooling_type`` values (llama.h enum llama_pooling_type).
POOLING = {0: "none", 1: "mean", 2: "cls", 3: "last", 4: "rank"}
_SAMPLING_CONFIG = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty", "do_sample")


def _found(text: str, marks: tuple[str, ...]) -> list[str]:
    return [m for m in marks if m in text]


def _gguf_lineage(md: dict[str, Any]) -> tuple[list[str], str | None, dict[str, Any]]:
    g = tables.gguf_constants().Keys.General
    bases = []
    count = md.get(g.BASE_MODEL_COUNT)
    for i in range(count if isinstance(count, int) and 0 <= count <= 64 else 0):
        parts = [md.get(k.format(id=i)) for k in (g.BASE_MODEL_ORGANIZATION, g.BASE_MODEL_NAME, g.BASE_MODEL_VERSION)]
        name = " ".join(str(p) for p in parts if isinstance(p, str) and p)
        url = md.get(g.BASE_MODEL_REPO_URL.format(id=i))
        bases.append(name + (f" ({url})" if isinstance(url, str) else "") if name else str(url))
    lic = next((md[k] for k in (g.LICENSE, g.LICENSE_NAME) if isinstance(md.get(k), str)), None)
    sampling = {}
    for key in (g.SAMPLING_TEMP, g.SAMPLING_TOP_K, g.SAMPLING_TOP_P, g.SAMPLING_MIN_P, g.SAMPLING_PENALTY_REPEAT, g.SAMPLING_SEQUENCE):
        if key in md and not isinstance(md[key], ArrayValue):
            sampling[key.removeprefix("general.sampling.")] = md[key]
    return bases, lic, sampling


def detect(s: ModelSummary, env: Surroundings | None = None) -> Capabilities:
    """Capabilities of a summarised model, with the evidence for each."""
    env = env or Surroundings()
    evidence: dict[str, list[str]] = {}
    templates = s.tokenizer.chat_templates if s.tokenizer else {}
    text = "\n".join(templates.values())
    tools = _found(text, _TOOLS) or ([f"template '{n}'" for n in templates if "tool" in n])
    reasoning = _found(text, _REASONING)
    if tools:
        evidence["tool_calling"] = tools
    if reasoning:
        evidence["reasoning"] = reasoning
    system = None
    if text:
        if _SYSTEM_REFUSED.search(text):
            system, evidence["system_role"] = False, ["template raises on a system message"]
        elif "system" in text:
            system, evidence["system_role"] = True, ["'system' in template"]
        else:
            system = False
    config = s.config if s.format != "gguf" else {}
    towers = s.architecture.towers
    arch = s.architecture.name if isinstance(s.architecture.name, str) else ""  # config.json's model_type, unchecked upstream
    projectors = [f for f in env.files if f.startswith("mmproj") and f.endswith(".gguf")]
    vision_ev = (["vision tower in config"] if "vision" in towers else []) + _found(text, _VISION_MARKS)
    vision_ev += ["preprocessor_config.json"] if "preprocessor_config.json" in env.files and s.format != "gguf" else []
    # gemma3 GGUFs include the text-only 1B, so the architecture alone does not say "vision"
    vision_ev += [f"{arch} takes images via mmproj"] if arch in MMPROJ_ARCHS and arch != "gemma3" else []
    vision_ev += [f"projector {p}" for p in projectors]
    audio_ev = (["audio tower in config"] if "audio" in towers else []) + _found(text, _AUDIO_MARKS)
    if vision_ev:
        evidence["vision"] = vision_ev
    if audio_ev:
        evidence["audio"] = audio_ev
    pooling = None
    kind = "chat" if templates else "base"
    if s.format == "gguf":
        p = s.metadata.get(tables.gguf_constants().Keys.LLM.POOLING_TYPE.format(arch=arch))
        if isinstance(p, int) and not isinstance(p, bool) and p in POOLING and p != 0:
            pooling = POOLING[p]
            kind = "reranker" if pooling == "rank" else "embedding"
            evidence["kind"] = [f"{arch}.pooling_type = {p} ({pooling})"]
        bases, lic, sampling = _gguf_lineage(s.metadata)
    else:
        cls = s.architecture.cls or ""
        if cls.endswith("ForSequenceClassification") and (config.get("num_labels") == 1 or "rerank" in s.target.lower()):
            kind, pooling = "reranker", "rank"
            evidence["kind"] = [f"{cls} with one label"]
        elif "modules.json" in env.files or any(f.endswith("_Pooling") for f in env.files):
            kind, pooling = "embedding", "sentence-transformers"
            evidence["kind"] = ["sentence-transformers modules.json / Pooling"]
        elif cls.endswith(("ForMaskedLM", "Model")) and not templates and config.get("model_type") in ("bert", "xlm-roberta", "roberta", "modernbert", "nomic_bert", "new"):
            kind = "embedding"
            evidence["kind"] = [f"encoder {cls}"]
        sampling = {k: env.generation_config[k] for k in _SAMPLING_CONFIG if k in env.generation_config}
        bases, lic = [], None
    card_license = env.card.get("license")
    lic = lic or (card_license if isinstance(card_license, str) else None)
    card_base = env.card.get("base_model")
    if not bases and card_base:
        bases = [str(b) for b in (card_base if isinstance(card_base, list) else [card_base])]
    if kind == "chat":
        evidence.setdefault("kind", ["chat template present"])
    elif kind == "base":
        evidence.setdefault("kind", ["no chat template"])
    return Capabilities(
        kind=kind,
        chat_template=bool(templates),
        tool_calling=bool(tools) if text else None,
        reasoning=bool(reasoning) if text else None,
        system_role=system,
        vision=True if vision_ev else (False if s.format != "gguf" and config else None),
        audio=True if audio_ev else (False if s.format != "gguf" and config else None),
        pooling=pooling,
        sampling=sampling,
        license=lic,
        base_models=tuple(bases),
        evidence=evidence,
    )

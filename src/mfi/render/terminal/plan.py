"""A ``Plan`` (memory, runtimes, capabilities) as rich renderables, with the --explain texts.

Explanation texts come from data/explain.<lang>.json; ``--lang`` or the LANG environment picks
the language (``zh`` or ``en``).
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .. import text
from .. import plain
from .inspect import new_table
from .inspect import t as safe_text

if TYPE_CHECKING:
    from ...plan.records import Plan
    from ...records import ModelSummary

LANGUAGES = ("en", "zh")


def language(lang: str | None = None) -> str:
    """``en`` or ``zh``: the option if given, else LANG / LC_ALL / LC_MESSAGES starting with ``zh``."""
    if lang:
        return "zh" if lang.lower().startswith("zh") else "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@cache
def explanations(lang: str) -> dict[str, str]:
    """The explanation texts of one language (one data file per language)."""
    name = f"explain.{language(lang)}.json"
    return json.loads(resources.files("mfi.data").joinpath(name).read_text(encoding="utf-8"))


def architecture_explained(s: ModelSummary, lang: str) -> Table:
    """The architecture table with a third column saying what each field means."""
    texts = explanations(lang)
    table = new_table("Architecture", "field", "value", "meaning")
    a = s.architecture
    for f in a.FIELDS:
        value = getattr(a, f)
        if value is None and f in plain.OPTIONAL_FIELDS:
            continue
        table.add_row(plain.FIELD_LABELS[f], safe_text(text.number(value)), Text(texts.get(f, ""), style="dim"))
    for tower, fields in a.towers.items():
        table.add_row(f"{tower} tower", safe_text(text.number(fields)), Text(texts.get("tower", ""), style="dim"))
    return table


def _titled(title: Text, *columns: str, right: tuple[int, ...] = ()) -> Table:
    """``new_table`` with a ``Text`` title: titles that carry file text (quant method, dtype) are never markup."""
    table = new_table("", *columns, right=right)
    table.title = title
    return table


def _size(n: int | None) -> str:
    return text.size(n) if n is not None else text.DASH


def memory_view(p: Plan, *, explain: bool = False, lang: str = "en") -> list[RenderableType]:
    """Weights, KV cache, overhead and total; per-layer rows; the context table; what fits."""
    m = p.memory
    texts = explanations(lang) if explain else {}
    # the vLLM cache type is config.json's torch_dtype: file text
    head = safe_text(f"Memory ({m.runtime}, cache {m.cache_type}, context {m.context:,})")
    table = _titled(head, "item", "bytes", "size", *(("formula",) if explain else ()), right=(1, 2))
    rows: list[tuple[str, int | None, str]] = [("weights", m.weights.total, "weights")]
    if m.weights.offloadable:
        rows.append(("  of which routed experts (offloadable)", m.weights.offloadable, "experts_bytes"))
    rows.append(("KV cache" + (" + recurrent state" if any(g.kind == "recurrent" for g in m.kv.groups) else ""), m.kv.bytes, "kv_cache"))
    rows.append(("runtime overhead (typical, not computed)", m.overhead, "overhead"))
    rows.append(("total", m.total, ""))
    formulas = {t.explain: t.formula for t in m.terms if t.explain}
    for label, value, key in rows:
        extra = (Text(formulas.get(key, ""), style="dim"),) if explain else ()
        table.add_row(Text(label, style="bold" if label == "total" else ""), text.DASH if value is None else f"{value:,}", _size(value), *extra)
    out: list[RenderableType] = [table]
    if m.kv.blocked:
        out.append(Text.assemble(("KV cache: ", "yellow"), safe_text(m.kv.blocked)))
    if m.kv.groups:
        layers = new_table("KV cache per layer", "layers", "kind", "cells", "K row", "V row", "bytes", *(("meaning",) if explain else ()), right=(2, 3, 4, 5))
        for g in m.kv.groups:
            extra = (Text(texts.get(f"kind.{g.kind}", ""), style="dim"),) if explain else ()
            k, v = (f"{g.k_row_bytes:,} B", f"{g.v_row_bytes:,} B") if g.kind != "recurrent" else (f"r {g.k_row_bytes:,} B", f"s {g.v_row_bytes:,} B")
            layers.add_row(f"{len(g.layers)} ({g.span})", g.kind, f"{g.cells:,}", k, v, _size(g.bytes), *extra)
        out.append(layers)
    if explain:
        terms = new_table("How the figures are made", "term", "value", "formula")
        for t in m.terms:
            terms.add_row(safe_text(t.name), safe_text(text.number(t.value)), safe_text(t.formula))
        out.append(terms)
    if m.table:
        ctx = new_table("KV cache by context", "context", "KV cache", "weights + KV + overhead", right=(0, 1, 2))
        for kv in m.table:
            total = None if kv.bytes is None or m.weights.total is None else kv.bytes + m.weights.total + m.overhead
            ctx.add_row(f"{kv.context:,}", _size(kv.bytes) if kv.blocked is None else "n/a", _size(total))
        out.append(ctx)
    if m.fits is not None or m.fits_note:
        line = f"largest context that fits: {m.fits:,} tokens" if m.fits else f"largest context that fits: {text.DASH}"
        out.append(Text(line + (f" ({m.fits_note})" if m.fits_note else ""), style="bold"))
    out.append(Text("not counted: " + "; ".join(m.not_counted), style="dim"))
    for n in m.notes:
        out.append(Text.assemble(("note: ", "dim"), safe_text(n)))
    return out


def choices_view(p: Plan) -> list[RenderableType]:
    """Which quantization (or dtype) fits: one row per choice, and the recommendation."""
    c = p.choices
    if c is None:
        return []
    what = "quantization" if c.kind == "quantization" else "dtype and KV-cache dtype"
    memory = f", memory {text.size(c.memory)}" if c.memory is not None else ""
    table = _titled(safe_text(f"Which {what} fits (context {c.context:,}{memory})"), "choice", "weights", "KV cache",
                    "compute", "total", "fits", "largest context", right=(1, 2, 3, 4, 6))  # fmt: skip
    for r in c.rows:
        fits = text.DASH if r.fits is None else ("yes" if r.fits else "no")
        table.add_row(Text.assemble(safe_text(r.name), (" *" if r.name == c.recommended else "", "bold green")),
                      _size(r.weights_bytes), _size(r.kv_cache_bytes), _size(r.compute_bytes), _size(r.total_bytes),
                      Text(fits, style={"yes": "green", "no": "red"}.get(fits, "")),
                      f"{r.max_context:,}" if r.max_context else text.DASH)  # fmt: skip
    out: list[RenderableType] = [table]
    if c.memory is not None:
        pick = f"recommended: {c.recommended} (the largest that fits)" if c.recommended else "recommended: none fits"
        out.append(Text.assemble(("* ", "bold green"), safe_text(pick)))
    for n in c.notes:
        out.append(Text.assemble(("note: ", "dim"), safe_text(n)))
    if c.source:
        out.append(Text.assemble(("the rest of the plan is of ", "dim"), safe_text(c.rows[_shown(p)].name)))
    return out


def _shown(p: Plan) -> int:
    """Row whose model the rest of the plan describes."""
    assert p.choices is not None
    files = tuple(f.path for f in p.model.files) if p.model is not None else ()
    for i, r in enumerate(p.choices.rows):
        if r.files and any(f.endswith(r.files[0]) for f in files):
            return i
    return 0


def serving_view(p: Plan) -> list[RenderableType]:
    """vLLM's and SGLang's own start-up sizing: KV capacity, concurrency, largest context, the error."""
    out: list[RenderableType] = []
    for v in p.serving:
        name = {"vllm": "vLLM", "sglang": "SGLang"}.get(v.runtime, v.runtime)
        head = safe_text(f"{name} {v.version or ''} on one GPU of {text.size(v.memory)} (cache {v.cache_dtype})")
        table = _titled(head, "item", "value", "formula", right=(1,))
        for t in v.terms:
            table.add_row(safe_text(t.name), safe_text(text.number(t.value)), safe_text(t.formula))
        out.append(table)
        if v.kv_available is not None:
            out.append(Text(f"KV cache memory {text.size(v.kv_available) if v.kv_available > 0 else text.DASH} of a "
                            f"{text.size(v.budget)} budget: weights {_size(v.weights)}"
                            + (f" + activation peak {_size(v.activation)} (estimate)" if v.activation is not None else "")))
        if v.capacity_tokens is not None and v.concurrency is not None:
            out.append(Text(f"KV cache capacity {v.capacity_tokens:,} tokens, maximum concurrency {v.concurrency:.2f}x "
                            f"for {v.context:,} tokens", style="bold"))  # fmt: skip
        if v.largest_context:
            out.append(Text(f"largest max_model_len that fits: {v.largest_context:,}"))
        if v.error:
            out.append(Text.assemble((f"{name} would refuse to start: ", "red"), safe_text(v.error)))
        if v.note:
            out.append(Text.assemble(("no KV figure: ", "yellow"), safe_text(v.note)))
        out.append(Text("not counted: " + "; ".join(v.not_counted), style="dim"))
    return out


def runtimes_view(p: Plan) -> list[RenderableType]:
    """Runtime verdicts, remote code, projector files and quantization implications."""
    r = p.runtimes
    table = new_table("Runtimes (from each runtime's own tables)", "runtime", "version", "verdict", "needs", "why")
    for v in r.verdicts:
        style = {"yes": "green", "no": "red", "yes with": "yellow", "convert first": "yellow"}.get(v.status, "")
        table.add_row(v.runtime, safe_text(v.version or text.DASH), Text(v.status, style=style),
                      safe_text("; ".join(v.needs)), safe_text(v.reason))
    out: list[RenderableType] = [table]
    if r.mmproj:
        needed = {True: "needed", False: "not needed", None: "unknown"}[r.mmproj.get("needed")]
        present = ", ".join(r.mmproj.get("present") or []) or "none found beside the model"
        out.append(safe_text(f"vision projector (mmproj): {needed}; {present}"))
        if r.mmproj.get("note"):
            out.append(Text(text.clean(r.mmproj["note"]), style="dim"))
    rc = r.remote_code
    if rc.offered:
        code = new_table("Remote code" + (" (trust_remote_code required)" if rc.required else ""), "file", "from", "present", "used by")
        for f in rc.files:
            present = text.DASH if f.present is None else ("yes" if f.present else "MISSING")
            code.add_row(safe_text(f.name), safe_text(f.repo or "this repo"), present, safe_text(", ".join(f.used_by)))
        out.append(code)
        if rc.note:
            out.append(Text.assemble(("remote code: ", "yellow"), safe_text(rc.note)))
    if r.quantization:
        q = _titled(safe_text(f"Quantization method {r.method or ''}: what it means"), "runtime", "implication")
        for name, meaning in r.quantization.items():
            q.add_row(name, safe_text(meaning))
        out.append(q)
    return out


def capabilities_view(p: Plan) -> Table:
    """Chat or base, tools, reasoning, system role, modalities, pooling, sampling, license, lineage."""
    c = p.capabilities
    table = new_table("Capabilities", "capability", "value", "evidence")

    def yn(v: bool | None) -> str:
        return text.DASH if v is None else ("yes" if v else "no")

    ev = c.evidence
    table.add_row("kind", c.kind, safe_text(", ".join(ev.get("kind", []))))
    table.add_row("tool calling", yn(c.tool_calling), safe_text(", ".join(ev.get("tool_calling", []))))
    table.add_row("reasoning / thinking", yn(c.reasoning), safe_text(", ".join(ev.get("reasoning", []))))
    table.add_row("system role", yn(c.system_role), safe_text(", ".join(ev.get("system_role", []))))
    table.add_row("vision input", yn(c.vision), safe_text(", ".join(ev.get("vision", []))))
    table.add_row("audio input", yn(c.audio), safe_text(", ".join(ev.get("audio", []))))
    if c.pooling:
        table.add_row("pooling", safe_text(c.pooling), "")
    if c.sampling:
        table.add_row("sampling defaults", safe_text(text.number(c.sampling)), "")
    table.add_row("license", safe_text(c.license or text.DASH), "")
    if c.base_models:
        table.add_row("base model", safe_text("; ".join(c.base_models)), "")
    return table


def brief_view(p: Plan) -> Table:
    """The will-it-run block of the default ``mfi inspect`` screen."""
    table = new_table("Will it run (mfi plan for details)", "", "")
    table.show_header = False
    for label, value in plain.brief_rows(p):
        style = "yellow" if label == "remote code" and value.startswith("required") else ""
        table.add_row(label, safe_text(value, style))
    return table


def plan_view(s: ModelSummary, p: Plan, *, explain: bool = False, lang: str = "en") -> Group:
    """``mfi plan``: a one-line overview, then memory, runtimes and capabilities."""
    from .inspect import overview

    parts: list[RenderableType] = [overview(s), Text()]
    if p.choices is not None:
        parts += [*choices_view(p), Text()]
    parts += memory_view(p, explain=explain, lang=lang)
    if p.serving:
        parts += [Text(), *serving_view(p)]
    parts += [Text(), *runtimes_view(p)]
    parts += [Text(), capabilities_view(p)]
    for w in p.warnings:
        parts.append(Text.assemble(("warning: ", "yellow"), safe_text(w)))
    return Group(*parts)

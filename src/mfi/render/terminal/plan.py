"""A ``Plan`` (memory, runtimes, capabilities) as rich renderables, with the --explain texts.

Explanation texts come from data/explain.<lang>.json, the rest through ``i18n.tr`` (data/messages.<lang>.json).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .. import text
from .. import plain
from ..i18n import count, explanations, tr, yes_no
from .inspect import new_table
from .inspect import t as safe_text
from .layout import Flow, footer, spaced

if TYPE_CHECKING:
    from ...plan.records import Plan
    from ...records import ModelSummary

#: Colour of a runtime verdict: the one place colour carries meaning on the plan screens.
_VERDICT = {"yes": "green", "no": "red", "remote-code": "yellow"}


def architecture_explained(s: ModelSummary, lang: str) -> Table:
    """The architecture table with a third column saying what each field means."""
    texts = explanations(lang)
    table = new_table("Architecture", "field", "value", "meaning")
    a = s.architecture
    for f in a.FIELDS:
        value = getattr(a, f)
        if value is None and f in plain.OPTIONAL_FIELDS:
            continue
        table.add_row(tr(plain.FIELD_LABELS[f]), safe_text(plain.field_text(a, f)), Text(texts.get(f, ""), style="dim"))
    for tower, fields in a.towers.items():
        table.add_row(tr(f"{tower} tower"), safe_text(text.number(fields)), Text(texts.get("tower", ""), style="dim"))
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
    head = safe_text(tr("Memory ({runtime}, cache {cache}, context {ctx})", runtime=m.runtime, cache=m.cache_type, ctx=f"{m.context:,}"))
    table = _titled(head, "item", "bytes", "size", *(("formula",) if explain else ()), right=(1, 2))
    rows: list[tuple[str, int | None, str]] = [(tr("weights"), m.weights.total, "weights")]
    if m.weights.offloadable:
        rows.append(("  " + tr("of which routed experts (offloadable)"), m.weights.offloadable, "experts_bytes"))
    recurrent = any(g.kind == "recurrent" for g in m.kv.groups)
    rows.append((tr("KV cache + recurrent state") if recurrent else tr("KV cache"), m.kv.bytes, "kv_cache"))
    rows.append((tr("runtime overhead (typical, not computed)"), m.overhead, "overhead"))
    rows.append((tr("total"), m.total, "total"))
    formulas = {t.explain: t.formula for t in m.terms if t.explain}
    for label, value, key in rows:
        extra = (Text(formulas.get(key, ""), style="dim"),) if explain else ()
        table.add_row(Text(label, style="bold" if key == "total" else ""), text.DASH if value is None else f"{value:,}", _size(value), *extra)
    out: list[RenderableType] = [table]
    if m.kv.blocked:
        out.append(Text.assemble((tr("KV cache") + ": ", "yellow"), safe_text(tr(m.kv.blocked))))
    if m.kv.groups:
        layers = new_table("KV cache per layer", "layers", "kind", "cells", "K row", "V row", "bytes", *(("meaning",) if explain else ()), right=(2, 3, 4, 5))
        for g in m.kv.groups:
            extra = (Text(texts.get(f"kind.{g.kind}", ""), style="dim"),) if explain else ()
            k, v = (f"{g.k_row_bytes:,} B", f"{g.v_row_bytes:,} B") if g.kind != "recurrent" else (f"r {g.k_row_bytes:,} B", f"s {g.v_row_bytes:,} B")
            layers.add_row(f"{len(g.layers)} ({g.span})", tr(g.kind), f"{g.cells:,}", k, v, _size(g.bytes), *extra)
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
            ctx.add_row(f"{kv.context:,}", _size(kv.bytes) if kv.blocked is None else tr("n/a"), _size(total))
        out.append(ctx)
    if m.fits is not None or m.fits_note:
        line = tr("largest context that fits: {n} tokens", n=f"{m.fits:,}") if m.fits else tr("largest context that fits: {n}", n=text.DASH)
        out.append(Text(line + (f" ({tr(m.fits_note)})" if m.fits_note else ""), style="bold green" if m.fits else "bold red"))
    notes = [(tr("note:"), tr(n), "dim") for n in m.notes]
    out.append(footer([(tr("not counted:"), "; ".join(tr(n) for n in m.not_counted), "dim"), *notes]))
    return out


def runtimes_view(p: Plan) -> list[RenderableType]:
    """Runtime verdicts, remote code, projector files and quantization implications."""
    r = p.runtimes
    table = new_table("Runtimes", "runtime", "verdict", "why")
    for v in r.verdicts:
        style = _VERDICT.get(v.status, "")
        table.add_row(v.runtime, Text(tr(v.status), style=style), safe_text(tr(v.reason)))
    out: list[RenderableType] = [table]
    if r.mmproj:
        needed = tr({True: "needed", False: "not needed", None: "unknown"}[r.mmproj.get("needed")])
        present = ", ".join(r.mmproj.get("present") or []) or tr("none found beside the model")
        out.append(safe_text(tr("vision projector (mmproj): {needed}; {present}", needed=needed, present=present)))
        if r.mmproj.get("note"):
            out.append(Text(text.clean(r.mmproj["note"]), style="dim"))
    rc = r.remote_code
    if rc.offered:
        code = new_table(tr("Remote code (trust_remote_code required)") if rc.required else tr("Remote code"), "file", "from", "present", "used by")
        for f in rc.files:
            present = text.DASH if f.present is None else (tr("yes") if f.present else tr("MISSING"))
            code.add_row(safe_text(f.name), safe_text(f.repo or tr("this repo")), present, safe_text(", ".join(f.used_by)))
        out.append(code)
        if rc.note:
            out.append(Text.assemble((tr("remote code") + ": ", "yellow"), safe_text(tr(rc.note))))
    if r.quantization:
        q = _titled(safe_text(tr("Quantization method {name}: what it means", name=r.method or "")), "runtime", "implication")
        for name, meaning in r.quantization.items():
            q.add_row(name, safe_text(meaning))
        out.append(q)
    return out


def capabilities_view(p: Plan) -> Table:
    """Chat or base, tools, reasoning, system role, modalities, pooling, sampling, license, lineage."""
    c = p.capabilities
    table = new_table("Capabilities", "capability", "value", "evidence")

    def ev(key: str) -> Text:
        return safe_text(", ".join(tr(e) for e in c.evidence.get(key, [])))

    yn = yes_no
    table.add_row(tr("kind"), tr(c.kind), ev("kind"))
    table.add_row(tr("tool calling"), yn(c.tool_calling), ev("tool_calling"))
    table.add_row(tr("reasoning / thinking"), yn(c.reasoning), ev("reasoning"))
    table.add_row(tr("system role"), yn(c.system_role), ev("system_role"))
    table.add_row(tr("vision input"), yn(c.vision), ev("vision"))
    table.add_row(tr("audio input"), yn(c.audio), ev("audio"))
    if c.pooling:
        table.add_row(tr("pooling"), safe_text(c.pooling), "")
    if c.sampling:
        table.add_row(tr("sampling defaults"), safe_text(text.number(c.sampling)), "")
    table.add_row(tr("license"), safe_text(c.license or text.DASH), "")
    if c.base_models:
        table.add_row(tr("base model"), safe_text("; ".join(c.base_models)), "")
    return table


def brief_view(p: Plan) -> Table:
    """The will-it-run block of the default ``mfi inspect`` screen."""
    table = new_table("Will it run (mfi plan for details)", "", "")
    table.show_header = False
    for label, value in plain.brief_rows(p):
        if label == "runtimes":  # the verdicts coloured: yes green, no red
            groups = plain.verdict_groups(p)
            verdicts = [Text.assemble((f"{tr(status)}:", _VERDICT.get(status, "")), " ", safe_text(", ".join(names))) for status, names in groups.items()]
            table.add_row(tr(label), Flow(verdicts, " · "))
            continue
        style = "yellow" if label == "remote code" and p.runtimes.remote_code.required else ""
        table.add_row(tr(label) if label else "", Flow.of(value, style))
    return table


def plan_view(s: ModelSummary, p: Plan, *, explain: bool = False, lang: str = "en") -> Group:
    """``mfi plan``: a one-line overview, then memory, runtimes and capabilities."""
    from .inspect import overview

    warnings = footer([(tr("warning:"), w, "yellow") for w in p.warnings]) if p.warnings else None
    return spaced([overview(s), *memory_view(p, explain=explain, lang=lang), *runtimes_view(p), capabilities_view(p), warnings])

"""A ``Plan`` (memory, runtimes, capabilities) as rich renderables, with the --explain texts.

Explanation texts come from data/explain.<lang>.json, the rest through ``i18n.tr`` (data/messages.<lang>.json).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .. import text
from .. import plain
from ..i18n import explanations, tr, yes_no
from .inspect import new_table
from .inspect import t as safe_text
from .layout import Flow, footer, spaced

if TYPE_CHECKING:
    from ...plan.records import Plan
    from ...records import ModelSummary

#: Colour of a runtime verdict: the one place colour carries meaning on the plan screens.
_VERDICT = {"yes": "green", "no": "red", "yes with": "yellow", "convert first": "yellow", "remote-code": "yellow"}


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
    table.min_width = cell_len(title.plain)  # a short table does not fold its title (CJK cells count double)
    return table


def _size(n: int | None) -> str:
    return text.size(n) if n is not None else text.DASH


def memory_view(p: Plan, *, explain: bool = False, lang: str = "en") -> list[RenderableType]:
    """Weights, KV cache, compute and output buffers (or overhead) and total; per-layer rows; the context table; what fits."""
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
    if m.runtime == "llama.cpp":
        rows.append((tr("compute buffer"), m.compute, "compute"))
        rows.append((tr("output buffer"), m.output, "output"))
    else:
        rows.append((tr("runtime overhead (typical, not computed)"), m.overhead, "overhead"))
    rows.append((tr("total"), m.total, ""))
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
        last = tr("weights + KV + compute + output") if m.runtime == "llama.cpp" else tr("weights + KV + overhead")
        ctx = new_table(tr("KV cache by context"), tr("context"), tr("KV cache"), last, right=(0, 1, 2))
        for i, kv in enumerate(m.table):
            ctx.add_row(f"{kv.context:,}", _size(kv.bytes) if kv.blocked is None else tr("n/a"), _size(m.total_at(i)))
        out.append(ctx)
    if m.fits is not None or m.fits_note:
        line = tr("largest context that fits: {n} tokens", n=f"{m.fits:,}") if m.fits else tr("largest context that fits: {n}", n=text.DASH)
        out.append(Text(line + (f" ({tr(m.fits_note)})" if m.fits_note else ""), style="bold green" if m.fits else "bold red"))
    notes = [(tr("note:"), tr(n), "dim") for n in m.notes]
    out.append(footer([(tr("not counted:"), tr("; ").join(tr(n) for n in m.not_counted), "dim"), *notes]))
    return out


def _parts(message: str) -> str:
    """A library text of several clauses joined by ``; ``, each clause translated (data/patterns.<lang>.json)."""
    return tr("; ").join(tr(part) for part in message.split("; "))


def _dtype_name(name: str) -> tuple[str, str]:
    """A dtype choice's name (``weights bfloat16, cache fp8``, plan/choices.py of_dtypes) as (weights, cache)."""
    weights, _, cache = name.removeprefix("weights ").partition(", cache ")
    return weights, cache


def choices_view(p: Plan) -> list[RenderableType]:
    """Which quantization (or dtype) fits: one row per choice, and the recommendation.

    Fits 80 columns: a dtype choice is two short columns (weights, KV cache dtype); the compute column
    is left out when no runtime computes it (its note says why).
    """
    c = p.choices
    if c is None:
        return []
    ctx = f"{c.context:,}"
    if c.memory is not None:
        title = (tr("Which quantization fits (context {ctx}, memory {memory})", ctx=ctx, memory=text.size(c.memory))
                 if c.kind == "quantization" else
                 tr("Which dtype and KV-cache dtype fits (context {ctx}, memory {memory})", ctx=ctx, memory=text.size(c.memory)))  # fmt: skip
    else:
        title = (tr("Which quantization fits (context {ctx})", ctx=ctx) if c.kind == "quantization"
                 else tr("Which dtype and KV-cache dtype fits (context {ctx})", ctx=ctx))  # fmt: skip
    compute = any(r.compute_bytes is not None for r in c.rows)
    dtype = c.kind == "dtype"
    names = ("weights as", "cache as") if dtype else ("choice",)
    sizes = ("weights", "KV cache", *(("compute",) if compute else ()), "total")
    first = len(names)
    right = tuple(range(first, first + len(sizes))) + (first + len(sizes) + 1,)
    table = _titled(safe_text(title), *(tr(n) for n in names), *(tr(n) for n in sizes), tr("fits"), tr("max context"), right=right)
    for r in c.rows:
        fits = text.DASH if r.fits is None else ("yes" if r.fits else "no")
        star = (" *" if r.name == c.recommended else "", "bold green")
        if dtype:
            weights, cache = _dtype_name(r.name)
            weights = weights.replace(" (--quantization fp8)", "\u2020")  # the dagger's footnote says how
            shown: tuple[RenderableType, ...] = (Text.assemble(safe_text(weights), star), safe_text(cache))
        else:
            shown = (Text.assemble(safe_text(r.name), star),)
        table.add_row(*shown, _size(r.weights_bytes), _size(r.kv_cache_bytes), *((_size(r.compute_bytes),) if compute else ()),
                      _size(r.total_bytes), Text(tr(fits), style={"yes": "green", "no": "red"}.get(fits, "")),
                      f"{r.max_context:,}" if r.max_context else text.DASH)  # fmt: skip
    out: list[RenderableType] = [table]
    notes: list[tuple[str, str, str]] = []
    if c.memory is not None:
        if c.recommended:
            pick = tr("{name} (the largest that fits)", name=" / ".join(_dtype_name(c.recommended)) if dtype else c.recommended)
        else:
            pick = tr("none fits")
        notes.append(("* " + tr("recommended:"), pick, "bold green"))
    if dtype and any("(--quantization fp8)" in r.name for r in c.rows):
        notes.append(("\u2020", tr("quantized to fp8 at load (--quantization fp8)"), "dim"))
    notes += [(tr("note:"), tr(n), "dim") for n in c.notes]
    if c.source:
        notes.append((tr("shown below:"), tr("the plan of {name}", name=c.rows[_shown(p)].name), "dim"))
    out.append(footer(notes))
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
    """vLLM's and SGLang's own start-up sizing: KV capacity, concurrency, largest context, the error.

    The runtimes' own error messages are quoted as they print them (English); mfi's own (data/patterns) and the rest are translated.
    """
    out: list[RenderableType] = []
    for v in p.serving:
        name = {"vllm": "vLLM", "sglang": "SGLang"}.get(v.runtime, v.runtime)
        head = safe_text(tr("{name} {version} on one GPU of {memory} (cache {cache})", name=name, version=v.version or "",
                            memory=text.size(v.memory), cache=v.cache_dtype))  # fmt: skip
        # the formulas are footnote lines under the table: as a column they would wrap every cell at 80 columns
        table = _titled(head, "item", "value", "formula", right=(1, 2))
        for i, t in enumerate(v.terms, 1):
            table.add_row(safe_text(tr(t.name)), safe_text(text.number(t.value)), Text(f"[{i}]", style="dim"))
        formulas = footer([(f"[{i}]", tr(t.formula), "dim") for i, t in enumerate(v.terms, 1)])
        rows: list[RenderableType] = [table, formulas]
        if v.kv_available is not None:
            kv = text.size(v.kv_available) if v.kv_available > 0 else text.DASH
            line = tr("KV cache memory {kv} of a {budget} budget: weights {weights}", kv=kv, budget=text.size(v.budget), weights=_size(v.weights))
            if v.activation is not None:
                line += tr(" + activation peak {peak} (estimate)", peak=_size(v.activation))
            rows.append(Text(line))
        if v.capacity_tokens is not None and v.concurrency is not None:
            rows.append(Text(tr("KV cache capacity {tokens} tokens, maximum concurrency {x}x for {ctx} tokens",
                                tokens=f"{v.capacity_tokens:,}", x=f"{v.concurrency:.2f}", ctx=f"{v.context:,}"), style="bold"))  # fmt: skip
        if v.largest_context:
            rows.append(Text(tr("largest max_model_len that fits: {n}", n=f"{v.largest_context:,}")))
        if v.error:
            rows.append(Text.assemble((tr("{name} would refuse to start:", name=name) + " ", "red"), safe_text(tr(v.error))))
        if v.note:
            rows.append(Text.assemble((tr("no KV figure:") + " ", "yellow"), safe_text(tr(v.note))))
        rows.append(footer([(tr("not counted:"), tr("; ").join(tr(n) for n in v.not_counted), "dim")]))
        out.append(Group(*rows))
    return out


def _version(version: str | None) -> tuple[str, str]:
    """A runtime version as (short form for the table, the rest for its footnote):
    ``0c1e57098 (llama-cpp-python 0.3.36)`` -> ``0c1e57098``, ``(llama-cpp-python 0.3.36)``."""
    if not version:
        return text.DASH, ""
    short, _, rest = version.partition(" (")
    return tr(short), (tr("(" + rest) if rest else "")


def runtimes_view(p: Plan) -> list[RenderableType]:
    """Runtime verdicts, remote code, projector files and quantization implications.

    Fits 80 columns: the table holds runtime, version, verdict and what each needs (one per line); the
    reasons are footnote lines under it, one per runtime.
    """
    r = p.runtimes
    table = new_table("Runtimes (from each runtime's own tables)", "runtime", "version", "verdict", "needs")
    why: list[tuple[str, str, str]] = []
    for v in r.verdicts:
        style = _VERDICT.get(v.status, "")
        short, rest = _version(v.version)
        table.add_row(v.runtime, safe_text(short), Text(tr(v.status), style=style), safe_text("\n".join(tr(n) for n in v.needs)))
        why.append((v.runtime, text.clean(" ".join(x for x in (rest, _parts(v.reason)) if x)), "dim"))
    out: list[RenderableType] = [Group(table, footer(why))]
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


def capabilities_view(p: Plan) -> Group:
    """Chat or base, tools, reasoning, system role, modalities, pooling, sampling, license, lineage.

    Fits 80 columns: the rows with evidence form the table; the long values without any (sampling
    defaults, base models) are labelled lines under it.
    """
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
    table.add_row(tr("license"), safe_text(c.license or text.DASH), "")
    below: list[tuple[str, str, str]] = []
    if c.sampling:
        below.append((tr("sampling defaults:"), text.number(c.sampling), ""))
    if c.base_models:
        below.append((tr("base model:"), "; ".join(c.base_models), ""))
    return Group(table, footer(below)) if below else Group(table)


def brief_view(p: Plan) -> Table:
    """The will-it-run block of the default ``mfi inspect`` screen."""
    table = new_table("Will it run (mfi plan for details)", "", "")
    table.show_header = False
    rows = plain.brief_rows(p)
    first = next((i for i, (label, _) in enumerate(rows) if label == "runtimes"), len(rows))
    groups = list(plain.verdict_groups(p).items())
    for i, (label, value) in enumerate(rows):
        if first <= i < first + len(groups):  # one verdict group per line, the verdict coloured: yes green, no red
            status, names = groups[i - first]
            table.add_row(tr(label) if label else "", Text.assemble((f"{tr(status)}:", _VERDICT.get(status, "")), " ", safe_text(", ".join(names))))
            continue
        style = "yellow" if label == "remote code" and p.runtimes.remote_code.required else ""
        table.add_row(tr(label) if label else "", Flow.of(value, style))
    return table


def plan_view(s: ModelSummary, p: Plan, *, explain: bool = False, lang: str = "en") -> Group:
    """``mfi plan``: a one-line overview, then memory, runtimes and capabilities."""
    from .inspect import overview

    warnings = footer([(tr("warning:"), w, "yellow") for w in p.warnings]) if p.warnings else None
    choices = Group(*choices_view(p)) if p.choices is not None else None
    return spaced([overview(s), choices, *memory_view(p, explain=explain, lang=lang), *serving_view(p), *runtimes_view(p), capabilities_view(p), warnings])

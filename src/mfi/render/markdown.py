"""``ModelSummary`` to GitHub markdown, for pasting into an issue or a model card."""

from __future__ import annotations

from ..records import ModelSummary
from . import text
from .json.inspect import select
from .terminal.inspect import FIELD_LABELS, overview


def cell(value: object) -> str:
    """Untrusted text safe inside a markdown table cell."""
    s = text.clean(value)
    for ch in ("\\", "|", "`", "*", "_", "<", ">", "[", "]"):
        s = s.replace(ch, "\\" + ch)
    return s


def _rows(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def inspect_markdown(s: ModelSummary, *, tensors: str | None = None, plan=None) -> str:  # type: ignore[no-untyped-def]
    """The inspect summary as markdown sections."""
    a, q, tok = s.architecture, s.quantization, s.tokenizer
    lines = [f"**{cell(overview(s).plain)}**", "", "### Architecture", ""]
    lines += _rows(("field", "value"), [(FIELD_LABELS[f], cell(text.number(getattr(a, f)))) for f in a.FIELDS])
    lines += ["", "### Quantization" if (q.file_type or q.method) else "### Dtypes", ""]
    lines += _rows(
        ("type", "tensors", "params", "bytes", "share", "bits/weight"),
        [(cell(r.dtype), f"{r.tensors:,}", text.count(r.params), text.size(r.bytes), text.share(r.share), text.bpw(r.bits_per_weight)) for r in q.rows],
    )
    if tok is not None:
        rows = [("model", cell(text.number(tok.model))), ("vocab size", text.number(tok.vocab_size))]
        if tok.merges is not None:
            rows.append(("merges", text.number(tok.merges)))
        rows += [(f"{r} token", f"{cell(repr(sp.text))} (id {text.number(sp.id)})") for r, sp in tok.special.items()]
        rows.append(("chat template", "yes" if tok.chat_templates else "no"))
        lines += ["", "### Tokenizer", ""] + _rows(("field", "value"), rows)
    if plan is not None:
        from .terminal.plan import brief_rows

        lines += ["", "### Will it run", ""] + _rows(("", ""), [(label, cell(value)) for label, value in brief_rows(plan)])
    if tensors is not None:
        lines += ["", "### Tensors", ""]
        lines += _rows(
            ("name", "type", "shape", "params", "bytes"),
            [(cell(t.name), cell(t.dtype), "x".join(map(str, t.shape)), f"{t.n_params:,}", text.size(t.n_bytes)) for t in select(s.tensors, tensors)],
        )
    notes = [f"- problem: {cell(p)}" for p in s.problems] + [f"- warning: {cell(w)}" for w in s.warnings]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"

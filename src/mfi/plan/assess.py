"""Will it run, and on what: one ``Plan`` from a summary, the files around it and the options."""

from __future__ import annotations

from ..errors import LimitError
from ..records import ModelSummary
from . import capabilities, layout, memory, runtimes
from .records import Layout, Options, Plan
from .surroundings import surroundings


def assess(s: ModelSummary, options: Options | None = None) -> Plan:
    """Memory at a context length, runtimes, remote code and capabilities for a summarised model."""
    options = options or Options()
    env, warnings = surroundings(s)
    try:
        lay = layout.from_summary(s)
    except LimitError as e:  # a hostile layer count: no memory figure, but the rest of the answer stands
        warnings.append(str(e))
        lay = Layout(None, unknown=e.problem)
    return Plan(
        layout=lay,
        memory=memory.estimate(s, lay, options),
        runtimes=runtimes.assess(s, env),
        capabilities=capabilities.detect(s, env),
        warnings=tuple(warnings),
    )

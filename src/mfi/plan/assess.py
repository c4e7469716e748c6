"""Will it run, and on what: one ``Plan`` from a summary, the files around it and the options."""

from __future__ import annotations

from dataclasses import replace

from ..errors import LimitError
from ..records import ModelSummary
from . import capabilities, layout, memory, runtimes
from .records import Layout, Options, Plan, Serving
from .surroundings import surroundings


def context_warnings(lay: Layout, options: Options) -> list[str]:
    """A context beyond the trained one, as llama.cpp warns at start-up (llama_context: "n_ctx_seq > n_ctx_train
    -- possible training context overflow"); vLLM refuses a larger max_model_len (config/model.py _get_and_verify_max_len)."""
    ctx, trained = options.context, lay.max_context
    if ctx is None or not trained or ctx <= trained:
        return []
    return [f"context {ctx:,} is beyond the trained context of {trained:,} tokens: quality may collapse past it "
            "(llama.cpp warns of a possible training context overflow; vLLM refuses it "
            "unless VLLM_ALLOW_LONG_MAX_MODEL_LEN=1)"]


def assess(s: ModelSummary, options: Options | None = None) -> Plan:
    """Memory at a context length, runtimes, remote code and capabilities for a summarised model."""
    options = options or Options()
    env, warnings = surroundings(s)
    try:
        lay = layout.from_summary(s)
    except LimitError as e:  # a hostile layer count: no memory figure, but the rest of the answer stands
        warnings.append(str(e))
        lay = Layout(None, unknown=e.problem)
    warnings += context_warnings(lay, options)
    plan = Plan(
        layout=lay,
        memory=memory.estimate(s, lay, options),
        runtimes=runtimes.assess(s, env),
        capabilities=capabilities.detect(s, env),
        warnings=tuple(warnings),
    )
    if s.format == "gguf":
        return plan
    from . import choices  # dtype choices and vLLM/SGLang sizing: safetensors only (inspect --json stays light)

    return replace(plan, choices=choices.of_dtypes(s, lay, options, plan), serving=serve(s, lay, options))


def serve(s: ModelSummary, lay: Layout, options: Options) -> tuple[Serving, ...]:
    """vLLM's and SGLang's own sizing on one GPU of ``options.memory`` (nothing without a memory)."""
    if options.memory is None:
        return ()
    from . import registry, serving

    ctx = options.context or lay.max_context or 4096
    cache = (options.cache_type_k or "auto").lower()
    cache = cache if cache in ("auto", "fp8", "fp8_e4m3", "fp8_e5m2", "float16", "bfloat16") else "auto"
    versions = {r: registry.runtime_tables()["runtimes"][r].get("version") for r in ("vllm", "sglang")}
    return (
        serving.vllm(s, lay, options.memory, ctx, utilization=options.gpu_memory_utilization, kv_cache_dtype=cache,
                     version=versions["vllm"]),
        serving.sglang(s, lay, options.memory, ctx, mem_fraction_static=options.mem_fraction_static,
                       kv_cache_dtype=cache, version=versions["sglang"]),
    )  # fmt: skip

"""Property tests: any tensor table grouped into logical tensors without raising; dequantizing it
either works or ends in ``DequantError``, never another exception, and never a large allocation."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mfi.compare import dequant
from mfi.records import TensorInfo
from mfi.summary.quantized import logical_view

SETTINGS = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

SUFFIXES = (".qweight", ".qzeros", ".scales", ".g_idx", ".biases", ".weight", ".weight_packed", ".weight_scale",
            ".weight_zero_point", ".weight_shape", ".weight_scale_inv", ".SCB", ".weight.absmax", ".weight.quant_map",
            ".weight.nested_absmax", ".weight.nested_quant_map", ".weight.quant_state.bitsandbytes__nf4", "_blocks",
            "_scales")  # fmt: skip
DTYPES = ("I32", "U32", "U8", "I8", "F16", "BF16", "F32", "F8_E4M3", "I64")
dims = st.lists(st.integers(0, 70), min_size=0, max_size=4).map(tuple)
entries = st.lists(st.tuples(st.sampled_from(("a", "b")), st.sampled_from(SUFFIXES), st.sampled_from(DTYPES), dims),
                   min_size=1, max_size=12)  # fmt: skip
configs = st.sampled_from([
    {}, {"quantization": {"bits": 4, "group_size": 64}}, {"quantization": {"bits": "x", "lm_head": []}},
    {"quantization_config": {"quant_method": "gptq", "bits": 3, "group_size": -1, "checkpoint_format": "gptq_v2"}},
    {"quantization_config": {"quant_method": "awq", "version": "gemv"}},
    {"quantization_config": {"quant_method": "compressed-tensors", "config_groups": {"g": {"targets": ["re:("],
                                                                                       "weights": {"num_bits": 9}}}}},
    {"quantization_config": {"quant_method": "fp8", "weight_block_size": [0, 128]}},
    {"quantization_config": [1, 2]},
])  # fmt: skip

@st.composite
def layouts(draw: st.DrawFn) -> list[tuple[str, str, str, tuple[int, ...]]]:
    """One weight in a known layout with small, mostly consistent dimensions; sometimes one dimension off."""
    o, i = draw(st.sampled_from((8, 16, 64))), draw(st.sampled_from((32, 64, 128)))
    b, g = draw(st.sampled_from((2, 3, 4, 8))), draw(st.sampled_from((32, 64)))
    kind = draw(st.sampled_from(("gptq", "awq", "mlx", "ct", "nvfp4", "fp8", "bnb4", "bnb8", "mxfp4")))
    parts = {
        "gptq": [(".qweight", "I32", (i * b // 32, o)), (".qzeros", "I32", (i // g, o * b // 32)),
                 (".scales", "F16", (i // g, o)), (".g_idx", "I32", (i,))],
        "awq": [(".qweight", "I32", (i, o * b // 32)), (".qzeros", "I32", (i // g, o * b // 32)), (".scales", "F16", (i // g, o))],
        "mlx": [(".weight", "U32", (o, i * b // 32)), (".scales", "BF16", (o, i // g)), (".biases", "BF16", (o, i // g))],
        "ct": [(".weight_packed", "I32", (o, -(-i * b // 32))), (".weight_scale", "BF16", (o, i // g)),
               (".weight_zero_point", "I32", (-(-o * b // 32), i // g)), (".weight_shape", "I64", (2,))],
        "nvfp4": [(".weight_packed", "U8", (o, i // 2)), (".weight_scale", "F8_E4M3", (o, i // 16)), (".weight_global_scale", "F32", (1,))],
        "fp8": [(".weight", "F8_E4M3", (o, i)), (".weight_scale_inv", "F32", (1, 1))],
        "bnb4": [(".weight", "U8", (o * i // 2, 1)), (".weight.absmax", "F32", (o * i // 64,)), (".weight.quant_map", "F32", (16,)),
                 (".weight.quant_state.bitsandbytes__nf4", "U8", (40,))],
        "bnb8": [(".weight", "I8", (o, i)), (".SCB", "F32", (o,))],
        "mxfp4": [("_blocks", "U8", (2, o, i // 32, 16)), ("_scales", "U8", (2, o, i // 32))],
    }[kind]
    if draw(st.booleans()):
        k = draw(st.integers(0, len(parts) - 1))
        suffix, dtype, shape = parts[k]
        if shape:
            d = draw(st.integers(0, len(shape) - 1))
            shape = shape[:d] + (draw(st.integers(0, 300)),) + shape[d + 1 :]
        parts[k] = (suffix, draw(st.sampled_from((dtype, *DTYPES))), shape)
    return [("m.l.q_proj" if s.startswith(".") else "m.l.experts.gate_up_proj", s, dt, sh) for s, dt, sh in parts]


_ITEM = {"I32": 4, "U32": 4, "U8": 1, "I8": 1, "F16": 2, "BF16": 2, "F32": 4, "F8_E4M3": 1, "I64": 8}


def _table(items: list[tuple[str, str, str, tuple[int, ...]]]) -> list[TensorInfo]:
    seen: dict[str, TensorInfo] = {}
    offset = 0
    for base, suffix, dtype, shape in items:
        n = math.prod(shape) * _ITEM[dtype]
        seen.setdefault(base + suffix, TensorInfo(base + suffix, dtype, shape, offset, n, "f"))
        offset += n
    return list(seen.values())


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # garbage bytes decode to inf/NaN: data, not an error
@SETTINGS
@given(st.one_of(layouts(), layouts(), layouts(), entries), configs, st.binary(max_size=64))
def test_any_table_groups_and_dequantizes_or_says_why(items, config, fill):
    table = _table(items)

    def whole(t: TensorInfo) -> bytes:
        return (fill or b"\x00") * ((t.n_bytes or 0) // max(len(fill), 1) + 1)

    view = logical_view(table, config, read=lambda t: whole(t)[: t.n_bytes])
    assert sum(len(lt.parts) for lt in view.tensors) == len(table)
    assert len(view.warnings) <= 7
    for lt in view.quantized:
        event(f"grouped {lt.method}")
        assert lt.n_params >= 0 and lt.n_bytes is not None
        try:
            for *_, v in dequant.tiles(lt, lambda t, off, n: whole(t)[off : off + n]):
                assert v.size <= 4 * dequant.CHUNK_ELEMENTS
        except dequant.DequantError:
            pass

"""Benchmark dequantization (issue 14): time and peak memory of comparing one large quantized layer.

Packs one 4096 x 11008 weight (a Llama-7B MLP size, 45 M values) as GPTQ 4-bit g128, AWQ 4-bit g128,
MLX 4-bit g64 and block FP8 with the fixture packers, writes each beside a BF16 copy, then in a fresh
process per layout measures ``compare.dequant.compare`` (the layer against its BF16 original): wall
time and the peak of memory allocated while comparing (tracemalloc, which sees numpy's buffers). Memory stays flat because tiles
of about a million values are decoded at a time; the whole layer in float64 would take 360 MB.

Run: python bench/bench_dequant.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT, IN = 4096, 11008

_CHILD = r"""
import json, sys, time, tracemalloc
from pathlib import Path
from mfi.compare import dequant
from mfi.formats.safetensors import read_safetensors
from mfi.sources.local import LocalFile
from mfi.summary.quantized import logical_view
d = Path(sys.argv[1])
q, ref = LocalFile(d / "q.safetensors"), LocalFile(d / "ref.safetensors")
view = logical_view(read_safetensors(q).tensors, json.loads((d / "config.json").read_text()))
(lt,) = view.quantized
(rt,) = read_safetensors(ref).tensors
tracemalloc.start()  # numpy reports its buffers to tracemalloc
t0 = time.perf_counter()
stats = dequant.compare(lt, rt, lambda t, o, n: q.read_at(t.offset + o, n), lambda t, o, n: ref.read_at(t.offset + o, n))
dt = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1]
print(json.dumps({"label": lt.label, "seconds": round(dt, 2), "peak_mib": round(peak / 2**20, 1),
                  "cosine": round(stats["cosine"], 5)}))
"""


def main() -> int:
    sys.path.insert(0, str(ROOT / "fixtures"))
    import quantized as gen
    from _quant import fp8_block_quant, st_entry
    from _write import write_json, write_safetensors

    rng = np.random.default_rng(0)
    w = gen.bf16_round(rng.standard_normal((OUT, IN), dtype=np.float32) * np.float32(0.02))
    name = "model.layers.0.mlp.up_proj."
    layouts = {}
    p = gen.gptq_quantize(w, 4, 128, True, False, rng)
    layouts["gptq"] = ({name + "qweight": gen._i32(p["qweight"]), name + "qzeros": gen._i32(p["qzeros"]),
                        name + "scales": gen._f16(p["scales"])},
                       {"quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 128}})
    p = gen.awq_quantize(w, 128)
    layouts["awq"] = ({name + "qweight": gen._i32(p["qweight"]), name + "qzeros": gen._i32(p["qzeros"]),
                       name + "scales": gen._f16(p["scales"])},
                      {"quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 128, "version": "gemm"}})
    p = gen.mlx_quantize(w, 4, 64)
    layouts["mlx"] = ({name + "weight": ("U32", list(p["weight"].shape), p["weight"]),
                       name + "scales": st_entry("BF16", p["scales"]), name + "biases": st_entry("BF16", p["biases"])},
                      {"quantization": {"bits": 4, "group_size": 64}})
    q8, s8 = fp8_block_quant(w)
    layouts["fp8"] = ({name + "weight": ("F8_E4M3", [OUT, IN], q8), name + "weight_scale_inv": st_entry("F32", s8)},
                      {"quantization_config": {"quant_method": "fp8", "weight_block_size": [128, 128]}})
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for key, (tensors, config) in layouts.items():
            d = Path(tmp) / key
            write_safetensors(d / "q.safetensors", tensors)
            write_safetensors(d / "ref.safetensors", {name + "weight": st_entry("BF16", w)})
            write_json(d / "config.json", config)
            out = subprocess.run([sys.executable, "-c", _CHILD, str(d)], capture_output=True, text=True, check=True)
            results.append(json.loads(out.stdout))
            print(results[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

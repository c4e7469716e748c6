"""Benchmark `mfi compare`: two 1,000-tensor models compared structurally (target < 1 s, issue 3).

Builds a llama-style HF folder (111 layers x 9 tensors + 3 = 1,002 safetensors tensors) and its
GGUF conversion (the same tensors under GGUF names, ne order), then times:

1. in process: ``api.compare`` (both headers read, names mapped through gguf's map, tables built);
2. whole process: ``mfi compare HF GGUF --json`` (interpreter start and imports included);
3. GGUF against GGUF (names as written);
4. ``--weights --sample 8`` (values read and dequantized) for scale.

Run: python bench/bench_compare.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

LAYERS = 111
HIDDEN, FFN, HEADS, KV_HEADS = 64, 128, 4, 2
HD = HIDDEN // HEADS


def _hf_weights() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    w = {"model.embed_tokens.weight": rng.standard_normal((256, HIDDEN), np.float32)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        shapes = {
            "self_attn.q_proj.weight": (HEADS * HD, HIDDEN), "self_attn.k_proj.weight": (KV_HEADS * HD, HIDDEN),
            "self_attn.v_proj.weight": (KV_HEADS * HD, HIDDEN), "self_attn.o_proj.weight": (HIDDEN, HEADS * HD),
            "mlp.gate_proj.weight": (FFN, HIDDEN), "mlp.up_proj.weight": (FFN, HIDDEN),
            "mlp.down_proj.weight": (HIDDEN, FFN), "input_layernorm.weight": (HIDDEN,),
            "post_attention_layernorm.weight": (HIDDEN,),
        }  # fmt: skip
        for name, shape in shapes.items():
            w[p + name] = rng.standard_normal(shape, np.float32)
    w["model.norm.weight"] = np.ones(HIDDEN, np.float32)
    w["lm_head.weight"] = rng.standard_normal((256, HIDDEN), np.float32)
    return w


def build(out: Path) -> tuple[Path, Path, Path]:
    """Write the HF folder, its F32 GGUF conversion and an F16 GGUF of the same names."""
    import gguf
    from safetensors.numpy import save_file

    w = _hf_weights()
    hf = out / "hf"
    hf.mkdir()
    save_file(w, str(hf / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": LAYERS,
        "hidden_size": HIDDEN, "intermediate_size": FFN, "num_attention_heads": HEADS,
        "num_key_value_heads": KV_HEADS, "vocab_size": 256, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
    }  # fmt: skip
    (hf / "config.json").write_text(json.dumps(config))
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, LAYERS)
    paths = []
    for fname, dtype in (("model-F32.gguf", np.float32), ("model-F16.gguf", np.float16)):
        g = gguf.GGUFWriter(str(out / fname), "llama")
        g.add_block_count(LAYERS)
        g.add_embedding_length(HIDDEN)
        g.add_head_count(HEADS)
        g.add_head_count_kv(KV_HEADS)
        for name, a in w.items():
            if name.endswith(("q_proj.weight", "k_proj.weight")):  # convert_hf_to_gguf.py LlamaModel.permute
                n = HEADS if "q_proj" in name else KV_HEADS
                a = a.reshape(n, 2, a.shape[0] // n // 2, *a.shape[1:]).swapaxes(1, 2).reshape(a.shape)
            g.add_tensor(names.get_name(name, try_suffixes=(".weight",)), a.astype(dtype if a.ndim == 2 else np.float32))
        g.write_header_to_file()
        g.write_kv_data_to_file()
        g.write_tensors_to_file()
        g.close()
        paths.append(out / fname)
    return hf, paths[0], paths[1]


def in_process(a: Path, b: Path, runs: int, **kw) -> tuple[float, int]:
    """Median seconds of ``api.compare`` and the number of matched tensors."""
    from mfi import api

    api.compare(a, b, **kw)  # warm: imports and the gguf name map's first build
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        c = api.compare(a, b, **kw)
        times.append(time.perf_counter() - t)
    return statistics.median(times), len(c.pairs)


def whole_process(a: Path, b: Path, runs: int) -> float:
    """Median wall seconds of ``mfi compare A B --json`` as a fresh process."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mfi", "compare", str(a), str(b), "--json"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hf, g32, g16 = build(Path(tmp))
        t, n = in_process(hf, g32, args.runs)
        print(f"HF folder vs GGUF, structural, in process:  {t * 1000:7.1f} ms  ({n} tensors matched; target < 1000 ms)")
        print(f"HF folder vs GGUF, structural, mfi --json:  {whole_process(hf, g32, args.runs) * 1000:7.1f} ms  (whole process)")
        t, n = in_process(g32, g16, args.runs)
        print(f"GGUF vs GGUF, structural, in process:       {t * 1000:7.1f} ms  ({n} tensors matched)")
        t, _ = in_process(hf, g16, max(1, args.runs // 2), weights=True, sample=8)
        print(f"HF folder vs GGUF F16, --weights --sample 8: {t * 1000:6.1f} ms")
        t, _ = in_process(hf, g16, 1, weights=True)
        print(f"HF folder vs GGUF F16, --weights (all rows): {t * 1000:6.1f} ms")


if __name__ == "__main__":
    main()

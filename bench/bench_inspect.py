"""Benchmark `mfi inspect` against the anchors, whole process, side by side.

1. A GGUF with a Qwen-sized tokenizer (151,936 tokens, 151,387 merges): `mfi inspect --json`
   against `gguf-dump --no-tensors` (from the gguf package). Prints wall time, peak RSS, ratio.
2. `mfi --help` wall time.
3. A folder of 5 safetensors shards x 400 tensors: `mfi inspect --json` against reading the same
   facts (names, dtypes, shapes, metadata) with `safetensors.safe_open`.

Run: python bench/bench_inspect.py [--runs 5]. Targets (issue 2): >= 25x faster than gguf-dump,
< 80 MiB peak, --help < 0.25 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

# Runs one command as the launcher's only child and reports its wall time and peak RSS.
_LAUNCH = r"""
import resource, subprocess, sys, time
t = time.perf_counter()
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
dt = time.perf_counter() - t
if r.returncode not in (0, 1):
    sys.stderr.write(r.stderr.decode()); sys.exit(r.returncode)
print(dt, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(cmd: list[str], runs: int) -> tuple[float, float]:
    """Median wall seconds and max peak RSS (MiB) over ``runs`` runs."""
    times, peaks = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _LAUNCH, *cmd], capture_output=True, text=True, check=True)
        dt, rss = out.stdout.split()
        times.append(float(dt))
        peaks.append(int(rss) / 1024)
    return statistics.median(times), max(peaks)


def qwen_vocab_gguf(path: Path) -> Path:
    """A GGUF shaped like a Qwen2/3 conversion's header: the full-size vocabulary and merges."""
    import gguf

    rng = np.random.default_rng(0)
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyzĠĊ0123456789"))
    lengths = rng.integers(2, 12, size=151_936)
    tokens = [f"{''.join(alphabet[rng.integers(0, len(alphabet), n)])}{i}" for i, n in enumerate(lengths)]
    merges = [f"{tokens[i][:3]} {tokens[i][3:]}" for i in range(151_387)]
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_block_count(28)
    w.add_context_length(32768)
    w.add_embedding_length(64)
    w.add_head_count(4)
    w.add_head_count_kv(2)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types([1] * len(tokens))
    w.add_token_merges(merges)
    w.add_bos_token_id(151643)
    w.add_eos_token_id(151645)
    w.add_chat_template("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}")
    for layer in range(28):
        q = gguf.quants.quantize(np.ones((64, 64), np.float32), gguf.GGMLQuantizationType.Q8_0)
        w.add_tensor(f"blk.{layer}.attn_q.weight", q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def sharded_folder(folder: Path, shards: int = 5, per_shard: int = 400) -> Path:
    """A safetensors folder of ``shards`` files with ``per_shard`` small tensors each, plus an index."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    weight_map = {}
    for s in range(shards):
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        arrays = {f"model.layers.{s * 100 + i // 4}.w{i % 4}.weight": np.ones((8, 8), np.float16) for i in range(per_shard)}
        save_file(arrays, str(folder / name), metadata={"format": "pt"})
        weight_map.update({k: name for k in arrays})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 500}))
    return folder


_SAFE_OPEN = r"""
import sys, pathlib
from safetensors import safe_open
facts = []
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.safetensors")):
    with safe_open(str(p), framework="numpy") as f:
        meta = f.metadata()
        for k in f.keys():
            s = f.get_slice(k)
            facts.append((k, s.get_dtype(), s.get_shape()))
print(len(facts))
"""


def in_process(folder: Path, runs: int) -> tuple[float, float]:
    """Median seconds of the library call and of the safe_open loop, imports excluded."""
    import time

    from safetensors import safe_open

    import mfi.api

    def ref() -> None:
        for p in sorted(folder.glob("*.safetensors")):
            with safe_open(str(p), framework="numpy") as f:
                f.metadata()
                for k in f.keys():
                    s = f.get_slice(k)
                    s.get_dtype(), s.get_shape()

    out = []
    for fn in (lambda: mfi.api.inspect(folder), ref):
        fn()  # warm: imports and caches
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        out.append(statistics.median(times))
    return out[0], out[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    bindir = Path(sys.executable).parent
    mfi = [str(bindir / "mfi")]
    dump = shutil.which("gguf-dump", path=str(bindir)) or "gguf-dump"
    with tempfile.TemporaryDirectory() as tmp:
        gguf_path = qwen_vocab_gguf(Path(tmp) / "qwen-vocab.gguf")
        size = gguf_path.stat().st_size
        print(f"GGUF with 151,936 tokens and 151,387 merges: {size / 2**20:.1f} MiB")
        t_mfi, m_mfi = measure([*mfi, "inspect", "--json", str(gguf_path)], args.runs)
        t_dump, m_dump = measure([dump, "--no-tensors", str(gguf_path)], max(1, min(args.runs, 3)))
        print(f"  mfi inspect --json      {t_mfi:7.3f} s  peak {m_mfi:6.1f} MiB")
        print(f"  gguf-dump --no-tensors  {t_dump:7.3f} s  peak {m_dump:6.1f} MiB")
        print(f"  ratio: mfi is {t_dump / t_mfi:.1f}x faster, uses {m_dump / m_mfi:.1f}x less memory (target >= 25x, < 80 MiB)")
        t_help, _ = measure([*mfi, "--help"], args.runs)
        print(f"mfi --help: {t_help:.3f} s (target < 0.25 s)")
        folder = sharded_folder(Path(tmp) / "shards")
        t_st, m_st = measure([*mfi, "inspect", "--json", str(folder)], args.runs)
        t_ref, m_ref = measure([sys.executable, "-c", _SAFE_OPEN, str(folder)], args.runs)
        print("5 safetensors shards x 400 tensors:")
        print(f"  mfi inspect --json      {t_st:7.3f} s  peak {m_st:6.1f} MiB")
        print(f"  safetensors.safe_open   {t_ref:7.3f} s  peak {m_ref:6.1f} MiB")
        print(f"  ratio: {t_ref / t_st:.2f}x whole process (mfi also reads config, index and validates the layout)")
        lib, ref = in_process(folder, args.runs)
        print(f"  in process: mfi.inspect {lib * 1000:.1f} ms, safe_open loop {ref * 1000:.1f} ms, ratio {ref / lib:.2f}x")


if __name__ == "__main__":
    main()

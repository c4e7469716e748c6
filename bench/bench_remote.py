"""Remote inspect on a slow link, against the local test hub: requests, bytes and wall time.

    PYTHONPATH=src python bench/bench_remote.py [--delay 0.1] [--shards 8] [--vocab 151000]

Builds (1) a sharded safetensors repo and (2) a GGUF whose header holds a Qwen-sized vocabulary
(tokens and merges growing longer with the id, token types, bos/eos ids, a chat template, 339
tensors, 8 MiB of tensor data after the header), serves
them with tests/hubserver.py on 127.0.0.1 with ``--delay`` seconds before every answer (a 100 ms
link), and prints for each: the first inspect (empty header cache), the same inspect again (cache),
and huggingface_hub's ``get_safetensors_metadata`` beside the safetensors one. Targets (issue 10):
GGUF = the listing + at most 3 Range requests and at most 1.05x the header's bytes; again = at most
one request and no header bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ["HF_HUB_OFFLINE"] = "0"


def make_safetensors_repo(folder: Path, shards: int) -> None:
    """A llama-like sharded repo: per shard 4 layers of 9 tensors, an index, config and tokenizer files."""
    import numpy as np
    from safetensors.numpy import save_file

    folder.mkdir(parents=True)
    weight_map = {}
    for s in range(shards):
        name = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        tensors = {}
        for layer in range(s * 4, s * 4 + 4):
            for t in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "input_layernorm", "post_attention_layernorm"):
                tensors[f"model.layers.{layer}.{t}.weight"] = np.zeros((64, 64), np.float16)
        save_file(tensors, folder / name, metadata={"format": "pt"})
        weight_map.update({k: name for k in tensors})
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "num_hidden_layers": shards * 4, "hidden_size": 64}))
    (folder / "tokenizer_config.json").write_text(json.dumps({"eos_token": "</s>"}))
    (folder / "tokenizer.json").write_text(json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "added_tokens": []}))


def make_gguf(path: Path, vocab: int) -> int:
    """A GGUF with a Qwen-sized vocabulary and merges (lengths varied, seeded); returns its header size."""
    import gguf
    import numpy as np

    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyzĠ"
    # as in a BPE vocabulary, later tokens are longer (1-4 characters first, 15-18 last)
    words = ["".join(rng.choice(letters) for _ in range(1 + (14 * i) // vocab + rng.randint(0, 3))) for i in range(vocab)]
    path.parent.mkdir(parents=True)
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_block_count(28)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(words)
    w.add_token_types([1] * vocab)
    w.add_token_merges([f"{words[i // 2]} {words[i // 3]}" for i in range(vocab)])  # merges grow longer too
    w.add_bos_token_id(vocab - 293)
    w.add_eos_token_id(vocab - 291)
    w.add_chat_template("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}" * 20)
    for layer in range(28):
        for t in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down", "attn_norm", "ffn_norm", "attn_q.bias", "attn_k.bias", "attn_v.bias"):
            w.add_tensor(f"blk.{layer}.{t}.weight", np.zeros((4, 8), np.float32))
    for name in ("token_embd.weight", "output_norm.weight"):
        w.add_tensor(name, np.zeros((4, 8), np.float32))
    w.add_tensor("output.weight", np.zeros((1024, 2048), np.float32))  # 8 MiB of data after the header, as in a real file
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    from mfi.formats.gguf import read_gguf
    from mfi.sources import LocalFile

    with LocalFile(path) as src:
        return read_gguf(src).header_size


def _run(hub, call) -> tuple[int, int, int, float]:
    """(requests, Range requests, bytes sent, seconds) of one call against the hub."""
    hub.reset()
    t0 = time.perf_counter()
    call()
    took = time.perf_counter() - t0
    ranges = sum(1 for _, _, rng in hub.log if rng)
    return hub.requests, ranges, hub.bytes_sent, took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--delay", type=float, default=0.1, help="seconds before every answer of the test hub")
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=151_000)
    args = ap.parse_args()
    from huggingface_hub import HfApi
    from hubserver import HubServer

    from mfi import api

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MFI_CACHE_DIR"] = str(Path(tmp) / "header-cache")  # the user's cache stays untouched
        root = Path(tmp) / "repos"
        make_safetensors_repo(root / "bench" / "sharded", args.shards)
        header = make_gguf(root / "bench" / "gguf" / "model.gguf", args.vocab)
        with HubServer(root, lifetime=600) as hub:
            hub.faults.delay = args.delay
            st = "hf://bench/sharded"
            rows_st = [
                ("mfi inspect", _run(hub, lambda: api.inspect(st, mirror=hub.url))),
                ("mfi inspect again (cache)", _run(hub, lambda: api.inspect(st, mirror=hub.url))),
                ("mfi inspect --no-cache", _run(hub, lambda: api.inspect(st, mirror=hub.url, cache=False))),
                ("get_safetensors_metadata", _run(hub, lambda: HfApi(endpoint=hub.url).get_safetensors_metadata("bench/sharded"))),
            ]
            g = "hf://bench/gguf/model.gguf"
            rows_g = [
                ("mfi inspect", _run(hub, lambda: api.inspect(g, mirror=hub.url))),
                ("mfi inspect again (cache)", _run(hub, lambda: api.inspect(g, mirror=hub.url))),
                ("mfi inspect --no-cache", _run(hub, lambda: api.inspect(g, mirror=hub.url, cache=False))),
            ]
    head = f"  {'':28} {'requests':>8} {'ranges':>6} {'bytes':>12} {'wall':>8}"
    print(f"test hub with {args.delay * 1000:.0f} ms before every answer")
    print(f"safetensors repo, {args.shards} shards (index, config, tokenizer_config, tokenizer)")
    print(head)
    for name, (n, r, b, t) in rows_st:
        print(f"  {name:28} {n:>8} {r:>6} {b:>12,} {t:>7.2f}s")
    print(f"GGUF, {args.vocab:,} tokens + merges, header {header:,} bytes")
    print(head + "   bytes/header")
    for name, (n, r, b, t) in rows_g:
        print(f"  {name:28} {n:>8} {r:>6} {b:>12,} {t:>7.2f}s   {b / header:.3f}x")
    print("targets: GGUF <= 1 + 3 requests and <= 1.05x the header; again: <= 1 request, no header bytes")


if __name__ == "__main__":
    main()

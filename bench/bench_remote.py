"""Remote inspect cost on the local test hub: requests and bytes, mfi beside huggingface_hub.

    PYTHONPATH=src python bench/bench_remote.py [--shards 8] [--vocab 150000]

Builds (1) a sharded safetensors repo and (2) a GGUF whose header holds a Qwen-sized vocabulary
(~9 MB of tokens and merges), serves them with tests/hubserver.py on 127.0.0.1, and prints the
requests and bytes of ``mfi inspect`` against ``HfApi.get_safetensors_metadata`` (which reads only
the safetensors headers, no config or tokenizer). Targets (issue 4): safetensors <= shards + 5
requests and < 150 KB per shard header; GGUF < 1.2x the header size.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
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
    """A GGUF with ``vocab`` tokens and merges (Qwen-sized by default); returns its header size."""
    import gguf
    import numpy as np

    path.parent.mkdir(parents=True)
    w = gguf.GGUFWriter(str(path), "qwen2")
    w.add_block_count(1)
    w.add_tokenizer_model("gpt2")
    w.add_token_list([f"tok_{i:06d}_Ġword" for i in range(vocab)])
    w.add_token_types([1] * vocab)
    w.add_token_merges([f"Ġa{i} b{i}" for i in range(vocab)])
    w.add_tensor("token_embd.weight", np.zeros((16, 64), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    from mfi.formats.gguf import read_gguf
    from mfi.sources import LocalFile

    with LocalFile(path) as src:
        return read_gguf(src).data_offset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=151_000)
    args = ap.parse_args()
    from huggingface_hub import HfApi
    from hubserver import HubServer

    from mfi import api

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repos"
        make_safetensors_repo(root / "bench" / "sharded", args.shards)
        header = make_gguf(root / "bench" / "gguf" / "model.gguf", args.vocab)
        with HubServer(root, lifetime=300) as hub:
            hub.reset()
            s = api.inspect("hf://bench/sharded", mirror=hub.url)
            mfi_st = (hub.requests, hub.bytes_sent)
            hub.reset()
            HfApi(endpoint=hub.url).get_safetensors_metadata("bench/sharded")
            hf_st = (hub.requests, hub.bytes_sent)
            hub.reset()
            g = api.inspect("hf://bench/gguf/model.gguf", mirror=hub.url)
            mfi_gguf = (hub.requests, hub.bytes_sent)
    print(f"safetensors repo, {args.shards} shards ({len(s.tensors)} tensors)")
    print(f"  {'':28} {'requests':>8} {'bytes':>12}")
    print(f"  {'mfi inspect (all headers)':28} {mfi_st[0]:>8} {mfi_st[1]:>12,}   target <= {args.shards + 5} requests")
    print(f"  {'get_safetensors_metadata':28} {hf_st[0]:>8} {hf_st[1]:>12,}   (weights only: no config, no tokenizer)")
    print(f"GGUF, {args.vocab:,} tokens + merges, header {header:,} bytes ({len(g.tensors)} tensors)")
    print(f"  {'mfi inspect':28} {mfi_gguf[0]:>8} {mfi_gguf[1]:>12,}   = {mfi_gguf[1] / header:.3f}x header (target < 1.2x)")


if __name__ == "__main__":
    main()

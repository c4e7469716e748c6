"""Issue 12 section 4: which quantization fits. A folder or hub repo of several GGUF models gives one
row per quantization (split parts summed) from headers only, and the largest that fits is recommended."""

from __future__ import annotations

import json


from mfi import api
from mfi.plan import choices, serving

#: llama-tiny: 2 layers x 2 KV heads x 64, f16 K and V: 2 x 4,096 cells x 512 B at 4,096 tokens.
KV_4K = 2 * 4096 * 512
#: llama.cpp's compute buffer (8,402,944 B: the reserved graph of plan/compute.py) and output buffer (367 logits x 4 B)
#: of llama-tiny at 4,096 tokens, the same for both quantizations (same shapes).
BUFFERS_4K = 8_402_944 + 367 * 4
Q4_WEIGHTS, Q8_WEIGHTS = 840_992, 1_458_304  # tensor-data spans of llama-tiny-Q4_K_M and the three Q8_0 parts


def test_names_drop_the_common_prefix_and_split_suffix():
    assert choices.names(["Qwen3-8B-Q4_K_M.gguf", "Qwen3-8B-UD-Q5_K_XL.gguf", "Q8_0/Qwen3-8B-Q8_0-00001-of-00002.gguf"]) == [
        "Q4_K_M", "UD-Q5_K_XL", "Q8_0"]  # fmt: skip
    assert choices.names(["a/m-Q4_0.gguf", "b/m-Q4_0.gguf"]) == ["a/m-Q4_0", "b/m-Q4_0"]


def test_a_folder_of_quantizations_gets_one_row_each_and_the_largest_that_fits(gguf_folder):
    q4_total = Q4_WEIGHTS + KV_4K + BUFFERS_4K
    q8_total = Q8_WEIGHTS + KV_4K + BUFFERS_4K
    # 100,000 bytes more than Q4_K_M needs: Q8_0 (617,312 B larger) does not fit at 4,096 tokens
    p = api.plan(str(gguf_folder), ctx="4k", memory=f"{q4_total + 100_000}B")
    c = p.choices
    assert c is not None and c.kind == "quantization" and c.source == str(gguf_folder) and c.context == 4096
    rows = {r.name: r for r in c.rows}
    assert rows["Q4_K_M"].files == ("llama-tiny-Q4_K_M.gguf",)
    assert rows["Q8_0"].files == tuple(f"llama-tiny-Q8_0-{i:05d}-of-00003.gguf" for i in (1, 2, 3))
    assert (rows["Q4_K_M"].weights_bytes, rows["Q4_K_M"].kv_cache_bytes, rows["Q4_K_M"].total_bytes) == (Q4_WEIGHTS, KV_4K, q4_total)
    assert (rows["Q8_0"].weights_bytes, rows["Q8_0"].total_bytes) == (Q8_WEIGHTS, q8_total)
    assert rows["Q4_K_M"].fits is True and rows["Q8_0"].fits is False
    assert rows["Q4_K_M"].compute_bytes == rows["Q8_0"].compute_bytes == BUFFERS_4K
    # 256 fewer cells save 2 layers x 256 x 512 B = 262,144 B of KV cache and 256 x 512 x 2 B = 262,144 B of
    # the F16 KQ mask in the compute buffer: Q8_0, 517,312 B over at 4,096 tokens, fits 3,840
    assert (rows["Q4_K_M"].max_context, rows["Q8_0"].max_context) == (4096, 3840)
    assert c.recommended == "Q4_K_M"
    assert p.model is not None and p.model.target.endswith("llama-tiny-Q4_K_M.gguf")  # the rest is of the pick
    roomy = api.plan(str(gguf_folder), ctx=4096, memory="1GiB").choices
    assert roomy is not None and roomy.recommended == "Q8_0"
    tight = api.plan(str(gguf_folder), ctx=4096, memory="10MiB").choices  # totals of 12.8 and 13.4 MiB
    assert tight is not None and tight.recommended is None and all(r.fits is False for r in tight.rows)


def test_plan_json_of_a_folder(gguf_folder, cli):
    r = cli("plan", str(gguf_folder), "--ctx", "4096", "--memory", "1GiB", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "mfi.plan/1" and doc["target"] == str(gguf_folder) and doc["recommended"] == "Q8_0"
    assert doc["plan_of"].endswith("llama-tiny-Q8_0-00001-of-00003.gguf")
    q8 = doc["choices"][1]
    assert q8 == {"name": "Q8_0", "files": [f"llama-tiny-Q8_0-{i:05d}-of-00003.gguf" for i in (1, 2, 3)],
                  "weights_bytes": Q8_WEIGHTS, "kv_cache_bytes": KV_4K, "compute_bytes": BUFFERS_4K,
                  "total_bytes": Q8_WEIGHTS + KV_4K + BUFFERS_4K, "fits": True, "max_context": 8192,
                  "runtime": "llama.cpp", "cache_type": "f16"}  # fmt: skip
    text = cli("plan", str(gguf_folder), "--ctx", "4096", "--memory", "1GiB")
    assert "Which quantization fits (context 4,096, memory 1.00 GiB)" in text.stdout
    assert "recommended: Q8_0 (the largest that fits)" in text.stdout


def test_a_hub_repo_of_quantizations_reads_headers_only(hub):
    p = api.plan("hf://test/llama-tiny-GGUF", ctx=4096, memory="1GiB", mirror=hub.url)
    assert p.choices is not None and [r.name for r in p.choices.rows] == ["Q4_K_M", "Q8_0"]
    assert [r.weights_bytes for r in p.choices.rows] == [Q4_WEIGHTS, Q8_WEIGHTS]
    assert p.choices.recommended == "Q8_0"
    # one listing, then per model its listing and one header read per file: 1 + (1 + 1) + (1 + 3) for 4 files
    assert hub.requests == 7 <= 3 * 4


def test_one_gguf_file_in_a_repo_is_planned_alone(hub):
    p = api.plan("hf://test/llama-tiny-GGUF/llama-tiny-Q4_K_M.gguf", ctx=4096, mirror=hub.url)
    assert p.choices is None and p.memory.kv.bytes == KV_4K


def test_a_safetensors_model_gets_the_table_across_dtypes(models):
    p = api.plan(str(models / "qwen3-tiny"), ctx=4096, memory="4GiB")
    c = p.choices
    assert c is not None and c.kind == "dtype"
    assert [r.name for r in c.rows] == ["weights bfloat16, cache bfloat16", "weights bfloat16, cache fp8",
                                        "weights fp8 (--quantization fp8), cache bfloat16",
                                        "weights fp8 (--quantization fp8), cache fp8"]  # fmt: skip
    # qwen3-tiny: 2 layers x 2 KV heads x 64; K and V per token 2 x 2 x 64 = 256 elements per layer, 4,096 tokens
    assert [r.kv_cache_bytes for r in c.rows] == [2 * 4096 * 256 * 2, 2 * 4096 * 256, 2 * 4096 * 256 * 2, 2 * 4096 * 256]
    assert c.rows[0].weights_bytes == p.memory.weights.total == 1_378_304
    assert c.rows[0].total_bytes == 1_378_304 + 2 * 4096 * 512 + (2 << 30)
    assert c.recommended == "weights bfloat16, cache bfloat16"
    # --quantization fp8: 2 layers x 294,912 linear elements (q, o 65,536; k, v, gate, up, down 32,768) in 1 byte,
    # the 382 x 256 embedding and 1,536 norm elements in 2: 589,824 + 195,584 + 3,072
    assert c.rows[2].weights_bytes == serving.fp8_online_bytes(p.model) == 788_480


def test_inspect_of_such_a_folder_points_at_plan(gguf_folder, cli):
    r = cli("inspect", str(gguf_folder))
    assert r.exit_code == 2 and "holds 2 GGUF models" in r.stderr and "(mfi plan compares them all)" in r.stderr

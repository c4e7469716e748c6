"""Remote inspect through the real clients against the test hub: same summary, counted requests and bytes."""

from __future__ import annotations

import json

import pytest

from hubserver import HubServer

pytestmark = pytest.mark.timeout(60)


def test_safetensors_repo_costs_shards_plus_five_requests(hub, models):
    from mfi import api
    from mfi.render.json.inspect import inspect_dict

    s = api.inspect("hf://test/qwen3-tiny", mirror=hub.url)
    # listing, index, 2 shard headers, config.json, tokenizer_config.json, tokenizer.json
    assert hub.requests == 2 + 5
    assert s.fetched.requests == hub.requests
    shard_gets = [(p, r) for m, p, r in hub.log if p.endswith(".safetensors")]
    assert [r for _, r in shard_gets] == ["bytes=0-99999", "bytes=0-99999"]  # one request per header
    assert s.fetched.bytes <= hub.bytes_sent
    assert s.fetched.bytes < 2 * 100_000 + 30_000
    local = inspect_dict(api.inspect(str(models / "qwen3-tiny")))
    remote = inspect_dict(s)
    for key in ("architecture", "parameters", "tensors", "quantization", "format"):
        assert remote[key] == local[key], key
    assert remote["fetched"]["commit"] == hub.commit("test/qwen3-tiny")
    assert [f["path"].rsplit("/", 1)[-1] for f in remote["files"]][:3] == [
        "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
    ]  # fmt: skip


def test_long_safetensors_header_takes_a_second_request_for_the_rest(hub_root, tmp_path):
    import numpy as np
    from safetensors.numpy import save_file

    from mfi import api

    repo = tmp_path / "repos" / "big" / "header"
    repo.mkdir(parents=True)
    tensors = {f"layer.{i}.a_rather_long_tensor_name_to_grow_the_header.weight": np.zeros((2,), np.float32) for i in range(2000)}
    save_file(tensors, repo / "model.safetensors")
    header = int.from_bytes((repo / "model.safetensors").read_bytes()[:8], "little")
    assert header > 100_000
    with HubServer(tmp_path / "repos", lifetime=30) as hub:
        s = api.inspect("hf://big/header", mirror=hub.url)
        ranges = [r for _, p, r in hub.log if p.endswith(".safetensors")]
    assert ranges == ["bytes=0-99999", f"bytes=100000-{8 + header - 1}"]
    assert len(s.tensors) == 2000
    assert s.fetched.requests == 3


def test_gguf_header_read_with_growing_window_and_cost_line(hub, cli):
    r = cli("inspect", "hf://test/qwen3-tiny-F16-GGUF", "--mirror", hub.url)
    assert r.exit_code == 0, r.stderr
    assert "fetched" in r.stdout and "in 2 requests from 127.0.0.1" in r.stdout  # the listing and one window (token texts from it)
    gets = [rng for m, p, rng in hub.log if p.endswith(".gguf")]
    assert gets[0] == "bytes=0-1048575"  # the reader's first window


def test_json_output_carries_the_cost(hub, cli):
    r = cli("inspect", "hf://test/llama-tiny-GGUF/llama-tiny-Q4_K_M.gguf", "--mirror", hub.url, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["format"] == "gguf"
    assert doc["fetched"]["requests"] == hub.requests == 2
    size = (hub.root / "test/llama-tiny-GGUF/llama-tiny-Q4_K_M.gguf").stat().st_size
    assert size < 1 << 20 and doc["fetched"]["bytes"] == size  # the first 1 MiB window holds the whole file


def test_split_gguf_reads_every_part(hub):
    from mfi import api

    s = api.inspect("hf://test/llama-tiny-GGUF/llama-tiny-Q8_0-00002-of-00003.gguf", mirror=hub.url)
    assert s.format_info["splits"] == 3 and not s.problems
    assert hub.requests == 1 + 3


def test_modelscope_through_its_client(hub, models):
    from mfi import api

    s = api.inspect("ms://test/llama-tiny", mirror=hub.url)
    local = api.inspect(str(models / "llama-tiny"))
    assert s.parameters == local.parameters
    assert s.fetched.revision == "master"
    assert all(p.startswith("/api/v1/models/test/llama-tiny") for _, p, _ in hub.log)
    assert hub.log[0][1].endswith("/repo/files")
    assert {r for _, p, r in hub.log if p.endswith("/repo")} >= {"bytes=0-99999"}


def test_server_ignoring_range_is_cut_off(hub):
    from mfi import api

    normal = api.inspect("hf://test/llama-tiny-GGUF/llama-tiny-Q4_K_M.gguf", mirror=hub.url)
    hub.faults.ignore_range = True
    hub.reset()
    s = api.inspect("hf://test/llama-tiny-GGUF/llama-tiny-Q4_K_M.gguf", mirror=hub.url)
    assert s.parameters == normal.parameters and s.tensors == normal.tensors
    size = (hub.root / "test/llama-tiny-GGUF/llama-tiny-Q4_K_M.gguf").stat().st_size
    assert s.fetched.bytes <= size  # read only as far as needed, then the connection closed


def test_hub_errors_are_one_line_exit_2(hub, cli):
    cases = {
        ("inspect", "hf://test/nope"): "repository not found",
        ("inspect", "hf://test/qwen3-tiny@v9"): "revision 'v9' not found",
        ("inspect", "hf://gated/llama-tiny"): "is gated",
        ("inspect", "hf://test/qwen3-tiny/missing.gguf"): "no such file or folder",
        ("inspect", "ms://test/nope"): "not found",
    }
    for args, message in cases.items():
        r = cli(*args, "--mirror", hub.url)
        assert r.exit_code == 2, args
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_gated_repo_with_token_sends_it_only_to_the_hub(hub):
    from hubserver import TOKEN

    from mfi import api

    s = api.inspect("hf://gated/llama-tiny", mirror=hub.url, token=TOKEN)
    assert s.format == "safetensors"
    assert len(hub.authorized) == hub.requests


def test_no_network_is_one_line(cli):
    r = cli("inspect", "hf://test/qwen3-tiny", "--mirror", "http://127.0.0.1:9")
    assert r.exit_code == 2 and "cannot reach 127.0.0.1:9" in r.stderr


def test_tree_listing_paginates_like_the_hub(hub_root):
    from huggingface_hub import HfApi

    with HubServer(hub_root, page_size=2, lifetime=30) as hub:
        files = [f.path for f in HfApi(endpoint=hub.url).list_repo_tree("test/qwen3-tiny", recursive=True)]
        pages = sum(1 for _, p, _ in hub.log if "/tree/" in p)
    assert len(files) == 7 and pages == 4


def test_plain_names_and_schemes():
    from mfi.hub.mirrors import resolve
    from mfi.targets import parse_ref

    assert parse_ref("Qwen/Qwen3-8B").repo_id == "Qwen/Qwen3-8B"
    assert parse_ref("hf://Qwen/Qwen3-8B@v1/sub/model.gguf").path == "sub/model.gguf"
    assert parse_ref("ms://Qwen/Qwen3-8B").protocol == "ms"
    assert parse_ref("models/x.gguf") is None  # a mistyped local path stays local
    assert parse_ref("./Qwen/Qwen3-8B") is None
    assert resolve("hf-mirror").endpoint == "https://hf-mirror.com"
    assert resolve(None, "ms").endpoint == "https://www.modelscope.cn"


def test_endpoint_from_environment(monkeypatch):
    from mfi.hub.mirrors import resolve

    monkeypatch.setenv("HF_ENDPOINT", "https://hf-mirror.com")
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "http://ms.local")
    assert resolve(None, "hf").endpoint == "https://hf-mirror.com"
    assert resolve(None, "ms").endpoint == "http://ms.local"


def test_auto_picks_a_mirror_that_has_the_repo(hub_root, tmp_path, monkeypatch):
    from mfi import api

    with HubServer(tmp_path, lifetime=30) as empty, HubServer(hub_root, lifetime=30) as full:
        monkeypatch.setenv("MFI_MIRRORS", f"{empty.url},{full.url}")
        s = api.inspect("test/qwen3-tiny", mirror="auto")
        assert s.fetched.endpoint == full.url
        assert empty.requests == 1  # the probe only


def test_compare_local_folder_with_remote_gguf(hub, models, cli):
    r = cli("compare", str(models / "llama-tiny"), "hf://test/llama-tiny-GGUF/llama-tiny-Q4_K_M.gguf", "--mirror", hub.url, "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["tensors"]["matched"] == 21 and doc["tensors"]["only_left"] == doc["tensors"]["only_right"] == []
    r = cli("compare", str(models / "llama-tiny"), "hf://test/llama-tiny-GGUF/llama-tiny-Q4_K_M.gguf", "--mirror", hub.url, "--weights")
    assert r.exit_code == 2 and "pull the model first" in r.stderr


def test_plan_on_a_remote_gguf(hub, cli):
    r = cli("plan", "hf://test/llama-tiny-GGUF/llama-tiny-Q4_K_M.gguf", "--mirror", hub.url, "--ctx", "4096", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    # llama-tiny: 2 layers x 2 KV heads x 64 head dim, K and V in f16, 4096 cells
    assert doc["memory"]["kv_cache_bytes"] == 2 * 2 * (2 * 64) * 2 * 4096

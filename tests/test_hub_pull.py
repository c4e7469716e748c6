"""``mfi pull`` against the test hub: plans, verified downloads, resume across runs, faults, mirror guard."""

from __future__ import annotations

import hashlib

import pytest

from hubserver import TOKEN, HubServer

pytestmark = pytest.mark.timeout(60)

GGUF_REPO = "test/llama-tiny-GGUF"
PART1 = "llama-tiny-Q8_0-00001-of-00003.gguf"


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _gets(hub, name):
    return [rng for method, path, rng in hub.log if method == "GET" and path.endswith(name)]


def test_quant_pull_into_local_dir_then_verify(hub, tmp_path, cli):
    out = tmp_path / "out"
    r = cli("pull", GGUF_REPO, "--quant", "Q8_0", "--mirror", hub.url, "--local-dir", str(out))
    assert r.exit_code == 0, r.stderr
    got = sorted(p.name for p in out.iterdir() if p.is_file())
    assert got == [f"llama-tiny-Q8_0-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    for name in got:
        assert _sha(out / name) == _sha(hub.root / GGUF_REPO / name)
    assert "3 file(s) downloaded and verified" in r.stdout
    # a second run downloads nothing; --verify re-hashes without the network beyond the listing
    hub.reset()
    r = cli("pull", GGUF_REPO, "--quant", "Q8_0", "--mirror", hub.url, "--local-dir", str(out), "--verify")
    assert r.exit_code == 0 and "all 3 files match" in r.stdout
    assert hub.requests == 1
    (out / PART1).write_bytes(b"x" + (out / PART1).read_bytes()[1:])
    r = cli("pull", GGUF_REPO, "--quant", "Q8_0", "--mirror", hub.url, "--local-dir", str(out), "--verify")
    assert r.exit_code == 1 and "sha256 mismatch" in r.stdout and PART1 in r.stdout


def test_cache_layout_is_the_one_huggingface_hub_reads(hub, tmp_path):
    from huggingface_hub import try_to_load_from_cache

    from mfi import api

    report = api.pull("test/qwen3-tiny", ["*.json"], mirror=hub.url)
    assert sorted(report.result.fetched) == [
        "config.json", "generation_config.json", "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json",
    ]  # fmt: skip
    cached = try_to_load_from_cache("test/qwen3-tiny", "config.json", cache_dir=tmp_path / "hf" / "hub")
    assert isinstance(cached, str) and open(cached, "rb").read() == (hub.root / "test/qwen3-tiny/config.json").read_bytes()


def test_dry_run_shows_plan_sizes_and_remote_summary(hub, tmp_path, cli):
    out = tmp_path / "out"
    out.mkdir()
    (out / "llama-tiny-Q4_K_M.gguf").write_bytes((hub.root / GGUF_REPO / "llama-tiny-Q4_K_M.gguf").read_bytes())
    r = cli("pull", GGUF_REPO, "*.gguf", "--mirror", hub.url, "--local-dir", str(out), "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert "present" in r.stdout and "4 files" in r.stdout
    assert "1.37 M params" in r.stdout and "Q8_0" in r.stdout and "Q4_K" in r.stdout
    assert "fetched" in r.stdout
    assert sorted(p.name for p in out.iterdir()) == ["llama-tiny-Q4_K_M.gguf"]  # nothing written


def test_dropped_connection_resumes_in_the_same_run(hub, tmp_path):
    from mfi import api

    hub.faults.drop_after = {PART1: 200_000}
    api.pull(GGUF_REPO, [PART1], mirror=hub.url, local_dir=tmp_path / "out")
    assert _gets(hub, PART1) == [None, "bytes=200000-"]
    size = (hub.root / GGUF_REPO / PART1).stat().st_size
    sent = sum(n for path, n in hub.sent_by_path.items() if path.endswith(PART1))
    assert sent == size  # nothing fetched twice
    assert _sha(tmp_path / "out" / PART1) == _sha(hub.root / GGUF_REPO / PART1)


def test_interrupted_pull_resumes_in_the_next_run(hub, tmp_path):
    from mfi import api
    from mfi.errors import SourceError

    out = tmp_path / "out"
    hub.faults.drop_after = {PART1: 150_000}
    hub.faults.drop_times = 5
    with pytest.raises(SourceError, match="run again to resume"):
        api.pull(GGUF_REPO, [PART1], mirror=hub.url, local_dir=out, retries=0)
    assert not (out / PART1).exists()  # never a partial file under the final name
    parts = list((out / ".cache" / "mfi").glob(f"{PART1}.*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size == 150_000
    hub.faults.drop_after = {}
    hub.reset()
    report = api.pull(GGUF_REPO, [PART1], mirror=hub.url, local_dir=out)
    assert _gets(hub, PART1) == ["bytes=150000-"]
    assert report.result.fetched == (PART1,)
    assert _sha(out / PART1) == _sha(hub.root / GGUF_REPO / PART1)
    assert not parts[0].exists()


def test_corrupted_byte_is_a_checksum_error_naming_the_file(hub, tmp_path, cli):
    hub.faults.corrupt = {PART1: 1000}
    r = cli("pull", GGUF_REPO, PART1, "--mirror", hub.url, "--local-dir", str(tmp_path / "out"))
    assert r.exit_code == 2
    assert f"mfi: {PART1}: sha256 mismatch" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / PART1).exists()
    assert not list((tmp_path / "out").rglob("*.part"))  # a bad download is not resumed


def test_server_ignoring_range_on_resume_restarts_the_file(hub, tmp_path):
    from mfi import api

    out = tmp_path / "out"
    hub.faults.drop_after = {PART1: 100_000}
    hub.faults.ignore_range = True
    api.pull(GGUF_REPO, [PART1], mirror=hub.url, local_dir=out)
    assert _gets(hub, PART1) == [None, "bytes=100000-"]  # asked to resume, got the whole file
    assert _sha(out / PART1) == _sha(hub.root / GGUF_REPO / PART1)


def test_redirect_off_the_mirror_is_not_followed(hub_root, tmp_path, cli):
    with HubServer(hub_root, lifetime=30) as foreign, HubServer(hub_root, lifetime=30) as mirror:
        mirror.faults.redirect = {PART1}
        mirror.faults.redirect_to = foreign.url
        r = cli("pull", GGUF_REPO, PART1, "--mirror", mirror.url, "--local-dir", str(tmp_path / "a"), "--token", TOKEN)
        assert r.exit_code == 2
        assert "off the chosen mirror" in r.stderr and foreign.url.split("//")[1] in r.stderr and PART1 in r.stderr
        assert foreign.requests == 0
        r = cli("pull", GGUF_REPO, PART1, "--mirror", mirror.url, "--local-dir", str(tmp_path / "b"),
                "--token", TOKEN, "--allow-redirects")  # fmt: skip
        assert r.exit_code == 0, r.stderr
        assert foreign.requests == 1 and foreign.authorized == []  # the token stays on the mirror
        assert len(mirror.authorized) == mirror.requests


def test_two_files_redirected_off_the_mirror_end_in_one_line(hub_root, tmp_path, cli):
    # Issue 9: the re-raise of the first of several failures used to crash with TypeError (exit 1).
    part2 = PART1.replace("00001-of", "00002-of")
    with HubServer(hub_root, lifetime=30) as foreign, HubServer(hub_root, lifetime=30) as mirror:
        mirror.faults.redirect = {PART1, part2}
        mirror.faults.redirect_to = foreign.url
        r = cli("pull", GGUF_REPO, PART1, part2, "--mirror", mirror.url, "--local-dir", str(tmp_path / "a"))
    assert r.exit_code == 2, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert "off the chosen mirror" in r.stderr and "(and 1 more file(s) failed)" in r.stderr
    assert foreign.requests == 0


def test_modelscope_pull_into_its_cache(hub, tmp_path):
    from mfi import api

    report = api.pull("ms://test/llama-tiny", mirror=hub.url)
    folder = tmp_path / "ms" / "models" / "test" / "llama-tiny"
    assert report.result.folder == folder
    assert _sha(folder / "model.safetensors") == _sha(hub.root / "test/llama-tiny/model.safetensors")
    assert all(p.startswith("/api/v1/models/") for _, p, _ in hub.log)
    assert {rng for _, p, rng in hub.log if p.endswith("/repo")} == {None}


def test_pull_errors_are_one_line_exit_2(hub, cli):
    for args, message in {
        ("test/nope",): "repository not found",
        ("test/qwen3-tiny", "--revision", "v9"): "revision 'v9' not found",
        ("gated/llama-tiny",): "is gated",
        (GGUF_REPO, "--quant", "Q5_K_M"): "no GGUF file of quantization Q5_K_M (found: Q4_K_M, Q8_0)",
        (GGUF_REPO, "nothing*"): "no file matches",
    }.items():
        r = cli("pull", *args, "--mirror", hub.url)
        assert r.exit_code == 2, (args, r.stdout)
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_quant_matching():
    from mfi.hub.selection import quant_matches

    assert quant_matches("Model-Q4_K_M.gguf", "Q4_K_M")
    assert quant_matches("model.q4_k_m.gguf", "Q4_K_M")
    assert quant_matches("Model-Q4_K_M-00002-of-00003.gguf", "Q4_K_M")
    assert quant_matches("Q4_K_M/Model-00001-of-00002.gguf", "Q4_K_M")
    assert not quant_matches("Model-Q4_K_M_XL.gguf", "Q4_K_M")
    assert not quant_matches("Model-Q4_K_M.gguf", "Q4_K")
    assert not quant_matches("Model-Q4_K_M.txt", "Q4_K_M")


def test_names_escaping_the_folder_are_refused(tmp_path):
    from mfi.errors import UsageError
    from mfi.hub.records import RemoteFile, RepoListing
    from mfi.hub.mirrors import resolve
    from mfi.hub.selection import plan
    from mfi.targets import safe_join

    listing = RepoListing(resolve("hf"), "a/b", "main", "0" * 40, (RemoteFile("../evil.gguf", 1, "0" * 64),))
    with pytest.raises(UsageError, match="escapes the target folder"):
        plan(listing, list(listing.files), tmp_path)
    for bad in ("/etc/passwd", "a/../../x", "C:/x"):
        with pytest.raises(UsageError):
            safe_join(tmp_path, bad)
    assert safe_join(tmp_path, "sub/x.json") == tmp_path / "sub" / "x.json"


def test_disk_full_is_found_before_downloading(hub, tmp_path, monkeypatch, cli):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10, 10, 1000))
    r = cli("pull", GGUF_REPO, PART1, "--mirror", hub.url, "--local-dir", str(tmp_path / "out"))
    assert r.exit_code == 2 and "disk full: the pull needs 596,608 more bytes, 1,000 are free" in r.stderr
    assert _gets(hub, PART1) == []

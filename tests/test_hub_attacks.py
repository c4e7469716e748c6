"""A hostile mirror (issue 10), each attack against the test hub: tokens, names, links, tracebacks,
listings, deadlines, remote scan reads. Every hostile mode of ``hubserver`` is loopback only and
bounded (the hub's lifetime, byte caps)."""

from __future__ import annotations

import time

import pytest

from hubserver import HubServer

pytestmark = pytest.mark.timeout(60)

GGUF_REPO = "test/llama-tiny-GGUF"
PART1 = "llama-tiny-Q8_0-00001-of-00003.gguf"


def _one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    return lines[0]


# -- 1. tokens only to the exact official hosts ----------------------------------------------
@pytest.mark.parametrize("url", [
    "https://modelscope.cn.evil.example", "https://modelscope.cn-mirror.net", "http://www.modelscope.cn",
    "https://www.modelscope.cn:8443", "https://www.modelscope.cn/x", "https://evil.example/www.modelscope.cn",
    "https://www.modelscope.cn.", "https://MODELSCOPE.CN@127.0.0.1",
])  # fmt: skip
def test_look_alike_modelscope_hosts_are_not_official(url):
    from mfi.hub.mirrors import MS_HOSTS, official

    assert not official(url, MS_HOSTS)


def test_official_hosts_by_exact_comparison():
    from mfi.hub.mirrors import HF_HOSTS, MS_HOSTS, official

    assert official("https://www.modelscope.cn", MS_HOSTS) and official("https://modelscope.cn/", MS_HOSTS)
    assert official("https://huggingface.co", HF_HOSTS) and official("https://HuggingFace.co:443", HF_HOSTS)
    for bad in ("https://huggingface.co.evil.example", "https://huggingface.co@127.0.0.1", "http://huggingface.co",
                "https://cdn-lfs.huggingface.co", "https://hf.co", "https://huggingface.co:99999"):  # fmt: skip
        assert not official(bad, HF_HOSTS), bad


def test_saved_tokens_never_go_to_look_alike_hosts(monkeypatch):
    from mfi.hub import mirrors

    monkeypatch.setenv("HF_TOKEN", "hf_saved")
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", "ms_saved")
    assert mirrors.token_for(mirrors.resolve("modelscope", "ms"), None) == "ms_saved"
    assert mirrors.token_for(mirrors.resolve("hf", "hf"), None) == "hf_saved"
    for url in ("https://modelscope.cn.evil.example", "https://modelscope.cn-mirror.net", "https://huggingface.co.evil.example"):
        for proto in ("hf", "ms"):
            assert mirrors.token_for(mirrors.resolve(url, proto), None) is None, (url, proto)
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "https://modelscope.cn.evil.example")
    assert mirrors.token_for(mirrors.resolve("modelscope", "ms"), None) is None


def test_endpoint_with_user_info_is_refused_before_any_request(hub, cli, monkeypatch):
    port = hub.url.rsplit(":", 1)[1]
    for mirror in (f"http://modelscope.cn@127.0.0.1:{port}", f"http://huggingface.co@127.0.0.1:{port}"):
        r = cli("inspect", "ms://test/llama-tiny", "--mirror", mirror)
        assert r.exit_code == 2 and "user info" in _one_line(r) and "refused" in r.stderr
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", f"http://modelscope.cn@127.0.0.1:{port}")
    r = cli("inspect", "ms://test/llama-tiny")
    assert r.exit_code == 2 and "MODELSCOPE_ENDPOINT" in _one_line(r)
    assert hub.requests == 0


@pytest.mark.parametrize("how", ["--mirror", "MODELSCOPE_ENDPOINT"])
@pytest.mark.parametrize("host", ["www.modelscope.cn.evil.example", "modelscope.cn-mirror.net"])
def test_saved_modelscope_token_is_not_sent_to_a_look_alike_host(hub, cli, monkeypatch, host, how):
    # the test hub plays the look-alike host: the client reaches it as an HTTP proxy, so no DNS is needed
    monkeypatch.setenv("HTTP_PROXY", hub.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("MODELSCOPE_API_TOKEN", "ms_saved")
    monkeypatch.setenv("HF_TOKEN", "hf_saved")
    if how == "--mirror":
        r = cli("pull", "ms://test/llama-tiny", "config.json", "--mirror", f"http://{host}", "--local-dir", "out-dir-unused", "--dry-run")
    else:
        monkeypatch.setenv("MODELSCOPE_ENDPOINT", f"http://{host}")
        r = cli("pull", "test/llama-tiny", "config.json", "--mirror", "modelscope", "--dry-run")
    assert r.exit_code == 0, r.stderr
    assert hub.requests >= 1 and hub.authorized == []


def test_explicit_token_goes_to_the_chosen_mirror_only(hub_root, tmp_path):
    from hubserver import TOKEN

    from mfi import api

    with HubServer(hub_root, lifetime=30) as foreign, HubServer(hub_root, lifetime=30) as mirror:
        mirror.faults.redirect = {"config.json"}
        mirror.faults.redirect_to = foreign.url
        api.pull("ms://test/llama-tiny", ["config.json"], mirror=mirror.url, local_dir=tmp_path / "o", token=TOKEN, allow_redirects=True)
        assert foreign.requests == 1 and foreign.authorized == []
        assert len(mirror.authorized) == mirror.requests == 2


# -- 2. never .git/ or .cache/mfi/ from a listing --------------------------------------------
HOSTILE_NAMES = {
    ".git/config": b"[core]\n\tfsmonitor = touch /tmp/pwned\n",
    ".git/hooks/pre-commit": b"#!/bin/sh\ntouch /tmp/pwned\n",
    ".GIT/config": b"[core]\n\tfsmonitor = x\n",
    ".g\u200cit/config": b"[core]\n\tfsmonitor = x\n",
    "sub/.git/config": b"[core]\n\tfsmonitor = x\n",
    ".cache/mfi/README.md.json": b'{"path": "README.md"}',
    ".Cache/MFI/x.part": b"x",
}


def test_git_and_bookkeeping_names_are_refused_and_the_rest_pulled(hub, tmp_path, cli):
    out = tmp_path / "out"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "config").write_text("[core]\n")  # the user's own clone
    hub.faults.extra = dict(HOSTILE_NAMES)
    r = cli("pull", GGUF_REPO, "--mirror", hub.url, "--local-dir", str(out), "--exclude", "*.gguf")
    assert r.exit_code == 1, r.stderr
    line = _one_line(r)
    assert line.startswith(f"mfi: refused {len(HOSTILE_NAMES)} file(s) of the listing, not written: ") and ".git/config" in line
    assert (out / ".git" / "config").read_text() == "[core]\n"
    assert not (out / ".git" / "hooks").exists() and not (out / "sub").exists()
    assert (out / "README.md").read_bytes() == (hub.root / GGUF_REPO / "README.md").read_bytes()
    assert sorted(p.name for p in (out / ".cache" / "mfi").iterdir()) == ["README.md.json"]
    assert b"fsmonitor" not in b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())


def test_refused_names_in_the_hub_cache_too(hub, tmp_path):
    from mfi import api

    hub.faults.extra = {".git/config": b"[core]\n"}
    report = api.pull(GGUF_REPO, ["README.md", ".git/*"], mirror=hub.url)
    assert report.refused == ((".git/config", "is inside a .git folder, whose config and hooks git runs"),)
    assert report.result.fetched == ("README.md",)
    assert not list((tmp_path / "hf").rglob(".git"))


# -- 3. links in the destination -------------------------------------------------------------
def test_a_link_in_the_local_dir_is_not_written_through(hub, tmp_path, cli):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "sub").symlink_to(elsewhere)
    hub.faults.extra = {"sub/file.txt": b"planted"}
    r = cli("pull", GGUF_REPO, "sub/file.txt", "--mirror", hub.url, "--local-dir", str(out))
    assert r.exit_code == 2
    assert "symbolic link" in _one_line(r) and "refused" in r.stderr
    assert list(elsewhere.iterdir()) == []


def test_links_planted_in_the_bookkeeping_folder_are_not_followed(hub, tmp_path, cli):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim"
    victim.write_text("keep me")
    # the partial download's name is a link to a file outside
    (out / ".cache" / "mfi").mkdir(parents=True)
    etag = next(f for f in _listing(hub).files if f.path == "README.md").etag
    (out / ".cache" / "mfi" / f"README.md.{etag[:16]}.part").symlink_to(victim)
    r = cli("pull", GGUF_REPO, "README.md", "--mirror", hub.url, "--local-dir", str(out))
    assert r.exit_code == 2 and ("symbolic link" in _one_line(r) or "not a regular file" in r.stderr)
    assert victim.read_text() == "keep me"
    # the bookkeeping folder itself is a link
    out2 = tmp_path / "out2"
    out2.mkdir()
    (out2 / ".cache").symlink_to(elsewhere)
    r = cli("pull", GGUF_REPO, "README.md", "--mirror", hub.url, "--local-dir", str(out2))
    assert r.exit_code == 2 and "symbolic link" in _one_line(r)
    assert sorted(p.name for p in elsewhere.iterdir()) == ["victim"]


def _listing(hub):
    from mfi.hub import mirrors
    from mfi.hub.listing import list_repo

    return list_repo(mirrors.resolve(hub.url, "hf"), GGUF_REPO, None, None)


# -- 4. one line and exit 2, never a traceback -----------------------------------------------
def test_two_files_redirected_off_the_mirror_is_one_line(hub_root, tmp_path, cli):
    with HubServer(hub_root, lifetime=30) as foreign, HubServer(hub_root, lifetime=30) as mirror:
        mirror.faults.redirect = {PART1, "README.md"}
        mirror.faults.redirect_to = foreign.url
        r = cli("pull", GGUF_REPO, PART1, "README.md", "--mirror", mirror.url, "--local-dir", str(tmp_path / "a"))
        assert r.exit_code == 2
        line = _one_line(r)
        assert "off the chosen mirror" in line and "(and 1 more file(s) failed)" in line
        assert foreign.requests == 0


def test_a_300_character_file_name_is_one_line(hub, tmp_path, cli):
    long = "x" * 300 + ".txt"
    hub.faults.extra = {long: b"x"}
    r = cli("pull", GGUF_REPO, "x*", "--mirror", hub.url, "--local-dir", str(tmp_path / "out"))
    assert r.exit_code == 2 and "a file name of 304 bytes" in _one_line(r)


def test_a_listing_with_a_file_and_a_folder_of_the_same_name_is_one_line(hub, tmp_path, cli):
    hub.faults.extra = {"a": b"file", "a/b.txt": b"inside"}
    r = cli("pull", GGUF_REPO, "a*", "--mirror", hub.url, "--local-dir", str(tmp_path / "out"))
    assert r.exit_code == 2 and "names both a file 'a' and 'a/b.txt' inside it" in _one_line(r)
    assert not (tmp_path / "out").exists()


def test_a_file_on_disk_where_the_listing_needs_a_folder_is_one_line(hub, tmp_path, cli):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a").write_text("mine")
    hub.faults.extra = {"a/b.txt": b"inside"}
    r = cli("pull", GGUF_REPO, "a/*", "--mirror", hub.url, "--local-dir", str(out))
    assert r.exit_code == 2 and "is a file where the listing needs a folder" in _one_line(r)
    assert (out / "a").read_text() == "mine"


# -- 5. bounded listings ---------------------------------------------------------------------
@pytest.mark.parametrize("target", ["hf://test/qwen3-tiny", "ms://test/llama-tiny"])
def test_gzip_bomb_listing_is_stopped_at_the_cap(hub, target):
    import tracemalloc

    from mfi import api
    from mfi.errors import SourceError
    from mfi.hub.listing import MAX_LISTING_BYTES

    hub.faults.listing_gzip_bomb = 256 << 20  # inflates to 256 MiB; about 250 KB sent
    tracemalloc.start()
    try:
        with pytest.raises(SourceError) as err:
            api.inspect(target, mirror=hub.url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert f"over the {MAX_LISTING_BYTES:,}-byte cap" in str(err.value)
    assert peak < 3 * MAX_LISTING_BYTES


def test_huge_listing_is_stopped_at_the_cap(hub):
    from mfi import api
    from mfi.errors import SourceError
    from mfi.hub.listing import MAX_LISTING_BYTES

    hub.faults.listing_size = 200 << 20
    with pytest.raises(SourceError, match="cap; stopped"):
        api.inspect("hf://test/qwen3-tiny", mirror=hub.url)
    hub.stop()  # the server stops sending once the client has gone
    assert hub.bytes_sent < MAX_LISTING_BYTES + (8 << 20)


def test_listing_entries_are_capped(hub, monkeypatch):
    from mfi import api
    from mfi.errors import SourceError
    from mfi.hub import listing

    monkeypatch.setattr(listing, "MAX_REPO_FILES", 3)
    for target in ("hf://test/qwen3-tiny", "ms://test/qwen3-tiny"):
        with pytest.raises(SourceError, match="lists more than 3 files; stopped"):
            api.inspect(target, mirror=hub.url)


@pytest.mark.parametrize("target", ["hf://test/qwen3-tiny", "ms://test/qwen3-tiny"])
def test_listing_redirected_to_another_origin_is_refused(hub_root, cli, target, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_saved")
    with HubServer(hub_root, lifetime=30) as foreign, HubServer(hub_root, lifetime=30) as mirror:
        mirror.faults.listing_redirect = foreign.url
        r = cli("inspect", target, "--mirror", mirror.url, "--token", "secret")
        assert r.exit_code == 2 and "off the chosen mirror" in _one_line(r)
        assert foreign.requests == 0


def test_the_listing_protocol_is_the_clients_own(hub):
    """The requests mfi sends for a listing are the official clients' requests: both read the test hub alike."""
    from huggingface_hub import HfApi
    from modelscope_hub import HubApi

    from mfi.hub import mirrors
    from mfi.hub.listing import list_repo

    ours = list_repo(mirrors.resolve(hub.url, "hf"), "test/qwen3-tiny", None, None)
    info = HfApi(endpoint=hub.url, token=False).model_info("test/qwen3-tiny", files_metadata=True)
    theirs = {(s.rfilename, s.size, s.lfs.sha256 if s.lfs else None, None if s.lfs else s.blob_id) for s in info.siblings}
    assert {(f.path, f.size, f.sha256, f.git_oid) for f in ours.files} == theirs and ours.commit == info.sha
    ours = list_repo(mirrors.resolve(hub.url, "ms"), "test/qwen3-tiny", None, None)
    theirs_ms = HubApi(endpoint=hub.url, token="").list_repo_files("test/qwen3-tiny", "model", revision="master")
    assert {(f.path, f.size, f.sha256) for f in ours.files} == {(f.path, f.size, f.sha256) for f in theirs_ms if not f.is_dir}


# -- 6. deadlines ----------------------------------------------------------------------------
@pytest.mark.parametrize("what", ["listing", "llama-tiny-Q4_K_M.gguf"])
def test_a_trickling_server_is_stopped_at_the_deadline(hub, cli, what):
    hub.faults.trickle = {what: 0.5}  # one byte every half second
    t0 = time.monotonic()
    r = cli("inspect", f"hf://{GGUF_REPO}/llama-tiny-Q4_K_M.gguf", "--mirror", hub.url, "--timeout", "2")
    took = time.monotonic() - t0
    assert r.exit_code == 2 and "did not finish within the --timeout of 2 s" in _one_line(r)
    assert took < 6


def test_a_stalled_read_ends_at_the_idle_timeout(hub):
    from mfi.errors import SourceError
    from mfi.sources.http import HttpSession, HttpSource

    hub.faults.stall = {"README.md"}
    url = f"{hub.url}/{GGUF_REPO}/resolve/main/README.md"
    t0 = time.monotonic()
    with HttpSession(hub.url, timeout=0.5) as session, pytest.raises(SourceError, match="sent nothing for 0.5 s"):
        HttpSource(session, url, size=18).read_at(0, 18)
    assert time.monotonic() - t0 < 3


def test_a_trickling_download_is_stopped_at_the_deadline_and_kept(hub, tmp_path, cli):
    out = tmp_path / "out"
    hub.faults.throttle = {PART1: 4096}
    r = cli("pull", GGUF_REPO, PART1, "--mirror", hub.url, "--local-dir", str(out), "--timeout", "1.5")
    assert r.exit_code == 2 and "--timeout of 1.5 s" in _one_line(r)
    parts = list((out / ".cache" / "mfi").glob("*.part"))
    assert len(parts) == 1 and parts[0].stat().st_size > 0  # kept for the next run


# -- 7. a remote scan reads no whole files ---------------------------------------------------
def test_remote_scan_reads_within_the_remote_cap(tmp_path, monkeypatch):
    import json

    from mfi import api, limits

    repo = tmp_path / "repos" / "big" / "json"
    repo.mkdir(parents=True)
    for name in ("a.json", "b.json", "c.json"):
        (repo / name).write_text(json.dumps({"pad": "x" * (1 << 20)}))
    (repo / "config.json").write_text(json.dumps({"model_type": "x"}))
    monkeypatch.setattr(limits, "MAX_REMOTE_READ", 64 << 10)
    with HubServer(tmp_path / "repos", lifetime=30) as hub:
        r = api.scan("hf://big/json", mirror=hub.url)
        assert hub.bytes_sent < 100_000  # the listing and config.json: none of the 1 MB files
    unread = sorted(f.file.rsplit("/", 1)[1] for f in r.findings if "pull it and check the local copy" in f.message)
    assert unread == ["a.json", "b.json", "c.json"]

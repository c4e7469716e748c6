"""Hub guards found in review: size cap while streaming, saved tokens on Range reads, stale local
copies of the same size, a malformed Content-Range on resume, endless tree pagination."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from hubserver import TOKEN, HubServer

pytestmark = pytest.mark.timeout(60)

GGUF_REPO = "test/llama-tiny-GGUF"
PART1 = "llama-tiny-Q8_0-00001-of-00003.gguf"


def _plan(hub, files, out):
    from mfi.hub import mirrors
    from mfi.hub.listing import list_repo
    from mfi.hub.selection import plan, select

    _, m = mirrors.locate(GGUF_REPO, hub.url, remote_only=True)
    listing = list_repo(m, GGUF_REPO, None, None)
    return m, plan(listing, select(listing, files, [], None), out)


# -- 1. a download is capped at the published size ---------------------------------------------
def test_overlong_download_stops_at_the_published_size(hub, tmp_path):
    from mfi.errors import SourceError
    from mfi.hub import download, mirrors

    hub.faults.overlong = {"README.md": 32 << 20}  # 18 published bytes, then 32 MiB more
    m, p = _plan(hub, ["README.md"], tmp_path / "out")
    with mirrors.session_for(m, None) as session:
        with pytest.raises(SourceError) as err:
            download.pull(p, session, retries=0)
        received = session.bytes
    msg = str(err.value)
    assert msg.startswith("README.md: ") and hub.url.split("//")[1] in msg and "more than the 18 bytes" in msg
    assert "\n" not in msg
    assert received < 2 << 20  # stopped within a chunk or two, not after 32 MiB
    assert not (tmp_path / "out" / "README.md").exists()
    assert not list((tmp_path / "out").rglob("*.part"))  # the partial is deleted


def test_overlong_download_is_one_line_exit_2(hub, tmp_path, cli):
    hub.faults.overlong = {"README.md": 4 << 20}
    r = cli("pull", GGUF_REPO, "README.md", "--mirror", hub.url, "--local-dir", str(tmp_path / "out"))
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "README.md" in r.stderr and "more than the 18 bytes" in r.stderr


# -- 2. the saved Hugging Face token on Range/GET reads ----------------------------------------
def test_session_token_rule(monkeypatch, tmp_path):
    from huggingface_hub import constants

    from mfi.hub import mirrors

    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "token"))
    monkeypatch.delenv("HF_OIDC_RESOURCE", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.setenv("HF_TOKEN", "hf_saved")
    hf = mirrors.resolve("hf", "hf")
    other = mirrors.resolve("http://127.0.0.1:1", "hf")
    ms = mirrors.resolve("modelscope", "ms")
    assert mirrors.token_for(hf, None) == "hf_saved"  # official huggingface.co: the saved token
    assert mirrors.token_for(hf, "explicit") == "explicit"
    assert mirrors.token_for(other, None) is None  # never to a mirror
    assert mirrors.token_for(other, "explicit") == "explicit"
    assert mirrors.token_for(ms, None) is None
    monkeypatch.delenv("HF_TOKEN")
    assert mirrors.token_for(hf, None) is None
    (tmp_path / "token").write_text("hf_from_file\n")  # what `hf auth login` saves
    assert mirrors.token_for(hf, None) == "hf_from_file"
    assert mirrors.token_for(other, None) is None


def test_session_for_official_hf_carries_the_saved_token(monkeypatch):
    from mfi.hub import mirrors

    monkeypatch.setenv("HF_TOKEN", "hf_saved")
    with mirrors.session_for(mirrors.resolve("hf", "hf"), None) as s:
        assert s.headers("https://huggingface.co/o/r/resolve/main/x")["Authorization"] == "Bearer hf_saved"
        assert "Authorization" not in s.headers("https://cdn-lfs.hf.co/x")  # only to that host
    with mirrors.session_for(mirrors.resolve("http://127.0.0.1:1", "hf"), None) as s:
        assert "Authorization" not in s.headers("http://127.0.0.1:1/o/r/resolve/main/x")


def test_gated_pull_sends_the_token_on_listing_and_downloads(hub, tmp_path, monkeypatch):
    from mfi import api

    monkeypatch.setenv("HF_TOKEN", "hf_saved_elsewhere")  # a saved token never goes to this mirror
    report = api.pull("gated/llama-tiny", ["config.json"], mirror=hub.url, local_dir=tmp_path / "out", token=TOKEN)
    assert report.result.fetched == ("config.json",)
    assert len(hub.authorized) == hub.requests >= 2  # listing and the GET


# -- 3. present means same content, not only the same size -------------------------------------
def _changed_hub(hub_root, tmp_path, name, data):
    root = tmp_path / "hub2"
    shutil.copytree(hub_root / GGUF_REPO, root / GGUF_REPO)
    (root / GGUF_REPO / name).write_bytes(data)
    return root


def test_same_size_update_on_the_hub_replaces_the_local_copy(hub_root, tmp_path):
    from mfi import api

    out = tmp_path / "out"
    old = (hub_root / GGUF_REPO / "README.md").read_bytes()
    new = old.replace(b"llama", b"LLAMA")
    assert len(new) == len(old) and new != old
    with HubServer(hub_root, lifetime=30) as hub:
        api.pull(GGUF_REPO, ["README.md"], mirror=hub.url, local_dir=out)
    with HubServer(_changed_hub(hub_root, tmp_path, "README.md", new), lifetime=30) as hub2:
        report = api.pull(GGUF_REPO, ["README.md"], mirror=hub2.url, local_dir=out)
        assert report.result.fetched == ("README.md",)
        assert (out / "README.md").read_bytes() == new
        hub2.reset()  # recorded and matching now: skipped without a GET
        report = api.pull(GGUF_REPO, ["README.md"], mirror=hub2.url, local_dir=out)
        assert report.result.skipped == ("README.md",) and hub2.requests == 1


def test_file_without_a_record_is_hashed_before_it_is_skipped(hub, tmp_path):
    from mfi import api

    out = tmp_path / "out"
    out.mkdir()
    data = (hub.root / GGUF_REPO / "README.md").read_bytes()
    (out / "README.md").write_bytes(data)  # right content, no .cache/mfi record: hashed, kept
    report = api.pull(GGUF_REPO, ["README.md"], mirror=hub.url, local_dir=out)
    assert report.result.skipped == ("README.md",) and report.result.requests == 0
    (out / "README.md").write_bytes(b"#" * len(data))  # same size, other content: fetched again
    report = api.pull(GGUF_REPO, ["README.md"], mirror=hub.url, local_dir=out)
    assert report.result.fetched == ("README.md",) and (out / "README.md").read_bytes() == data


def test_stale_record_is_not_trusted(hub, tmp_path):
    import json

    from mfi import api

    out = tmp_path / "out"
    api.pull(GGUF_REPO, ["README.md"], mirror=hub.url, local_dir=out)
    record = out / ".cache" / "mfi" / "README.md.json"
    body = json.loads(record.read_text())
    body["git_oid"] = hashlib.sha1(b"other").hexdigest()
    record.write_text(json.dumps(body))
    report = api.pull(GGUF_REPO, ["README.md"], mirror=hub.url, local_dir=out)
    assert report.result.fetched == ("README.md",)


# -- 4. a malformed Content-Range on resume ----------------------------------------------------
def test_bad_content_range_on_resume_is_one_line(hub, tmp_path):
    from mfi import api
    from mfi.errors import SourceError

    hub.faults.drop_after = {PART1: 1000}
    hub.faults.content_range = "bytes abc-/11"
    with pytest.raises(SourceError) as err:
        api.pull(GGUF_REPO, [PART1], mirror=hub.url, local_dir=tmp_path / "out")
    assert str(err.value) == f"{PART1}: bad Content-Range header 'bytes abc-/11'"
    assert _gets_ranges(hub, PART1) == [None, "bytes=1000-"]


def _gets_ranges(hub, name):
    return [rng for method, path, rng in hub.log if method == "GET" and path.endswith(name)]


# -- 5. tree pagination is bounded -------------------------------------------------------------
def _list(hub, repo="test/qwen3-tiny"):
    from mfi.hub import mirrors
    from mfi.hub.listing import list_repo

    _, m = mirrors.locate(repo, hub.url, remote_only=True)
    return list_repo(m, repo, None, None)


def test_tree_pages_are_followed_when_sizes_are_missing(hub_root):
    with HubServer(hub_root, page_size=2, lifetime=30) as hub:
        hub.faults.no_sizes = True
        listing = _list(hub)
        pages = sum(1 for _, p, _ in hub.log if "/tree/" in p)
    files = {f.path: f for f in listing.files}
    assert len(files) == 7 and pages == 4
    data = (hub_root / "test/qwen3-tiny/config.json").read_bytes()
    assert files["config.json"].size == len(data)
    shard = next(f for f in listing.files if f.path.endswith(".safetensors"))
    assert shard.sha256 == hashlib.sha256((hub_root / "test/qwen3-tiny" / shard.path).read_bytes()).hexdigest()


def test_repeating_next_link_ends_with_one_line(hub, cli):
    hub.faults.no_sizes = True
    hub.faults.tree_loop = True
    r = cli("inspect", "hf://test/qwen3-tiny", "--mirror", hub.url)
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "pagination" in r.stderr and "repeats" in r.stderr
    assert sum(1 for _, p, _ in hub.log if "/tree/" in p) <= 3


def test_page_and_file_caps(hub_root, monkeypatch):
    from mfi.errors import SourceError
    from mfi.hub import listing

    with HubServer(hub_root, page_size=1, lifetime=30) as hub:
        hub.faults.no_sizes = True
        monkeypatch.setattr(listing, "MAX_TREE_PAGES", 3)
        with pytest.raises(SourceError, match="more than 3 pages"):
            _list(hub)
        assert sum(1 for _, p, _ in hub.log if "/tree/" in p) == 3
        monkeypatch.setattr(listing, "MAX_TREE_PAGES", 1000)
        monkeypatch.setattr(listing, "MAX_REPO_FILES", 4)
        with pytest.raises(SourceError, match="more than 4 files"):
            _list(hub)

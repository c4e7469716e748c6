"""A hostile mirror or hostile names: nothing is written outside the cache or the target folder, no markup."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.timeout(60)

GGUF_REPO = "test/llama-tiny-GGUF"
PART1 = "llama-tiny-Q8_0-00001-of-00003.gguf"


def _outside(tmp_path):
    """Everything under ``tmp_path`` but the HF and ModelScope caches and the local dirs the tests use."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.iterdir() if p.name not in ("hf", "ms", "out", "mfi-cache", "mshome"))


def _file_gets(hub):
    return [p for method, p, _ in hub.log if method == "GET" and ("/resolve/" in p or p.endswith("/repo"))]


@pytest.mark.parametrize("commit", ["../../../../victim", "0" * 39 + "/", "main", "0" * 40 + "\n"], ids=["climb", "slash", "branch", "newline"])
def test_hostile_commit_is_refused_before_anything_is_written(hub, tmp_path, cli, commit):
    hub.faults.commit = commit
    r = cli("pull", GGUF_REPO, "README.md", "--mirror", hub.url)
    assert r.exit_code == 2, r.stdout
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"{hub.url} sent commit id {commit!r}" in r.stderr and "refused" in r.stderr
    assert _file_gets(hub) == []
    assert _outside(tmp_path) == []
    assert not (tmp_path / "hf" / "hub").exists()


@pytest.mark.parametrize("sha", ["../../../../evil", "/tmp/evil", "a" * 63, "g" * 64], ids=["climb", "absolute", "short", "not-hex"])
def test_hostile_sha256_is_refused_before_anything_is_written(hub, tmp_path, cli, sha):
    hub.faults.sha256 = {PART1: sha}
    r = cli("pull", GGUF_REPO, PART1, "--mirror", hub.url)
    assert r.exit_code == 2, r.stdout
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert hub.url in r.stderr and PART1 in r.stderr and sha[:20] in r.stderr and "refused" in r.stderr
    assert _file_gets(hub) == []
    assert _outside(tmp_path) == [] and not (tmp_path / "hf" / "hub").exists()


def test_hostile_sha256_on_modelscope_is_refused(hub, tmp_path, cli):
    hub.faults.sha256 = {"model.safetensors": "../../../../../evil"}
    r = cli("pull", "ms://test/llama-tiny", "--mirror", hub.url)
    assert r.exit_code == 2 and "sha256" in r.stderr and "refused" in r.stderr, r.stderr
    assert _file_gets(hub) == []
    assert _outside(tmp_path) == [] and not (tmp_path / "ms").exists()


@pytest.mark.parametrize("args", [
    ("test/qwen3-tiny", "--revision", "../../../../victim"),
    ("test/qwen3-tiny", "--revision", "/abs"),
    ("hf://test/qwen3-tiny@..",),
], ids=["climb", "absolute", "dotdot-in-ref"])  # fmt: skip
def test_unsafe_revision_is_refused_before_any_request(hub, tmp_path, cli, args):
    r = cli("pull", *args, "--mirror", hub.url)
    assert r.exit_code == 2 and "revision" in r.stderr and "refused" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert hub.requests == 0
    assert _outside(tmp_path) == []


def test_place_never_unlinks_outside_the_cache(tmp_path):
    from mfi.errors import SourceError
    from mfi.hub import download
    from mfi.hub.records import RemoteFile, RepoListing
    from mfi.hub.mirrors import resolve
    from mfi.hub.records import PlanEntry, PullPlan

    root = tmp_path / "hf" / "hub" / "models--a--b"
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    partial = root / "blobs" / ("0" * 64 + ".incomplete")
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"x")
    f = RemoteFile("victim.txt", 1, "0" * 64)
    listing = RepoListing(resolve("hf"), "a/b", "main", "1" * 40, (f,))
    entry = PlanEntry(f, victim, partial, None, root / "blobs" / ("0" * 64), 0, False)
    plan = PullPlan(listing, (entry,), root, "cache", root / "snapshots" / ("1" * 40))
    with pytest.raises(SourceError, match="outside"):
        download._place(plan, entry)
    assert victim.read_text() == "keep me"


def test_cache_plans_refuse_climbing_repo_names_and_missing_commits(tmp_path):
    from mfi.errors import SourceError, UsageError
    from mfi.hub.records import RemoteFile, RepoListing
    from mfi.hub.mirrors import resolve
    from mfi.hub.selection import plan

    files = (RemoteFile("config.json", 2, None, "0" * 40),)
    with pytest.raises(UsageError, match="escapes the target folder"):
        plan(RepoListing(resolve("ms"), "test/..", "master", None, files), list(files), None)
    with pytest.raises(SourceError, match="sent no commit id"):
        plan(RepoListing(resolve("hf"), "test/x", "main", None, files), list(files), None)
    p = plan(RepoListing(resolve("hf"), "test/x", "main", "1" * 40, files), list(files), None)
    assert p.snapshot == tmp_path / "hf" / "hub" / "models--test--x" / "snapshots" / ("1" * 40)
    assert p.entries[0].blob == tmp_path / "hf" / "hub" / "models--test--x" / "blobs" / ("0" * 40)


def test_stale_partials_of_a_file_named_with_glob_characters_are_its_own(tmp_path):
    from mfi.hub import download
    from mfi.hub.records import RemoteFile
    from mfi.hub.records import PlanEntry

    for name in ("a.gguf.1111.part", "*.gguf.2222.part"):
        (tmp_path / name).write_bytes(b"x")
    entry = PlanEntry(RemoteFile("*.gguf", 1, "3" * 64), tmp_path / "*.gguf", tmp_path / "*.gguf.3333.part", None, None, 0, False)
    download._drop_stale_partials(entry)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gguf.1111.part"]


EVIL = "[/]x[link=http://evil]y"


def _console():
    from io import StringIO

    from rich.console import Console

    return Console(file=StringIO(), width=100, color_system=None)


def test_progress_shows_markup_in_file_names_as_text():
    from mfi.render.terminal.pull import PullProgress

    console = _console()
    with PullProgress(console) as progress:
        progress.start(EVIL, 10, 0)
        progress.advance(EVIL, 10)
        progress.note(f"{EVIL}: resumed")
    out = console.file.getvalue()
    assert EVIL in out and "note: " + EVIL in out


def test_plan_view_shows_markup_in_names_and_revisions_as_text(tmp_path):
    from mfi.hub.records import PullResult
    from mfi.hub.records import RemoteFile, RepoListing
    from mfi.hub.records import Mirror
    from mfi.hub.selection import plan
    from mfi.hub.records import PullReport
    from mfi.render.terminal.pull import done_line, plan_view

    files = (RemoteFile("[b]f.json", 2, None, "0" * 40),)
    listing = RepoListing(Mirror("[i]m", "hf", "http://127.0.0.1:9"), "test/x", "[red]v[/]", "1" * 40, files)
    p = plan(listing, list(files), tmp_path / "[u]out")
    console = _console()
    console.print(plan_view(PullReport(p, "dry-run")))
    console.print(done_line(PullReport(p, "pull", result=PullResult(("[b]f.json",), (), 2, 1, tmp_path / "[u]out\x1b"))))
    out = console.file.getvalue()
    assert "@ [red]v[/]" in out and "from [i]m" in out  # the title wraps at the table's width
    assert "[b]f.json" in out and "[u]out" in out and "[u]out\\x1b" in out and "\x1b" not in out

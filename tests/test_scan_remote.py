"""``mfi scan hf://...``: the same findings from a hub repo, read by Range requests against the test hub."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torchbuild as tb
from hubserver import HubServer
from test_scan import OS_SYSTEM, SSTI

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def hub(tmp_path):
    repo = tmp_path / "repos" / "evil" / "model"
    repo.mkdir(parents=True)
    sd = tb.state_dict({"w": tb.tensor(np.ones((64, 64), np.float32))})  # 16 KiB of storage: an LFS file
    tb.save_zip(sd, repo / "pytorch_model.bin")
    (repo / "training_args.bin").write_bytes(OS_SYSTEM)
    (repo / "config.json").write_text(json.dumps({"model_type": "x", "auto_map": {"AutoModel": "modeling_x.X"}}))
    (repo / "modeling_x.py").write_text("import os\n")
    (repo / "tokenizer_config.json").write_text(json.dumps({"chat_template": SSTI}))
    (repo / "README.md").write_text("# evil\n")
    with HubServer(tmp_path / "repos", lifetime=30) as server:
        yield server


def test_remote_scan_matches_local(hub, tmp_path):
    from mfi import api

    r = api.scan("hf://evil/model", mirror=hub.url)
    got = sorted((f.severity, f.kind, f.file.rsplit("/", 1)[1]) for f in r.findings)
    assert got == sorted([
        ("critical", "pickle", "training_args.bin"),
        ("critical", "template", "tokenizer_config.json"),
        ("high", "remote-code", "config.json"),
        ("medium", "remote-code", "modeling_x.py"),
        ("info", "pickle", "pytorch_model.bin"),
    ])  # fmt: skip
    assert all(f.file.startswith("hf://evil/model/") for f in r.findings)
    # the listing, then one request per checked file (the checkpoint: its first and last 64 KiB are one
    # here); README.md is sniffed by one read of its first bytes (a pickle may hide under any name)
    assert sum(p.endswith("README.md") for _, p, _ in hub.log) == 1
    assert hub.requests == 7


def test_remote_scan_cli(hub, cli):
    r = cli("scan", "hf://evil/model", "--mirror", hub.url, "--json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["counts"]["critical"] == 2


def test_listing_names_that_escape_are_critical():
    """A hostile mirror's listing: escaping names are findings and are never opened."""
    from mfi.hub.records import RemoteFile, RepoListing
    from mfi.hub.mirrors import resolve
    from mfi.hub.remote import tree
    from mfi.scan.run import scan_tree

    files = (RemoteFile("../../.bashrc", 10), RemoteFile("/etc/cron.d/x", 10))
    listing = RepoListing(resolve("hf"), "evil/model", "main", "0" * 40, files)
    r = scan_tree("hf://evil/model", tree(listing, None, None))  # no session: nothing may be fetched
    assert sorted((f.severity, f.kind, f.detail["file"]) for f in r.findings) == [
        ("critical", "path", "../../.bashrc"), ("critical", "path", "/etc/cron.d/x")]  # fmt: skip

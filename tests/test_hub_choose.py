"""Remote targets follow the local rules: which weights a folder names, split parts, index shard names."""

from __future__ import annotations

import json
import shutil

import pytest

from hubserver import HubServer

pytestmark = pytest.mark.timeout(60)


def _listing(names):
    from mfi.hub.records import RemoteFile, RepoListing
    from mfi.hub.mirrors import resolve

    return RepoListing(resolve("hf"), "t/x", "main", "1" * 40, tuple(RemoteFile(n, 1, None, "0" * 40) for n in names))


def _outcome(call):
    from mfi.errors import MfiError

    try:
        fmt, weights, index = call()
    except MfiError as e:
        return type(e).__name__, e.problem
    return fmt, [w.rsplit("/", 1)[-1] for w in weights], index and index.rsplit("/", 1)[-1]


FOLDERS = {
    "safetensors-beside-gguf": ["model.safetensors", "x.gguf", "README.md"],
    "index": ["model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"],
    "gguf-and-projector": ["a-Q4_0.gguf", "mmproj-a.gguf"],
    "split": ["m-00002-of-00002.gguf", "m-00001-of-00002.gguf", "README.md"],
    "split-missing": ["m-00001-of-00003.gguf", "m-00002-of-00003.gguf"],
    "two-models": ["a.gguf", "b.gguf"],
    "nothing": ["README.md", "config.json"],
}


@pytest.mark.parametrize("names", FOLDERS.values(), ids=FOLDERS.keys())
def test_remote_folder_chooses_what_the_local_folder_chooses(tmp_path, names):
    from mfi import targets
    from mfi.hub.remote import choose

    folder = tmp_path / "m"
    folder.mkdir()
    for n in names:
        (folder / n).write_bytes(b"")

    def local():
        t = targets.resolve(str(folder))
        return t.format, [p.name for p in t.weights], t.index and t.index.name

    want = _outcome(local)
    got = _outcome(lambda: choose(_listing(names), None))
    if want[0] == "UsageError":  # the hint on naming one file differs: a path locally, hf://... remotely
        want, got = (want[0], want[1].split(";")[0]), (got[0], got[1].split(";")[0])
    assert got == want
    # and below a folder of the repo: the same choice, with the folder in front
    nested = _outcome(lambda: choose(_listing([f"sub/{n}" for n in names]), "sub"))
    assert nested[:1] == got[:1]


def test_split_part_named_directly_and_pytorch_only_repos():
    from mfi.errors import SourceError, UsageError
    from mfi.hub.remote import choose

    names = ["q/m-00001-of-00002.gguf", "q/m-00002-of-00002.gguf"]
    assert choose(_listing(names), names[1]) == ("gguf", names, None)
    with pytest.raises(SourceError, match="split part m-00002-of-00002.gguf is missing"):
        choose(_listing(names[:1]), names[0])
    with pytest.raises(UsageError, match="PyTorch checkpoints only"):
        choose(_listing(["pytorch_model.bin", "config.json"]), None)
    with pytest.raises(UsageError, match=r"holds 2 GGUF models \(a.gguf, b.gguf\); name one as hf://t/x/FILE \(mfi plan compares them all\)"):
        choose(_listing(["a.gguf", "b.gguf"]), None)


@pytest.mark.parametrize("shard", ["sub/../model-00001-of-00002.safetensors", "./model-00001-of-00002.safetensors", "/model-00001-of-00002.safetensors"],
                         ids=["dotdot-inside", "dot", "absolute"])  # fmt: skip
def test_index_shard_names_are_checked_remotely_as_locally(models, tmp_path, shard):
    from mfi import api
    from mfi.errors import MfiError

    repo = tmp_path / "repos" / "t" / "sharded"
    shutil.copytree(models / "qwen3-tiny", repo)
    index = json.loads((repo / "model.safetensors.index.json").read_text())
    index["weight_map"] = {k: shard if v.startswith("model-00001") else v for k, v in index["weight_map"].items()}
    (repo / "model.safetensors.index.json").write_text(json.dumps(index))

    def outcome(target, **kw):
        try:
            return len(api.inspect(target, **kw).tensors)
        except MfiError as e:
            return type(e).__name__, e.problem

    local = outcome(str(repo))
    with HubServer(tmp_path / "repos", lifetime=30) as hub:
        remote = outcome("hf://t/sharded", mirror=hub.url)
    assert remote == local
    if shard.startswith("."):
        assert isinstance(local, int) and local > 0
    else:
        assert local[0] == "FormatError" and "shard name" in local[1]

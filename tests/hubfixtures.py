"""Fixtures shared by the hub tests: the zoo as hub repos, a private client environment, a server."""

from __future__ import annotations

import pytest

from hubserver import HubServer, build_repos


@pytest.fixture(scope="module")
def hub_root(models, tmp_path_factory):
    """The zoo laid out as hub repos (built once per module)."""
    return build_repos(models, tmp_path_factory.mktemp("hub"))


@pytest.fixture(autouse=True)
def hub_env(tmp_path, monkeypatch):
    """A private HF_HOME / MODELSCOPE_CACHE / header cache; online; no telemetry; no endpoint or token from the environment."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("MODELSCOPE_CACHE", str(tmp_path / "ms"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    monkeypatch.delenv("MODELSCOPE_ENDPOINT", raising=False)
    monkeypatch.delenv("MODELSCOPE_API_TOKEN", raising=False)
    monkeypatch.setenv("MODELSCOPE_HOME", str(tmp_path / "mshome"))  # no saved ModelScope login
    monkeypatch.setenv("MFI_CACHE_DIR", str(tmp_path / "mfi-cache"))  # the remote header cache


@pytest.fixture
def hub(hub_root):
    """A test hub serving the zoo, with one gated repo; stops by itself after 30 s at the latest."""
    with HubServer(hub_root, gated={"gated/llama-tiny"}, lifetime=30) as server:
        yield server

"""Shared test fixtures: the generated model zoo and a CLI runner."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ helpers (ggufbuild)

# The hub fixtures (test server, private HF_HOME/MODELSCOPE_CACHE for every test).
pytest_plugins = ["hubfixtures"]


def load_generator(name: str = "generate"):
    """A module of fixtures/ (``generate``, ``quantized``): not a package, so loaded by path."""
    spec = importlib.util.spec_from_file_location(f"mfi_fixtures_{name}", ROOT / "fixtures" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _english_screens(monkeypatch):
    """Screens default to the locale's language (LC_ALL, LANG): tests read English unless they ask."""
    for var in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


@pytest.fixture(scope="session")
def zoo(tmp_path_factory) -> tuple[Path, dict]:
    """All generated fixture models in one folder, with the manifest known by construction."""
    out = tmp_path_factory.mktemp("zoo")
    manifest = load_generator().generate(out)
    return out, manifest


@pytest.fixture(scope="session")
def models(zoo) -> Path:
    """The folder holding the generated models."""
    return zoo[0]


@pytest.fixture(scope="session")
def manifest(zoo) -> dict:
    """Facts about each generated model, computed from the arrays written."""
    return zoo[1]


def run_cli(*args: str):
    """Invoke the typer app in-process; returns click's Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from mfi.cli import app

    return CliRunner().invoke(app, list(args))


@pytest.fixture
def cli():
    """The in-process CLI runner."""
    return run_cli


@pytest.fixture
def gguf_folder(models, tmp_path) -> Path:
    """A folder of several GGUF models as a GGUF repo lays them out: Q4_K_M as one file, Q8_0 split in three."""
    import shutil

    out = tmp_path / "llama-tiny-GGUF"
    out.mkdir()
    shutil.copy(models / "llama-tiny-Q4_K_M.gguf", out)
    for part in sorted((models / "split").glob("*.gguf")):
        shutil.copy(part, out)
    return out

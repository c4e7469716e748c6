"""README commands, CI script, caps table and the committed demo fixture stay true."""

from __future__ import annotations

import re
from pathlib import Path

from mfi import limits

ROOT = Path(__file__).resolve().parent.parent


def _readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())[:2]


def test_readme_starts_with_install_and_test_commands():
    run, test = _readme_commands()
    assert run.startswith("python3 -m venv .venv") and "mfi inspect fixtures/demo/" in run
    assert test.startswith("python3 -m venv .venv") and "pytest" in test
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_readme_demo_command_runs(cli):
    run, _ = _readme_commands()
    target = run.split("mfi inspect ", 1)[1].strip()
    r = cli("inspect", str(ROOT / target))
    assert r.exit_code == 0 and "Q4_K_M" in r.stdout and "llama" in r.stdout


def test_demo_fixture_is_what_the_generator_writes(models):
    for demo in (ROOT / "fixtures" / "demo").iterdir():
        assert demo.read_bytes() == (models / demo.name).read_bytes(), demo.name


def test_limits_doc_lists_every_cap():
    doc = (ROOT / "docs" / "limits.md").read_text()
    caps = [n for n in dir(limits) if n.isupper() and n != "MiB"]
    assert caps and all(f"`{n}`" in doc for n in caps)

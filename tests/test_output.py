"""Everyday output (issue 13): piping, 80-column layout, version, library exports, file type."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from ggufbuild import write_gguf

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "fixtures" / "demo" / "llama-tiny-Q4_K_M.gguf"


def render(renderable, width: int = 80, crop: bool = True) -> str:
    """A renderable as plain text at a fixed width (``crop=False`` as output.py prints the tensor table)."""
    from rich.console import Console

    out = StringIO()
    Console(file=out, width=width, color_system=None, highlight=False, soft_wrap=False).print(renderable, crop=crop)
    return out.getvalue()


def mfi_piped(*args: str, env: dict[str, str] | None = None, shell_tail: str = "") -> subprocess.CompletedProcess[str]:
    """Run the real ``mfi`` in a subprocess with stdout a pipe (``shell_tail``: piped on into a shell command)."""
    cmd = [sys.executable, "-m", "mfi", *args]
    full = {**os.environ, "COLUMNS": "80", **(env or {})}
    if shell_tail:
        line = " ".join(map(_quote, cmd)) + " | " + shell_tail + "; echo \"status=${PIPESTATUS[0]}\""
        return subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=full, timeout=60)
    return subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=60)


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


# -- item 4: --version ---------------------------------------------------------------------------


def test_version(cli):
    import mfi

    r = cli("--version")
    assert r.exit_code == 0 and r.stdout.strip() == f"mfi {mfi.__version__}"


# -- item 11: the library's front door ------------------------------------------------------------


def test_library_exports_every_command_lazily():
    code = (
        "import sys, mfi; assert 'mfi.api' not in sys.modules; "
        "import mfi.api as api; import mfi.plan.memory, mfi.scan.run, mfi.compare.match; "
        "assert all(getattr(mfi, n) is getattr(api, n) for n in ('inspect', 'compare', 'plan', 'scan', 'pull')); "
        "assert sorted(mfi.__all__) == ['__version__', 'compare', 'inspect', 'plan', 'pull', 'scan']"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_file_type_is_the_one_tensor_type_when_undeclared(tmp_path):
    import mfi

    f32 = write_gguf(tmp_path / "f32.gguf", tensors={"a": np.ones((4, 32), np.float32), "b": np.ones(32, np.float32)})
    s = mfi.inspect(f32)
    assert s.quantization.file_type == "F32"
    mixed = write_gguf(tmp_path / "mixed.gguf", tensors={"a": np.ones((4, 32), np.float32), "b": np.ones(32, np.float16)})
    assert mfi.inspect(mixed).quantization.file_type is None


def test_file_type_f32_in_json_and_terminal(tmp_path, cli):
    import json

    f32 = write_gguf(tmp_path / "f32.gguf", tensors={"a": np.ones((4, 32), np.float32)})
    doc = json.loads(cli("inspect", str(f32), "--json").stdout)
    assert doc["quantization"]["file_type"] == "F32"
    out = cli("inspect", str(f32)).stdout
    assert "F32 (32.00 bpw)" in out and "\nDtypes" in out


# -- item 1: --tensors, alone and one tensor per line --------------------------------------------

LONG = "model.language_model.layers.0.self_attn.q_proj.weight.with.a.long.suffix"


@pytest.fixture
def long_names(tmp_path) -> Path:
    tensors = {f"blk.{i}.attn_k_norm.weight": np.ones(8, np.float32) for i in range(12)}
    tensors[LONG] = np.ones((8, 32), np.float32)
    return write_gguf(tmp_path / "long.gguf", tensors=tensors)


@pytest.mark.parametrize("width", [80, 120])
def test_tensor_table_never_wraps_a_name(long_names, width):
    import mfi
    from mfi.render.terminal.inspect import tensors_table

    out = render(tensors_table(mfi.inspect(long_names), "*"), width, crop=False)
    rows = [line for line in out.splitlines() if LONG in line]
    assert len(rows) == 1 and rows[0].split()[:3] == [LONG, "F32", "32x8"]
    assert sum("attn_k_norm.weight" in line for line in out.splitlines()) == 12
    short = render(tensors_table(mfi.inspect(long_names), "blk.*"), width)
    assert max(map(len, short.splitlines())) <= width  # short names: the table fits, offset shown when room
    assert ("offset" in short) == (width >= 80)


def test_tensors_alone_piped_and_grepped(long_names):
    r = mfi_piped("inspect", str(long_names), "blk.1*", "--tensors", shell_tail="grep -c attn_k_norm.weight")
    assert r.stdout.split() == ["3", "status=0"], r.stderr
    first = mfi_piped("inspect", str(long_names), "--tensors", shell_tail="head -1")
    assert first.stdout.startswith("Tensors (13)") and "Traceback" not in first.stderr


def test_tensors_json_one_tensor_per_line(long_names, cli):
    import json

    r = cli("inspect", str(long_names), "blk.1*", "--tensors", "--json")
    lines = [line for line in r.stdout.splitlines() if "attn_k_norm" in line]
    assert len(lines) == 3 and all(json.loads(line.strip().rstrip(","))["type"] == "F32" for line in lines)
    assert json.loads(r.stdout)["schema"] == "mfi.inspect/1"


def test_tensors_markdown_is_the_table_alone(long_names, cli):
    r = cli("inspect", str(long_names), "--tensors", "--markdown")
    assert r.stdout.startswith("### Tensors (13)") and "### Architecture" not in r.stdout


# -- item 2: a closed pipe ends quietly ----------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("--json",), ("--tensors",), ("--metadata",)], ids=["default", "json", "tensors", "metadata"])
def test_closed_pipe_is_quiet(tmp_path, args):
    many = write_gguf(tmp_path / "many.gguf", tensors={f"blk.{i}.attn_norm.weight": np.ones(8, np.float32) for i in range(3000)})
    r = mfi_piped("inspect", str(many), *args, shell_tail="head -1")
    assert r.stdout.splitlines()[-1] == "status=0"
    assert r.stderr == ""


# -- item 3: 80 columns, air between sections, colour only where it means something --------------


@pytest.fixture(scope="module")
def qwen3_8b(tmp_path_factory) -> Path:
    from realshape import write_qwen3_8b

    return write_qwen3_8b(tmp_path_factory.mktemp("real") / "Qwen3-8B-Q4_K_M.gguf")


def _first_screen(path: Path, width: int) -> list[str]:
    import mfi
    from rich.console import Group

    from mfi.render.terminal.inspect import inspect_view
    from mfi.render.terminal.plan import brief_view

    s = mfi.inspect(path)
    return [line.rstrip() for line in render(Group(inspect_view(s), "", brief_view(mfi.plan(s))), width).splitlines()]


def test_first_screen_of_a_real_shaped_gguf_fits_80_columns(qwen3_8b):
    narrow, wide = _first_screen(qwen3_8b, 80), _first_screen(qwen3_8b, 120)
    assert max(map(len, narrow)) <= 80
    # the overview breaks once, between phrases; every other line is the same as on a wide screen
    assert narrow[0] + " · " + narrow[1] == wide[0]
    assert narrow[2:] == wide[1:]
    assert "Qwen3-8B-Q4_K_M.gguf · GGUF v3 · qwen3 · 8.19 B params · Q4_K_M (4.78 bpw) · 4.56 GiB" == wide[0]
    memory = wide.index(next(line for line in wide if line.startswith("memory")))
    assert wide[memory].split(None, 1)[1] == "10.49 GiB at 40,960 tokens (llama.cpp, f16 KV cache)"
    assert wide[memory + 1].strip() == "weights 4.56 GiB + KV cache 5.62 GiB"
    # compute: logits 151,936 x 512 x 4 B + 2 x 4,096 x 512 x 4 B; output: 151,936 x 4 B (docs/memory.md)
    assert wide[memory + 2].strip() == "+ compute 312.75 MiB + output 593.50 KiB"
    assert "eos token       '<|im_end|>'  id 151935" in wide  # ids without thousands separators


def test_sections_have_one_blank_line_between_them(qwen3_8b):
    lines = _first_screen(qwen3_8b, 80)
    for title in ("Architecture", "Quantization", "Tokenizer", "Files", "Will it run (mfi plan for details)"):
        i = lines.index(title)
        assert lines[i - 1] == "" and lines[i - 2] != "", title


def test_plan_footers_each_on_their_own_lines(qwen3_8b):
    import mfi
    from mfi.render.terminal.plan import plan_view

    s = mfi.inspect(qwen3_8b)
    for width in (80, 120):
        lines = render(plan_view(s, mfi.plan(s, memory="8GiB")), width).splitlines()
        assert max(len(line.rstrip()) for line in lines) <= width
        i = next(i for i, line in enumerate(lines) if line.startswith("not counted: "))
        assert lines[i - 1] == ""  # a blank line before the footers
        following = [line for line in lines[i + 1 : i + 4] if line.strip()]
        assert all(line.startswith(" " * len("not counted: ")) or line.startswith("note:") for line in following[:1])
        assert any(line.startswith("largest context that fits: ") for line in lines)


def _on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """``mfi`` run with stdout a pseudo-terminal; returns what it wrote, escape codes and all."""
    import pty

    leader, follower = pty.openpty()
    full = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", **env}
    full.pop("NO_COLOR", None) if "NO_COLOR" not in env else None
    proc = subprocess.Popen([sys.executable, "-m", "mfi", *args], stdout=follower, stderr=subprocess.PIPE, env=full)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_on_a_terminal_only_and_never_with_no_color():
    coloured = _on_a_terminal("inspect", str(DEMO), env={})
    assert "\x1b[32m" in coloured  # "yes:" in green
    plain_tty = _on_a_terminal("inspect", str(DEMO), env={"NO_COLOR": "1"})
    assert "\x1b[32m" not in plain_tty and "\x1b[31m" not in plain_tty
    piped = mfi_piped("inspect", str(DEMO))
    assert "\x1b[" not in piped.stdout and "yes: llama.cpp" in piped.stdout


# -- item 6: scan says what it did not scan -----------------------------------------------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "empty", "nothing to scan: no files"),
        (lambda d: (d / "fake.gguf").write_text("hello, not a model\n") and d / "fake.gguf", "nothing to scan: named .gguf but not a GGUF file (no GGUF magic)"),
        (lambda d: (d / "txt" / "README.md").write_text("hi") and d / "txt", "nothing to scan: no model, pickle, config, template or code file (1 not checked: README.md)"),
    ],
    ids=["empty-folder", "text-named-gguf", "readme-only"],
)
def test_nothing_scannable_is_one_line_exit_2(tmp_path, cli, make, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "txt").mkdir()
    target = make(tmp_path)
    r = cli("scan", str(target))
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.strip() == f"mfi: {target}: {message}"


def test_scan_names_what_it_did_not_check(models, tmp_path, cli):
    import json
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(models / "llama-tiny", folder)
    (folder / "README.md").write_text("a model card")
    (folder / "x.gguf").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 12\n")
    r = cli("scan", str(folder))
    flat = " ".join(r.stdout.split())
    assert f"{folder} · 7 files (5 checked) · findings (1 low) not checked: README.md, x.gguf severity" in flat
    assert "named .gguf but a Git LFS pointer" in r.stdout and r.exit_code == 1
    doc = json.loads(cli("scan", str(folder), "--json").stdout)
    assert sorted(Path(p).name for p in doc["not_checked"]) == ["README.md", "x.gguf"]


# -- item 9: markdown carries what the terminal shows ----------------------------------------------


def test_markdown_carries_the_terminal_screen(qwen3_8b, cli):
    md = cli("inspect", str(qwen3_8b), "--markdown").stdout
    for section in ("### Architecture", "### Quantization", "### Tokenizer", "### Files", "### Will it run"):
        assert section in md
    assert "| pre-tokenizer | qwen2 |" in md and "file type Q4\\_K\\_M" in md
    assert "| **total** | 399 | 8.19 B | 4.56 GiB |  | 4.78 |" in md
    assert "| Qwen3-8B-Q4\\_K\\_M.gguf | weights | 4.56 GiB |" in md
    assert "(id 151935)" in md and "| chat template | default (86 chars) |" in md
    terminal = cli("inspect", str(qwen3_8b)).stdout
    labels = [line.split("  ")[0] for line in terminal.splitlines() if line[:1].islower() and "  " in line]
    missing = [label for label in labels if f"| {label} |" not in md.replace("**total**", "total")]
    assert len(labels) > 25 and missing == []


# -- item 10: pull display -------------------------------------------------------------------------


def test_pull_progress_counts_whole_files_in_binary_units():
    from rich.console import Console

    from mfi.render.terminal.pull import PullProgress, _Bytes

    MiB = 1024 * 1024
    out = StringIO()
    with PullProgress(Console(file=out, width=100, color_system=None)) as p:
        p.start("model.gguf", 100 * MiB, 40 * MiB)  # resumed: 40 MiB kept from an earlier run
        p.start("config.json", 2048, 0)
        p.advance("model.gguf", 10 * MiB)
        total = p.progress.tasks[0]
        assert (total.completed, total.total) == (50 * MiB, 100 * MiB + 2048)
        assert str(_Bytes().render(p.progress.tasks[1])) == "50.00 MiB/100.00 MiB"
    shown = out.getvalue()
    assert "MB" not in shown.replace("MiB", "") and "50.00 MiB/100.00 MiB" in shown


def test_pull_lines_count_files_in_words():
    from types import SimpleNamespace

    from mfi.render.terminal.pull import done_line, files

    assert (files(1), files(3)) == ("1 file", "3 files")
    r = SimpleNamespace(fetched=("a",), skipped=(), bytes=2048, requests=1, folder="/x")
    assert str(done_line(SimpleNamespace(result=r))) == "1 file downloaded and verified, 0 already present; 2.00 KiB in 1 request -> /x"


# -- item 7: per-layer values, sliding head size, assumed values ----------------------------------


def _gemma4_like(path: Path) -> Path:
    import gguf

    n = 12
    kv = [2 if i % 6 == 5 else 8 for i in range(n)]  # full layers (every 6th) have fewer KV heads
    A = gguf.GGUFValueType.ARRAY
    md = {
        "gemma4.block_count": (n, gguf.GGUFValueType.UINT32),
        "gemma4.embedding_length": (256, gguf.GGUFValueType.UINT32),
        "gemma4.attention.head_count": (8, gguf.GGUFValueType.UINT32),
        "gemma4.attention.head_count_kv": (kv, A),
        "gemma4.attention.key_length": (64, gguf.GGUFValueType.UINT32),
        "gemma4.attention.key_length_swa": (32, gguf.GGUFValueType.UINT32),
        "gemma4.attention.sliding_window": (512, gguf.GGUFValueType.UINT32),
        "gemma4.attention.sliding_window_pattern": ([i % 6 != 5 for i in range(n)], A),
        "gemma4.context_length": (8192, gguf.GGUFValueType.UINT32),
    }
    return write_gguf(path, arch="gemma4", kv=md)


@pytest.mark.parametrize("width", [80, 120])
def test_per_layer_values_shown_by_layer_kind(tmp_path, width):
    import mfi
    from mfi.render.terminal.inspect import architecture_table

    s = mfi.inspect(_gemma4_like(tmp_path / "g4.gguf"))
    a = s.architecture
    assert a.kv_heads == 8 and a.per_layer == {"kv_heads": (8, 8, 8, 8, 8, 2) * 2}
    assert a.layer_kinds == ("sliding",) * 5 + ("full",) + ("sliding",) * 5 + ("full",) and a.sliding_head_dim == 32
    rows = {line[:20].strip(): line[20:].strip() for line in render(architecture_table(s), width).splitlines()}
    assert rows["KV heads"] == "8 (sliding) / 2 (full)"
    assert rows["head dim"] == "64 (full) / 32 (sliding)"
    assert rows["attention heads"] == "8"


def test_assumed_values_are_marked(tmp_path, cli):
    import json

    import mfi

    md = {"llama.attention.head_count": (4, __import__("gguf").GGUFValueType.UINT32),
          "llama.embedding_length": (256, __import__("gguf").GGUFValueType.UINT32)}  # fmt: skip
    path = write_gguf(tmp_path / "m.gguf", kv=md)
    a = mfi.inspect(path).architecture
    assert (a.kv_heads, a.head_dim, a.assumed) == (4, 64, ("kv_heads", "head_dim"))
    out = cli("inspect", str(path)).stdout
    assert "KV heads            4 (assumed)" in out and "head dim            64 (assumed)" in out
    doc = json.loads(cli("inspect", str(path), "--json").stdout)["architecture"]
    assert doc["kv_heads"] == 4 and doc["assumed"] == ["kv_heads", "head_dim"] and doc["per_layer"] == {}
    assert doc["layer_kinds"] is None and doc["sliding_head_dim"] is None


# -- item 5: compare knows what llama.cpp's converter does -----------------------------------------


@pytest.fixture(scope="module")
def minilm(tmp_path_factory) -> tuple[Path, Path]:
    import bertbuild

    d = tmp_path_factory.mktemp("minilm")
    return bertbuild.write_hf(d / "all-MiniLM-like"), bertbuild.write_gguf(d / "all-MiniLM-like-f32.gguf")


def test_a_faithful_bert_conversion_passes_fail_on_diff(minilm, cli):
    import json

    hf, gguf_path = minilm
    r = cli("compare", str(hf), str(gguf_path), "--weights", "--fail-on-diff")
    assert r.exit_code == 0, r.stdout
    doc = json.loads(cli("compare", str(hf), str(gguf_path), "--weights", "--json").stdout)
    assert doc["differences"] == [] and doc["different_models"] == []
    assert doc["values"]["compared"] == 37 and all(p["values"]["max_abs"] == 0 for p in doc["tensors"]["pairs"])
    reasons = {u["name"]: u["reason"] for u in doc["tensors"]["unpaired"]}
    assert set(reasons) == {"embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"}
    assert "BertModel.filter_tensors" in reasons["pooler.dense.weight"]
    fields = {f["field"]: f for f in doc["tokenizer"]["fields"] + doc["tokenizer"]["special"]}
    assert fields["pre"]["status"] == "expected" and (fields["pre"]["left"], fields["pre"]["right"]) == ("BertPreTokenizer", "jina-v2-en")
    assert [fields[r]["status"] for r in ("bos", "eos", "cls", "sep")] == ["expected", "expected", "expected", "equal"]
    assert "BertModel.set_vocab" in doc["tokenizer"]["tokens_expected"] and doc["tokenizer"]["tokens_identical"] is False
    assert len(doc["expected"]) == 8


@pytest.mark.parametrize("width", [80, 120])
def test_faithful_conversion_screen(minilm, width):
    import mfi
    from mfi.render.terminal.compare import compare_view

    out = render(compare_view(mfi.compare(*minilm)), width)
    lines = [line.rstrip() for line in out.splitlines()]
    assert max(map(len, lines)) <= width
    assert "Expected from conversion (not differences)" in lines
    assert lines[-1] == "No differences (beyond what conversion changes)"
    flat = " ".join(out.split())
    assert "pooler.dense.bias (left only), pooler.dense.weight (left only): the pooler: llama.cpp runs BERT for embeddings only" in flat


def test_a_real_difference_still_fails(minilm, tmp_path, cli):
    import json
    import shutil

    hf, gguf_path = minilm
    other = tmp_path / "hf"
    shutil.copytree(hf, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "num_attention_heads": 8}))
    r = cli("compare", str(other), str(gguf_path), "--fail-on-diff")
    assert r.exit_code == 1 and "architecture: attention_heads differs" in r.stdout
    assert "Expected from conversion (not differences)" in r.stdout  # still told apart from the real one


def test_two_different_models_get_a_short_verdict(models, cli):
    r = cli("compare", str(models / "gemma3-tiny-Q4_0.gguf"), str(models / "llama-tiny-Q8_0.gguf"))
    lines = r.stdout.splitlines()
    assert lines[5] == "Different models" and len(lines) < 45
    flat = " ".join(r.stdout.split())
    assert "architecture gemma3 vs llama; layers 6 vs 2; vocab size 411 vs 367; 9 of 22 tensors have a counterpart of the same shape" in flat
    assert "Quantization by layer" not in r.stdout
    md = cli("compare", str(models / "gemma3-tiny-Q4_0.gguf"), str(models / "llama-tiny-Q8_0.gguf"), "--markdown").stdout
    assert "### Different models" in md and "### Tokenizer" not in md


# -- item 8: whole screens in Chinese ---------------------------------------------------------------


def test_lang_zh_translates_the_whole_first_screen(qwen3_8b, cli):
    out = cli("inspect", str(qwen3_8b), "--lang", "zh").stdout
    lines = [line.rstrip() for line in out.splitlines()]
    assert lines[0] + " · " + lines[1] == "Qwen3-8B-Q4_K_M.gguf · GGUF v3 · qwen3 · 81.91 亿参数 · Q4_K_M (4.78 位/权重) · 4.56 GiB"
    for title in ("架构", "量化", "分词器", "文件", "能否运行（详见 mfi plan）"):
        assert title in lines
    assert "KV 头数      8" in out and "共享嵌入     否" in out and "eos 词元   '<|im_end|>'  id 151935" in out
    assert "显存       10.49 GiB，上下文 40,960 词元（llama.cpp，KV 缓存 f16）" in out
    assert "+ 计算缓冲 312.75 MiB + 输出缓冲 593.50 KiB" in out
    # no English label left: every row starts with Chinese (or a name: KV, RoPE, bos...)
    english = re.compile(r"^(memory|runtimes|capabilities|field|value|total|Architecture|Tokenizer|Files|Quantization)\b")
    assert not [line for line in lines if english.match(line)]
    assert "token" not in out.replace("tokenizer", "")  # one term: 词元


def test_lang_default_from_the_locale_and_unknown_is_an_error(monkeypatch, cli):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert "能否运行" in cli("inspect", str(DEMO)).stdout
    monkeypatch.setenv("LC_ALL", "en_US.UTF-8")
    assert "Will it run" in cli("inspect", str(DEMO)).stdout
    for command in (("inspect", str(DEMO)), ("plan", str(DEMO)), ("scan", str(DEMO)), ("compare", str(DEMO), str(DEMO))):
        r = cli(*command, "--lang", "fr")
        assert r.exit_code == 2 and r.stderr.strip() == "mfi: --lang: 'fr' is not a language mfi speaks: en, zh"


def test_lang_zh_plan_scan_compare(minilm, cli, tmp_path):
    plan = cli("plan", str(DEMO), "--lang", "zh", "--memory", "1GiB").stdout
    assert "放得下的最长上下文：8,192 词元" in plan and "未计入：" in plan
    from mfi.render.i18n import language, tr

    with language("zh"):  # library texts with names in them: by pattern
        assert tr("GGUF architecture llama is known to llama.cpp") == "GGUF 架构 llama 在 llama.cpp 的支持列表中"
    assert "显存（llama.cpp，KV 缓存 f16，上下文 8,192）" in plan
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "README.md").write_text("hi")
    scan = " ".join(cli("scan", str(tmp_path), "--lang", "zh").stdout.split())
    assert "2 个文件 (已检查 1 个) · 干净 (未发现问题) 未检查： README.md" in scan
    compare = cli("compare", *map(str, minilm), "--lang", "zh").stdout
    assert "转换造成的预期变化（不算差异）" in compare and compare.rstrip().endswith("没有差异（转换造成的预期变化除外）")


def test_every_text_the_renderers_translate_has_a_chinese_entry():
    import ast
    import json

    zh = json.loads((ROOT / "src" / "mfi" / "data" / "messages.zh.json").read_text(encoding="utf-8"))
    keys = []
    for path in (ROOT / "src" / "mfi" / "render").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", None))
            literals = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str) and a.value]
            if name == "tr":
                keys += literals[:1]
            elif name == "new_table":
                keys += literals
    from mfi.render import plain

    keys += list(plain.FIELD_LABELS.values()) + ["Quantization", "Dtypes", "memory", "runtimes", "remote code", "capabilities"]
    keys += ["yes", "no", "unknown", "convert", "remote-code", "yes with", "convert first", "full", "sliding", "swa", "mla", "recurrent", "chat", "base", "embedding"]
    keys += ["weights", "config", "tokenizer", "index", "generation", "other", "code", "critical", "high", "medium", "low", "info"]
    missing = sorted({k for k in keys if k not in zh})
    assert missing == []


# -- README shows the real screens ---------------------------------------------------------------


def _readme_text_blocks() -> list[str]:
    return re.findall(r"```text\n(.+?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def _screen(*args: str) -> str:
    from conftest import run_cli

    return "\n".join(line.rstrip() for line in run_cli(*args).stdout.splitlines())


def test_readme_screens_are_what_mfi_prints():
    """If this fails after a change to a screen: paste the new output into README.md (80 columns)."""
    first, tensors, zh = _readme_text_blocks()[:3]
    assert first == _screen("inspect", str(DEMO))
    command, _, shown = tensors.partition("\n")
    assert command == "$ mfi inspect fixtures/demo/llama-tiny-Q4_K_M.gguf 'blk.0.attn*' --tensors"
    assert shown == _screen("inspect", str(DEMO), "blk.0.attn*", "--tensors")
    command, _, shown = zh.partition("\n")
    assert command == "$ mfi inspect fixtures/demo/llama-tiny-Q4_K_M.gguf --lang zh"
    assert _screen("inspect", str(DEMO), "--lang", "zh").startswith(shown.removesuffix("\n..."))
    assert max(len(line) for block in (first, shown) for line in block.splitlines()) <= 80


def test_a_changed_wordpiece_token_is_a_difference(minilm, tmp_path, cli):
    import json
    import shutil

    hf, gguf_path = minilm
    other = tmp_path / "hf"
    shutil.copytree(hf, other)
    tj = json.loads((other / "tokenizer.json").read_text())
    vocab = tj["model"]["vocab"]
    vocab["ran"] = vocab.pop("run")  # same size, one word changed: the re-spelled lists no longer agree
    (other / "tokenizer.json").write_text(json.dumps(tj))
    r = cli("compare", str(other), str(gguf_path), "--fail-on-diff")
    assert r.exit_code == 1 and "tokenizer: token lists differ" in r.stdout


# -- mfi plan's choices, serving and runtimes screens at 80 columns, and in Chinese ---------------------


def _plan_screen(target, lang: str = "en") -> list[str]:
    import mfi
    from mfi.render.i18n import language
    from mfi.render.terminal.plan import plan_view

    p = mfi.plan(str(target), memory="24GiB")
    assert p.model is not None
    with language(lang):
        return [line.rstrip() for line in render(plan_view(p.model, p), 80).splitlines()]


#: English words of the sentences these screens print; names (llama.cpp, vLLM, GiB, Q4_K_M) are not among them.
_ENGLISH = re.compile(r"\b(Which|fits|memory|context|weights|cache|recommended|largest|note|shown|plan of|quantized|"
                      r"requested|loaded|capacity|concurrency|tokens|would refuse|counted|verdict|needs|version|"
                      r"registered|known to|registry|entry class|serves|built into|maps|has no|loads|bundles|follows|more)\b")  # fmt: skip


def _section(lines: list[str], start: str, end: str | None) -> list[str]:
    i = next(n for n, line in enumerate(lines) if line.startswith(start))
    j = next((n for n, line in enumerate(lines) if n > i and end and line.startswith(end)), len(lines))
    return lines[i:j]


def test_plan_of_a_folder_of_ggufs_fits_80_columns(gguf_folder):
    lines = _plan_screen(gguf_folder)
    assert max(map(len, lines)) <= 80
    assert re.search(r"^Q4_K_M +821\.28 KiB +8\.00 MiB +12\.02 MiB +20\.82 MiB +yes +8,192$", "\n".join(lines), re.M)
    assert re.search(r"^Q8_0 \* +1\.39 MiB +8\.00 MiB +12\.02 MiB +21\.41 MiB +yes +8,192$", "\n".join(lines), re.M)
    assert "* recommended: Q8_0 (the largest that fits)" in lines
    runtimes = _section(lines, "Runtimes", "vision projector")
    # one line per runtime in the table (no wrapped cells), each reason a footnote line under it
    assert re.search(r"^llama\.cpp +0c1e\w+ +yes$", "\n".join(runtimes), re.M)
    assert re.search(r"^sglang +[\d.]+ +yes with +--load-format gguf --quantization gguf$", "\n".join(runtimes), re.M)
    assert any(line.startswith("vllm") and "has no GGUF loader" in line for line in runtimes)


def test_plan_of_a_safetensors_model_with_serving_fits_80_columns(models):
    lines = _plan_screen(models / "qwen3-tiny")
    assert max(map(len, lines)) <= 80
    screen = "\n".join(lines)
    assert re.search(r"^bfloat16 \* +bfloat16 +1\.31 MiB +40\.00 MiB +2\.04 GiB +yes +40,960$", screen, re.M)
    assert re.search(r"^fp8† +fp8 +770\.00 KiB +20\.00 MiB +2\.02 GiB +yes +40,960$", screen, re.M)
    assert "† quantized to fp8 at load (--quantization fp8)" in " ".join(screen.split())
    assert "vLLM 0.33.0 on one GPU of 24.00 GiB (cache bfloat16)" in lines
    assert "SGLang 0.5.23 on one GPU of 24.00 GiB (cache bfloat16)" in lines
    # each term one row, its formula a footnote line under the table
    assert re.search(r"^requested memory +23,192,823,399 +\[1\]$", screen, re.M)
    assert "[1] ceil(25,769,803,776 x 0.9) (request_memory)" in lines
    # capability values without evidence are lines under the table, not a wrapped cell
    assert "sampling defaults: temperature=0.6, top_p=0.95, top_k=20, do_sample=yes" in lines
    # numbers keep their units on their line
    assert not re.search(r"\d$\n^\s*(B|KiB|MiB|GiB)\b", screen, re.M)


def test_plan_of_one_gguf_fits_80_columns(models):
    lines = _plan_screen(models / "llama-tiny-Q4_K_M.gguf")
    assert max(map(len, lines)) <= 80
    assert re.search(r"^transformers +[\d.]+ +yes with +gguf_file=, which dequantizes every weight$", "\n".join(lines), re.M)


@pytest.mark.parametrize("which", ["folder", "safetensors", "gguf"])
def test_plan_choices_serving_and_runtimes_speak_chinese(which, gguf_folder, models):
    target = {"folder": gguf_folder, "safetensors": models / "qwen3-tiny", "gguf": models / "llama-tiny-Q4_K_M.gguf"}[which]
    lines = _plan_screen(target, "zh")
    sections = []
    if which != "gguf":
        sections.append(_section(lines, "哪种", "显存（"))
    if which == "safetensors":
        for head in ("vLLM", "SGLang"):
            block = _section(lines, head + " ", "SGLang" if head == "vLLM" else "运行时（")
            # the formula footnotes quote the runtimes' code (English names, arithmetic): the rest is Chinese
            sections.append([line for line in block if not line.startswith(("项目", "─", "[")) and not re.match(r" {4}\S", line)])
    sections.append(_section(lines, "运行时（", "视觉投影器" if which != "safetensors" else "能力"))
    for section in sections:
        text_ = "\n".join(section)
        assert not _ENGLISH.search(text_), _ENGLISH.search(text_)
    screen = "\n".join(lines)
    if which == "folder":
        assert "* 推荐： Q8_0（放得下的最大者）" in screen and "哪种量化放得下（上下文 8,192，显存 24.00 GiB）" in screen
    if which == "safetensors":
        assert "KV 缓存容量 22,644,304 词元；每请求 40,960 词元时最大并发 552.84x" in screen

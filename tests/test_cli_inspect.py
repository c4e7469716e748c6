"""`mfi inspect` end to end: exit statuses, one-line errors, hostile strings, lazy imports."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from ggufbuild import patch, write_gguf


def _gguf(tmp_path, **kw):
    return write_gguf(tmp_path / "m.gguf", tokens=["<s>", "</s>", "a"], **kw)


def test_json_has_the_documented_keys(tmp_path, cli):
    r = cli("inspect", str(_gguf(tmp_path)), "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "mfi.inspect/1" and doc["format"] == "gguf"
    assert {"files", "architecture", "parameters", "tensors", "quantization", "tokenizer", "warnings"} <= set(doc)
    assert doc["tensors"] == {"count": 1, "bytes": 512, "by_dtype": {"F32": 1}}
    assert doc["parameters"]["total"] == 128 and doc["tokenizer"]["vocab_size"] == 3


BAD_INPUTS = {
    "empty": b"",
    "wrong-magic": b"GGML" + bytes(40),
    "text-file": b"this is a README, not a model\n" * 4,
    "string-2^62": None,  # built from a real file below
    "array-2^60": None,
    "cut-header": None,
}


def _bad_bytes(tmp_path, kind: str) -> bytes:
    if BAD_INPUTS[kind] is not None:
        return BAD_INPUTS[kind]
    data = _gguf(tmp_path).read_bytes()
    if kind == "string-2^62":
        return patch(data, 24, "<Q", 2**62)
    if kind == "array-2^60":
        key = b"tokenizer.ggml.tokens"
        return patch(data, data.find(key) + len(key) + 8, "<Q", 2**60)
    return data[:60]


@pytest.mark.parametrize("kind", list(BAD_INPUTS))
def test_bad_gguf_is_one_line_exit_2(tmp_path, cli, kind):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(_bad_bytes(tmp_path, kind))
    start = time.monotonic()
    r = cli("inspect", str(bad))
    assert time.monotonic() - start < 5  # generous bound against hangs; speed lives in bench/
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mfi: {bad}: ") and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "raw",
    [struct.pack("<Q", 10**6) + b"{}", struct.pack("<Q", 4) + b"{nop"],
    ids=["header-past-end", "invalid-json"],
)
def test_bad_safetensors_is_one_line_exit_2(tmp_path, cli, raw):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(raw)
    r = cli("inspect", str(bad))
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1


def test_truncated_data_gives_summary_and_exit_1(tmp_path, cli):
    path = write_gguf(tmp_path / "t.gguf", tensors={"x.weight": np.ones((64, 64), np.float32)})
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(path.read_bytes()[:-1000])
    r = cli("inspect", str(cut), "--json")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["problems"] and "truncated download" in r.stderr
    r = cli("inspect", str(cut))
    assert r.exit_code == 1 and "Architecture" in r.stdout and "1 problem(s)" in r.stdout
    assert r.stderr.startswith(f"mfi: {cut}: 1 tensor(s) run past the end of the file")


def test_missing_file_and_debug_traceback(tmp_path, cli):
    r = cli("inspect", str(tmp_path / "nope.gguf"))
    assert r.exit_code == 2 and r.stderr.strip() == f"mfi: {tmp_path / 'nope.gguf'}: no such file or folder"
    r = cli("--debug", "inspect", str(tmp_path / "nope.gguf"))
    assert r.exit_code == 1 and type(r.exception).__name__ == "SourceError"


HOSTILE = ["blk.0.[/]attn.weight", "[link=https://evil.example]x[/link]", "esc\x1b[31mred", "[bold]b"]


def test_hostile_names_render_as_plain_text(tmp_path):
    from io import StringIO

    from rich.console import Console

    from mfi import api
    from mfi.render.terminal import inspect as terminal

    tensors = {name: np.ones((2, 32), np.float32) for name in HOSTILE}
    path = write_gguf(tmp_path / "h.gguf", tensors=tensors, tokens=HOSTILE)
    s = api.inspect(path)
    buf = StringIO()
    console = Console(file=buf, width=200, color_system=None)
    console.print(terminal.inspect_view(s))
    console.print(terminal.tensors_table(s, None))
    console.print(terminal.metadata_table(s))
    out = buf.getvalue()
    assert "blk.0.[/]attn.weight" in out and "[link=https://evil.example]x[/link]" in out
    assert "\x1b" not in out and "esc\\x1b[31mred" in out


def test_help_is_fast_and_loads_no_heavy_module():
    code = (
        "import sys, io, contextlib\n"
        "from mfi.cli import app\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: app(['--help'])\n"
        "    except SystemExit: pass\n"
        "heavy = [m for m in ('numpy', 'gguf', 'safetensors', 'huggingface_hub', 'modelscope', 'mfi.api') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_markdown_escapes_table_cells(tmp_path, cli):
    path = write_gguf(tmp_path / "md.gguf", tensors={"a|b.weight": np.ones((2, 32), np.float32)})
    r = cli("inspect", str(path), "--markdown", "--tensors")
    assert r.exit_code == 0
    assert "a\\|b.weight" in r.stdout and "| type | tensors |" in r.stdout


def test_untrusted_quant_method_cannot_inject_markup(models, tmp_path, cli):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(models / "fp8-tiny", folder)
    config = json.loads((folder / "config.json").read_text())
    config["quantization_config"]["quant_method"] = "[/]x[link=http://evil]y"
    (folder / "config.json").write_text(json.dumps(config))
    r = cli("inspect", str(folder))
    assert r.exit_code == 0, r.stderr
    assert "quantization [/]x[link=http://evil]y" in r.stdout


@pytest.mark.parametrize(
    "patch_config",
    [
        {"architectures": 5},
        {"architectures": {"a": 1}},
        {"hidden_size": "256"},
        {"num_attention_heads": 0},
        {"num_key_value_heads": -2},
        {"model_type": []},
        {"vocab_size": "HUGE"},
    ],
    ids=["architectures-int", "architectures-dict", "hidden-str", "heads-zero", "kv-negative", "model-type-list", "huge-int"],
)
def test_wrongly_typed_config_values_never_crash(models, tmp_path, cli, patch_config):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(models / "llama-tiny", folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(patch_config)
    (folder / "config.json").write_text(json.dumps(config).replace('"HUGE"', "9" * 5000))
    r = cli("inspect", str(folder), "--json")
    assert r.exit_code in (0, 2), r.exception
    if r.exit_code == 2:
        assert r.stderr.count("\n") == 1 and "config.json" in r.stderr
    else:
        arch = json.loads(r.stdout)["architecture"]
        assert all(v is None or isinstance(v, (int, float, str, dict, bool)) for v in arch.values())


@pytest.mark.parametrize(
    "patch_files",
    [
        {"tokenizer_config.json": {"added_tokens_decoder": [1]}, "tokenizer.json": None},
        {"tokenizer.json": {"added_tokens": 5}},
        {"tokenizer_config.json": {"tokenizer_class": {"x": 1}}, "tokenizer.json": None},
    ],
    ids=["decoder-list", "added-int", "class-dict"],
)
def test_wrongly_typed_tokenizer_files_never_crash(models, tmp_path, cli, patch_files):
    import shutil

    folder = tmp_path / "m"
    shutil.copytree(models / "llama-tiny", folder)
    for name, update in patch_files.items():
        if update is None:
            (folder / name).unlink()
            continue
        doc = json.loads((folder / name).read_text())
        doc.update(update)
        (folder / name).write_text(json.dumps(doc))
    r = cli("inspect", str(folder), "--json")
    assert r.exit_code == 0, r.exception
    tok = json.loads(r.stdout)["tokenizer"]
    assert tok["model"] is None or isinstance(tok["model"], str)


def test_string_valued_gguf_size_key_is_unknown_not_a_crash(tmp_path, cli):
    import gguf

    kv = {"llama.embedding_length": ("256", gguf.GGUFValueType.STRING), "llama.attention.head_count": (4, gguf.GGUFValueType.UINT32)}
    r = cli("inspect", str(write_gguf(tmp_path / "s.gguf", kv=kv)), "--json")
    assert r.exit_code == 0, r.exception
    arch = json.loads(r.stdout)["architecture"]
    assert arch["hidden_size"] is None and arch["head_dim"] is None and arch["attention_heads"] == 4


def test_json_never_carries_nan(tmp_path, cli):
    import gguf

    kv = {"llama.rope.freq_base": (float("nan"), gguf.GGUFValueType.FLOAT32)}
    r = cli("inspect", str(write_gguf(tmp_path / "n.gguf", kv=kv)), "--json", "--metadata")
    assert r.exit_code == 0, r.exception
    assert "NaN" not in r.stdout
    json.loads(r.stdout)


def test_split_tensor_table_names_the_part(models, cli):
    r = cli("inspect", str(models / "split" / "llama-tiny-Q8_0-00001-of-00003.gguf"), "blk.1.ffn_up*", "--tensors")
    assert r.exit_code == 0
    row = next(line for line in r.stdout.splitlines() if line.startswith("blk.1.ffn_up.weight"))
    assert row.split()[-1] == "3/3" and "part" in r.stdout


def test_default_view_answers_will_it_run(models, cli):
    r = cli("inspect", str(models / "llama-tiny-Q8_0.gguf"))
    assert r.exit_code == 0
    out = r.stdout
    assert "Will it run" in out and "llama.cpp yes" in out and "remote code    not needed" in out
    # 2 layers x 2 KV heads x 64 x 2 (K and V) x 2 bytes (f16) x 8,192 cells = 8 MiB
    flat = " ".join(out.split())
    assert "KV cache 8.00 MiB (f16)" in flat and "at 8,192 tokens" in flat
    md = cli("inspect", str(models / "llama-tiny-Q8_0.gguf"), "--markdown").stdout
    assert "### Will it run" in md and "| remote code | not needed |" in md

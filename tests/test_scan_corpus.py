"""Issue 11: every hostile sample runs code under its real loader (proved in a subprocess) and ``mfi scan``
flags it high or critical; what torch.save, numpy and joblib write for plain data scans quiet."""

from __future__ import annotations

import json
import struct
import tempfile
import time
from pathlib import Path

import pytest
import scancorpus
import scanproof

from mfi import api

_HIGH = ("critical", "high")
_QUIET = ("low", "info")



def _listing() -> list[scancorpus.Sample]:
    with tempfile.TemporaryDirectory() as d:  # cheap: the samples are small or sparse
        return scancorpus.build_hostile(Path(d) / "corpus", Path(d) / "markers")


_SAMPLES = _listing()

#: Hostile classes mfi misses today, by sample path: each xfail names the issue 11 item; removed as fixed.
_MISSES: dict[str, str] = {}


@pytest.fixture(scope="session")
def hostile(tmp_path_factory):
    """The hostile corpus, each sample already run by its loader in a subprocess; (folder, markers, logs)."""
    root = tmp_path_factory.mktemp("hostile")
    folder, markers = root / "corpus", root / "markers"
    samples = scancorpus.build_hostile(folder, markers)
    logs = scanproof.prove(folder, samples)
    return folder, markers, logs


@pytest.fixture(scope="session")
def benign(tmp_path_factory):
    """The benign corpus folder and the files written."""
    folder = tmp_path_factory.mktemp("benign")
    return folder, scancorpus.build_benign(folder)


def _marks(sample):
    if sample.path in _MISSES:
        return [pytest.mark.xfail(strict=True, reason=f"issue 11 item {_MISSES[sample.path]}")]
    return []


@pytest.mark.parametrize("sample", [pytest.param(s, id=s.path, marks=_marks(s)) for s in _SAMPLES])
def test_hostile_sample_is_flagged(hostile, sample):
    folder, markers, logs = hostile
    report = api.scan(str(folder / sample.path))
    worst = [f for f in report.findings if f.severity in _HIGH]
    assert worst, [(f.severity, f.message) for f in report.findings]
    if sample.critical:
        module, _, name = sample.critical.rpartition(".")
        hits = [f for f in report.findings if f.detail.get("module") == module and f.detail.get("name") == name]
        assert hits and all(f.severity == "critical" for f in hits), [(f.severity, f.message) for f in report.findings]


@pytest.mark.parametrize("sample", [pytest.param(s, id=s.path) for s in _SAMPLES if s.loader])
def test_hostile_sample_runs_code(hostile, sample):
    """The marker appears: the real loader ran the payload (so the sample is worth flagging)."""
    if not scanproof.available(sample.loader):
        pytest.skip(f"{sample.loader} is not installed (pip install -e '.[torch]')")
    folder, markers, logs = hostile
    deadline = time.monotonic() + 5  # fork_exec's child touches the marker on its own time
    while not (markers / sample.marker).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (markers / sample.marker).exists(), logs.get(sample.loader)


def test_benign_files_are_quiet(benign):
    folder, written = benign
    loud = {}
    for name in written:
        report = api.scan(str(folder / name))
        found = [(f.severity, f.message) for f in report.findings if f.severity not in _QUIET]
        if found:
            loud[name] = found
    assert not loud


def test_benign_corpus_covers_torch(benign):
    pytest.importorskip("torch")
    folder, written = benign
    assert {"dtype_float8_e4m3fn.pt", "dtype_uint64.pt", "dtype_bfloat16_legacy.pt", "storage_82.pt",
            "param_buffer.pt"} <= set(written)  # fmt: skip


@pytest.fixture(scope="session")
def saved_by_transformers(tmp_path_factory):
    """Folders written by transformers ``save_pretrained`` (bin, sharded bin, safetensors) and their parameter counts."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("transformers")
    return folder, scancorpus.build_transformers(folder)


def test_transformers_save_pretrained_is_quiet(saved_by_transformers):
    """Issue 11 "done when": what save_pretrained(safe_serialization=False) writes gets nothing above low."""
    folder, written = saved_by_transformers
    assert {"llama_bin", "llama_bin_sharded", "llama_safetensors", "qwen2_tied_bin"} <= set(written)
    assert (folder / "llama_bin" / "pytorch_model.bin").is_file()
    assert (folder / "llama_bin_sharded" / "pytorch_model.bin.index.json").is_file()
    assert len(list((folder / "llama_bin_sharded").glob("pytorch_model-*.bin"))) > 1
    assert {"generation_config.json", "tokenizer.json", "chat_template.jinja"} <= {p.name for p in (folder / "llama_bin").iterdir()}
    loud = {}
    for name in written:
        for target in (folder / name, *sorted((folder / name).iterdir())):
            report = api.scan(str(target))
            found = [(f.severity, f.message) for f in report.findings if f.severity not in _QUIET]
            if found:
                loud[str(target.relative_to(folder))] = found
    assert not loud


def test_transformers_save_pretrained_parameter_count(saved_by_transformers):
    """``mfi inspect`` of each folder reads the parameter count the model reports, with nothing to warn about.

    The tied lm_head that torch.save keeps as a second view of the embedding's storage is counted once, so the
    sharded index's ``total_size`` (storage bytes, counted once) matches too."""
    folder, written = saved_by_transformers
    summaries = {name: api.inspect(str(folder / name)) for name in written}
    assert {name: s.parameters.total for name, s in summaries.items()} == written
    assert {name: (s.warnings, s.problems) for name, s in summaries.items() if s.warnings or s.problems} == {}
    assert written["llama_bin"] - written["qwen2_tied_bin"] == 128 * 32 - 2 * (32 + 16 + 16)  # lm_head, less q/k/v biases


def test_tied_view_is_an_alias_not_a_second_tensor(saved_by_transformers):
    from mfi.formats.torch import read_torch
    from mfi.sources import LocalFile

    folder, _ = saved_by_transformers
    ck = read_torch(LocalFile(folder / "qwen2_tied_bin" / "pytorch_model.bin"))
    assert ck.aliases == {"lm_head.weight": "model.embed_tokens.weight"}
    assert "lm_head.weight" not in {t.name for t in ck.tensors}


def test_png_named_pt_is_not_a_checkpoint(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0" * 17
    (tmp_path / "image.pt").write_bytes(png)
    report = api.scan(str(tmp_path / "image.pt"))
    assert [(f.severity, f.kind) for f in report.findings] == [("info", "format")]
    assert "not a checkpoint" in report.findings[0].message


def test_fifos_are_skipped_never_opened(tmp_path):
    """Issue 11 item 10: opening a FIFO blocks until a writer comes; the scan notes it and moves on."""
    import os

    os.mkfifo(tmp_path / "pytorch_model.bin")
    (tmp_path / "config.json").write_text("{}")
    for target in (tmp_path, tmp_path / "pytorch_model.bin"):
        report = api.scan(str(target))
        assert [(f.severity, f.message) for f in report.findings] == [("info", "a FIFO, not a file: skipped, never opened")]


def test_inspect_never_opens_a_fifo(tmp_path, cli):
    import os

    os.mkfifo(tmp_path / "model.safetensors")
    r = cli("inspect", str(tmp_path / "model.safetensors"))
    assert r.exit_code == 2 and "not a file: never opened" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_zip64_end_record_past_the_end_is_one_line(tmp_path, cli):
    """Issue 11 item 12: a zip64 end record whose central directory lies past the end: a finding, no traceback."""
    path = scancorpus.build_huge_zip64(tmp_path)
    report = api.scan(str(path))
    assert [(f.severity, f.kind) for f in report.findings] == [("medium", "unreadable")]
    assert "lies past the end" in report.findings[0].message
    r = cli("inspect", str(path))
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "template, pattern, severity",
    [
        ("{{ {'a': {'b': 1}}.a.__class__.__mro__[1].__subclasses__() }}", "dunder", "critical"),
        ("{{ ()|attr('%c%cclass%c%c'|format(95,95,95,95)) }}", "char-format", "high"),
        ("{% set u='_' %}{{ ()[u~u~'class'~u~u] }}", "underscore-concat", "high"),
        ("{{ ()['xxclassxx'|replace('x','_')] }}", "underscore-concat", "high"),
        ("{{ messages|map(attribute='__class__')|list }}", "dunder", "critical"),
        ("{{ ()['\\x5f\\x5fclass\\x5f\\x5f'] }}", "dunder", "critical"),
    ],
    ids=["nested-braces", "format-codes", "set-underscore", "replace", "map-attribute", "escapes"],
)
def test_template_escapes_found_by_jinjas_lexer(template, pattern, severity):
    """Issue 11 item 7: tags cut by Jinja's lexer, names built at run time caught by their pieces."""
    from mfi.scan.templates import template_findings

    found = {f.detail["pattern"]: f.severity for f in template_findings(template, "t.jinja", "t")}
    assert found.get(pattern) == severity, found


def test_tool_calling_words_are_not_findings():
    """'request' and 'config' as words (text, strings, plain variables) are ordinary in tool-calling templates."""
    from mfi.scan.templates import template_findings

    template = (
        "{%- if tools %}You may call tools. Each request must match the tool config below.\n"
        "{%- for tool in tools %}{{ tool.function.name }}: {{ tool.function.config | tojson }}{% endfor %}{% endif %}"
        "{%- set request = messages[-1] %}{{ '<request>' + request['content'] + '</request>' }}"
    )
    assert template_findings(template, "t.jinja", "t") == []


def test_long_arguments_are_stepped_over_not_read(tmp_path):
    """Issue 11 item 11: 32 strings of 16 MiB (a sparse file) are stepped over; nothing is read into memory."""
    path = scancorpus.build_huge_strings(tmp_path)
    report = api.scan(str(path))
    assert [(f.severity, f.kind) for f in report.findings] == [("info", "pickle")]


def test_compressed_member_is_walked_as_a_stream(tmp_path):
    """A deflated data.pkl with 20 MiB of bytes before its payload: inflated as it is walked, payload found."""
    marker = tmp_path / "never-created"
    pkl = b"\x80\x02\x8e" + (20 << 20).to_bytes(8, "little") + b"\0" * (20 << 20) + b"0" + scancorpus.touch(marker) + b"}."
    entries = scancorpus.torch_entries(pkl)
    entries[0].deflate = True
    (tmp_path / "model.pt").write_bytes(scancorpus.plain_zip(entries))
    del pkl
    report = api.scan(str(tmp_path / "model.pt"))
    assert [(f.severity, f.detail.get("name")) for f in report.findings][:1] == [("critical", "open")]


def test_safetensors_objects_are_counted_before_parsing(tmp_path, monkeypatch):
    from mfi.errors import LimitError
    from mfi.formats.safetensors import read_safetensors
    from mfi.sources import LocalFile

    monkeypatch.setattr("mfi.limits.MAX_TENSOR_COUNT", 10)
    header = json.dumps({f"t{i}": {"dtype": "F32", "shape": [1], "data_offsets": [4 * i, 4 * i + 4]} for i in range(20)})
    (tmp_path / "m.safetensors").write_bytes(struct.pack("<Q", len(header)) + header.encode() + b"\0" * 80)
    with pytest.raises(LimitError, match="header holds 21 JSON objects, more than the cap of 10 tensors"):
        read_safetensors(LocalFile(tmp_path / "m.safetensors"))


def test_bytes_after_stop_are_a_note_and_lz4_is_unchecked(tmp_path):
    (tmp_path / "a.pkl").write_bytes(b"\x80\x02}." + b"\xff" * 10)
    (tmp_path / "b.pkl.lz4").write_bytes(b"\x04\x22\x4d\x18" + b"\0" * 20)
    report = api.scan(str(tmp_path))
    got = sorted((f.severity, f.kind, f.file.rsplit("/", 1)[1]) for f in report.findings)
    assert got == [("high", "pickle", "b.pkl.lz4"), ("info", "format", "a.pkl"), ("info", "pickle", "a.pkl")]


@pytest.mark.parametrize(
    "module, name, verdict",
    [("torch", "serialization.load", "dangerous"), ("collections", "OrderedDict.__init__.__globals__", "dangerous"),
     ("torch", "_utils._rebuild_tensor_v2", "unknown"), ("os", "path.join", "dangerous"), ("mymodel", "Outer.Inner", "unknown")],
)  # fmt: skip
def test_dotted_global_names_are_judged_as_protocol_4_resolves_them(module, name, verdict):
    from mfi.formats.pickle import judge

    assert judge(module, name)[0] == verdict


def test_text_members_of_a_tar_are_quiet(tmp_path):
    import tarfile

    for name, data in (("notes.txt", b"N.B. a text file"), ("list.txt", b"]first line\n")):
        (tmp_path / name).write_bytes(data)
    with tarfile.open(tmp_path / "data.tar", "w") as t:
        t.add(tmp_path / "notes.txt", "notes.txt")
        t.add(tmp_path / "list.txt", "list.txt")
    report = api.scan(str(tmp_path / "data.tar"))
    assert [f.severity for f in report.findings] == ["info"]


def test_a_bad_zip_member_does_not_hide_the_others(tmp_path):
    """A member whose local header lies past the end is reported, and data.pkl is still walked."""
    entries = [scancorpus.Entry("archive/broken", b"x" * 10), *scancorpus.torch_entries(scancorpus.evil(tmp_path / "m"))]
    local, cd, n = scancorpus.zip_bytes(entries)
    broken_at = cd.index(b"archive/broken") - 4  # the central entry's local-header offset field
    cd = cd[:broken_at] + struct.pack("<I", 1 << 30) + cd[broken_at + 4 :]
    (tmp_path / "model.pt").write_bytes(local + cd + scancorpus._eocd(n, len(cd), len(local)))
    found = {(f.severity, f.member) for f in api.scan(str(tmp_path / "model.pt")).findings}
    assert ("critical", "archive/data.pkl") in found and ("high", "archive/broken") in found

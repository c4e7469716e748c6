"""``mfi scan``: malicious pickles (never loaded), chat templates, remote code, integrity, escaping names."""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torchbuild as tb

from mfi import api
from mfi.errors import UsageError
from mfi.targets import safe_join, unsafe_reason

# --- malicious pickles, written as raw opcodes (protocol 2 and 4); nothing here ever unpickles ---


def _str(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


#: ``__reduce__`` returning (os.system, ("echo pwned",)), as pickle.dumps(protocol=2) writes it.
OS_SYSTEM = b"\x80\x02cos\nsystem\nq\x00" + _str("echo pwned") + b"q\x01\x85q\x02Rq\x03."
#: Protocol 4 STACK_GLOBAL whose operands come from the memo, stored under a harmless-looking dict first:
#: {"a": "builtins", "b": "exec"} is built, then BINGET 1 / BINGET 2 feed STACK_GLOBAL -> builtins.exec.
STACK_GLOBAL_MEMO = (
    b"\x80\x04}\x94(\x8c\x01a\x8c\x08builtins\x94\x8c\x01b\x8c\x04exec\x94u0"
    b"h\x01h\x02\x93\x94\x8c\x0cprint('hi')\x85R."
)
#: getattr(importlib.import_module("os"), "system")("id"): importing through importlib.
IMPORTLIB = (
    b"\x80\x02c__builtin__\ngetattr\n" b"cimportlib\nimport_module\n" + _str("os") + b"\x85R"
    + _str("system") + b"\x86R" + _str("id") + b"\x85R."
)  # fmt: skip


def _scan(path):
    return api.scan(path)


def _sev(report, severity, kind=None):
    return [f for f in report.findings if f.severity == severity and (kind is None or f.kind == kind)]


def test_os_system_reduce(tmp_path):
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    dumped = pickle.dumps(Evil(), protocol=2)  # dumping never runs the reduce function
    assert dumped.replace(b"cposix\n", b"cos\n").replace(b"cnt\n", b"cos\n") == OS_SYSTEM
    (tmp_path / "evil.pkl").write_bytes(OS_SYSTEM)
    r = _scan(tmp_path / "evil.pkl")
    [f] = _sev(r, "critical")
    assert (f.kind, f.offset, f.detail["module"], f.detail["name"]) == ("pickle", 2, "os", "system")
    assert "runs shell commands" in f.message and r.fails()


def test_stack_global_through_the_memo(tmp_path):
    (tmp_path / "model.pt").write_bytes(STACK_GLOBAL_MEMO)
    r = _scan(tmp_path / "model.pt")
    [f] = _sev(r, "critical")
    assert (f.detail["module"], f.detail["name"], f.detail["opcode"]) == ("builtins", "exec", "STACK_GLOBAL")
    assert f.offset == STACK_GLOBAL_MEMO.index(b"\x93")


def test_importlib_chain(tmp_path):
    (tmp_path / "x.bin").write_bytes(IMPORTLIB)
    names = {(f.detail["module"], f.detail["name"]) for f in _sev(_scan(tmp_path / "x.bin"), "critical")}
    assert names == {("__builtin__", "getattr"), ("importlib", "import_module")}


def test_malicious_global_inside_a_torch_zip(tmp_path):
    class Evil:
        def __reduce_ex__(self, protocol):
            return (tb.Ref("subprocess", "check_output"), (["id"],))

    sd = tb.state_dict({"w": tb.tensor(np.ones(4, np.float32)), "x": Evil()})
    tb.save_zip(sd, tmp_path / "pytorch_model.bin")
    r = _scan(tmp_path)
    [f] = _sev(r, "critical")
    assert f.member == "archive/data.pkl" and f.detail["module"] == "subprocess"
    raw = (tmp_path / "pytorch_model.bin").read_bytes()
    assert raw[f.offset : f.offset + 12] == b"csubprocess\n"  # absolute offset in the file (stored member)


def test_clean_checkpoint_exits_zero(tmp_path, cli):
    tb.save_zip(tb.state_dict({"w": tb.tensor(np.ones(4, np.float32))}), tmp_path / "pytorch_model.bin")
    r = cli("scan", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "clean" in r.stdout
    doc = json.loads(cli("scan", str(tmp_path), "--json").stdout)
    assert doc["schema"] == "mfi.scan/1" and doc["verdict"] == "clean"
    assert doc["counts"] == {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 1}


def test_cli_exit_statuses(tmp_path, cli):
    (tmp_path / "evil.pkl").write_bytes(OS_SYSTEM)
    r = cli("scan", str(tmp_path / "evil.pkl"))
    assert r.exit_code == 1 and "os.system" in r.stdout
    doc = json.loads(cli("scan", str(tmp_path), "--json").stdout)
    assert doc["verdict"] == "findings" and doc["findings"][0]["severity"] == "critical"
    assert cli("scan", str(tmp_path / "nope")).exit_code == 2
    assert cli("scan", str(tmp_path), "--fail-on", "bogus").exit_code == 2


def test_damaged_pickle_still_reports_what_came_before(tmp_path):
    (tmp_path / "cut.pkl").write_bytes(OS_SYSTEM[:-3])
    r = _scan(tmp_path / "cut.pkl")
    assert [f.severity for f in r.findings] == ["critical", "high"]
    assert "could not be fully checked" in r.findings[1].message


def test_npy_and_npz_object_arrays(tmp_path):
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - (10 + len(header)) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + OS_SYSTEM
    (tmp_path / "a.npy").write_bytes(npy)
    r = _scan(tmp_path / "a.npy")
    assert [(f.severity, f.kind) for f in r.findings] == [("critical", "pickle"), ("high", "pickle")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("ok.npy", _npy_bytes(np.ones(3, np.float32)))
        z.writestr("evil.npy", npy)
    (tmp_path / "b.npz").write_bytes(buf.getvalue())
    r = _scan(tmp_path / "b.npz")
    assert {f.member for f in r.findings} == {"evil.npy"} and r.worst() == "critical"
    (tmp_path / "c.npy").write_bytes(_npy_bytes(np.ones(3, np.float32)))
    assert _scan(tmp_path / "c.npy").findings == ()


def _npy_bytes(a) -> bytes:
    out = io.BytesIO()
    np.save(out, a)
    return out.getvalue()


# --- chat templates ---

BENIGN = (
    "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
SSTI = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
CYCLER = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"
HIDDEN = "{{ ''|attr('\\x5f\\x5fclass\\x5f\\x5f') }}"


def test_gguf_chat_template(tmp_path):
    import gguf
    from ggufbuild import write_gguf

    write_gguf(tmp_path / "m.gguf", kv={"tokenizer.chat_template": (SSTI, gguf.GGUFValueType.STRING),
                                        "tokenizer.chat_template.tool_use": (BENIGN, gguf.GGUFValueType.STRING)})  # fmt: skip
    r = _scan(tmp_path / "m.gguf")
    crit = _sev(r, "critical", "template")
    assert len(crit) == 1 and crit[0].detail["template"] == "tokenizer.chat_template"
    assert crit[0].detail["count"] == 3 and "at line 1 (3 places)" in crit[0].message


def test_template_files(tmp_path):
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": [{"name": "default", "template": CYCLER}]}))
    (tmp_path / "chat_template.jinja").write_text(HIDDEN + "{% include 'other.jinja' %}")
    (tmp_path / "chat_template.json").write_text(json.dumps({"chat_template": BENIGN}))
    r = _scan(tmp_path)
    by_file = {}
    for f in r.findings:
        by_file.setdefault(f.file.rsplit("/", 1)[1], set()).add(f.detail.get("pattern"))
    assert by_file["tokenizer_config.json"] == {"dunder", "code-call", "jinja-global", "module-name"}
    # Jinja's lexer decodes the escapes: the hidden name is a dunder as well
    assert by_file["chat_template.jinja"] == {"attr-filter", "escaped-underscore", "dunder", "load"}
    assert "chat_template.json" not in by_file


def test_benign_templates_are_quiet():
    from mfi.scan.templates import template_findings

    assert template_findings(BENIGN, "f", "t") == []
    assert template_findings("text with __class__ outside tags {{ x }}", "f", "t") == []


# --- remote code, integrity, paths ---


def test_auto_map_and_python_files(tmp_path):
    config = {"model_type": "x", "auto_map": {"AutoConfig": "configuration_x.XConfig",
                                              "AutoModelForCausalLM": "other/repo--modeling_x.XForCausalLM"},
              "trust_remote_code": True}  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "configuration_x.py").write_text("print('hi')\n")
    (tmp_path / "helper.py").write_text("x = 1\n")
    r = _scan(tmp_path)
    high = _sev(r, "high", "remote-code")
    assert len(high) == 3
    assert any(f.detail.get("repo") == "other/repo" for f in high)
    assert any("trust_remote_code is set to true" in f.message for f in high)
    py = {f.detail["module"]: f for f in r.findings if "sha256" in f.detail}
    import hashlib

    assert py["configuration_x"].severity == "medium" and py["helper"].severity == "low"
    assert py["helper"].detail["sha256"] == hashlib.sha256(b"x = 1\n").hexdigest()


def _st(path, names):
    from safetensors.numpy import save_file

    save_file({n: np.ones(2, np.float32) for n in names}, str(path))


def test_index_with_escaping_and_missing_shards(tmp_path):
    _st(tmp_path / "model-00001-of-00002.safetensors", ["a", "extra"])
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00001-of-00002.safetensors",
                            "c": "../../../etc/evil.safetensors", "d": "/abs/x.safetensors",
                            "e": "model-00002-of-00002.safetensors"}}  # fmt: skip
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    r = _scan(tmp_path)
    crit = _sev(r, "critical", "path")
    assert sorted(f.detail["file"] for f in crit) == ["../../../etc/evil.safetensors", "/abs/x.safetensors"]
    assert [f.detail["file"] for f in _sev(r, "high", "integrity")] == ["model-00002-of-00002.safetensors"]
    [medium] = _sev(r, "medium")
    assert medium.message == "1 tensor(s) the index puts in model-00001-of-00002.safetensors are not there (first: b)"
    assert any("(first: extra)" in f.message for f in _sev(r, "low"))
    from mfi.errors import FormatError

    with pytest.raises(FormatError, match="climbs out of the folder"):
        api.inspect(tmp_path)


def test_truncated_safetensors_is_an_integrity_finding(tmp_path):
    _st(tmp_path / "m.safetensors", ["a"])
    raw = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "m.safetensors").write_bytes(raw[:-4])
    r = _scan(tmp_path)
    assert [(f.severity, f.kind) for f in r.findings] == [("medium", "integrity")]
    assert "truncated" in r.findings[0].message


def test_unreadable_file_is_a_finding_not_a_crash(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    r = _scan(tmp_path)
    assert [(f.severity, f.kind) for f in r.findings] == [("medium", "unreadable")]


@pytest.mark.parametrize(
    "name", ["../x", "a/../../x", "/etc/passwd", "C:\\x", "..\\..\\x", "", "a\x00b", "\\\\server\\share"],
)
def test_safe_join_refuses(tmp_path, name):
    assert unsafe_reason(name) is not None
    with pytest.raises(UsageError, match="escapes the target folder"):
        safe_join(tmp_path, name)


def test_safe_join_accepts_plain_names(tmp_path):
    assert safe_join(tmp_path, "sub/model.safetensors") == tmp_path / "sub" / "model.safetensors"
    assert unsafe_reason("model-00001-of-00002.safetensors") is None


def test_render_escapes_hostile_names(tmp_path):
    """A global named with markup and escape sequences reaches the terminal as plain, escaped text."""
    from io import StringIO

    from rich.console import Console

    from mfi.render.terminal.scan import scan_view

    evil = b"\x80\x02cos\nsys[/]tem\x1b[2J\nq\x00)R."
    (tmp_path / "[link=x]a.pkl").write_bytes(evil)
    out = StringIO()
    Console(file=out, width=200, color_system=None).print(scan_view(api.scan(tmp_path)))
    text = out.getvalue()
    assert "os.sys[/]tem\\x1b[2J" in text and "[link=x]a.pkl @2" in text and "\x1b" not in text


def test_garbage_with_a_pickle_suffix_is_high(tmp_path):
    """A .bin that only looks like protocol 0 breaks where our reading may part from pickle.load's."""
    (tmp_path / "weights.bin").write_bytes(b"(\xff\xfe\x00garbage")
    [f] = _scan(tmp_path).findings
    assert (f.severity, f.kind) == ("high", "pickle") and "code may run" in f.message


def test_unclosed_tags_are_checked_to_the_end():
    """An unclosed tag runs to the end (and is found in one pass, not by rescanning from every '{{')."""
    from mfi.scan.templates import template_findings

    found = template_findings("{{ x }}" * 3 + "{{" * 20_000 + " __globals__", "f", "t")
    assert [f.detail["pattern"] for f in found] == ["dunder"]

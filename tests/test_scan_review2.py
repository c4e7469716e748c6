"""``mfi scan`` against a second review's bypasses; payloads are raw bytes, never unpickled or loaded."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from mfi import api

#: ``os.system("echo PWNED")`` in protocol 2.
EVIL = b"\x80\x02cos\nsystem\nX\x0a\x00\x00\x00echo PWNED\x85R."


def _worst(path):
    return api.scan(path).worst()


@pytest.mark.parametrize(
    "data",
    [
        b"N0cos\nsystem\n(S'echo PWNED'\ntR.",  # NONE, POP first: protocol 0
        b"I1\n0cos\nsystem\n(S'echo PWNED'\ntR.",  # INT, POP first
        b"I0x1\n0cos\nsystem\n(S'x'\ntR.",  # INT that CPython reads base 0
        b"L0x1L\n0cos\nsystem\n(S'x'\ntR.",  # LONG likewise
    ],
)
def test_protocol_0_pickles_not_starting_with_a_container(tmp_path, data):
    (tmp_path / "a.pkl").write_bytes(data)
    assert _worst(tmp_path / "a.pkl") == "critical"


def test_hex_int_after_the_import_is_read_base_0(tmp_path):
    """``I0x1`` decodes (CPython reads base 0), so the walk reaches STOP without a damage finding."""
    (tmp_path / "a.pkl").write_bytes(b"cos\nsystem\n(I0x10\ntR.")
    r = api.scan(tmp_path / "a.pkl")
    assert [f.severity for f in r.findings] == ["critical"]


@pytest.mark.parametrize("name", ["model.pth.tar", "model.pt2", "model.ptl", "model.mar", "model.dat", "model", "x.weird"])
def test_any_name_is_sniffed(tmp_path, name):
    (tmp_path / name).write_bytes(EVIL)
    assert _worst(tmp_path) == "critical"


def test_sniffed_zip_with_odd_suffix(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("archive/data.pkl", EVIL)
    (tmp_path / "m.pt2").write_bytes(buf.getvalue())
    assert _worst(tmp_path) == "critical"


def test_text_files_that_start_like_an_opcode_are_quiet(tmp_path):
    """vocab.txt starts ``]`` (EMPTY_LIST) then breaks before any import: not a pickle."""
    (tmp_path / "vocab.txt").write_bytes(b"[PAD]\n[unused0]\nhello\n")
    (tmp_path / "README.md").write_bytes(b"# A model\n")
    (tmp_path / "notes").write_bytes(b"(just words)\n")
    (tmp_path / "config.json").write_text("{}")  # something to check: text files alone are "nothing to scan" (exit 2)
    assert api.scan(tmp_path).findings == ()


def test_damage_in_a_pickle_is_high(tmp_path):
    (tmp_path / "a.pkl").write_bytes(b"(\xff\xfe\x00garbage")
    [f] = api.scan(tmp_path / "a.pkl").findings
    assert f.severity == "high" and "code may run" in f.message


def _npy(descr, payload: bytes = EVIL) -> bytes:
    hdr = repr({"descr": descr, "fortran_order": False, "shape": (1,)}).encode()
    hdr += b" " * ((64 - (10 + len(hdr) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr + payload


@pytest.mark.parametrize(
    "descr", ["object", "(1,)O", "f4,O", ["xO"], [("a", "<f4"), ("b", "O")], {"names": ["a"], "formats": ["O"]}]
)
def test_npy_object_dtype_spellings(tmp_path, descr):
    (tmp_path / "a.npy").write_bytes(_npy(descr))
    r = api.scan(tmp_path / "a.npy")
    assert r.worst() == "critical" and any(f.severity == "high" and "dtype" in f.message for f in r.findings)


@pytest.mark.parametrize("descr", ["<f4", "|u1", "<M8[ns]", "|S10", [("a", "<f4"), ("b", "<i8", (2,))]])
def test_npy_plain_dtypes_pass(tmp_path, descr):
    (tmp_path / "a.npy").write_bytes(_npy(descr, b"\x00" * 16))
    assert api.scan(tmp_path / "a.npy").findings == ()


def _zip(tmp_path, name, members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for member, data, method in members:
            z.writestr(zipfile.ZipInfo(member), data, compress_type=method)
    (tmp_path / name).write_bytes(buf.getvalue())
    return tmp_path / name


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_npz_member_without_npy_suffix(tmp_path, method):
    p = _zip(tmp_path, "c.npz", [("arr", _npy("|O"), method)])
    assert _worst(p) == "critical"


def test_pickle_member_with_any_name_or_case(tmp_path):
    p = _zip(tmp_path, "c.pt", [("archive/DATA.PKL", EVIL, zipfile.ZIP_STORED), ("weights", EVIL, zipfile.ZIP_DEFLATED)])
    r = api.scan(p)
    assert {f.member for f in r.findings if f.severity == "critical"} == {"archive/DATA.PKL", "weights"}


def test_duplicate_member_names(tmp_path):
    import warnings

    benign = b"\x80\x02}q\x00."
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate it is asked to write
        p = _zip(tmp_path, "d.pt", [("archive/data.pkl", EVIL, zipfile.ZIP_STORED),
                                     ("archive/data.pkl", benign, zipfile.ZIP_STORED)])  # fmt: skip
    r = api.scan(p)
    assert r.worst() == "critical"
    assert any(f.severity == "high" and f.detail.get("duplicate") == "archive/data.pkl" for f in r.findings)


def _long4(n_bytes: int) -> bytes:
    """LONG4: an integer of ``n_bytes`` bytes (8192 bytes: about 20,000 decimal digits)."""
    return b"\x8b" + struct.pack("<I", n_bytes) + b"\x01" * n_bytes


#: A tensor rebuild call whose storage key is given raw.
def _tensor(key: bytes) -> bytes:
    return (
        b"ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n" + key
        + b"X\x03\x00\x00\x00cpuK\x01tQK\x00K\x01\x85K\x01\x85tR"
    )  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x02}" + _long4(8192) + _tensor(b"X\x01\x00\x00\x000") + b"s.",  # dict key of 20,000 digits
        b"\x80\x02}X\x01\x00\x00\x00w" + _tensor(_long4(8192)) + b"s.",  # storage key of 20,000 digits
    ],
)
def test_huge_integers_never_reach_str(tmp_path, data):
    from mfi.formats.torch import read_torch
    from mfi.sources import LocalFile

    (tmp_path / "a.pkl").write_bytes(data)
    r = api.scan(tmp_path / "a.pkl")
    assert r.worst() == "info"
    with LocalFile(tmp_path / "a.pkl") as src:
        assert read_torch(src).tensors == ()  # left out, not a ValueError from str()


@pytest.mark.parametrize(
    "template, pattern",
    [
        ("{{ ()['_'~'_class_'~'_'] }}", "underscore-concat"),
        ('{{ ()["\\N{LOW LINE}\\N{LOW LINE}class\\N{LOW LINE}\\N{LOW LINE}"] }}', "escaped-underscore"),
        ('{% set x = "%}" ~ ().__class__.__mro__[1].__subclasses__() %}{{ x }}', "dunder"),
        ('{{ "}}" ~ cycler.__init__.__globals__.os.popen("id").read() }}', "dunder"),
        ("{{ 'it\\'s }}' ~ ().__class__ }}", "dunder"),
    ],
)
def test_template_obfuscations(template, pattern):
    from mfi.scan.templates import template_findings

    assert pattern in {f.detail["pattern"] for f in template_findings(template, "f", "t")}


def test_long_unclosed_string_in_a_tag_is_linear():
    from mfi.scan.templates import template_findings

    found = template_findings("{{ '" + "a" * 2_000_000 + " __globals__", "f", "t")
    assert [f.detail["pattern"] for f in found] == ["dunder", "size"]


@pytest.mark.parametrize(
    "module, name, verdict",
    [
        ("builtins", "range", "unknown"),
        ("builtins", "list", "unknown"),
        ("builtins", "set", "allowed"),
        ("__builtin__", "set", "allowed"),
        ("__builtin__", "eval", "dangerous"),
        ("copy_reg", "_reconstructor", "unknown"),
        ("cPickle", "loads", "dangerous"),  # -> pickle.loads
        ("__builtin__", "xrange", "unknown"),  # -> builtins.range
        ("exceptions", "StandardError", "unknown"),  # -> builtins.Exception
    ],
)
def test_allow_list_and_python_2_names(module, name, verdict):
    from mfi.formats.pickle import judge

    assert judge(module, name)[0] == verdict


def test_bytes_with_a_huge_size_is_flagged(tmp_path):
    """``bytes(2**40)`` allocates a terabyte on load: an oddity even though ``bytes`` is allowed."""
    data = b"\x80\x02c__builtin__\nbytes\n\x8a\x06\x00\x00\x00\x00\x00\x01\x85R."
    (tmp_path / "a.pkl").write_bytes(data)
    r = api.scan(tmp_path / "a.pkl")
    assert [f.severity for f in r.findings] == ["high"] and "bytes(1099511627776)" in r.findings[0].message


def test_stack_is_capped(tmp_path):
    """200,000 EMPTY_DICTs pile up on the stack: a limit, not hundreds of MB."""
    from mfi import limits

    (tmp_path / "a.pkl").write_bytes(b"\x80\x02" + b"}" * (limits.MAX_PICKLE_STACK + 10) + b".")
    r = api.scan(tmp_path / "a.pkl")
    assert [f.severity for f in r.findings] == ["high"]
    assert f"more than {limits.MAX_PICKLE_STACK} values" in r.findings[0].message


def test_first_opcode_longer_than_16_bytes(tmp_path):
    """GLOBAL's two lines run past byte 16; Python 2's ``exceptions`` has no ``eval``: unknown, so high."""
    (tmp_path / "k.pkl").write_bytes(b"cexceptions\neval\n(S'1+1'\ntR.")
    (tmp_path / "m.pkl").write_bytes(b"cposixpath_and_more\nsystem\n(S'id'\ntR.")
    r = api.scan(tmp_path)
    assert sorted(f.detail.get("module") for f in r.findings) == ["exceptions", "posixpath_and_more"]


@pytest.mark.parametrize("layout", ["zip", "bare"])
def test_each_pickle_is_walked_once(tmp_path, monkeypatch, layout):
    """The scan's walk of data.pkl (or a bare pickle) is reused for the tensor table."""
    import numpy as np
    import torchbuild as tb

    from mfi.formats import pickle as fp
    from mfi.scan import pickles

    sd = tb.state_dict({"w": tb.tensor(np.ones((2, 2), np.float32))})
    path = tmp_path / "m.pt"
    tb.save_zip(sd, path)
    if layout == "bare":  # a bare pickle still naming its storages (tensors have no data here)
        import zipfile as zf

        with zf.ZipFile(path) as z:
            path.write_bytes(z.read("archive/data.pkl"))
    calls = []
    real = fp.walk_pickle
    monkeypatch.setattr(pickles, "walk_pickle", lambda *a, **k: calls.append(1) or real(*a, **k))
    import mfi.formats.torch as ft

    monkeypatch.setattr(ft, "walk_pickle", lambda *a, **k: calls.append(2) or real(*a, **k))
    names: set[str] = set()
    from mfi.sources import LocalFile

    with LocalFile(path) as src:
        (pickles.scan_zip if layout == "zip" else pickles.scan_pickle_file)(str(path), src, names)
    assert 2 not in calls and names == {"w"}  # torch.py never walks again


def test_sniffing_is_capped(tmp_path, monkeypatch):
    from mfi import limits

    monkeypatch.setattr(limits, "MAX_SCAN_SNIFF_FILES", 2)
    for i in range(3):
        (tmp_path / f"f{i}").write_bytes(EVIL)
    r = api.scan(tmp_path)
    assert [f.severity for f in r.findings] == ["critical", "critical", "medium"]
    assert "more than 2 files of unknown type" in r.findings[2].message

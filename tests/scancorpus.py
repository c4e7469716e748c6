"""Hostile and benign samples for ``mfi scan`` (issue 11), written by code; nothing here loads them.

``build_hostile(folder, markers)`` writes one sample per hostile class of issue 11. Each payload only
creates its own marker file under ``markers`` (``open(marker, 'w')``, ``touch marker`` or an
empty venv there), so a loader run in a subprocess proves the sample runs code when the marker
appears. ``build_benign(folder)`` writes what torch.save, numpy and joblib write for plain data
(torch, joblib: only when installed); ``build_transformers(folder)`` what transformers' ``save_pretrained``
writes for tiny random models. ``build_huge(folder)`` writes the hostile-size cases of
items 11 and 12 (sparse files where possible).
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import shutil
import struct
import sys
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

from mfi import limits

#: How each sample is loaded in the proof subprocess (None: no loader to run; the finding is the check).
LOADERS = ("pickle", "torch", "numpy", "joblib", "pandas", "import")


@dataclass(frozen=True)
class Sample:
    """One hostile file (or folder) and how to prove it runs code."""

    #: Path relative to the corpus folder (what ``mfi scan`` is pointed at).
    path: str
    #: The issue 11 item it stands for.
    item: str
    #: Loader that runs it (``LOADERS``), or None when only the finding is checked.
    loader: str | None
    #: Marker file name the payload creates (under the markers folder).
    marker: str
    #: For the ``import`` loader: the module name imported from the sample's folder.
    module: str = ""
    #: A global whose finding must be critical (item 6), as ``module.name``.
    critical: str = ""
    #: The file the loader opens, when ``path`` is the folder holding it.
    load: str = ""


# --- pickle pieces, written opcode by opcode -------------------------------------------------


def _args(args: tuple) -> bytes:
    """Protocol 2 opcodes that push ``args`` as one tuple (PROTO and STOP cut off)."""
    return pickle.dumps(args, protocol=2)[2:-1]


def call(module: str, name: str, args: tuple) -> bytes:
    """Opcodes that push ``module.name(*args)`` (GLOBAL + args + REDUCE); nothing runs while writing."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n" + _args(args) + b"R"


def touch(marker: Path) -> bytes:
    """Opcodes that call ``builtins.open(marker, 'w')`` and drop the result: creates the marker."""
    return call("builtins", "open", (str(marker), "w")) + b"0"


def evil(marker: Path, proto: int = 2) -> bytes:
    """A whole pickle that creates ``marker`` and returns an empty dict."""
    head = b"\x80" + bytes([proto]) if proto >= 2 else b""
    return head + touch(marker) + b"}."


# --- zips written by hand, so each field can be bent -----------------------------------------


@dataclass
class Entry:
    """One zip member: the central name, and what its local header says."""

    name: str
    data: bytes
    local_name: str | None = None
    deflate: bool = False
    crc: int | None = None


def _local(e: Entry) -> tuple[bytes, bytes]:
    body = zlib.compress(e.data)[2:-4] if e.deflate else e.data
    crc = zlib.crc32(e.data) if e.crc is None else e.crc
    name = (e.local_name or e.name).encode()
    head = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8 if e.deflate else 0, 0, 0x21, crc, len(body), len(e.data),
                       len(name), 0)  # fmt: skip
    return head + name + body, body


def _central(e: Entry, offset: int, body: bytes) -> bytes:
    crc = zlib.crc32(e.data) if e.crc is None else e.crc
    name = e.name.encode()
    return struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8 if e.deflate else 0, 0, 0x21, crc, len(body),
                       len(e.data), len(name), 0, 0, 0, 0, 0, offset) + name  # fmt: skip


def _eocd(count: int, cd_size: int, cd_offset: int, comment: bytes = b"") -> bytes:
    return struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, cd_size, cd_offset, len(comment)) + comment


def zip_bytes(entries: list[Entry], start: int = 0) -> tuple[bytes, bytes, int]:
    """(local records, central directory, count) for ``entries`` placed at ``start`` of a file."""
    out, cd = bytearray(), bytearray()
    for e in entries:
        record, body = _local(e)
        cd += _central(e, start + len(out), body)
        out += record
    return bytes(out), bytes(cd), len(entries)


def plain_zip(entries: list[Entry]) -> bytes:
    """A well-formed zip of ``entries``."""
    local, cd, n = zip_bytes(entries)
    return local + cd + _eocd(n, len(cd), len(local))


def torch_entries(pkl: bytes, prefix: str = "archive") -> list[Entry]:
    """What torch.save writes for an object without storages: data.pkl, byteorder, version."""
    return [Entry(f"{prefix}/data.pkl", pkl), Entry(f"{prefix}/byteorder", b"little"), Entry(f"{prefix}/version", b"3\n")]


def two_directories(evil_pkl: bytes, benign_pkl: bytes) -> bytes:
    """Two central directories of the same size: miniz follows the end record's offset (the evil one),
    Python's zipfile reads the directory right before the end record and shifts offsets to match."""
    evil_local, _, _ = zip_bytes(torch_entries(evil_pkl, "archive"))
    good_local, _, _ = zip_bytes(torch_entries(benign_pkl, "archive"), len(evil_local))
    _, evil_cd, n = zip_bytes(torch_entries(evil_pkl, "archive"))
    cd_at = len(evil_local) + len(good_local)
    # zipfile adds (end record position - size - offset) = len(evil_cd) to every header offset it reads
    _, good_cd, _ = zip_bytes(torch_entries(benign_pkl, "archive"), len(evil_local) - len(evil_cd))
    assert len(good_cd) == len(evil_cd)
    return evil_local + good_local + evil_cd + good_cd + _eocd(n, len(evil_cd), cd_at)


# --- other containers -------------------------------------------------------------------------


LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def legacy(obj_pickle: bytes, magic: bytes | None = None) -> bytes:
    """torch's legacy layout: magic, protocol version, sys_info, the object, the storage keys."""
    sys_info = {"protocol_version": 1001, "little_endian": True, "type_sizes": {"short": 2, "int": 4, "long": 4}}
    head = magic if magic is not None else pickle.dumps(LEGACY_MAGIC, protocol=2)
    return head + pickle.dumps(1001, protocol=2) + pickle.dumps(sys_info, protocol=2) + obj_pickle + pickle.dumps([], 2)


def npy(descr: str, shape: str, payload: bytes, version: int = 1) -> bytes:
    """An .npy file with a header written as text (so Python 2 literals such as ``1L`` can be used)."""
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    size = 10 if version == 1 else 12
    pad = (-(size + len(header) + 1)) % 64
    text = (header + " " * pad + "\n").encode("latin-1")
    length = struct.pack("<H", len(text)) if version == 1 else struct.pack("<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + payload


def tar_checkpoint(pkl: bytes) -> bytes:
    """torch < 0.4's tar layout: members ``sys_info``, ``pickle``, ``tensors``, ``storages``."""
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in (("sys_info", pickle.dumps({"little_endian": True}, 2)), ("storages", pkl),
                           ("tensors", pickle.dumps(0, 2)), ("pickle", pickle.dumps({}, 2))):  # fmt: skip
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def joblib_object_array(marker: Path) -> bytes:
    """What joblib.dump writes for an object array: a NumpyArrayWrapper, then a nested pickle it loads."""
    import numpy as np

    wrapper = (
        b"\x80\x04cjoblib.numpy_pickle\nNumpyArrayWrapper\n)\x81}(\x8c\x08subclass"
        b"cnumpy\nndarray\n\x8c\x05shape" + _args((1,)) + b"\x8c\x05order\x8c\x01C\x8c\x05dtype"
        + pickle.dumps(np.dtype(object), protocol=2)[2:-1]
        + b"\x8c\nallow_mmap\x89\x8c\x1bnumpy_array_alignment_bytesK\x10ub"
    )  # fmt: skip
    return wrapper + evil(marker, 5) + b"."


def fork_exec_args(marker: Path) -> tuple:
    """``_posixsubprocess.fork_exec`` arguments that run ``touch marker`` (this interpreter's signature)."""
    exe = shutil.which("touch") or "/usr/bin/touch"
    # args, executable_list, close_fds, fds_to_keep, cwd, env, 6 pipe fds, errpipe r/w (stdin and stderr:
    # the child needs open descriptors there, and only closes its own copies)
    base = ([exe.encode(), str(marker).encode()], [exe.encode()], False, (0, 2), None, None, -1, -1, -1, -1, -1, -1, 0, 2)
    if sys.version_info >= (3, 12):  # restore_signals, start_new_session, process_group, gid, gids, uid, umask, preexec_fn
        return base + (False, False, -1, None, None, None, -1, None)
    return base + (False, False, -1, None, None, None, -1, None, False)  # 3.11.7+: allow_vfork last


def _functools_partial_load(inner: Path) -> bytes:
    """``functools.partial(torch.serialization.load, weights_only=False)(inner)``."""
    return (b"\x80\x02cfunctools\npartial\nctorch.serialization\nload\n\x85R"
            b"(ctorch.serialization\nload\n)}\x8c\x0cweights_only\x89sNtb" + _args((str(inner),)) + b"R0}.")  # fmt: skip


# --- the hostile corpus ----------------------------------------------------------------------


def build_hostile(folder: Path, markers: Path) -> list[Sample]:
    """Write every hostile sample under ``folder``; payloads create files under ``markers`` only."""
    folder.mkdir(parents=True, exist_ok=True)
    markers.mkdir(parents=True, exist_ok=True)
    out: list[Sample] = []

    def add(path: str, item: str, loader: str | None, data: bytes | None = None, **kw) -> Path:
        p = folder / path
        p.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            p.write_bytes(data)
        out.append(Sample(path if "/" not in path or loader != "import" else path.split("/")[0], item, loader,
                          Path(path).name + ".hit", **kw))  # fmt: skip
        return p

    def m(path: str) -> Path:
        return markers / (Path(path).name + ".hit")

    # item 1: the C unpickler's readings of text arguments
    for path, first in [("int_octal.pkl", b"I010\n0"), ("int_nul.pkl", b"I1\x00junk\n0"), ("long_nul.pkl", b"L7\x00L\n0"),
                        ("long_hex.pkl", b"L0x1fL\n0"), ("float_nul.pkl", b"F1.5\x00x\n0"), ("int_bool_sign.bin", b"I+1\n0"),
                        ("int_nul_no_suffix", b"I0\x00\n0")]:  # fmt: skip
        add(path, "1 text arguments as _pickle.c reads them", "pickle", first + touch(m(path)) + b"}.")
    # STRING decoded as UTF-8 (torch.load's encoding) as the first opcode
    add("string_utf8.pt", "1 STRING as UTF-8", "torch", "S'\u00e9t\u00e9'\n0".encode() + touch(m("string_utf8.pt")) + b"}.")
    # a FRAME that ends inside an opcode; a bytes argument over mfi's read cap before the payload
    body = touch(m("frame_cut.pkl")) + b"}."
    add("frame_cut.pkl", "1 FRAME boundary", "pickle", b"\x80\x04\x95" + struct.pack("<Q", 5) + body)
    p = add("big_bytes_then_payload.pkl", "1 BINBYTES over the cap", "pickle")
    with open(p, "wb") as f:
        f.write(b"\x80\x04\x8e" + struct.pack("<Q", 17 << 20))
        f.seek(17 << 20, 1)
        f.write(b"0" + touch(m(p.name)) + b"}.")
    # item 2: pickle after pickle
    add("legacy_text_magic.pt", "2 legacy magic re-encoded", "torch",
        legacy(evil(m("legacy_text_magic.pt")), magic=b"L%dL\n." % LEGACY_MAGIC))  # fmt: skip
    add("legacy_no_proto.pt", "2 second pickle without PROTO", "torch", legacy(b"I1\n0" + touch(m("legacy_no_proto.pt")) + b"}."))
    # item 3: zips as miniz reads them
    add("zip_two_directories.pt", "3 two central directories", "torch", two_directories(evil(m("zip_two_directories.pt")),
                                                                                         pickle.dumps({}, 2)))  # fmt: skip
    z = plain_zip(torch_entries(evil(m("zip_stray_eocd.pt"))))
    add("zip_stray_eocd.pt", "3 stray end record near the end", "torch", z + b"PK\x05\x06" + b"\0" * 10)
    e = torch_entries(evil(m("zip_bad_crc.pt")))
    e[0].crc, e[0].deflate = 0x12345678, True
    add("zip_bad_crc.pt", "3 wrong CRC", "torch", plain_zip(e))
    e = torch_entries(evil(m("zip_name_mismatch.pt")))
    e[0].local_name = "archive/xxxx.pkl"
    add("zip_name_mismatch.pt", "3 local and central names differ", "torch", plain_zip(e))
    e = [Entry("other/version", b"3\n"), *torch_entries(evil(m("zip_other_folder.pt")), "other")[:2]]
    add("zip_other_folder.pt", "3 data.pkl under another folder", "torch", plain_zip(e))
    # item 4: other containers
    add("checkpoint.tar", "4 torch tar layout", "torch", tar_checkpoint(evil(m("checkpoint.tar"))))
    add("model.pkl.gz", "4 gzip pickle", "pandas", gzip.compress(evil(m("model.pkl.gz")), mtime=0))
    add("model.joblib.gz", "4 gzip pickle (joblib)", "joblib", gzip.compress(evil(m("model.joblib.gz")), mtime=0))
    add("model.joblib.z", "4 zlib pickle", "joblib", zlib.compress(evil(m("model.joblib.z"))))
    add("model.pkl.bz2", "4 bz2 pickle", "joblib", bz2.compress(evil(m("model.pkl.bz2"))))
    add("model.pkl.xz", "4 xz pickle", "joblib", lzma.compress(evil(m("model.pkl.xz"))))
    add("object_array.joblib", "4 joblib object array", "joblib", joblib_object_array(m("object_array.joblib")))
    add("py2_long.npy", "4 .npy Python 2 literal", "numpy", npy("|O", "(1L,)", evil(m("py2_long.npy"))))
    add("object.npy", "4 .npy object array", "numpy", npy("|O", "(1,)", evil(m("object.npy"))))
    add("py2.npz", "4 .npz with a Python 2 literal", "numpy",
        plain_zip([Entry("arr_0.npy", npy("|O", "(1L,)", evil(m("py2.npz"))), deflate=True)]))  # fmt: skip
    # item 5: remote code
    for path, ref in (("automap_list", "tokenization_x.XTokenizer"), ("automap_other_repo", "evil/repo--tokenization_x.XTokenizer")):
        add(path, "5 auto_map " + path, None)
        (folder / path).mkdir(exist_ok=True)
        (folder / path / "tokenizer_config.json").write_text(json.dumps({"auto_map": [ref, None]}))
        (folder / path / "tokenization_x.py").write_text("class XTokenizer:\n    pass\n")
    pyc = folder / "pycache_model"
    (pyc / "__pycache__").mkdir(parents=True, exist_ok=True)
    (pyc / "modeling_x.py").write_text("X = 1\n")
    code = compile(f"open({str(m('pycache_model'))!r}, 'w')\nX = 1\n", "modeling_x.py", "exec")
    import importlib.util
    import marshal

    # an unchecked-hash pyc: Python runs it without looking at modeling_x.py (PEP 552)
    head = importlib.util.MAGIC_NUMBER + struct.pack("<I", 0b01) + b"\0" * 8
    tag = sys.implementation.cache_tag
    (pyc / "__pycache__" / f"modeling_x.{tag}.pyc").write_bytes(head + marshal.dumps(code))
    out.append(Sample("pycache_model", "5 __pycache__ .pyc", "import", "pycache_model.hit", module="modeling_x"))
    add("hidden_folder/.cache/hidden.pkl", "5 pickle under a hidden folder", "pickle", evil(m("hidden.pkl")))
    out[-1] = Sample("hidden_folder", out[-1].item, "pickle", out[-1].marker, load="hidden_folder/.cache/hidden.pkl")
    # item 6: globals that run commands or code are critical
    add("fork_exec.pkl", "6 _posixsubprocess.fork_exec", "pickle",
        b"\x80\x02" + call("_posixsubprocess", "fork_exec", fork_exec_args(m("fork_exec.pkl"))) + b"0}.",
        critical="_posixsubprocess.fork_exec")  # fmt: skip
    add("uuid_command.pkl", "6 uuid._get_command_stdout", "pickle",
        b"\x80\x02" + call("uuid", "_get_command_stdout", ("touch", str(m("uuid_command.pkl")))) + b"0}.",
        critical="uuid._get_command_stdout")  # fmt: skip
    add("venv_create.pkl", "6 venv.create", "pickle",
        b"\x80\x02" + call("venv", "create", (str(m("venv_create.pkl")),)) + b"0}.", critical="venv.create")  # fmt: skip
    add("osx_support.pkl", "6 _osx_support._read_output", "pickle",
        b"\x80\x02" + call("_osx_support", "_read_output", (f"touch {m('osx_support.pkl')}",)) + b"0}.",
        critical="_osx_support._read_output")  # fmt: skip
    inner = folder / "inner" / "inner.bin"
    inner.parent.mkdir(exist_ok=True)
    inner.write_bytes(evil(m("serialization_load.pkl")))
    add("serialization_load.pkl", "6 torch.serialization.load", "torch", _functools_partial_load(inner),
        critical="torch.serialization.load")  # fmt: skip
    add("jit_load.pkl", "6 torch.jit.load", None, b"\x80\x02" + call("torch.jit", "load", ("model.pt",)) + b"0}.",
        critical="torch.jit.load")  # fmt: skip
    return out


# --- benign files ----------------------------------------------------------------------------


def build_benign(folder: Path) -> list[str]:
    """Write what torch.save / numpy / joblib write for plain data; returns the paths written."""
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    def w(name: str) -> Path:
        written.append(name)
        return folder / name

    arr = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(w("plain.npy"), arr)
    np.savez(w("plain.npz"), a=arr, b=np.arange(5))
    np.savez_compressed(w("plain_compressed.npz"), a=arr)
    for proto in (2, 4, 5):
        w(f"array_p{proto}.pkl").write_bytes(pickle.dumps({"a": arr, "b": np.float64(1.5)}, protocol=proto))
    try:
        import joblib
    except ImportError:
        joblib = None
    if joblib is not None:
        joblib.dump({"a": arr, "b": np.arange(100, dtype=np.int64)}, w("arrays.joblib"))
        joblib.dump({"a": arr}, w("arrays_zlib.joblib"), compress=3)
        joblib.dump({"a": arr}, w("arrays.joblib.gz"), compress=("gzip", 3))
    try:
        import torch
    except ImportError:
        return written
    tensors = {}
    for name in ("float32", "float64", "float16", "bfloat16", "int8", "int16", "int32", "int64", "uint8", "uint16",
                 "uint32", "uint64", "bool", "complex64", "complex128", "complex32", "float8_e4m3fn", "float8_e5m2",
                 "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2"):  # fmt: skip
        dtype = getattr(torch, name, None)
        if dtype is None:
            continue
        try:
            with warnings.catch_warnings():  # complex32: "ComplexHalf support is experimental"
                warnings.simplefilter("ignore", UserWarning)
                tensors[name] = torch.zeros(4, dtype=dtype)
        except (RuntimeError, TypeError):
            tensors[name] = torch.zeros(4, dtype=torch.uint8).view(dtype)
    for name, t in tensors.items():
        torch.save({name: t}, w(f"dtype_{name}.pt"))
        try:
            torch.save({name: t}, w(f"dtype_{name}_legacy.pt"), _use_new_zipfile_serialization=False)
        except (RuntimeError, TypeError, AttributeError):
            written.remove(f"dtype_{name}_legacy.pt")
    torch.save(tensors, w("all_dtypes.pt"))
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3))
    torch.save(model.state_dict(), w("state_dict.pt"))
    torch.save(model.state_dict(), w("state_dict_legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save({"p": torch.nn.Parameter(torch.ones(2)), "b": torch.nn.Buffer(torch.ones(2))}, w("param_buffer.pt"))
    torch.save({"opt": torch.optim.SGD(model.parameters(), lr=0.1).state_dict(), "model": model.state_dict(), "step": 3},
               w("training_checkpoint.pt"))  # fmt: skip
    # item 8: storages whose raw bytes start like a pickle opcode (0x80 PROTO ... 0x84 EXT4)
    for first in range(0x80, 0x85):
        raw = torch.tensor([first, 2, 0x85, 0x2E] * 4, dtype=torch.uint8)
        torch.save({"t": raw, "f": torch.tensor([first], dtype=torch.uint8).repeat(64)}, w(f"storage_{first:02x}.pt"))
    return written


def build_transformers(folder: Path) -> dict[str, int]:
    """Tiny random models written by transformers ``save_pretrained``; {folder name: ``num_parameters()``}.

    ``*_bin``: ``save_pretrained(safe_serialization=False)``: ``pytorch_model.bin``, or shards with
    ``pytorch_model.bin.index.json`` (``*_bin_sharded``); ``*_safetensors``: the default. Each folder also holds
    config.json, generation_config.json and a tiny tokenizer with a chat template. The tied-embedding variant covers the ``lm_head`` that shares the
    embedding's storage. Needs torch and transformers.
    """
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, Qwen2Config

    torch.manual_seed(0)
    small = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
             "num_key_value_heads": 2, "vocab_size": 128, "max_position_embeddings": 64}  # fmt: skip
    models = {"llama": LlamaConfig(**small), "qwen2_tied": Qwen2Config(tie_word_embeddings=True, **small)}
    tokenizer = _tiny_tokenizer()
    written: dict[str, int] = {}
    for arch, config in models.items():
        model = AutoModelForCausalLM.from_config(config)
        for name, shard in (("bin", None), ("bin_sharded", "20KB"), ("safetensors", None), ("safetensors_sharded", "20KB")):
            out = folder / f"{arch}_{name}"
            options = {"max_shard_size": shard} if shard else {}
            if name.startswith("bin"):
                model.save_pretrained(out, safe_serialization=False, **options)
                if not any(out.glob("pytorch_model*.bin")):  # transformers >= 5 dropped the option: safetensors only
                    for stale in out.glob("model*.safetensors*"):
                        stale.unlink()
                    _save_pretrained_bin(model, out, shard or "5GB")
            else:
                model.save_pretrained(out, **options)
            tokenizer.save_pretrained(out)
            written[out.name] = model.num_parameters()
    return written


def _tiny_tokenizer():  # -> PreTrainedTokenizerFast (transformers is imported lazily)
    """A 29-token character-level tokenizer with a chat template: tokenizer.json, tokenizer_config.json, chat_template.jinja."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(["<unk>", "<s>", "</s>", *map(chr, range(ord("a"), ord("z") + 1))])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>")
    fast.chat_template = ("{{ bos_token }}{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}{{ eos_token }}"
                          "{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}")  # fmt: skip
    return fast


def _save_pretrained_bin(model, out: Path, max_shard_size: str) -> None:
    """The weights half of transformers 4.x ``PreTrainedModel.save_pretrained(safe_serialization=False)``.

    transformers/modeling_utils.py (v4.40-4.57): the state dict split by huggingface_hub's
    ``split_torch_state_dict_into_shards`` with the pattern ``pytorch_model{suffix}.bin``, each shard
    ``{name: tensor.contiguous()}`` written by ``torch.save`` (aliases such as a tied ``lm_head`` kept: only the
    safetensors path removes them), the index dumped with ``indent=2, sort_keys=True``.
    """
    import torch
    from huggingface_hub import split_torch_state_dict_into_shards

    state_dict = model.state_dict()
    split = split_torch_state_dict_into_shards(state_dict, filename_pattern="pytorch_model{suffix}.bin",
                                               max_shard_size=max_shard_size)  # fmt: skip
    for shard_file, names in split.filename_to_tensors.items():
        torch.save({n: state_dict[n].contiguous() for n in names}, out / shard_file)
    if split.is_sharded:
        index = {"metadata": split.metadata, "weight_map": split.tensor_to_filename}
        (out / "pytorch_model.bin.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")


# --- hostile sizes (items 11, 12) -------------------------------------------------------------


def build_huge(folder: Path) -> dict[str, Path]:
    """The hostile-size cases of issue 11 items 11 and 12, sparse where the bytes are zeros."""
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    out["pickle_32x16MiB_strings"] = build_huge_strings(folder)
    # a small zip whose data.pkl inflates to 256 MiB
    data = b"\x80\x02\x8e" + struct.pack("<Q", (256 << 20) - 14) + b"\0" * ((256 << 20) - 14) + b"0}."
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = comp.compress(data) + comp.flush()
    del data
    name = b"archive/data.pkl"
    crc = zlib.crc32(b"\x80\x02\x8e" + struct.pack("<Q", (256 << 20) - 14))
    crc = _crc_zeros(crc, (256 << 20) - 14)
    crc = zlib.crc32(b"0}.", crc)
    size = 256 << 20
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(body), size, len(name), 0) + name + body
    cd = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(body), size, len(name), 0, 0, 0, 0, 0, 0)
    cd += name
    (folder / "bomb.pt").write_bytes(local + cd + _eocd(1, len(cd), len(local)))
    out["zip_data_pkl_inflates_256MiB"] = folder / "bomb.pt"
    # a safetensors header of ~99 MB
    p = out["safetensors_99MB_header"] = folder / "huge_header.safetensors"
    entry = '"t{:07d}":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}},'
    n = 99_000_000 // len(entry.format(0))
    header = ("{" + "".join(entry.format(i) for i in range(n))[:-1] + "}").encode()
    p.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 4)
    # GGUF: one array of 4096 arrays of 4096 empty arrays; and one at the GGUF tensor cap
    out["gguf_16MB_nested_empty_arrays"] = _gguf_nested(folder / "nested.gguf")
    out["gguf_at_tensor_cap"] = _gguf_tensors(folder / "tensors.gguf", limits.MAX_GGUF_TENSORS)
    out["zip64_huge_cd_offset"] = build_huge_zip64(folder)
    return out


def build_huge_strings(folder: Path) -> Path:
    """A pickle of a list of 32 strings of 16 MiB each (sparse: BINUNICODE8 of NULs)."""
    p = folder / "strings.pkl"
    with open(p, "wb") as f:
        f.write(b"\x80\x04(")
        for _ in range(32):
            f.write(b"\x8d" + struct.pack("<Q", (16 << 20) - 1))
            f.seek((16 << 20) - 1, 1)
        f.write(b"l.")
    return p


def build_huge_zip64(folder: Path) -> Path:
    """A zip64 end record whose central directory offset is near 2**64 (item 12)."""
    p = folder / "zip64.pt"
    z64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, 1, 1, 46, (1 << 64) - 12345)
    loc = struct.pack("<IIQI", 0x07064B50, 0, 30, 1)
    p.write_bytes(b"PK\x03\x04" + b"\0" * 26 + z64 + loc + _eocd(0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF))
    return p


def _crc_zeros(crc: int, n: int) -> int:
    chunk = b"\0" * (1 << 20)
    while n:
        k = min(n, len(chunk))
        crc = zlib.crc32(chunk[:k], crc)
        n -= k
    return crc


def _gguf_kv_head(n_kv: int, n_tensors: int = 0) -> bytes:
    return b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv)


def _gguf_str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def _gguf_nested(path: Path) -> Path:
    """One key: an array (type 9) of 4096 arrays, each of 340 empty uint8 arrays (16.7 MB, 1.4M arrays)."""
    middle = struct.pack("<IQ", 9, 340) + struct.pack("<IQ", 0, 0) * 340
    with open(path, "wb") as f:
        f.write(_gguf_kv_head(1) + _gguf_str("x.nested") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 4096))
        f.write(middle * 4096)
    return path


def _gguf_tensors(path: Path, n: int) -> Path:
    """``n`` F32 tensors of one element each."""
    with open(path, "wb") as f:
        f.write(_gguf_kv_head(0, n))
        buf = bytearray()
        for i in range(n):
            buf += _gguf_str(f"t{i}") + struct.pack("<IQIQ", 1, 1, 0, i * 32)
            if len(buf) > 1 << 20:
                f.write(buf)
                buf.clear()
        f.write(buf)
        pad = (-f.tell()) % 32
        f.write(b"\0" * pad)
        f.truncate(f.tell() + n * 32)
    return path

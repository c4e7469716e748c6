"""Pickles read without unpickling: a static walk of the opcodes, read as CPython's ``Modules/_pickle.c`` reads them.

The opcodes and their arguments come from ``pickleops`` (the C unpickler's readings, not
pickletools'); long arguments are stepped over, never read into memory.

Nothing is imported, called or constructed. A small stack machine mirrors what ``pickle.load``
would build, with every global replaced by a ``Global`` marker and every call by a ``Call`` record,
so the walk can (a) list every global the pickle would import, with the opcode's byte position,
and (b) recover torch's tensor rebuild calls for ``formats/torch.py``.

Globals are judged against an allow-list of what plain checkpoints need (torch rebuild helpers and
storage classes, ``collections.OrderedDict``, numpy array reconstruction). Anything else is a
finding; a deny-list only names the worst ones (``os.system``, ``builtins.eval``...) so reports
can say what they do. Deny-lists alone have a long record of bypasses; this one only adds words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from .. import limits
from ..errors import FormatError, LimitError, MfiError
from ..sources import ByteSource
from .pickleops import OPCODES, genops, skip
from .ziparchive import SourceIO

#: What ``Global.verdict`` can be.
ALLOWED, UNKNOWN, DANGEROUS = "allowed", "unknown", "dangerous"

# torch storage classes (module ``torch``) -> safetensors-style dtype of their elements.
STORAGE_DTYPES = {
    "DoubleStorage": "F64", "FloatStorage": "F32", "HalfStorage": "F16", "BFloat16Storage": "BF16",
    "LongStorage": "I64", "IntStorage": "I32", "ShortStorage": "I16", "CharStorage": "I8",
    "ByteStorage": "U8", "BoolStorage": "BOOL", "ComplexFloatStorage": "C64", "ComplexDoubleStorage": "C128",
    "QInt8Storage": "QI8", "QUInt8Storage": "QU8", "QInt32Storage": "QI32", "QUInt4x2Storage": "QU4x2",
    "QUInt2x4Storage": "QU2x4", "UntypedStorage": "U8",
}  # fmt: skip
# torch dtype objects (module ``torch``, pickled by name) -> safetensors-style dtype.
TORCH_DTYPES = {
    "float64": "F64", "double": "F64", "float32": "F32", "float": "F32", "float16": "F16", "half": "F16",
    "bfloat16": "BF16", "int64": "I64", "long": "I64", "int32": "I32", "int": "I32", "int16": "I16",
    "short": "I16", "int8": "I8", "uint8": "U8", "uint16": "U16", "uint32": "U32", "uint64": "U64",
    "bool": "BOOL", "complex64": "C64", "cfloat": "C64", "complex128": "C128", "cdouble": "C128",
    "float8_e4m3fn": "F8_E4M3", "float8_e5m2": "F8_E5M2", "float8_e4m3fnuz": "F8_E4M3FNUZ",
    "float8_e5m2fnuz": "F8_E5M2FNUZ", "float8_e8m0fnu": "F8_E8M0", "complex32": "C32", "chalf": "C32",
    "float4_e2m1fn_x2": "F4_E2M1FN_X2", "qint8": "QI8", "quint8": "QU8",
    "qint32": "QI32", "quint4x2": "QU4x2", "quint2x4": "QU2x4",
}  # fmt: skip
#: Bits per element of the dtypes above that safetensors does not define.
EXTRA_DTYPE_BITS = {"C128": 128.0, "C32": 32.0, "F4_E2M1FN_X2": 8.0, "QI8": 8.0, "QU8": 8.0, "QI32": 32.0, "QU4x2": 8.0, "QU2x4": 8.0}

#: Tensor rebuild helpers: ``torch._utils`` names, and what their arguments mean to us.
REBUILD_TENSOR = {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3"}
REBUILD_PASS = {"_rebuild_parameter", "_rebuild_parameter_with_state"}

# What plain checkpoints need, by module -> names. Everything else is reported.
_ALLOWED: dict[str, frozenset[str]] = {
    "collections": frozenset({"OrderedDict", "defaultdict"}),
    "torch._utils": frozenset(REBUILD_TENSOR | REBUILD_PASS | {
        "_rebuild_qtensor", "_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage",
        "_rebuild_device_tensor_from_numpy", "_rebuild_nested_tensor", "_rebuild_wrapper_subclass",
    }),
    "torch._tensor": frozenset({"_rebuild_from_type_v2"}),
    "torch": frozenset(set(STORAGE_DTYPES) | set(TORCH_DTYPES) | {"Size", "device", "per_tensor_affine",
                                                                  "per_channel_affine", "Tensor"}),
    # torch.save writes float8, uint16/32/64, complex32 and float4 storages as torch.storage.UntypedStorage
    # (with the dtype in _rebuild_tensor_v3); nn.Buffer rebuilds through _rebuild_from_type_v2(.., torch.Tensor ..)
    "torch.storage": frozenset({"UntypedStorage"}),
    "torch.serialization": frozenset({"_get_layout"}),
    "torch.nn.parameter": frozenset({"Parameter"}),
    "numpy": frozenset({"dtype", "ndarray"}),
    "numpy.core.multiarray": frozenset({"_reconstruct", "scalar"}),
    "numpy._core.multiarray": frozenset({"_reconstruct", "scalar"}),
    # protocol 5 pickles of arrays (numpy.ndarray.__reduce_ex__ with out-of-band-capable buffers)
    "numpy.core.numeric": frozenset({"_frombuffer"}),
    "numpy._core.numeric": frozenset({"_frombuffer"}),
    # joblib.dump writes each array as this wrapper, the array's bytes right after it (walked by the scan)
    "joblib.numpy_pickle": frozenset({"NumpyArrayWrapper"}),
    # protocol 2 pickles Python 3 bytes as _codecs.encode(text, "latin1")
    "_codecs": frozenset({"encode"}),
    # the pickler writes list/dict/int/str... as opcodes, never as globals: only these are ever imported
    "builtins": frozenset({"set", "frozenset", "slice", "complex", "bytearray", "bytes"}),
}  # fmt: skip

# Named so reports can say what they do; not the line of defence (the allow-list is).
_DANGER_MODULES = {
    "os": "runs shell commands and touches files", "posix": "runs shell commands", "nt": "runs shell commands",
    "subprocess": "runs programs", "pty": "spawns a shell", "commands": "runs shell commands",
    "platform": "can run programs (popen)", "runpy": "runs Python code", "code": "runs Python code",
    "codeop": "compiles Python code", "timeit": "runs Python code", "pdb": "runs Python code",
    "bdb": "runs Python code", "trace": "runs Python code", "cProfile": "runs Python code",
    "profile": "runs Python code", "importlib": "imports modules", "imp": "imports modules",
    "pkgutil": "imports modules", "zipimport": "imports modules", "pydoc": "imports modules (pydoc.locate)",
    "sys": "reaches the interpreter (sys.modules)", "webbrowser": "opens URLs", "socket": "opens network connections",
    "http": "opens network connections", "urllib": "opens network connections", "requests": "opens network connections",
    "ftplib": "opens network connections", "smtplib": "opens network connections", "telnetlib": "opens network connections",
    "shutil": "copies and deletes files", "tempfile": "creates files", "pathlib": "reads and writes files",
    "io": "opens files", "_io": "opens files", "ctypes": "calls native code", "types": "builds code objects",
    "marshal": "loads code objects", "pickle": "unpickles nested data", "_pickle": "unpickles nested data",
    "dill": "unpickles code", "cloudpickle": "unpickles code", "joblib": "unpickles nested data",
    "multiprocessing": "starts processes", "threading": "starts threads", "_thread": "starts threads",
    "signal": "changes signal handlers", "asyncio": "runs subprocesses", "operator": "reaches any attribute",
    "functools": "chains calls", "builtins": "reaches the interpreter", "__builtin__": "reaches the interpreter",
    "site": "changes the import path", "ensurepip": "installs packages", "pip": "installs packages",
    "_posixsubprocess": "runs programs (fork_exec)", "_winapi": "runs programs (CreateProcess)",
    "venv": "creates environments and runs pip", "_osx_support": "runs shell commands (_read_output)",
    "imaplib": "runs programs (IMAP4_stream) and opens network connections", "distutils": "runs programs (spawn)",
    "setuptools": "runs programs and builds code", "idlelib": "runs Python code", "doctest": "runs Python code",
    "test": "runs Python code and programs", "logging": "imports and builds any object (logging.config)",
    "mailcap": "runs shell commands", "sqlite3": "loads native extensions", "_sqlite3": "loads native extensions",
    "shelve": "unpickles nested data", "gc": "reaches every object", "xmlrpc": "opens network connections",
    "nntplib": "opens network connections", "poplib": "opens network connections", "_ctypes": "calls native code",
    "uuid": "runs programs (uuid._get_command_stdout)",
}  # fmt: skip
# Modules that are dangerous as a whole except for these plain value classes.
_HARMLESS = {("uuid", "UUID"), ("uuid", "SafeUUID")}
_DANGER_NAMES = {
    ("builtins", "eval"): "evaluates Python code", ("builtins", "exec"): "runs Python code",
    ("builtins", "compile"): "compiles Python code", ("builtins", "__import__"): "imports modules",
    ("builtins", "getattr"): "reaches any attribute", ("builtins", "setattr"): "changes any attribute",
    ("builtins", "open"): "opens files", ("builtins", "breakpoint"): "starts a debugger",
    ("torch", "load"): "unpickles nested data", ("torch.hub", "load"): "downloads and runs code",
    ("numpy", "load"): "unpickles nested data (allow_pickle)",
    ("numpy.testing._private.utils", "runstring"): "runs Python code",
    ("torch.serialization", "load"): "unpickles nested data", ("torch.serialization", "_load"): "unpickles nested data",
    ("torch.serialization", "_legacy_load"): "unpickles nested data", ("torch", "compile"): "compiles and runs code",
    ("numpy.lib.npyio", "load"): "unpickles nested data (allow_pickle)", ("numpy.lib.format", "read_array"):
    "unpickles nested data (allow_pickle)", ("pandas", "read_pickle"): "unpickles nested data",
    ("pandas", "eval"): "evaluates expressions", ("pandas.core.computation.eval", "eval"): "evaluates expressions",
}  # fmt: skip
# torch and numpy submodules that load or compile code (module prefix -> what they do).
_DANGER_PREFIXES = {
    "torch.hub": "downloads and runs code", "torch.jit": "loads and runs TorchScript code",
    "torch.package": "imports code packed in the file", "torch.utils.cpp_extension": "compiles and loads native code",
    "torch._inductor": "compiles and runs code", "torch._dynamo": "compiles and runs code",
    "torch.distributed": "opens network connections and runs remote calls", "torch.multiprocessing": "starts processes",
    "torch._C": "reaches torch's native internals (TorchScript compiler)", "torch.fx": "builds and runs Python code",
    "torch.utils._config_module": "changes torch configuration", "numpy.f2py": "compiles and runs code",
    "numpy.distutils": "runs programs", "numpy.testing": "runs Python code and programs",
    "pandas.io": "reads files and URLs, unpickles nested data", "transformers.dynamic_module_utils": "imports remote code",
}  # fmt: skip


#: Largest integer kept as a size, offset or stride (anything above is not a real checkpoint's).
MAX_INT = 1 << 62


def brief(v: Any) -> str:
    """A short description of an untrusted value for messages: no deep repr, no huge-integer str()."""
    if v is None or isinstance(v, bool):
        return repr(v)
    if isinstance(v, int):
        return str(v) if abs(v) <= MAX_INT else f"an integer of {v.bit_length()} bits"
    if isinstance(v, (str, bytes)):
        return repr(v[:80])
    return f"a {type(v).__name__}"


def judge(module: str, name: str) -> tuple[str, str]:
    """A global's verdict (allowed, unknown or dangerous) and, when dangerous, what it can do.

    Python 2 names (``__builtin__``, ``copy_reg``, ``cPickle``...) are judged under the Python 3
    names ``pickle.load`` maps them to (``_compat_pickle``); Python 3 has no module by the old name.
    """
    import _compat_pickle

    module, name = _compat_pickle.NAME_MAPPING.get((module, name)) or (_compat_pickle.IMPORT_MAPPING.get(module, module), name)
    if "." in name:
        # protocol 4+ resolves a dotted name attribute by attribute (_pickle.c find_class, getattribute):
        # ("torch", "serialization.load") is torch.serialization.load; a dunder on the way reaches anything
        if any(part.startswith("__") for part in name.split(".")):
            return DANGEROUS, "reaches Python internals through a dotted name"
        head, _, last = name.rpartition(".")
        verdict, why = _judge(f"{module}.{head}", last)
        return (UNKNOWN, "") if verdict == ALLOWED else (verdict, why)
    return _judge(module, name)


def _judge(module: str, name: str) -> tuple[str, str]:
    if name in _ALLOWED.get(module, ()):
        return ALLOWED, ""
    why = _DANGER_NAMES.get((module, name))
    if why is None and module != "builtins" and (module, name) not in _HARMLESS:
        why = _DANGER_MODULES.get(module.split(".")[0])
    for prefix, what in _DANGER_PREFIXES.items():
        if why is None and (module == prefix or module.startswith(prefix + ".")):
            why = what
    if why is None and module == "builtins" and name.startswith("__"):
        why = "reaches the interpreter"
    return (DANGEROUS, why) if why else (UNKNOWN, "")


@dataclass(frozen=True, slots=True)
class PickleGlobal:
    """One import a pickle asks for, where it asks, and whether a plain checkpoint needs it."""

    module: str
    name: str
    #: Byte offset of the GLOBAL/STACK_GLOBAL/INST opcode (absolute in the file when ``base`` was).
    offset: int
    opcode: str
    verdict: str
    #: For dangerous globals, what they can do (``runs shell commands``).
    why: str = ""

    @property
    def qualname(self) -> str:
        """``module.name``."""
        return f"{self.module}.{self.name}"


@dataclass(frozen=True, slots=True)
class Global:
    """A global as a value on the walk's stack (never imported)."""

    module: str
    name: str

    def qualname_is(self, module: str, name: str) -> bool:
        """Whether this is ``module.name`` (numpy 1 and 2 spell some modules differently)."""
        return self.module == module and self.name == name


@dataclass(slots=True)
class Call:
    """What REDUCE/NEWOBJ/INST/OBJ would have built: ``func(*args)``, plus items and state set later."""

    func: Any
    args: Any
    items: list[tuple[Any, Any]] = field(default_factory=list)
    state: Any = None


@dataclass(frozen=True, slots=True)
class Persistent:
    """A persistent id (torch: ``('storage', storage class, key, location, numel)``)."""

    pid: Any


@dataclass(frozen=True, slots=True)
class TensorCall:
    """A torch tensor rebuild call's arguments, as found."""

    storage: Any
    storage_offset: Any
    size: Any
    stride: Any
    #: ``_rebuild_tensor_v3`` names the dtype itself (float8, uint16...): a ``Global`` from module torch.
    dtype: Any = None


class PDict:
    """A dict being built: (key, value) pairs in order (keys may be unhashable records)."""

    __slots__ = ("items",)

    def __init__(self, items: list[tuple[Any, Any]] | None = None) -> None:
        self.items = items or []


class _Mark:
    pass


@dataclass(slots=True)
class PickleWalk:
    """What one pickle would build and import."""

    value: Any
    globals: list[PickleGlobal]
    #: Opcodes seen that a plain checkpoint never uses (EXT*, non-constant STACK_GLOBAL...).
    oddities: list[tuple[int, str]]
    #: Stream position after STOP (relative to the stream's start).
    end: int
    opcodes: int
    #: Every persistent id, in order (torch: one per storage reference).
    persistent: list[Any]
    #: With ``partial=True``: why the walk stopped early (``None`` when it reached STOP).
    error: MfiError | None = None


class _Walker:
    """The stack machine: one method per opcode family, mirroring CPython's ``_Unpickler``."""

    def __init__(self, name: str, base: int) -> None:
        self.name = name
        self.base = base
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []
        self.memo: dict[int, Any] = {}
        self.globals: list[PickleGlobal] = []
        self.oddities: list[tuple[int, str]] = []
        self.persistent: list[Any] = []
        self.pos = 0
        #: Items held on the stacks under the open MARKs (``len(self.stack)`` is the rest).
        self.held = 0
        #: A joblib array wrapper just built: its array's bytes come next in the stream.
        self.array: Call | None = None

    def fail(self, problem: str) -> FormatError:
        return FormatError(self.name, f"invalid pickle: {problem}", self.base + self.pos)

    def pop(self) -> Any:
        if not self.stack:
            raise self.fail("stack underflow")
        return self.stack.pop()

    def top(self) -> Any:
        if not self.stack:
            raise self.fail("stack underflow")
        return self.stack[-1]

    def pop_mark(self) -> list[Any]:
        if not self.metastack:
            raise self.fail("no MARK on the stack")
        items = self.stack
        self.stack = self.metastack.pop()
        self.held -= len(self.stack)
        return items

    def add_global(self, module: Any, gname: Any, opcode: str) -> Global:
        if not isinstance(module, str) or not isinstance(gname, str):
            self.oddities.append((self.base + self.pos, f"{opcode} with non-string operands"))
            module, gname = (v if isinstance(v, str) else brief(v) for v in (module, gname))
        module, gname = module[:200], gname[:200]  # names in reports, not whole 16 MiB strings
        verdict, why = judge(module, gname)
        self.globals.append(PickleGlobal(module, gname, self.base + self.pos, opcode, verdict, why))
        return Global(module, gname)

    def call(self, func: Any, args: Any, nested: bool = False) -> Any:
        if isinstance(func, Global) and isinstance(args, tuple):
            if func.module in ("builtins", "__builtin__") and func.name in ("bytes", "bytearray") and args:
                n = args[0]
                if isinstance(n, int) and not isinstance(n, bool) and abs(n) > limits.MAX_PICKLE_STRING:
                    what = f"REDUCE {func.name}({brief(n)}): allocates that many bytes on load"
                    self.oddities.append((self.base + self.pos, what))
            if func.module == "torch._utils" and func.name in REBUILD_TENSOR and len(args) >= 4:
                dtype = args[6] if func.name == "_rebuild_tensor_v3" and len(args) > 6 else None
                return TensorCall(args[0], args[1], args[2], args[3], dtype)
            if func.module == "torch._utils" and func.name in REBUILD_PASS and args:
                return args[0]
            if func.module == "torch._tensor" and func.name == "_rebuild_from_type_v2" and len(args) >= 3 and not nested:
                return self.call(args[0], args[2], nested=True)
        return Call(func, args)

    def setitems(self, target: Any, pairs: list[tuple[Any, Any]]) -> None:
        if isinstance(target, (PDict, Call)):  # other targets (a list, a constant) ignore items, as we do
            target.items.extend(pairs)

    def step(self, op: str, arg: Any) -> None:
        """Apply one opcode to the stack (one branch per opcode family, like CPython's pickle.py)."""
        s = self.stack
        if op == "MARK":
            if len(self.metastack) >= limits.MAX_PICKLE_DEPTH:
                raise LimitError(self.name, f"pickle nests deeper than {limits.MAX_PICKLE_DEPTH} marks",
                                 self.base + self.pos)  # fmt: skip
            self.metastack.append(s)
            self.held += len(s)
            self.stack = []
        elif op in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
            if len(self.memo) >= limits.MAX_PICKLE_MEMO:
                raise LimitError(self.name, f"pickle memo exceeds {limits.MAX_PICKLE_MEMO} entries", self.base + self.pos)
            self.memo[len(self.memo) if op == "MEMOIZE" else int(arg)] = self.top()
        elif op in ("BINGET", "LONG_BINGET", "GET"):
            if int(arg) not in self.memo:
                raise self.fail(f"memo key {arg} was never stored")
            s.append(self.memo[int(arg)])
        elif op == "GLOBAL":
            module, _, gname = str(arg).partition(" ")
            s.append(self.add_global(module, gname, op))
        elif op == "INST":
            module, _, gname = str(arg).partition(" ")
            g = self.add_global(module, gname, op)
            args = self.pop_mark()
            self.stack.append(Call(g, tuple(args)))
        elif op == "STACK_GLOBAL":
            gname = self.pop()
            module = self.pop()
            self.stack.append(self.add_global(module, gname, op))
        elif op == "REDUCE":
            args = self.pop()
            s.append(self.call(self.pop(), args))
        elif op == "NEWOBJ":
            args = self.pop()
            s.append(Call(self.pop(), args))
        elif op == "NEWOBJ_EX":
            self.pop()
            args = self.pop()
            s.append(Call(self.pop(), args))
        elif op == "OBJ":
            items: list[Any] | tuple[Any, ...] = self.pop_mark()
            if not items:
                raise self.fail("OBJ without a class")
            self.stack.append(Call(items[0], tuple(items[1:])))
        elif op == "BUILD":
            state = self.pop()
            target = self.top()
            if isinstance(target, Call):
                target.state = state
                if isinstance(target.func, Global) and (target.func.module, target.func.name) == _JOBLIB_WRAPPER:
                    self.array = target
        elif op in ("BINPERSID", "PERSID"):
            pid = self.pop() if op == "BINPERSID" else arg
            self.persistent.append(pid)
            self.stack.append(Persistent(pid))
        elif op == "EMPTY_DICT":
            s.append(PDict())
        elif op in ("EMPTY_LIST", "EMPTY_SET"):
            s.append([])
        elif op == "EMPTY_TUPLE":
            s.append(())
        elif op in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(op[-1])
            if len(s) < n:
                raise self.fail("stack underflow")
            top = tuple(s[-n:])
            del s[-n:]
            s.append(top)
        elif op in ("TUPLE", "LIST", "FROZENSET"):
            items = self.pop_mark()
            self.stack.append(list(items) if op == "LIST" else tuple(items))
        elif op == "DICT":
            items = self.pop_mark()
            self.stack.append(PDict(list(zip(items[::2], items[1::2]))))
        elif op == "SETITEM":
            value = self.pop()
            key = self.pop()
            self.setitems(self.top(), [(key, value)])
        elif op == "SETITEMS":
            items = self.pop_mark()
            self.setitems(self.top(), list(zip(items[::2], items[1::2])))
        elif op in ("APPEND", "APPENDS", "ADDITEMS"):
            items = [self.pop()] if op == "APPEND" else self.pop_mark()
            target = self.top()
            if isinstance(target, list):
                target.extend(items)
            elif isinstance(target, Call):
                target.items.extend((len(target.items) + i, v) for i, v in enumerate(items))
        elif op == "POP":
            if self.stack:
                self.stack.pop()
            else:
                self.pop_mark()
        elif op == "POP_MARK":
            self.pop_mark()
        elif op == "DUP":
            s.append(self.top())
        elif op in ("EXT1", "EXT2", "EXT4"):
            self.oddities.append((self.base + self.pos, f"{op} {arg}: a global from the copyreg extension registry"))
            s.append(Global("copyreg.extension", str(arg)))
        elif op == "NEXT_BUFFER":
            self.oddities.append((self.base + self.pos, "NEXT_BUFFER: out-of-band buffer"))
            s.append(None)
        elif op in ("PROTO", "FRAME", "READONLY_BUFFER", "STOP"):
            pass
        else:  # every opcode left pushes its decoded argument (ints, strings, bytes, floats, None, bools)
            s.append({"NONE": None, "NEWTRUE": True, "NEWFALSE": False}.get(op, arg))


class _Stream(Protocol):
    """What the opcode walk reads from: ``SourceIO``, ``io.BytesIO`` or an inflating stream."""

    def read(self, n: int = -1, /) -> bytes: ...
    def readline(self, limit: int | None = -1, /) -> bytes: ...
    def tell(self) -> int: ...


def starts_like_pickle(head: bytes, cut: bool = False) -> bool:
    """Whether the first opcode of ``head`` decodes: a sniff, confirmed or refuted by walking the file.

    ``cut``: ``head`` is only the start of the data, so an argument running past its end may be whole.
    """
    import io

    try:
        next(genops(io.BytesIO(head)))
    except (ValueError, OverflowError, StopIteration):
        return cut and bool(head) and head[:1] in OPCODES
    return True


_JOBLIB_WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
_SIMPLE_DTYPE = re.compile(r"[<>|=]?[?bBhHiIlLqQpPefdgFDGSUVaumMc]\d*(\[\w+\])?")


def _joblib_array(w: _Walker, stream: Any) -> None:
    """Step over the array joblib writes right after a ``NumpyArrayWrapper`` (joblib/numpy_pickle.py, read_array).

    Plain dtypes: an alignment byte and its padding (when the wrapper names an alignment), then
    ``prod(shape) * itemsize`` raw bytes. Object dtypes: a nested pickle joblib loads with the same
    rules: walked here, its globals counted as this pickle's. Anything else cannot be verified.
    """
    wrapper, w.array = w.array, None
    assert wrapper is not None  # only called right after BUILD set it
    state = {k: v for k, v in wrapper.state.items if isinstance(k, str)} if isinstance(wrapper.state, PDict) else {}
    shape, dtype = state.get("shape"), state.get("dtype")
    code: str | None = None
    dstate: tuple[Any, ...] = ()
    if isinstance(dtype, Call) and isinstance(dtype.func, Global) and dtype.func.qualname_is("numpy", "dtype"):
        if isinstance(dtype.args, tuple) and dtype.args and isinstance(dtype.args[0], str):
            code = dtype.args[0]
        dstate = dtype.state if isinstance(dtype.state, tuple) else ()
    if code is not None and (code.lstrip("<>|=")[:1] == "O" or code == "object"):  # numpy pickles object as "O8"
        inner = walk_pickle(w.name, stream, base=w.base, partial=True)
        w.globals += inner.globals
        w.oddities += inner.oddities
        if inner.error is not None:
            raise inner.error
        return
    if (
        code is None or _SIMPLE_DTYPE.fullmatch(code) is None or (len(dstate) > 3 and dstate[3] is not None)
        or not isinstance(shape, tuple) or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= MAX_INT for d in shape)
    ):  # fmt: skip
        raise w.fail("a joblib array wrapper this walk does not understand; what joblib reads next cannot be verified")
    import numpy as np

    elsize = dstate[5] if len(dstate) > 5 and isinstance(dstate[5], int) and dstate[5] > 0 else None
    try:
        itemsize = elsize or np.dtype(code).itemsize
    except TypeError:
        raise w.fail(f"joblib array of dtype {code!r} cannot be sized") from None
    count = 1
    for d in shape:
        count *= d
    if state.get("numpy_array_alignment_bytes") is not None:
        pad = stream.read(1)
        if not pad or not skip(stream, pad[0]):
            raise w.fail("joblib array padding runs past the end")
    if count * itemsize > MAX_INT or not skip(stream, count * itemsize):
        raise w.fail(f"joblib array of {brief(count)} elements runs past the end")


def walk_pickle(name: str, stream: SourceIO, *, base: int = 0, partial: bool = False) -> PickleWalk:
    """Walk one pickle from the stream's position to its STOP opcode; nothing is executed.

    ``name`` names the file in errors; ``base`` (the absolute offset of the stream's start) is
    added to stream positions so reported offsets are absolute in the file. With ``partial`` a
    damaged pickle still returns what was seen before the damage (``pickle.load`` would have run
    those opcodes too), with the error in ``PickleWalk.error``.
    """
    w = _Walker(name, base)
    w.pos = stream.tell()
    n = 0
    stopped = False
    error: MfiError | None = None
    try:
        for opcode, arg, pos in genops(stream):
            w.pos = pos
            n += 1
            if n > limits.MAX_PICKLE_OPCODES:
                raise LimitError(name, f"pickle has more than {limits.MAX_PICKLE_OPCODES} opcodes", base + pos)
            w.step(opcode.name, arg)
            if w.array is not None:
                _joblib_array(w, stream)
            if len(w.stack) + w.held > limits.MAX_PICKLE_STACK:
                raise LimitError(name, f"pickle holds more than {limits.MAX_PICKLE_STACK} values on its stack", base + pos)
            stopped = opcode.name == "STOP"
        if not stopped:
            raise FormatError(name, "pickle ends without STOP", base + stream.tell())
    except MfiError as e:
        error = e
    except (ValueError, OverflowError, UnicodeDecodeError) as e:  # bad or truncated arguments, as the loader refuses them
        error = FormatError(name, f"invalid pickle: {e}", base + w.pos)
    if error is not None and not partial:
        raise error
    value = w.stack[-1] if w.stack and error is None else None
    return PickleWalk(value, w.globals, w.oddities, stream.tell(), n, w.persistent, error)


def pickle_stream(src: ByteSource, start: int = 0) -> SourceIO:
    """A capped stream over a byte source for ``walk_pickle``."""
    return SourceIO(src, start, max_read=limits.MAX_PICKLE_STRING)


def looks_like_pickle(head: bytes) -> bool:
    """Whether bytes start like a binary pickle (PROTO 2..5) or a protocol 0/1 dict/list/global."""
    if len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        return True
    return head[:1] in (b"}", b"]", b"(", b"c") and len(head) > 1

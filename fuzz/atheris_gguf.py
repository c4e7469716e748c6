"""Coverage-guided fuzzing of the readers with atheris (optional; not part of the test suite).

    pip install atheris
    python fuzz/atheris_gguf.py [gguf|safetensors|pickle] -max_total_time=300 [corpus_dir]

Each input goes through the reader and the summary (GGUF, safetensors) or the pickle walk and
the checkpoint reader (pickle). Anything but ``MfiError`` is a crash: atheris stops, prints the
traceback and writes the input to ``crash-<sha1>``. Seeds are small real files written by the
gguf/safetensors writers and tests/torchbuild.py.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

with atheris.instrument_imports():
    from mfi.errors import MfiError
    from mfi.formats.gguf import read_gguf
    from mfi.formats.pickle import BytesSource
    from mfi.formats.safetensors import read_safetensors
    from mfi.formats.torch import read_torch
    from mfi.summary import build


def _seeds(kind: str, folder: Path) -> None:
    import numpy as np

    if kind == "gguf":
        import gguf
        from ggufbuild import write_gguf

        write_gguf(folder / "seed", tokens=["<s>", "</s>", "a"], kv={
            "llama.block_count": (1, gguf.GGUFValueType.UINT32),
            "tokenizer.chat_template": ("{{ x }}", gguf.GGUFValueType.STRING)})  # fmt: skip
    elif kind == "safetensors":
        from safetensors.numpy import save

        (folder / "seed").write_bytes(save({"a": np.ones((2, 3), np.float32), "b": np.arange(4)}))
    else:
        import torchbuild as tb

        sd = tb.state_dict({"w": tb.tensor(np.ones((2, 2), np.float32))})
        tb.save_zip(sd, folder / "seed-zip")
        tb.save_legacy(sd, folder / "seed-legacy")


def _target(kind: str):
    def one(data: bytes) -> None:
        src = BytesSource("fuzz", data)
        try:
            if kind == "gguf":
                build.summarize_gguf("fuzz", [read_gguf(src)])
            elif kind == "safetensors":
                build.summarize_safetensors("fuzz", [read_safetensors(src)], {}, [])
            else:
                read_torch(src)
        except MfiError:
            pass

    return one


def main() -> None:
    kind = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "gguf"
    args = [a for a in sys.argv if a != kind]
    if not any(not a.startswith("-") for a in args[1:]):  # no corpus given: a fresh one with seeds
        corpus = Path(tempfile.mkdtemp(prefix=f"mfi-{kind}-"))
        _seeds(kind, corpus)
        args.append(str(corpus))
    atheris.Setup(args, _target(kind))
    atheris.Fuzz()


if __name__ == "__main__":
    main()

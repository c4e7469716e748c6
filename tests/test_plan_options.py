"""Issue 12 section 5: sizes need a unit, contexts take k/K, a context past the trained one warns,
``plan --json`` is ``mfi.plan/1``, and a text-only Gemma 3 GGUF is not told to find a projector."""

from __future__ import annotations

import json

import gguf
from ggufbuild import write_gguf

from mfi import api

V = gguf.GGUFValueType


def _llama(tmp_path, name="m.gguf"):
    kv = {"llama.block_count": (2, V.UINT32), "llama.embedding_length": (128, V.UINT32),
          "llama.attention.head_count": (4, V.UINT32), "llama.attention.head_count_kv": (2, V.UINT32),
          "llama.context_length": (8192, V.UINT32)}  # fmt: skip
    return write_gguf(tmp_path / name, kv=kv, tokens=["a", "b"])


def test_ctx_with_k_suffix_and_past_the_trained_context(tmp_path, cli):
    r = cli("plan", str(_llama(tmp_path)), "--ctx", "16k", "--json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    # 16k = 16,384 cells; 2 layers x 16,384 x (K 2 heads x 32 x 2 B + V the same) = 8,388,608 B
    assert doc["memory"]["context_length"] == 16384 and doc["memory"]["kv_cache_bytes"] == 8_388_608
    assert doc["plan_warnings"] == [
        "context 16,384 is beyond the trained context of 8,192 tokens: quality may collapse past it (llama.cpp warns "
        "of a possible training context overflow; vLLM refuses it unless VLLM_ALLOW_LONG_MAX_MODEL_LEN=1)"
    ]
    assert api.plan(str(tmp_path / "m.gguf"), ctx="8K").warnings == ()  # at the trained context: no warning


def test_plan_json_is_its_own_schema_and_inspect_json_keeps_its_own(tmp_path, cli):
    path = str(_llama(tmp_path))
    doc = json.loads(cli("plan", path, "--json").stdout)
    assert doc["schema"] == "mfi.plan/1" and doc["target"] == path and doc["format"] == "gguf"
    assert set(doc) == {"schema", "target", "plan_of", "format", "choices", "recommended", "choices_kind", "choices_notes",
                        "memory", "runtimes", "remote_code", "capabilities", "plan_warnings", "serving"}
    assert (doc["choices"], doc["recommended"], doc["serving"], doc["plan_of"]) == (None, None, [], path)
    v = doc["runtimes"]["verdicts"][0]
    assert v == {"runtime": "llama.cpp", "status": "yes", "version": v["version"], "needs": [],
                 "reason": "GGUF architecture llama is known to llama.cpp"}
    assert v["version"].endswith("(llama-cpp-python 0.3.36)")
    inspect = json.loads(cli("inspect", path, "--json").stdout)
    assert inspect["schema"] == "mfi.inspect/1" and inspect["runtimes"] == doc["runtimes"] and inspect["memory"] == doc["memory"]
    assert not {"choices", "recommended", "serving"} & set(inspect)


def _gemma3(tmp_path, name):
    kv = {"gemma3.block_count": (1, V.UINT32), "gemma3.embedding_length": (64, V.UINT32),
          "gemma3.attention.head_count": (1, V.UINT32), "gemma3.context_length": (32768, V.UINT32)}  # fmt: skip
    return write_gguf(tmp_path / name, arch="gemma3", kv=kv)


def test_text_only_gemma3_gguf_needs_no_projector(tmp_path):
    p = api.plan(str(_gemma3(tmp_path, "gemma-3-270m-it-Q8_0.gguf")))
    assert p.runtimes.mmproj["needed"] is False and "text only" in p.runtimes.mmproj["note"]
    llama = p.runtimes.verdicts[0]
    assert (llama.runtime, llama.status, llama.needs) == ("llama.cpp", "yes", ())
    assert p.capabilities.vision is None


def test_gemma3_gguf_with_a_projector_beside_it(tmp_path):
    path = _gemma3(tmp_path, "gemma-3-4b-it-Q4_K_M.gguf")
    write_gguf(tmp_path / "mmproj-gemma-3-4b-it-F16.gguf", arch="clip")
    p = api.plan(str(path))
    assert p.runtimes.mmproj == {"needed": True, "present": ["mmproj-gemma-3-4b-it-F16.gguf"],
                                 "note": "images go through the mmproj file beside it"}
    assert p.runtimes.verdicts[0].status == "yes with" and p.capabilities.vision is True


def test_a_projector_file_is_recognised_by_its_clip_keys(tmp_path):
    path = write_gguf(tmp_path / "proj.gguf", arch="clip", kv={"clip.has_vision_encoder": (True, V.BOOL)})
    p = api.plan(str(path))
    assert p.runtimes.mmproj["needed"] is None and "--mmproj" in p.runtimes.mmproj["note"]
    assert p.runtimes.verdicts[0].status == "yes with"

"""Issue 12 section 3: the plan's runtime verdicts come from the generated tables (plan/registry.py),
one per runtime, naming the version and what is needed; the remote-code listing stays."""

from __future__ import annotations

import json

import numpy as np
from safetensors.numpy import save_file

from mfi import api
from mfi.plan import runtimes


def _folder(tmp_path, config, files=()):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    save_file({"embeddings.word_embeddings.weight": np.zeros((4, 8), np.float16)}, str(folder / "model.safetensors"))
    for name in files:
        (folder / name).write_text("# code\n")
    return str(folder)


def _by(p):
    return {v.runtime: (v.status, v.version, v.needs) for v in p.runtimes.verdicts}


def test_bert_is_served_by_vllm_and_sglang_as_an_embedding_model(tmp_path):
    p = api.plan(_folder(tmp_path, {"architectures": ["BertModel"], "model_type": "bert"}))
    by = _by(p)
    assert by["vllm"] == ("yes", "0.33.0", ()) and by["sglang"] == ("yes", "0.5.23", ())
    assert by["llama.cpp"][0] == "convert first" and by["mlx-lm"][0] == "no" and by["transformers"] == ("yes", "5.24.0", ())
    reasons = {v.runtime: v.reason for v in p.runtimes.verdicts}
    assert reasons["vllm"] == "BertModel is in vLLM's model registry, natively (embedding)"
    assert reasons["sglang"] == "BertModel is an SGLang entry class (sglang.srt.models.bert, embedding)"


def test_remote_code_model_needs_trust_remote_code_everywhere_and_lists_its_files(tmp_path):
    config = {"architectures": ["MyModelForCausalLM"], "model_type": "my_model",
              "auto_map": {"AutoConfig": "configuration_my.MyConfig", "AutoModelForCausalLM": "modeling_my.MyModel"}}  # fmt: skip
    p = api.plan(_folder(tmp_path, config, files=("modeling_my.py",)))
    by = _by(p)
    assert by["transformers"] == ("yes with", "5.24.0", ("trust_remote_code=True, which runs the repo's Python code",))
    assert by["vllm"][0] == "yes with" and by["vllm"][2][0] == "--trust-remote-code (the config class is the repo's own code)"
    assert {f.name: f.present for f in p.runtimes.remote_code.files} == {"configuration_my.py": False, "modeling_my.py": True}


def test_text_only_gemma3_safetensors_has_no_projector(tmp_path):
    p = api.plan(_folder(tmp_path, {"architectures": ["Gemma3ForCausalLM"], "model_type": "gemma3_text"}))
    by = _by(p)
    assert by["llama.cpp"] == ("convert first", by["llama.cpp"][1], ("convert_hf_to_gguf.py (writes GGUF architecture gemma3)",))
    assert by["mlx-lm"][0] == by["vllm"][0] == "yes" and p.runtimes.mmproj == {} and p.capabilities.vision is False


def test_the_repo_id_of_a_remote_target(models):
    from dataclasses import replace

    from mfi.records import Fetched

    s = api.inspect(str(models / "llama-tiny-Q4_K_M.gguf"))
    assert runtimes._repo_id(s) is None
    remote = replace(s, target="hf://Qwen/Qwen3-8B-GGUF@main/Qwen3-8B-Q4_K_M.gguf", fetched=Fetched(1, 1, "x", "main", None))
    assert runtimes._repo_id(remote) == "Qwen/Qwen3-8B-GGUF"
    assert runtimes._repo_id(replace(remote, target="Qwen/Qwen3-8B")) == "Qwen/Qwen3-8B"


def test_markdown_lists_every_verdict_with_its_version(models, cli):
    r = cli("inspect", str(models / "qwen3-tiny"), "--markdown")
    assert r.exit_code == 0, r.stderr
    assert "| vllm | 0.33.0 | yes |  | Qwen3ForCausalLM is in vLLM's model registry, natively (text) |" in r.stdout
    assert "| llama.cpp | " in r.stdout and "| convert first | convert\\_hf\\_to\\_gguf.py (writes GGUF architecture qwen3) |" in r.stdout

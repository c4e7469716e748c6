"""Runtime verdicts, remote code, capabilities, explain texts and the plan/inspect CLI."""

from __future__ import annotations

import json

import gguf
import numpy as np
import pytest
from ggufbuild import write_gguf
from safetensors.numpy import save_file

from mfi import api

from mfi.plan.assess import assess
from mfi.formats.frontmatter import parse_front_matter
from mfi.render.terminal import plan as planview
from mfi.plan import memory, runtimes

V = gguf.GGUFValueType
QWEN3_TEMPLATE = (
    "{%- if tools %}<|im_start|>system\n# Tools\n<tools>{{ tool | tojson }}</tools>{%- endif %}"
    "{%- if message.role == 'system' %}{{ message.content }}{%- endif %}"
    "{%- if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>{%- endif %}"
    "<tool_call>\n{{ tool_call.name }}</tool_call>"
)
GEMMA_TEMPLATE = "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}<start_of_turn>"


def _folder(tmp_path, config, *, tokenizer_config=None, files=(), generation=None, readme=None):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    save_file({"model.embed_tokens.weight": np.zeros((4, 8), np.float16)}, str(folder / "model.safetensors"))
    if tokenizer_config is not None:
        (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config))
    if generation is not None:
        (folder / "generation_config.json").write_text(json.dumps(generation))
    if readme is not None:
        (folder / "README.md").write_text(readme)
    for name in files:
        (folder / name).write_text("# code\n")
    return folder


def _plan(target, **opts):
    from mfi.plan.records import Options

    return assess(api.inspect(str(target)), Options(**opts))


def test_data_file_is_generated_and_stamped():
    table = runtimes.transformers_table()
    assert table["generated_by"] == "scripts/gen_transformers_archs.py"
    assert table["transformers_version"].count(".") >= 1
    assert {"LlamaForCausalLM", "Qwen3ForCausalLM", "Qwen3MoeForCausalLM"} <= set(table["classes"])
    assert "DeepseekOCRForCausalLM" not in table["classes"]


def test_builtin_class_needs_no_remote_code(tmp_path):
    folder = _folder(tmp_path, {"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"], "num_hidden_layers": 2,
                                "num_attention_heads": 2, "hidden_size": 8})  # fmt: skip
    p = _plan(folder)
    by = {v.runtime: v for v in p.runtimes.verdicts}
    assert [v.runtime for v in p.runtimes.verdicts] == ["llama.cpp", "ollama", "vllm", "sglang", "xinference", "mlx-lm", "transformers"]
    assert (by["transformers"].status, by["transformers"].version) == ("yes", "5.24.0")
    assert (by["vllm"].status, by["vllm"].version) == ("yes", "0.33.0") and "Qwen3ForCausalLM is in vLLM's model registry" in by["vllm"].reason
    assert (by["sglang"].status, by["sglang"].version) == ("yes", "0.5.23")
    assert by["llama.cpp"].status == "convert first" and by["llama.cpp"].needs == ("convert_hf_to_gguf.py (writes GGUF architecture qwen3)",)
    assert by["mlx-lm"].status == "yes" and by["xinference"].status == "yes"
    assert p.runtimes.remote_code.required is False and p.runtimes.remote_code.offered is False


def test_custom_architecture_names_its_code_files(tmp_path):
    config = {
        "model_type": "deepseek_vl_v2",
        "architectures": ["DeepseekOCRForCausalLM"],
        "auto_map": {
            "AutoConfig": "configuration_deepseekocr.DeepseekOCRConfig",
            "AutoModel": "modeling_deepseekocr.DeepseekOCRForCausalLM",
            "AutoModelForCausalLM": "other/repo--modeling_x.XForCausalLM",
        },
    }
    folder = _folder(tmp_path, config, files=["modeling_deepseekocr.py"],
                     tokenizer_config={"auto_map": {"AutoTokenizer": ["tokenization_x.XTokenizer", None]}})  # fmt: skip
    p = _plan(folder)
    rc = p.runtimes.remote_code
    assert rc.required and rc.offered and "trust_remote_code" in rc.note
    files = {(f.name, f.repo): f.present for f in rc.files}
    assert files == {
        ("configuration_deepseekocr.py", ""): False,
        ("modeling_deepseekocr.py", ""): True,
        ("modeling_x.py", "other/repo"): None,
        ("tokenization_x.py", ""): False,
    }
    assert "missing beside the weights" in rc.note
    by = {v.runtime: v for v in p.runtimes.verdicts}
    assert by["transformers"].status == "yes with" and by["transformers"].needs == ("trust_remote_code=True, which runs the repo's Python code",)


def test_quantization_method_implications(tmp_path):
    folder = _folder(tmp_path, {"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"],
                                "quantization_config": {"quant_method": "awq", "bits": 4}})  # fmt: skip
    p = _plan(folder)
    assert p.runtimes.method == "awq"
    assert "not loadable" in p.runtimes.quantization["llama.cpp"] and "autoawq" in p.runtimes.quantization["transformers"]


def test_gguf_runtime_and_mmproj(tmp_path):
    path = write_gguf(tmp_path / "Qwen3-VL-8B-Q4_K_M.gguf", arch="qwen3vl", kv={"qwen3vl.block_count": (1, V.UINT32)})
    p = _plan(path)
    assert p.runtimes.verdicts[0].status == "yes with" and p.runtimes.mmproj == {"needed": True, "present": []}
    assert p.runtimes.verdicts[0].needs == ("the vision projector GGUF (mmproj), passed with --mmproj",)
    write_gguf(tmp_path / "mmproj-Qwen3-VL-8B-F16.gguf", arch="clip")
    p = _plan(path)
    assert p.runtimes.mmproj["present"] == ["mmproj-Qwen3-VL-8B-F16.gguf"] and p.capabilities.vision
    unknown = write_gguf(tmp_path / "x.gguf", arch="notanarch")
    assert _plan(unknown).runtimes.verdicts[0].status == "no"


def test_capabilities_from_gguf_template_and_keys(tmp_path):
    kv = {
        "tokenizer.chat_template": (QWEN3_TEMPLATE, V.STRING),
        "general.sampling.temp": (0.6, V.FLOAT32),
        "general.sampling.top_k": (20, V.INT32),
        "general.license": ("apache-2.0", V.STRING),
        "general.base_model.count": (1, V.UINT32),
        "general.base_model.0.name": ("Qwen3 8B Base", V.STRING),
        "general.base_model.0.organization": ("Qwen", V.STRING),
    }
    c = _plan(write_gguf(tmp_path / "m.gguf", arch="qwen3", kv=kv, tokens=["a", "b"])).capabilities
    assert (c.kind, c.tool_calling, c.reasoning, c.system_role) == ("chat", True, True, True)
    assert c.sampling["temp"] == pytest.approx(0.6) and c.sampling["top_k"] == 20
    assert c.license == "apache-2.0" and c.base_models == ("Qwen Qwen3 8B Base",)
    assert "<think>" in c.evidence["reasoning"] and "<tool_call>" in c.evidence["tool_calling"]


def test_capabilities_base_model_and_system_refusal(tmp_path):
    base = _plan(write_gguf(tmp_path / "b.gguf", tokens=["a"])).capabilities
    assert base.kind == "base" and base.tool_calling is None and base.system_role is None
    gemma = _plan(write_gguf(tmp_path / "g.gguf", kv={"tokenizer.chat_template": (GEMMA_TEMPLATE, V.STRING)}, tokens=["a"])).capabilities
    assert gemma.system_role is False and gemma.tool_calling is False


def test_embedding_and_reranker_from_pooling(tmp_path):
    emb = write_gguf(tmp_path / "e.gguf", arch="bert", kv={"bert.pooling_type": (2, V.UINT32)})
    assert _plan(emb).capabilities.kind == "embedding" and _plan(emb).capabilities.pooling == "cls"
    rr = write_gguf(tmp_path / "r.gguf", arch="qwen3", kv={"qwen3.pooling_type": (4, V.UINT32)})
    assert _plan(rr).capabilities.kind == "reranker"


def test_safetensors_sampling_card_and_vision(tmp_path):
    config = {"model_type": "qwen3_vl", "architectures": ["Qwen3VLForConditionalGeneration"],
              "text_config": {"num_hidden_layers": 2, "num_attention_heads": 2, "hidden_size": 8},
              "vision_config": {"depth": 2, "hidden_size": 8}}  # fmt: skip
    readme = "---\nlicense: apache-2.0\nbase_model:\n- Qwen/Qwen3-VL-8B\npipeline_tag: image-text-to-text\n---\n# card\n"
    folder = _folder(tmp_path, config, generation={"temperature": 0.7, "top_p": 0.8, "top_k": 20, "eos_token_id": 1}, readme=readme)
    c = _plan(folder).capabilities
    assert c.vision is True and c.audio is False
    assert c.sampling == {"temperature": 0.7, "top_p": 0.8, "top_k": 20}
    assert c.license == "apache-2.0" and c.base_models == ("Qwen/Qwen3-VL-8B",)


def test_front_matter_reader():
    text = "---\nlicense: mit\ntags: [a, b]\nbase_model: 'x/y'\nmodel-index:\n  - name: z\n---\nbody"
    assert parse_front_matter(text) == {"license": "mit", "tags": ["a", "b"], "base_model": "x/y", "model-index": None}
    assert parse_front_matter("# no front matter") == {} and parse_front_matter("---\nlicense: mit\n") == {}


def test_explain_texts_cover_every_field_in_both_languages():
    from mfi.records import Architecture

    en, zh = planview.explanations("en"), planview.explanations("zh")
    assert set(en) == set(zh)
    assert set(Architecture.FIELDS) <= set(en)
    assert {"kind.full", "kind.swa", "kind.mla", "kind.recurrent", "n_ctx", "kv_cache", "overhead", "weights"} <= set(en)
    assert "grouped-query" in en["kv_heads"] and "分组查询" in zh["kv_heads"]


def test_language_from_option_and_environment(monkeypatch):
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert planview.language() == "zh" and planview.language("en") == "en"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert planview.language() == "en" and planview.language("zh") == "zh"


# ---- CLI -----------------------------------------------------------------------------------------


def _llama_gguf(tmp_path):
    kv = {"llama.block_count": (2, V.UINT32), "llama.embedding_length": (128, V.UINT32),
          "llama.attention.head_count": (4, V.UINT32), "llama.attention.head_count_kv": (2, V.UINT32),
          "llama.context_length": (8192, V.UINT32)}  # fmt: skip
    return write_gguf(tmp_path / "m.gguf", kv=kv, tokens=["a", "b"])


def test_inspect_json_adds_memory(tmp_path, cli):
    r = cli("inspect", str(_llama_gguf(tmp_path)), "--json", "--ctx", "5000")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    m = doc["memory"]
    # 2 layers x GGML_PAD(5000, 256) = 5120 cells x (K 32*2*2 + V 32*2*2 = 256 B)
    assert m["kv_cache_bytes"] == 2 * 5120 * 256
    assert (m["context_length"], m["cache_type"], m["runtime"]) == (5000, "f16", "llama.cpp")
    assert m["total_bytes"] == m["weights_bytes"] + m["kv_cache_bytes"] + m["overhead_bytes"]
    assert any(t["name"] == "n_ctx" and t["value"] == 5120 for t in m["terms"])
    assert {"runtimes", "remote_code", "capabilities"} <= set(doc)
    assert doc["remote_code"] == {"required": False, "offered": False, "files": [], "note": None}


def test_plan_command_text_and_fit(tmp_path, cli):
    r = cli("plan", str(_llama_gguf(tmp_path)), "--ctx", "4096", "--cache-type", "q8_0", "--memory", "1GiB")
    assert r.exit_code == 0, r.stderr
    assert "Memory (llama.cpp, cache q8_0, context 4,096)" in r.stdout
    assert "largest context that fits: 8,192" in r.stdout and "Runtimes" in r.stdout and "Capabilities" in r.stdout
    assert "not counted" in r.stdout


def test_plan_explain_in_chinese(tmp_path, cli):
    r = cli("plan", str(_llama_gguf(tmp_path)), "--explain", "--lang", "zh")
    assert r.exit_code == 0, r.stderr
    assert "GGML_PAD(8192, 256)" in r.stdout and "分组查询" in r.stdout


def test_inspect_explain_adds_a_meaning_column(tmp_path, cli):
    r = cli("inspect", str(_llama_gguf(tmp_path)), "--explain", "--lang", "en")
    assert r.exit_code == 0, r.stderr
    assert "meaning" in r.stdout and "grouped-query" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--cache-type", "q3_k"], "cache type"), (["--runtime", "tgi"], "unknown runtime"),
     (["--memory", "lots"], "cannot read"), (["--parallel", "0"], "at least 1"), (["--parallel", "-3"], "at least 1"),
     (["--ctx", "0"], "--ctx: must be at least 1"), (["--ctx", "-5"], "--ctx: cannot read '-5'"), (["--ctx", "32kb"], "--ctx: cannot read"),
     (["--memory", "16"], "--memory: '16' has no unit: write e.g. 16GiB or 16GB (B; KB, MB, GB, TB = powers of 1000"),
     (["--memory", "1.2.3GiB"], "cannot read"), (["--memory", ""], "cannot read ''"), (["--memory", "-5GiB"], "cannot read"),
     (["--memory", "24 GiBs"], "cannot read")],
)  # fmt: skip
def test_bad_plan_options_are_usage_errors(tmp_path, cli, args, message):
    path = str(_llama_gguf(tmp_path))
    for command in (["plan", path], ["inspect", path, "--json"]):
        r = cli(*command, *args)
        assert r.exit_code == 2 and message in r.stderr and r.stdout == "", (command, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1


def test_plan_options_build_the_memory_options():
    from mfi.plan.records import Options

    assert memory.options() == Options()
    opts = memory.options(ctx=8192, memory="24GiB", cache_type="q8_0", cache_type_v="f16", parallel=2, runtime="llama.cpp", swa_full=True)
    assert opts == Options(context=8192, parallel=2, runtime="llama.cpp", cache_type_k="q8_0", cache_type_v="f16", memory=24 << 30, swa_full=True)
    assert memory.options(memory="1.5KB").memory == 1500
    assert memory.options(memory="1" + "0" * 400 + "B").memory == 10**400  # exact, no float overflow


def test_plan_json_for_a_quantized_cache_on_an_odd_head_dim(tmp_path, cli):
    kv = {"llama.block_count": (2, V.UINT32), "llama.embedding_length": (80, V.UINT32), "llama.attention.head_count": (4, V.UINT32)}
    path = write_gguf(tmp_path / "odd.gguf", kv=kv)
    doc = json.loads(cli("plan", str(path), "--json", "--cache-type", "q4_0", "--ctx", "1024").stdout)
    assert doc["memory"]["kv_cache_bytes"] is None and "block of 32" in doc["memory"]["kv_cache_blocked"]
    assert doc["memory"]["total_bytes"] is None


def test_readme_plan_commands_run_on_the_demo(cli):
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    block = readme.split("## Will it run", 1)[1]
    commands = re.findall(r"^mfi (plan|inspect) (\S+)(.*?)(?:  #.*)?$", block.split("```", 2)[1], re.M)
    assert len(commands) == 4
    demo = str(root / "fixtures" / "demo" / "llama-tiny-Q4_K_M.gguf")
    for command, _target, args in commands:
        r = cli(command, demo, *args.split())
        assert r.exit_code == 0, (command, args, r.stderr)


EVIL = "[/]x[link=http://evil]y"


@pytest.mark.parametrize("runtime", ["vllm", "llama.cpp"])
def test_untrusted_text_in_titles_is_never_markup(tmp_path, cli, runtime):
    from io import StringIO

    from rich.console import Console

    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2, "hidden_size": 64,
              "num_attention_heads": 4, "torch_dtype": EVIL, "quantization_config": {"quant_method": EVIL}}  # fmt: skip
    folder = _folder(tmp_path, config)
    s = api.inspect(str(folder))
    p = _plan(folder, runtime=runtime)
    buf = StringIO()
    console = Console(file=buf, width=200, color_system="truecolor")
    console.print(planview.plan_view(s, p, explain=True))
    out = buf.getvalue()
    assert "http://evil" not in out.replace(EVIL, "")  # no hyperlink escape sequence, only the literal text
    assert "\x1b]8;" not in out
    plain = StringIO()
    Console(file=plain, width=200, color_system=None).print(planview.plan_view(s, p))
    assert f"Quantization method {EVIL}: what it means" in plain.getvalue()
    if runtime == "vllm":
        assert f"cache {EVIL}" in plain.getvalue()
    r = cli("plan", str(folder), "--runtime", runtime)
    assert r.exit_code == 0, r.stderr


def test_sidecars_beside_the_weights_are_read_and_checked(tmp_path):
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4}
    folder = _folder(tmp_path, config, readme="---\nlicense: mit\n---\n", tokenizer_config=[1, 2], generation={"temperature": 0.7})
    p = assess(api.inspect(str(folder)))
    assert p.warnings == () and p.capabilities.license == "mit" and p.capabilities.sampling == {"temperature": 0.7}
    assert p.runtimes.remote_code.offered is False  # a tokenizer_config.json that is not an object counts as empty

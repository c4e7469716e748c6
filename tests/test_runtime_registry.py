"""Runtime verdicts from the generated tables (src/mfi/data/runtimes.json, scripts/gen_runtime_tables.py)."""

from __future__ import annotations

import ast
import json
from importlib import resources
from pathlib import Path

import pytest

from mfi.plan.registry import (
    RUNTIMES,
    ModelFacts,
    RuntimeVerdict,
    facts_from_config,
    runtime_tables,
    stamps,
    verdict,
    verdicts,
)

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "gen_runtime_tables.py"


def by_runtime(facts: ModelFacts) -> dict[str, RuntimeVerdict]:
    return {v.runtime: v for v in verdicts(facts)}


QWEN3 = ModelFacts("safetensors", ("Qwen3ForCausalLM",), "qwen3")


def test_qwen3_safetensors() -> None:
    v = by_runtime(QWEN3)
    assert tuple(v) == RUNTIMES
    assert (v["vllm"].verdict, v["vllm"].version) == ("yes", "0.33.0")
    assert "natively (text)" in v["vllm"].reason
    assert (v["sglang"].verdict, v["sglang"].version) == ("yes", "0.5.23")
    assert "sglang.srt.models.qwen3" in v["sglang"].reason
    assert v["llama.cpp"].verdict == "convert first"
    assert v["llama.cpp"].needs == ("convert_hf_to_gguf.py (writes GGUF architecture qwen3)",)
    assert v["llama.cpp"].version == "0c1e57098 (llama-cpp-python 0.3.36)"
    assert v["ollama"].verdict == "convert first"
    assert v["transformers"].verdict == "yes" and v["transformers"].version == "5.24.0"
    assert v["mlx-lm"].verdict == "yes" and "mlx_lm.models.qwen3" in v["mlx-lm"].reason
    assert v["xinference"].verdict == "yes" and "qwen3" in v["xinference"].reason


def test_bert_is_a_pooling_model() -> None:
    v = by_runtime(ModelFacts("safetensors", ("BertModel",), "bert"))
    assert v["vllm"].verdict == "yes" and "(embedding)" in v["vllm"].reason
    assert v["sglang"].verdict == "yes" and "embedding" in v["sglang"].reason
    assert v["llama.cpp"].needs == ("convert_hf_to_gguf.py (writes GGUF architecture bert)",)
    assert v["mlx-lm"].verdict == "no"


def test_qwen3_gguf() -> None:
    v = by_runtime(ModelFacts("gguf", gguf_architecture="qwen3"))
    assert v["llama.cpp"] == RuntimeVerdict("llama.cpp", "yes", "0c1e57098 (llama-cpp-python 0.3.36)", (),
                                            "GGUF architecture qwen3 is known to llama.cpp")
    assert v["ollama"].verdict == "yes"
    assert v["ollama"].version.startswith("unknown (table follows llama.cpp 0c1e57098")
    assert "no package holds Ollama's source" in v["ollama"].reason
    assert v["vllm"].verdict == "no" and "no GGUF loader" in v["vllm"].reason
    assert v["mlx-lm"].verdict == "no"
    assert v["transformers"].verdict == "yes with" and v["transformers"].needs[0].startswith("gguf_file=")


def test_gguf_projector_and_unknown_arch() -> None:
    mm = verdict("llama.cpp", ModelFacts("gguf", gguf_architecture="gemma3", multimodal=True))
    assert mm.verdict == "yes with" and "--mmproj" in mm.needs[0]
    clip = verdict("llama.cpp", ModelFacts("gguf", gguf_architecture="clip"))
    assert clip.verdict == "yes with" and "projector" in clip.reason
    odd = verdict("llama.cpp", ModelFacts("gguf", gguf_architecture="no-such-arch"))
    assert odd.verdict == "no" and "LLM_ARCH_NAMES" in odd.reason


def test_mlx_8bit_repo() -> None:
    facts = ModelFacts("mlx", ("Qwen3ForCausalLM",), "qwen3", quant_method="mlx", repo_id="mlx-community/Qwen3-0.6B-8bit")
    v = by_runtime(facts)
    assert v["mlx-lm"].verdict == "yes" and v["mlx-lm"].version == "0.32.2"
    assert v["vllm"].verdict == "no"
    assert v["llama.cpp"].verdict == "no"
    assert v["transformers"].verdict == "no"
    # Xinference's qwen3 family lists mlx-community/Qwen3-0.6B-{quantization}
    assert v["xinference"].verdict == "yes" and "by hub id" in v["xinference"].reason and "engines: mlx" in v["xinference"].reason


def test_deepseek_ocr_with_auto_map() -> None:
    facts = ModelFacts("safetensors", ("DeepseekOCRForCausalLM",), "deepseek_vl_v2", remote_code=True, multimodal=True)
    v = by_runtime(facts)
    # in vLLM's registry (multimodal), but the config class is the repo's own code
    assert v["vllm"].verdict == "yes with"
    assert v["vllm"].needs == ("--trust-remote-code (the config class is the repo's own code)",)
    assert "(multimodal)" in v["vllm"].reason
    assert v["transformers"].verdict == "yes with"
    assert v["transformers"].needs == ("trust_remote_code=True, which runs the repo's Python code",)
    assert v["llama.cpp"].verdict == "convert first"
    assert v["llama.cpp"].needs[0] == "convert_hf_to_gguf.py (writes GGUF architecture deepseek2)"
    assert "--mmproj" in v["llama.cpp"].needs[1]


def test_gptq_needs_a_gpu_capability() -> None:
    facts = ModelFacts("safetensors", ("Qwen3ForCausalLM",), "qwen3", quant_method="gptq")
    v = by_runtime(facts)
    # vllm AutoGPTQConfig.get_min_capability() == 60
    assert v["vllm"] == RuntimeVerdict("vllm", "yes with", "0.33.0", ("a GPU of compute capability 6.0 or newer (gptq kernels)",),
                                       "Qwen3ForCausalLM is in vLLM's model registry, natively (text)")
    # SGLang registers GPTQ on CUDA as gptq_marlin (GPTQMarlinConfig.get_min_capability() == 80)
    assert v["sglang"].needs == ("a GPU of compute capability 8.0 or newer (gptq_marlin kernels)",)
    assert v["llama.cpp"].verdict == "convert first" and "dequantizes gptq" in v["llama.cpp"].reason


def test_methods_a_runtime_lacks() -> None:
    bnb = ModelFacts("safetensors", ("LlamaForCausalLM",), "llama", quant_method="bitsandbytes")
    v = by_runtime(bnb)
    assert v["vllm"].verdict == "no" and "'bitsandbytes'" in v["vllm"].reason
    assert v["llama.cpp"].verdict == "no"
    assert v["transformers"].verdict == "yes"  # bitsandbytes_4bit / _8bit quantizers


def test_vllm_conversions_removals_and_fallback() -> None:
    cls = verdict("vllm", ModelFacts("safetensors", ("Qwen3ForSequenceClassification",), "qwen3"))
    assert cls.verdict == "yes" and "runs as Qwen3ForCausalLM converted for pooling (classify)" in cls.reason
    gone = verdict("vllm", ModelFacts("safetensors", ("MPTForCausalLM",), "mpt"))
    assert gone.verdict == "no" and "until vLLM 0.28.0" in gone.reason
    custom = verdict("vllm", ModelFacts("safetensors", ("FooForCausalLM",), "foo", remote_code=True))
    assert custom.verdict == "yes with" and custom.needs[0].startswith("--trust-remote-code")
    assert "Transformers backend" in custom.needs[-1]
    none = verdict("vllm", ModelFacts("safetensors", ("FooForCausalLM",), "foo"))
    assert none.verdict == "no"
    assert verdict("vllm", ModelFacts("safetensors")).verdict == "unknown"


def test_stamps_present() -> None:
    data = runtime_tables()
    assert data["schema"] == "mfi.runtimes/1" and data["generated_by"] == "scripts/gen_runtime_tables.py"
    assert set(data["runtimes"]) == set(RUNTIMES)
    got = {s.runtime: s for s in stamps()}
    for runtime in RUNTIMES:
        assert len(got[runtime].generated) == 10  # an ISO date
        if runtime != "ollama":
            assert got[runtime].package and got[runtime].version
    assert got["vllm"].version == "0.33.0"
    assert got["llama.cpp"].package == "llama-cpp-python"
    # the transformers entries must agree with transformers_architectures.json
    tf = json.loads(resources.files("mfi.data").joinpath("transformers_architectures.json").read_text(encoding="utf-8"))
    assert got["transformers"].version == tf["transformers_version"]


def test_schema_of_the_script_docstring_holds() -> None:
    doc = ast.get_docstring(ast.parse(SCRIPT.read_text(encoding="utf-8")))
    assert doc is not None
    data = runtime_tables()
    assert f'"schema": "{data["schema"]}"' in doc
    for runtime, entry in data["runtimes"].items():
        assert f'"{runtime}"' in doc
        assert {"package", "version", "generated"} <= set(entry)
        for key in set(entry) - {"package", "version", "generated"}:
            assert f'"{key}"' in doc, f"{runtime}.{key} is not documented in the script's docstring"
    r = data["runtimes"]
    assert all(isinstance(k, list) and k for k in r["vllm"]["architectures"].values())
    assert all(c is None or isinstance(c, int) for c in r["vllm"]["quantization"].values())
    assert all(isinstance(m, str) for m in r["sglang"]["architectures"].values())
    assert set(r["llama.cpp"]["convert"].values()) <= set(r["llama.cpp"]["gguf_architectures"])
    for fam in r["xinference"]["families"].values():
        assert set(fam) == {"architectures", "model_type", "abilities", "formats", "hub_ids"}


def test_data_file_is_small_and_compact() -> None:
    raw = resources.files("mfi.data").joinpath("runtimes.json").read_bytes()
    assert len(raw) < 1_000_000
    assert b"\n" not in raw.rstrip(b"\n")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_every_runtime_answers_every_format(runtime: str) -> None:
    for fmt in ("gguf", "safetensors", "pytorch", "mlx"):
        v = verdict(runtime, ModelFacts(fmt, ("LlamaForCausalLM",), "llama", gguf_architecture="llama"))  # type: ignore[arg-type]
        assert v.runtime == runtime
        assert v.verdict in ("yes", "yes with", "convert first", "no", "unknown")
        assert v.reason and v.version
        assert (v.verdict == "yes with") <= bool(v.needs)


def test_facts_from_config() -> None:
    mlx = facts_from_config("safetensors", {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3",
                                            "quantization": {"group_size": 64, "bits": 8}})
    assert mlx == ModelFacts("mlx", ("Qwen3ForCausalLM",), "qwen3", quant_method="mlx")
    gptq = facts_from_config("safetensors", {"architectures": ["Qwen3ForCausalLM"], "quantization_config": {"quant_method": "gptq"}})
    assert gptq.quant_method == "gptq" and gptq.format == "safetensors"
    ocr = facts_from_config("safetensors", {"architectures": ["DeepseekOCRForCausalLM"], "auto_map": {"AutoModel": "x.Y"},
                                            "vision_config": {}})
    assert ocr.remote_code and ocr.multimodal
    # hostile types are ignored, not trusted
    odd = facts_from_config("pytorch", {"architectures": "Llama", "model_type": 3, "auto_map": ["x"], "quantization_config": []})
    assert odd == ModelFacts("pytorch")
    with pytest.raises(ValueError, match="unknown model format"):
        facts_from_config("onnx", {})

"""The vLLM engine: a clear error where it cannot run (here), the real thing where it can."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from vrd.engines import ENGINES, VLLMEngine, default_engine_name, get_engine
from vrd.engines.base import GenerationRequest, SamplingParams
from vrd.engines.vllm import to_vllm_messages, vllm_unavailable_reason
from vrd.errors import UnknownNameError, VrdError


def _can_run_vllm() -> bool:
    return vllm_unavailable_reason() is None


def test_registry_and_default() -> None:
    assert set(ENGINES) == {"hf", "openai", "vllm"}
    assert default_engine_name() == ("vllm" if _can_run_vllm() else "hf")


def test_unknown_engine_suggests() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean: vllm"):
        get_engine("vlm", "whatever")


@pytest.mark.skipif(_can_run_vllm(), reason="vllm and a GPU are present")
def test_clear_error_without_vllm_or_gpu() -> None:
    with pytest.raises(VrdError) as err:
        get_engine("vllm", "qwen2.5-vl-7b")
    msg = str(err.value)
    assert "--backend hf" in msg and "--backend openai --base-url" in msg and "vllm serve" in msg
    assert vllm_unavailable_reason() in msg


def test_messages_use_image_pil_parts_in_mark_order() -> None:
    a, b = Image.new("RGB", (8, 8), "red"), Image.new("L", (8, 8))
    msgs = to_vllm_messages(GenerationRequest("see <image> and <image> now", [a, b], system="S"))
    assert msgs[0] == {"role": "system", "content": [{"type": "text", "text": "S"}]}
    parts = msgs[1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_pil", "text", "image_pil", "text"]
    assert parts[3]["image_pil"].mode == "RGB" and parts[1]["image_pil"].getpixel((0, 0)) == (255, 0, 0)


def test_vllm_engine_on_gpu(tiny_model_dir: Path) -> None:
    pytest.importorskip("vllm")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("vllm's offline engine needs a CUDA GPU")
    eng = VLLMEngine(str(tiny_model_dir), max_model_len=2048, gpu_memory_utilization=0.3, max_images=2)
    try:
        img = Image.new("RGB", (64, 64), "white")
        reqs = [GenerationRequest("<image> angle?", [img]), GenerationRequest("hi")]
        out = eng.generate(reqs, SamplingParams(n=3, temperature=1.0, max_new_tokens=8, seed=0))
        assert [len(c) for c in out] == [3, 3]
        assert all(1 <= c.n_tokens <= 8 and c.finish_reason in ("stop", "length") for cs in out for c in cs)
        assert eng.describe()["tensor_parallel_size"] == torch.cuda.device_count()
    finally:
        eng.close()

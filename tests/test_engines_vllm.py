"""The vLLM engine: a clear error where it cannot run (here), the real thing where it can."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

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


# -- a recording stand-in for vllm that enforces the rules of vLLM's own SamplingParams/EngineArgs ------------


class _VLLMValidationError(ValueError):
    pass


class _StandInSamplingParams:
    """The checks of vllm/sampling_params.py (`_verify_args`, `_verify_greedy_sampling`)."""

    FIELDS = ("n", "temperature", "top_p", "top_k", "repetition_penalty", "max_tokens", "seed", "min_p",
              "presence_penalty", "frequency_penalty", "stop")

    def __init__(self, **kwargs: object) -> None:
        unknown = set(kwargs) - set(self.FIELDS)
        if unknown:
            raise TypeError(f"unexpected keyword argument(s) {sorted(unknown)}")
        self.n = kwargs.get("n", 1)
        self.temperature = kwargs.get("temperature", 1.0)
        self.top_p = kwargs.get("top_p", 1.0)
        self.top_k = kwargs.get("top_k", 0)
        self.repetition_penalty = kwargs.get("repetition_penalty", 1.0)
        self.max_tokens = kwargs.get("max_tokens", 16)
        self.seed = kwargs.get("seed")
        if not isinstance(self.n, int) or self.n < 1:
            raise _VLLMValidationError(f"n must be at least 1, got {self.n}.")
        if not 0.0 <= self.temperature <= 2.0:
            raise _VLLMValidationError(f"temperature must be in [0, 2], got {self.temperature}.")
        if not 0.0 < self.top_p <= 1.0:
            raise _VLLMValidationError(f"top_p must be in (0, 1], got {self.top_p}.")
        if not isinstance(self.top_k, int) or self.top_k < -1:
            raise _VLLMValidationError(f"top_k must be 0 (disable), or at least 1, got {self.top_k}.")
        if self.repetition_penalty <= 0.0:
            raise _VLLMValidationError("repetition_penalty must be greater than zero")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise _VLLMValidationError(f"max_tokens must be at least 1, got {self.max_tokens}.")
        if self.temperature < 1e-5 and self.n > 1:
            raise _VLLMValidationError(f"n must be 1 when using greedy sampling, got {self.n}.")


@dataclasses.dataclass
class _StandInEngineArgs:
    model: str = ""
    tensor_parallel_size: int = 1
    limit_mm_per_prompt: dict | None = None
    gpu_memory_utilization: float = 0.9
    dtype: str = "auto"
    seed: int = 0
    max_model_len: int | None = None
    mm_processor_kwargs: dict | None = None
    enforce_eager: bool = False
    max_num_seqs: int | None = None
    enable_prefix_caching: bool | None = None


class _StandInLLM:
    instances: list[_StandInLLM] = []
    finish_reasons: list[str] = ["stop"]

    def __init__(self, **kwargs: object) -> None:
        _StandInEngineArgs(**kwargs)  # TypeError on an option vLLM does not have, as EngineArgs(**kwargs) raises
        self.kwargs = kwargs
        self.calls: list[tuple[list, _StandInSamplingParams]] = []
        _StandInLLM.instances.append(self)

    def chat(self, messages: list, sampling_params: _StandInSamplingParams, use_tqdm: bool = True) -> list:
        assert isinstance(sampling_params, _StandInSamplingParams)
        self.calls.append((messages, sampling_params))
        reasons = _StandInLLM.finish_reasons
        return [SimpleNamespace(outputs=[
            SimpleNamespace(text=f"r{i}s{j}", token_ids=[1] * (j + 2), finish_reason=reasons[j % len(reasons)])
            for j in range(sampling_params.n)]) for i in range(len(messages))]


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    import vrd.engines.vllm as mod

    fake = SimpleNamespace(LLM=_StandInLLM, SamplingParams=_StandInSamplingParams, EngineArgs=_StandInEngineArgs)
    _StandInLLM.instances = []
    _StandInLLM.finish_reasons = ["stop"]
    monkeypatch.setattr(mod, "_import_vllm", lambda: fake)
    monkeypatch.setattr(mod, "vllm_unavailable_reason", lambda: None)
    monkeypatch.setattr(mod, "visible_gpu_count", lambda: 8)
    monkeypatch.setattr(mod, "gpu_memory_bytes", lambda: 80 * 1024**3)
    return fake


def test_standin_enforces_the_greedy_rule() -> None:
    with pytest.raises(_VLLMValidationError, match="n must be 1 when using greedy sampling"):
        _StandInSamplingParams(n=4, temperature=0.0)


def test_greedy_with_n_asks_once_and_repeats(standin: SimpleNamespace) -> None:
    eng = VLLMEngine("qwen2.5-vl-7b")
    out = eng.generate([GenerationRequest("a"), GenerationRequest("b")], SamplingParams(n=4, temperature=0.0))
    sent = eng.llm.calls[-1][1]
    assert sent.n == 1 and sent.temperature == 0.0
    assert [[c.text for c in cs] for cs in out] == [["r0s0"] * 4, ["r1s0"] * 4]
    assert out[0][1] is not out[0][0]


def test_every_sampling_knob_is_explicit(standin: SimpleNamespace) -> None:
    eng = VLLMEngine("qwen2.5-vl-7b")
    eng.generate([GenerationRequest("a")], SamplingParams(n=3, temperature=0.7, top_p=0.9, top_k=20,
                                                           repetition_penalty=1.05, max_new_tokens=64, seed=5))
    sent = eng.llm.calls[-1][1]
    assert (sent.n, sent.temperature, sent.top_p, sent.top_k, sent.repetition_penalty, sent.max_tokens, sent.seed) == (
        3, 0.7, 0.9, 20, 1.05, 64, 5)
    eng.generate([GenerationRequest("a")], SamplingParams(n=2))  # defaults are sent too, not left to the checkpoint
    sent = eng.llm.calls[-1][1]
    assert (sent.top_k, sent.repetition_penalty, sent.top_p) == (0, 1.0, 1.0)


def test_temperature_above_two_is_refused_before_vllm(standin: SimpleNamespace) -> None:
    from vrd.errors import ConfigError

    eng = VLLMEngine("qwen2.5-vl-7b")
    with pytest.raises(ConfigError, match=r"temperature 2.5: must be in \[0, 2\]"):
        eng.generate([GenerationRequest("a")], SamplingParams(n=2, temperature=2.5))
    assert not eng.llm.calls


def test_abort_is_an_error_not_a_stop(standin: SimpleNamespace) -> None:
    _StandInLLM.finish_reasons = ["stop", "length", "abort"]
    eng = VLLMEngine("qwen2.5-vl-7b")
    out = eng.generate([GenerationRequest("a")], SamplingParams(n=3))
    assert [c.finish_reason for c in out[0]] == ["stop", "length", "error"]


def test_options_reach_the_llm_or_are_refused(standin: SimpleNamespace) -> None:
    eng = VLLMEngine("qwen2.5-vl-7b", enforce_eager=True, max_num_seqs=64, max_images=2)
    kw = eng.llm.kwargs
    assert kw["enforce_eager"] is True and kw["max_num_seqs"] == 64
    assert kw["limit_mm_per_prompt"] == {"image": 2, "video": 0}
    with pytest.raises(UnknownNameError, match="enforce_eagr"):
        VLLMEngine("qwen2.5-vl-7b", enforce_eagr=True)


def test_default_tensor_parallel_is_the_smallest_fitting_divisor(standin: SimpleNamespace) -> None:
    small = VLLMEngine("qwen2.5-vl-7b")  # 17 GB of weights on 8 x 80 GiB: one copy per GPU
    assert small.tensor_parallel_size == 1 and small.describe()["replicas_possible"] == 8
    big = VLLMEngine("qwen2.5-vl-72b")  # 147 GB: 64 and 16 heads -> 4 GPUs, two replicas
    assert big.tensor_parallel_size == 4 and big.describe()["replicas_possible"] == 2
    from vrd.errors import ConfigError

    with pytest.raises(ConfigError, match="does not divide the attention-head counts"):
        VLLMEngine("qwen2.5-vl-72b", tensor_parallel_size=3)


def test_plan_counts_memory_not_gpus() -> None:
    from vrd.engines.vllm import plan_tensor_parallel

    gib = 1024**3
    h200 = 141 * gib
    # 7B on one H200: no warning (the old "usually needs N GPUs" check fired on GPU count alone)
    plan = plan_tensor_parallel([28, 16], 16.6e9, h200, 1)
    assert (plan.tensor_parallel_size, plan.replicas, plan.warning) == (1, 1, None)
    # 32B on 3 GPUs of 80 GiB: 3 divides neither 40 nor 16 -> 2 GPUs hold it
    plan = plan_tensor_parallel([40, 16], 67e9, 80 * gib, 3)
    assert (plan.tensor_parallel_size, plan.replicas, plan.warning) == (2, 1, None)
    # 72B on one H200 does not fit: a warning that speaks of memory
    plan = plan_tensor_parallel([64, 16], 146.8e9, h200, 1)
    assert plan.tensor_parallel_size == 1 and "GiB" in plan.warning
    assert plan_tensor_parallel([64, 16], 146.8e9, h200, 2).tensor_parallel_size == 2
    # 6 GPUs, 28 heads: divisors of 28 and 16 within 6 are 1, 2, 4
    assert plan_tensor_parallel([28, 16], 200e9, 80 * gib, 6).tensor_parallel_size == 4


def test_max_new_tokens_beyond_the_context_is_refused(standin: SimpleNamespace) -> None:
    from vrd.errors import ConfigError

    eng = VLLMEngine("qwen2.5-vl-7b", max_model_len=4096)
    with pytest.raises(ConfigError, match="max_model_len"):
        eng.generate([GenerationRequest("a")], SamplingParams(max_new_tokens=4096))


def test_install_hint_survives_the_cli_printer(capsys: pytest.CaptureFixture[str]) -> None:
    """Rich markup would eat `[vllm]` and print `pip install 'vrd'`."""
    import typer

    from vrd.cli.common import user_errors
    from vrd.errors import EnvironmentNotReadyError

    with pytest.raises(typer.Exit), user_errors():
        raise EnvironmentNotReadyError("vllm is not installed (`pip install 'vrd[vllm]'`, needs a CUDA GPU)")
    assert "pip install 'vrd[vllm]'" in capsys.readouterr().err


def test_ray_actors_get_the_planned_tensor_parallel_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    import vrd.engines.vllm as mod
    from vrd.distill.config import DistillConfig
    from vrd.distill.ray_executor import _with_planned_tensor_parallel

    monkeypatch.setattr(mod, "gpu_memory_bytes", lambda: 80 * 1024**3)
    big = DistillConfig(teacher="qwen2.5-vl-72b", data="d", out="o", backend="vllm")
    assert _with_planned_tensor_parallel(big, 8).engine_options["tensor_parallel_size"] == 4
    small = DistillConfig(teacher="qwen2.5-vl-7b", data="d", out="o", backend="vllm", engine_options={"x": 1})
    assert _with_planned_tensor_parallel(small, 8).engine_options == {"x": 1, "tensor_parallel_size": 1}
    hf = DistillConfig(teacher="qwen2.5-vl-72b", data="d", out="o", backend="hf")
    assert _with_planned_tensor_parallel(hf, 8) is hf

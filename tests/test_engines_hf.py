"""The transformers engine on the tiny local Qwen2.5-VL: counts, order, finish reasons, seeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from vrd.engines import HFEngine, get_engine
from vrd.engines.base import GenerationRequest, SamplingParams

MAX_NEW = 12


def _image(w: int, h: int, color: tuple[int, int, int]) -> Image.Image:
    img = Image.new("RGB", (w, h), (255, 255, 255))
    ImageDraw.Draw(img).polygon([(2, h - 2), (w - 2, h - 2), (w // 2, 2)], outline=color, width=3)
    return img


def _requests() -> list[GenerationRequest]:
    """Different prompt lengths, 0-2 images, given in an order that length-sorting changes."""
    return [
        GenerationRequest("hi"),
        GenerationRequest("<image> In the triangle shown, find the angle x in degrees.", [_image(90, 70, (255, 0, 0))]),
        GenerationRequest(
            "Lines <image> and <image> are parallel; the transversal makes an angle of 40 degrees. " * 3,
            [_image(120, 80, (0, 0, 255)), _image(40, 40, (0, 128, 0))],
        ),
        GenerationRequest("What is the area of a rectangle of width 3 and length 5?", system="Think step by step."),
    ]


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path) -> HFEngine:
    return HFEngine(str(tiny_model_dir), batch_size=3)


@pytest.fixture(scope="module")
def eos_engine(tiny_model_dir: Path) -> HFEngine:
    """The tiny model with eos made to win wherever its most common greedy token would: some rows stop early."""
    import torch

    eng = HFEngine(str(tiny_model_dir), batch_size=3)
    model, eos = eng.hf_model, eng.tokenizer.convert_tokens_to_ids("<|im_end|>")
    counts: dict[int, int] = {}
    for r in _requests():
        inputs = eng.prepare_inputs([eng.render(r)], [r])
        with torch.no_grad():
            out = model.generate(**inputs, do_sample=False, max_new_tokens=MAX_NEW)
        for t in out[0, inputs["input_ids"].shape[1]:].tolist():
            counts[t] = counts.get(t, 0) + 1
    common = max(counts, key=lambda t: counts[t])
    with torch.no_grad():
        head = model.get_output_embeddings().weight
        head[eos] = head[common] * 1.05
    return eng


def _raw_single(eng: HFEngine, request: GenerationRequest) -> list[int]:
    """Reference: plain `generate` on one unpadded prompt; it stops right after eos."""
    import torch

    inputs = eng.prepare_inputs([eng.render(request)], [request])
    with torch.no_grad():
        out = eng.hf_model.generate(
            **inputs, do_sample=False, max_new_tokens=MAX_NEW, eos_token_id=sorted(eng.eos_ids),
            pad_token_id=eng.pad_id,
        )
    return out[0, inputs["input_ids"].shape[1]:].tolist()


def test_get_engine_builds_hf(tiny_model_dir: Path) -> None:
    eng = get_engine("hf", str(tiny_model_dir), batch_size=2)
    assert isinstance(eng, HFEngine)
    assert eng.tokenizer.padding_side == "left"
    desc = eng.describe()
    assert desc["engine"] == "hf" and desc["dtype"] == "float32" and desc["device"] == "cpu"


def test_n_completions_per_request(engine: HFEngine) -> None:
    reqs = _requests()
    out = engine.generate(reqs, SamplingParams(n=3, temperature=1.0, max_new_tokens=MAX_NEW, seed=0))
    assert len(out) == len(reqs)
    for comps in out:
        assert len(comps) == 3
        for c in comps:
            assert 1 <= c.n_tokens <= MAX_NEW
            assert c.finish_reason in ("stop", "length")
            if c.finish_reason == "length":
                assert c.n_tokens == MAX_NEW


def test_batched_order_and_counts_match_single_unpadded_runs(eos_engine: HFEngine) -> None:
    """Batched + length-sorted + left-padded greedy output equals each prompt run alone."""
    reqs = _requests()
    batched = eos_engine.generate(reqs, SamplingParams(n=2, temperature=0.0, max_new_tokens=MAX_NEW))
    reasons = set()
    for req, comps in zip(reqs, batched, strict=True):
        ref = _raw_single(eos_engine, req)
        stopped = ref[-1] in eos_engine.eos_ids
        body = ref[:-1] if stopped else ref
        want_text = eos_engine.tokenizer.decode(body, skip_special_tokens=True)
        for c in comps:
            assert c.text == want_text
            assert c.n_tokens == len(ref)
            assert c.finish_reason == ("stop" if stopped else "length")
            reasons.add(c.finish_reason)
    assert reasons == {"stop", "length"}, "fixture should give both early stops and budget-limited rows"


def test_token_counts_cut_at_first_eos(engine: HFEngine) -> None:
    eos = engine.tokenizer.convert_tokens_to_ids("<|im_end|>")
    c = engine._completion([eos, engine.pad_id], 8)
    assert (c.text, c.n_tokens, c.finish_reason) == ("", 1, "stop")
    c = engine._completion([5, 6, eos, engine.pad_id, engine.pad_id], 8)
    assert (c.n_tokens, c.finish_reason) == (3, "stop")
    assert c.text == engine.tokenizer.decode([5, 6])
    c = engine._completion([5, 6, 7, 8], 4)
    assert (c.n_tokens, c.finish_reason) == (4, "length")


def test_seeded_sampling_reproducible(engine: HFEngine) -> None:
    reqs = _requests()
    params = SamplingParams(n=2, temperature=1.0, max_new_tokens=MAX_NEW, seed=123)
    a = engine.generate(reqs, params)
    b = engine.generate(reqs, params)
    c = engine.generate(reqs, SamplingParams(n=2, temperature=1.0, max_new_tokens=MAX_NEW, seed=124))
    texts = lambda out: [[x.text for x in comps] for comps in out]  # noqa: E731
    assert texts(a) == texts(b)
    assert texts(a) != texts(c)
    # Samples within a request differ (sampling is on), unlike greedy.
    assert any(len({x.text for x in comps}) > 1 for comps in a)


def test_greedy_deterministic(engine: HFEngine) -> None:
    reqs = _requests()
    params = SamplingParams(n=2, temperature=0.0, max_new_tokens=MAX_NEW)
    a = engine.generate(reqs, params)
    b = engine.generate(list(reversed(reqs)), params)[::-1]
    for x, y in zip(a, b, strict=True):
        assert [c.text for c in x] == [c.text for c in y]
        assert x[0].text == x[1].text


def test_max_pixels_option_resizes_images(tiny_model_dir: Path) -> None:
    small = HFEngine(str(tiny_model_dir), max_pixels=56 * 56, min_pixels=28 * 28)
    big = HFEngine(str(tiny_model_dir))
    req = GenerationRequest("<image> x?", [_image(112, 112, (255, 0, 0))])
    n_small = int(small.prepare_inputs([small.render(req)], [req])["image_grid_thw"].prod())
    n_big = int(big.prepare_inputs([big.render(req)], [req])["image_grid_thw"].prod())
    assert small.describe()["max_pixels"] == 56 * 56
    assert n_small * 4 == n_big  # half the side, a quarter of the patches


def test_checkpoint_generation_config_cannot_change_the_distribution(engine: HFEngine) -> None:
    """Qwen ships repetition_penalty 1.05 and some checkpoints top_k 1; the request's values win."""
    saved = engine.hf_model.generation_config
    try:
        cfg = saved.__class__.from_dict({**saved.to_dict(), "repetition_penalty": 1.05, "top_k": 1, "min_p": 0.1})
        engine.hf_model.generation_config = cfg
        sampled = engine.generation_kwargs(SamplingParams(n=2, temperature=0.8, top_p=0.9))["generation_config"]
        assert (sampled.repetition_penalty, sampled.top_k, sampled.min_p, sampled.temperature, sampled.top_p) == (
            1.0, 0, None, 0.8, 0.9)
        chosen = engine.generation_kwargs(SamplingParams(n=2, top_k=20, repetition_penalty=1.1))["generation_config"]
        assert (chosen.top_k, chosen.repetition_penalty) == (20, 1.1)
    finally:
        engine.hf_model.generation_config = saved


def test_temperature_above_two_is_refused(engine: HFEngine) -> None:
    from vrd.errors import ConfigError

    with pytest.raises(ConfigError, match="temperature 3"):
        engine.generate([GenerationRequest("hi")], SamplingParams(n=1, temperature=3.0))


def test_model_options_are_honoured_or_refused(tiny_model_dir: Path) -> None:
    from vrd.errors import UnknownNameError

    eng = HFEngine(str(tiny_model_dir), device_map="cpu", attn_implementation="eager")
    assert eng.describe()["attn_implementation"] == "eager" and eng.describe()["device_map"] == "cpu"
    assert eng.hf_model.device.type == "cpu"
    with pytest.raises(UnknownNameError, match="attn_impl"):
        HFEngine(str(tiny_model_dir), attn_impl="sdpa")


def test_oom_halves_the_batch_outside_the_except_block(engine: HFEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The retry must not run while the failed batch's exception (and its frames' tensors) is alive."""
    import sys

    import torch

    seen: list[tuple[int, bool]] = []

    def fake_batch(texts: list[str], requests: list[GenerationRequest], params: SamplingParams) -> list:
        seen.append((len(requests), sys.exc_info()[0] is not None))
        if len(requests) > 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return [[]]

    monkeypatch.setattr(engine, "_generate_batch", fake_batch)
    out = engine._generate_split_on_oom(["a", "b", "c"], [GenerationRequest(x) for x in "abc"], SamplingParams())
    assert len(out) == 3
    assert [n for n, _ in seen] == [3, 1, 2, 1, 1]
    assert not any(inside for _, inside in seen), seen


def test_a_prompt_that_fills_the_context_is_refused_alone(engine: HFEngine) -> None:
    # the tiny model's context is 4096 tokens; a refusal costs only its problem (vrd/engines/failures.py)
    from vrd.engines.failures import RequestRefused, generate_each, is_refusal

    assert engine.context_length == 4096
    long = GenerationRequest("seven " * 5000)
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=4)
    with pytest.raises(RequestRefused, match=r"prompt of \d+ tokens .* context of 4096 tokens"):
        engine.generate([long], params)
    short = GenerationRequest("hi")
    out = generate_each(engine, [long, short, GenerationRequest("eight " * 5000)], params, command="eval", first=True)
    assert is_refusal(out[0]) and is_refusal(out[2])  # two refusals first in a run: set aside, no stop
    assert len(out[1]) == 1 and out[1][0].finish_reason in ("stop", "length")

"""score_nll against a plain full-sequence computation on the tiny Qwen2.5-VL."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir).eval()
    return model, AutoProcessor.from_pretrained(tiny_model_dir)


def _rows() -> list[dict]:
    from PIL import Image

    from vrd.schema import image_to_bytes

    rows = []
    for i in range(7):
        images = [image_to_bytes(Image.new("RGB", (56 + 8 * i, 70), (30 * i, 90, 10)))] if i % 3 else []
        prompt = ("Find the angle <image> in the figure." if images else "What is 2 + 2?") + " again" * i
        rows.append({"prompt": prompt, "images": images, "finish_reason": "stop" if i != 4 else "length",
                     "response": "<think> the angle is " + "so " * (5 * (6 - i)) + "</think> \\boxed{3} é"})
    return rows


def _reference(model, processor, row: dict, end: str) -> tuple[float, int]:
    """Joint string through the processor, full logits, sum over positions after the prompt."""
    from vrd.analysis.likelihood import render_prompt_text
    from vrd.schema import load_image

    images = [load_image(v) for v in row["images"]]
    prompt = render_prompt_text(processor, row["prompt"], images)
    kwargs = {"images": images} if images else {}
    full = processor(text=[prompt + row["response"] + end], return_tensors="pt", **kwargs)
    n_prompt = processor(text=[prompt], return_tensors="pt", **kwargs)["input_ids"].shape[1]
    with torch.no_grad():
        logits = model(**full).logits[0].float()
    ids = full["input_ids"][0]
    logp = torch.log_softmax(logits[:-1], dim=-1)
    picked = logp[torch.arange(n_prompt - 1, len(ids) - 1), ids[n_prompt:]]
    return -picked.sum().item(), len(ids) - n_prompt


def test_matches_full_sequence_reference(tiny) -> None:
    from vrd.analysis.likelihood import score_nll

    model, processor = tiny
    rows = _rows()
    got = score_nll(tiny, rows, batch_size=3)
    assert len(got) == len(rows)
    for row, res in zip(rows, got, strict=True):
        end = "" if row["finish_reason"] == "length" else "<|im_end|>"
        ref_nll, ref_tokens = _reference(model, processor, row, end)
        assert res["n_tokens"] == ref_tokens  # only response (+ end-of-turn) tokens count
        assert res["nll_sum"] == pytest.approx(ref_nll, rel=1e-4)
        assert res["n_bytes"] == len(row["response"].encode("utf-8"))  # é is 2 bytes
        assert res["nll_per_byte"] == pytest.approx(res["nll_sum"] / res["n_bytes"])
        assert res["nll_per_token"] == pytest.approx(res["nll_sum"] / res["n_tokens"])


def test_order_and_batching_do_not_change_scores(tiny) -> None:
    from vrd.analysis.likelihood import score_nll

    rows = _rows()
    sorted_b3 = score_nll(tiny, rows, batch_size=3, sort_by_length=True)
    unsorted_b1 = score_nll(tiny, rows, batch_size=1, sort_by_length=False)
    reversed_b4 = score_nll(tiny, rows[::-1], batch_size=4)[::-1]
    for a, b, c in zip(sorted_b3, unsorted_b1, reversed_b4, strict=True):
        assert a["nll_sum"] == pytest.approx(b["nll_sum"], rel=1e-4)
        assert a["nll_sum"] == pytest.approx(c["nll_sum"], rel=1e-4)
    assert len(score_nll(tiny, rows, max_samples=2)) == 2


def test_bad_row_is_set_aside_with_a_reason(tiny) -> None:
    from vrd.analysis.likelihood import score_nll

    rows = _rows()
    rows[1] = {**rows[1], "images": [{"bytes": b"not an image", "path": None}]}
    got = score_nll(tiny, rows, batch_size=4)
    assert "error" in got[1] and math.isnan(got[1]["nll_sum"])
    assert all(math.isfinite(r["nll_sum"]) for i, r in enumerate(got) if i != 1)


def test_loads_from_a_path(tiny_model_dir: Path) -> None:
    from vrd.analysis.likelihood import score_nll

    got = score_nll(str(tiny_model_dir), _rows()[:2], device="cpu")
    assert [set(r) for r in got] == [{"nll_sum", "n_tokens", "n_bytes", "nll_per_token", "nll_per_byte"}] * 2

"""Small datasets for the trainer tests, written with vrd.schema in the curate layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from vrd.schema import write_dataset


def figure(i: int, size: tuple[int, int] = (56, 56)) -> Image.Image:
    im = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(im)
    draw.line((0, 0, size[0] - 1, (i * 7) % size[1]), fill=(0, 0, 0), width=3)
    draw.ellipse((5 + i % 9, 5, 25 + i % 9, 25), outline=(200, 0, 0))
    return im


def problem(i: int, size: tuple[int, int] = (56, 56)) -> dict[str, Any]:
    return {
        "id": f"tri/train/{i}", "source": "tri", "split": "train", "images": [figure(i, size)],
        "question": f"<image> Two angles of the triangle are {30 + i} and 60 degrees. Find the third angle.",
        "choices": [], "answer": str(90 - i), "answer_type": "number", "meta": "{}",
    }


def response(i: int, size: tuple[int, int] = (56, 56)) -> dict[str, Any]:
    row = problem(i, size)
    row.update(
        model="teacher", round=0, sample=0, prompt=row["question"] + " Think step by step.",
        response=f"<think> 180 - {30 + i} - 60 = {90 - i} </think> \\boxed{{{90 - i}}}", pred=str(90 - i),
        correct=True, format_ok=True, n_tokens=12, finish_reason="stop", n_samples=1, n_correct=1,
        pass_rate=1.0, n_samples_r1=1, n_correct_r1=1, pass_rate_r1=1.0,
    )
    return row


def curate_output(out: Path, *, n_sft: int = 8, n_rl: int = 8, n_val: int = 4, repeat_sft: bool = False) -> Path:
    """A `vrd curate`-shaped folder: sft (responses), rl (problems, mixed image sizes), val (problems)."""
    sft_rows = [response(0 if repeat_sft else i) for i in range(n_sft)]
    write_dataset(sft_rows, out / "sft", kind="responses")
    write_dataset([problem(i, (56 + 28 * (i % 2), 56)) for i in range(n_rl)], out / "rl", kind="problems")
    write_dataset([problem(100 + i) for i in range(n_val)], out / "val", kind="problems")
    return out

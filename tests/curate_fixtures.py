"""Fixture data for the curate and export tests (no tests here).

A small response dataset with planted cases whose fate is known exactly:

- EXACT: p01's question re-cased and re-spaced over the same image bytes        -> exact dup of p01
- NEAR:  p02's long question with its last word changed, same image bytes        -> near dup of p02
- SAME_TEXT_OTHER_FIGURE: p03's question over a different image                  -> kept (not a dup)
- REWORDED: p04's figure re-encoded as JPEG, new wording, same answer            -> image dup of p04
- SAME_FIGURE_OTHER_QUESTION: p05's figure, different question and answer       -> kept
- p06's question is planted in the benchmark (n-gram hit); p07's figure is planted
  in the benchmark under an unrelated question (image hit)
- UNSOLVED: every response wrong                                                  -> dropped by correctness
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from vrd.schema import write_dataset


def figure(seed: int, size: int = 64) -> Image.Image:
    """A distinct blocky 'diagram' per seed (random 8x8 grid upscaled), so phashes differ widely."""
    rng = np.random.default_rng(seed)
    grid = (rng.random((8, 8)) > 0.5).astype(np.uint8) * 255
    img = Image.fromarray(grid, mode="L").resize((size, size), Image.NEAREST).convert("RGB")
    return img


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.resize((72, 72)).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


LONG = ("In the figure, triangle ABC has a right angle at C, the length of side AC is 6 units and "
        "the length of side BC is 8 units. Point D is the midpoint of AB. What is the length of CD")

QUESTIONS = {
    "p00": "<image>Find the area of the shaded sector if the radius is 5 and the angle is 72 degrees.",
    "p01": "<image>What is the measure of angle ABC in the parallelogram shown?",
    "p02": "<image>" + LONG + " in units?",
    "p03": "<image>Find x so that the two lines in the diagram are parallel.",
    "p04": "<image>Find the perimeter of the quadrilateral shown in the figure.",
    "p05": "<image>What is the value of y in the figure?",
    "p06": "<image>A circle has center O and chord PQ of length 10; the distance from O to PQ is 12. Find the radius.",
    "p07": "<image>How many edges does the solid in the picture have?",
    "p08": "A train travels 120 km in 2 hours and then 90 km in 1.5 hours. What is its average speed?",
    "p09": "If 3x + 7 = 22, what is x?",
    "p10": "<image>Which of the labelled angles is the largest?",
    "p11": "<image>Compute the volume of the cylinder with the dimensions given.",
}
ANSWERS = {"p00": "5\\pi", "p01": "110", "p02": "5", "p03": "12", "p04": "34", "p05": "7", "p06": "13",
           "p07": "12", "p08": "60", "p09": "5", "p10": "B", "p11": "90\\pi"}
SOURCES = {k: ("srcA" if i % 2 == 0 else "srcB") for i, k in enumerate(QUESTIONS)}

EXACT = "srcB/train/p91"
NEAR = "srcA/train/p92"
SAME_TEXT_OTHER_FIGURE = "srcB/train/p93"
REWORDED = "srcA/train/p94"
SAME_FIGURE_OTHER_QUESTION = "srcB/train/p95"
UNSOLVED = "srcA/train/p96"
NGRAM_HIT = "srcA/train/p06"
IMAGE_HIT = "srcB/train/p07"


def pid(key: str) -> str:
    return f"{SOURCES[key]}/train/{key}"


def _problem(pid_: str, source: str, question: str, answer: str, images: list[bytes]) -> dict:
    return {"id": pid_, "source": source, "split": "train", "images": [{"bytes": b, "path": None} for b in images],
            "question": question, "choices": [], "answer": answer, "answer_type": "number", "meta": "{}"}


def problems() -> list[dict]:
    """The problem rows, planted cases included."""
    figs = {k: figure(i) for i, k in enumerate(QUESTIONS)}
    out = []
    for k, q in QUESTIONS.items():
        imgs = [png(figs[k])] if "<image>" in q else []
        out.append(_problem(pid(k), SOURCES[k], q, ANSWERS[k], imgs))
    out.append(_problem(EXACT, "srcB", "<image>what is the   MEASURE of angle ABC in the parallelogram shown",
                        ANSWERS["p01"], [png(figs["p01"])]))
    out.append(_problem(NEAR, "srcA", "<image>" + LONG + " in centimetres?", ANSWERS["p02"], [png(figs["p02"])]))
    out.append(_problem(SAME_TEXT_OTHER_FIGURE, "srcB", QUESTIONS["p03"], "3", [png(figure(103))]))
    out.append(_problem(REWORDED, "srcA", "<image>What is the total length around the four-sided shape?",
                        ANSWERS["p04"], [jpeg(figs["p04"])]))
    out.append(_problem(SAME_FIGURE_OTHER_QUESTION, "srcB", "<image>What is the value of z in the figure?", "40",
                        [png(figs["p05"])]))
    out.append(_problem(UNSOLVED, "srcA", "<image>Find the length of the arc AB.", "4", [png(figure(96))]))
    return out


def responses(k: int = 3) -> list[dict]:
    """k responses per problem; response j has n_tokens 100*(j+1)+len(id) and alternates correctness.

    Problem i gets (i % k) + 1 correct responses (UNSOLVED gets none); sample 0 fails the format
    check for every third problem.
    """
    rows = []
    for i, p in enumerate(problems()):
        n_correct = 0 if p["id"] == UNSOLVED else (i % k) + 1
        for j in range(k):
            correct = j < n_correct
            rows.append({
                **p, "model": "teacher", "round": 1, "sample": j,
                "prompt": p["question"] + "\nAnswer in \\boxed{}.",
                "response": f"<think>step {j} for {p['id']}</think> \\boxed{{{p['answer'] if correct else 'wrong'}}}",
                "pred": p["answer"] if correct else "wrong", "correct": correct,
                "format_ok": not (j == 0 and i % 3 == 0), "n_tokens": 100 * (k - j) + i, "finish_reason": "stop",
                "n_samples": k, "n_correct": n_correct, "pass_rate": n_correct / k,
                "n_samples_r1": k, "n_correct_r1": n_correct, "pass_rate_r1": n_correct / k,
            })
    return rows


def all_ids() -> set[str]:
    return {p["id"] for p in problems()}


def write_responses(out: Path, k: int = 3, shard_rows: int = 10) -> Path:
    """Several shards, so row bookkeeping across shards is exercised."""
    return write_dataset(responses(k), out, kind="responses", shard_rows=shard_rows)


def write_benchmark(out: Path) -> Path:
    """A prepared 'benchmark' problems dir: p06's question (reworded prefix) and p07's figure planted."""
    figs = {k: figure(i) for i, k in enumerate(QUESTIONS)}
    rows = [
        _problem("bench/test/1", "bench", "<image>Look at the picture. A circle has center O and chord PQ of "
                 "length 10; the distance from O to PQ is 12. Find the radius.", "13", [png(figure(500))]),
        _problem("bench/test/2", "bench", "<image>What color is the largest region?", "red", [jpeg(figs["p07"])]),
        _problem("bench/test/3", "bench", "<image>Find x.", "4", [png(figure(501))]),
        _problem("bench/test/4", "bench", "What is 2 + 2?", "4", []),
    ]
    return write_dataset(rows, out, kind="problems")

"""Eval scoring overhead: the full scoring path (grade, write Parquet shards, recompute results from disk)
against `verify_batch` alone on the same canned responses, measured in one run.

The ratio says what eval's bookkeeping (response rows, atomic shards, per-slice results) costs on top of
grading itself; generation is left out (a scripted engine), since it depends only on the model.

    python bench/eval.py --n 20000
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace


def problems_and_responses(n: int, seed: int = 0) -> tuple[list[dict], list[list[SimpleNamespace]]]:
    """Letters, numbers and LaTeX answers, each answered right or wrong in the common written forms."""
    import json

    rng = random.Random(seed)
    problems, outputs = [], []
    for i in range(n):
        kind = i % 3
        if kind == 0:
            choices = ["12", "15", "18", "21"]
            gold, answer_type = rng.choice("ABCD"), "choice"
            said = rng.choice([gold, "A", f"({gold})", f"**{gold}**"])
        elif kind == 1:
            choices, gold, answer_type = [], str(rng.randint(1, 500)), "number"
            said = rng.choice([gold, f"{gold}.0", str(int(gold) + 1), f"{gold}^\\circ"])
        else:
            choices, answer_type = [], "expression"
            a, b = rng.randint(1, 9), rng.randint(2, 9)
            gold = f"\\frac{{{a}}}{{{b}}}"
            said = rng.choice([gold, f"{a}/{b}", f"\\frac{{{a * 2}}}{{{b * 2}}}", f"\\sqrt{{{a}}}"])
        problems.append({"id": f"bench/test/{i}", "source": "bench", "split": "test", "images": [],
                         "question": f"Question {i}?", "choices": choices, "answer": gold,
                         "answer_type": answer_type, "meta": json.dumps({"subset": f"kind{kind}",
                                                                         "difficulty": i % 5})})
        text = f"<think>step {i} ...</think>\n\\boxed{{{said}}}"
        outputs.append([SimpleNamespace(text=text, n_tokens=len(text) // 4, finish_reason="stop")])
    return problems, outputs


def items_for(problems: list[dict], outputs: list[list[SimpleNamespace]]) -> list[dict]:
    return [{"response": o[0].text, "answer": p["answer"], "choices": p["choices"], "answer_type": p["answer_type"]}
            for p, o in zip(problems, outputs, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="canned responses")
    parser.add_argument("--batch", type=int, default=512, help="problems per shard")
    args = parser.parse_args()

    from vrd.eval.results import read_responses, summarize
    from vrd.eval.runner import grade_batch
    from vrd.schema import write_shard
    from vrd.verify import verify_batch

    problems, outputs = problems_and_responses(args.n)
    from vrd.verify.pool import prewarm

    prewarm()  # start the math-verify workers before either side is timed
    verify_batch(items_for(problems[:30], outputs[:30]))

    t0 = time.perf_counter()
    base = verify_batch(items_for(problems, outputs))
    t_base = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "responses" / "bench"
        t0 = time.perf_counter()
        n_correct = 0
        for k, start in enumerate(range(0, args.n, args.batch)):
            rows = grade_batch(problems[start:start + args.batch], outputs[start:start + args.batch],
                               model="bench", template="math")
            n_correct += sum(r["correct"] for r in rows)
            write_shard(rows, folder / f"part-{k:05d}.parquet", "responses")
        summary = summarize(read_responses(folder))
        t_eval = time.perf_counter() - t0

    assert n_correct == sum(r.correct for r in base), "eval and verify_batch disagree"
    print(f"responses: {args.n}  accuracy: {summary['accuracy']:.3f}  subsets: {len(summary['subsets'])}")
    print(f"verify_batch alone (baseline): {args.n / t_base:,.0f} responses/s ({t_base:.2f} s)")
    print(f"eval scoring path (grade + shards + results): {args.n / t_eval:,.0f} responses/s ({t_eval:.2f} s)")
    print(f"eval / baseline time ratio: {t_eval / t_base:.2f}x  (throughput ratio {t_base / t_eval:.2f})")


if __name__ == "__main__":
    main()

"""Benchmark: the cost of vrd's bounded template sandbox on the built-in prompt templates.

    python bench/templates.py [--n 20000] [--repeat 5]

Prompts are rendered once per problem (distill, eval, export, the RL dataset), so the work
budget, size checks and metered loops must stay cheap on ordinary templates. Every built-in
template renders the same problems (half with lettered options, half without) through
`vrd.prompts.render_prompt` and through Jinja's own `ImmutableSandboxedEnvironment` (unbounded:
the baseline) in the same run; the outputs must match, and the figure is the ratio of the two
rates (best of --repeat).
"""

from __future__ import annotations

import argparse
import random
import time

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from vrd.contract import LETTERS
from vrd.prompts import TEMPLATES, render_prompt


def problems(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    words = "triangle angle side length area circle radius chord tangent parallel find the value of x".split()
    out = []
    for i in range(n):
        question = "<image>" + " ".join(rng.choice(words) for _ in range(rng.randint(10, 80))) + "?"
        choices = [f"{rng.randint(1, 99)}" for _ in range(4)] if i % 2 else []
        out.append({"question": question, "choices": choices, "answer_type": "choice" if choices else "number"})
    return out


def reference(env: jinja2.Environment, source: str):
    template = env.from_string(source)

    def render(problem: dict) -> str:
        choices = list(problem.get("choices") or [])
        return template.render(question=str(problem["question"]).strip(), choices=choices,
                               lettered=[(LETTERS[i], c) for i, c in enumerate(choices)],
                               answer_type=problem.get("answer_type", "text"), source=problem.get("source", "")).strip()

    return render


def best_rates(fns: list, rows: list[dict], repeat: int) -> list[float]:
    """Best rate of each function, the functions taking turns so that load from other processes
    falls on both alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            for row in rows:
                fn(row)
            best[i] = min(best[i], time.perf_counter() - start)
    return [len(rows) / b for b in best]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rows = problems(args.n)
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, autoescape=False,
                                        undefined=jinja2.StrictUndefined)
    total_vrd = total_ref = 0.0
    for name, spec in TEMPLATES.items():
        ref = reference(env, spec.source)
        assert all(render_prompt(r, name) == ref(r) for r in rows[:200]), f"{name}: outputs differ"
        vrd_rate, ref_rate = best_rates([lambda r, name=name: render_prompt(r, name), ref], rows, args.repeat)
        total_vrd += len(rows) / vrd_rate
        total_ref += len(rows) / ref_rate
        print(f"{name:12s} vrd {1e6 / vrd_rate:6.1f} us/prompt   jinja sandbox {1e6 / ref_rate:6.1f} us/prompt   "
              f"cost {ref_rate / vrd_rate:.2f}x")
    print(f"all templates: vrd / plain jinja sandbox time = {total_vrd / total_ref:.2f}x")


if __name__ == "__main__":
    main()

"""Cost of the demo's last stage (two-stage, mix, merge, compare by level and length) against the
stages it builds on (SFT, GRPO, eval of base / SFT / RL), at the demo's default sizes, in one run.

The demo must stay under 10 minutes on 2 cores with a warm cache; the ratio printed here says how
much the synergy stage adds to the training-and-eval part of the demo. The base model is a fresh
tiny Qwen2.5-VL of the demo teacher's size (no teacher training), the SFT split is the synth gold
solutions, so the figure measures the commands, not the model's quality.

    python bench/demo_synergy.py [--problems 96 --heldout 40]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=96)
    ap.add_argument("--heldout", type=int, default=40)
    args = ap.parse_args()

    import datasets
    from rich.console import Console

    from vrd.demo.flow import Demo, DemoConfig, run_cli
    from vrd.demo.teacher import TeacherConfig, gold_response_rows
    from vrd.models.loading import load_processor
    from vrd.models.tiny import build_tiny_model
    from vrd.schema import read_rows, write_dataset

    datasets.disable_progress_bars()
    c = DemoConfig(n_problems=args.problems, n_heldout=args.heldout)
    t = TeacherConfig()
    with tempfile.TemporaryDirectory() as tmp:
        o = Path(tmp)
        base = build_tiny_model(o / "base", seed=0, hidden_size=t.hidden_size, num_layers=t.num_layers)
        fam = ["--families", t.families, "--tiers", t.tiers]
        run_cli(["data", "synth", "--n", str(c.n_problems), "--seed", "0", "--out", str(o / "synth"), *fam])
        run_cli(["data", "synth", "--n", str(c.n_heldout), "--seed", "1", "--split", "heldout",
                 "--out", str(o / "heldout"), *fam])
        problems = read_rows(o / "synth")
        gold = gold_response_rows(problems, "math", "gold", load_processor(base).tokenizer)
        half = len(problems) // 2
        write_dataset(gold[:half], o / "curated" / "sft", kind="responses")
        write_dataset(problems[half:], o / "curated" / "rl", kind="problems")
        demo = Demo(o / "demo", c, console=Console(quiet=True))
        sft, rl, evals = o / "demo" / "train" / "sft", o / "demo" / "train" / "rl", o / "demo" / "eval"
        g = str(c.rl_generations)

        started = time.perf_counter()
        run_cli(["train", "sft", "--model", str(base), "--data", str(o / "curated"), "--out", str(sft),
                 "--max-steps", str(c.sft_steps), "--batch-size", "4", "--global-batch-size", "4", "--lr", "1e-4"])
        run_cli(["train", "rl", "--model", str(base), "--data", str(o / "curated"), "--out", str(rl),
                 "--max-steps", str(c.rl_steps), "--num-generations", g, "--batch-size", g,
                 "--global-batch-size", str(2 * c.rl_generations), "--max-new-tokens", "64", "--lr", "1e-5"])
        for name, model in (("base", str(base)), ("sft", str(sft)), ("rl", str(rl))):
            run_cli(["eval", "--model", model, "--benchmarks", str(o / "heldout"), "--out", str(evals / name),
                     "--backend", "hf", "--max-new-tokens", str(c.max_new_tokens)])
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        demo.synergy(str(base), o / "curated", o / "heldout", sft, rl)
        synergy = time.perf_counter() - started

    print(json.dumps({"baseline_sft_grpo_eval_s": round(baseline, 1), "synergy_stage_s": round(synergy, 1),
                      "synergy_over_baseline": round(synergy / baseline, 2)}, indent=2))


if __name__ == "__main__":
    main()

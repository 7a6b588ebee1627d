"""A real tiny teacher for the demo, trained with `vrd train sft` on the synth gold solutions.

A randomly initialised tiny model accepts almost nothing, which would leave curate and
training empty. So the demo trains one on the synth set's gold `<think>…</think> \\boxed{}`
solutions with the project's own SFT trainer, and measures how many held-out problems it then
solves. The student "base model" is the same network after fewer steps: a weaker sibling from
the same family, which is the setting where SFT on teacher data is expected to help.

Both checkpoints are cached under the user's cache dir, keyed by the code and config that made
them, so the second demo run skips training.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from vrd.demo.cache import cache_key, cache_root
from vrd.demo.config import TeacherConfig

# Code whose change must retrain the teacher.
TEACHER_CODE = (
    "vrd.models.tiny",
    "vrd.sources.synth",
    "vrd.sources.synth_draw",
    "vrd.distill.templates",
    "vrd.trainers",
    "vrd.demo.teacher",
)


@dataclass
class TeacherArtifacts:
    base: Path
    teacher: Path
    cached: bool
    info: dict[str, Any]


def gold_response_rows(problems: Sequence[dict[str, Any]], template: str, model: str,
                       tokenizer: Any) -> list[dict[str, Any]]:
    """Problem rows -> response rows whose response is the gold solution (what SFT trains on)."""
    from vrd.distill.templates import render_prompt, template_format
    from vrd.verify import verify_batch

    solutions = [json.loads(p["meta"])["solution"] for p in problems]
    results = verify_batch([{"response": s, "answer": p["answer"], "choices": p["choices"],
                             "answer_type": p["answer_type"], "template": template_format(template)}
                            for s, p in zip(solutions, problems, strict=True)])
    rows = []
    for p, solution, result in zip(problems, solutions, results, strict=True):
        if not result.correct:  # a gold solution the grader rejects is a synth bug; keep it out
            continue
        rows.append({
            **p,
            "model": model,
            "round": 0,
            "sample": 0,
            "prompt": render_prompt(p, template),
            "response": solution,
            "pred": result.pred,
            "correct": True,
            "format_ok": result.format_ok,
            "n_tokens": len(tokenizer(solution)["input_ids"]),
            "finish_reason": "stop",
            "n_samples": 1,
            "n_correct": 1,
            "pass_rate": 1.0,
            "n_samples_r1": 1,
            "n_correct_r1": 1,
            "pass_rate_r1": 1.0,
        })
    return rows


def prepare_teacher(
    run_cli: Callable[[list[str]], None],
    work_dir: Path,
    config: TeacherConfig = TeacherConfig(),
    *,
    log: Callable[[str], None] = print,
) -> TeacherArtifacts:
    """Return the cached base/teacher checkpoints, training them first if the cache has none."""
    from vrd.models.loading import load_processor
    from vrd.models.tiny import build_tiny_model
    from vrd.schema import read_rows, write_dataset

    key = cache_key(asdict(config), TEACHER_CODE)
    home = cache_root() / "demo-teacher" / key
    done = home / "info.json"
    if done.exists():
        info = json.loads(done.read_text())
        log(f"reusing cached tiny teacher {home} (key {key})")
        return TeacherArtifacts(home / "base", home / "teacher", True, info)

    started = time.time()
    tmp = home.with_name(home.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    init = build_tiny_model(tmp / "init", seed=config.seed, hidden_size=config.hidden_size,
                            num_layers=config.num_layers)
    synth_dir = work_dir / "teacher-synth"
    run_cli(["data", "synth", "--n", str(config.n_train), "--seed", str(config.synth_seed), "--out", str(synth_dir),
             "--families", config.families, "--tiers", config.tiers])
    tokenizer = load_processor(init).tokenizer
    rows = gold_response_rows(read_rows(synth_dir), config.template, "synth-gold", tokenizer)
    sft_dir = work_dir / "teacher-sft-data"
    write_dataset(rows, sft_dir / "sft", kind="responses", manifest={"what": "synth gold solutions"})
    settings = tmp / "teacher-sft.yaml"
    settings.write_text(yaml.safe_dump({
        "lr": config.lr, "batch_size": config.batch_size, "global_batch": config.batch_size,
        "warmup_ratio": 0.05, "scheduler": "cosine", "seed": config.seed, "save_steps": 100000,
        "max_length": 1024, "report_to": "none", "logging_steps": 50,
    }))
    common = ["--data", str(sft_dir), "--config", str(settings)]
    log(f"training the tiny base model: {config.base_steps} SFT steps on {len(rows)} gold solutions")
    run_cli(["train", "sft", "--model", str(init), "--out", str(tmp / "base"),
             "--max-steps", str(config.base_steps), *common])
    log(f"training the tiny teacher: {config.teacher_steps} more SFT steps from the base")
    run_cli(["train", "sft", "--model", str(tmp / "base"), "--out", str(tmp / "teacher"),
             "--max-steps", str(config.teacher_steps), *common])
    info = {"key": key, "config": asdict(config), "train_rows": len(rows),
            "train_seconds": round(time.time() - started, 1)}
    (tmp / "info.json").write_text(json.dumps(info, indent=2))
    shutil.rmtree(home, ignore_errors=True)
    tmp.rename(home)
    return TeacherArtifacts(home / "base", home / "teacher", False, info)

"""Small datasets for the trainer tests, written with vrd.schema in the curate layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from vrd.schema import write_dataset
from vrd.trainers.rewards import reward_functions as _real_reward_functions


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



class DenseReward:
    """A dense, deterministic score of the completion text, in place of accuracy.

    A tiny random model never answers correctly, so every group's reward is constant, every
    advantage is zero and RL never moves a weight: a resume test would pass however broken the
    resume. This score varies between completions, so the policy gradient is real.
    """

    __name__ = "accuracy"

    def __call__(self, prompts: Any, completions: Any, **_: Any) -> list[float]:
        from vrd.trainers.rewards import completion_text

        return [float(sum(map(ord, completion_text(c))) % 7) / 7 for c in completions]


def dense_reward_functions(*args: Any, **kwargs: Any) -> tuple[list[Any], list[float]]:
    """`vrd.trainers.rewards.reward_functions` with accuracy replaced by `DenseReward` (patch it in)."""
    funcs, weights = _real_reward_functions(*args, **kwargs)
    funcs[0] = DenseReward()
    return funcs, weights


# A `vrd` command line run in a subprocess that SIGKILLs itself: "between" at the start of the
# optimizer step after `at` (checkpoint-`at` whole if save_steps divides it), "save" in the middle
# of saving checkpoint-`at` (weights and optimizer written, RNG and trainer state not yet).
KILL_DRIVER = r'''
import os, signal, sys
import transformers
mode, at = sys.argv[1], int(sys.argv[2])
Trainer = transformers.Trainer
if mode == "between":
    real = Trainer.training_step
    def training_step(self, *a, **k):
        if self.state.global_step == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(self, *a, **k)
    Trainer.training_step = training_step
elif mode == "save":
    real_save = Trainer._save_rng_state
    def _save_rng_state(self, *a, **k):
        if self.state.global_step == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_save(self, *a, **k)
    Trainer._save_rng_state = _save_rng_state
if os.environ.get("VRD_TEST_DENSE_REWARD"):
    import train_fixtures
    import vrd.trainers.rewards
    vrd.trainers.rewards.reward_functions = train_fixtures.dense_reward_functions
from vrd.cli.main import app
app(sys.argv[3:], standalone_mode=True)
'''


def run_killable(tmp: Path, mode: str, at: int, args: list[str], *, dense_reward: bool = False) -> Any:
    """Run `vrd ARGS` under KILL_DRIVER; returns the CompletedProcess (returncode -9 when killed)."""
    import os
    import subprocess
    import sys

    driver = tmp / "kill_driver.py"
    driver.write_text(KILL_DRIVER)
    here = Path(__file__).parent
    path = [str(here.parent), str(here), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    if dense_reward:
        env["VRD_TEST_DENSE_REWARD"] = "1"
    return subprocess.run([sys.executable, str(driver), mode, str(at), *args], capture_output=True, text=True,
                          env=env, timeout=300)

"""End-to-end trainer runs on the tiny Qwen2.5-VL, on CPU: SFT, GRPO, DAPO + dynamic sampling."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from train_fixtures import curate_output, figure
from typer.testing import CliRunner

from vrd.trainers.callbacks import METRICS_FILE


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One response repeated: every SFT batch is the same batch, so the loss must fall.
    return curate_output(tmp_path_factory.mktemp("curated"), n_sft=4, repeat_sft=True, n_rl=4, n_val=2)


def _records(out: Path, kind: str) -> list[dict]:
    return [r for r in map(json.loads, (out / METRICS_FILE).read_text().splitlines()) if r["kind"] == kind]


def test_sft_overfits_one_batch_and_reloads(tiny_model_dir: Path, curated: Path, tmp_path: Path) -> None:
    from vrd.cli.main import app

    out = tmp_path / "sft"
    cfg = tmp_path / "sft.yaml"
    cfg.write_text(f"model: {tiny_model_dir}\nlr: 3.0e-3\nscheduler: constant\nwarmup_ratio: 0.0\n"
                   "global_batch: 4\nbatch_size: 4\nsave_steps: 1000\n")
    result = CliRunner().invoke(app, ["train", "sft", "--config", str(cfg), "--data", str(curated), "--out", str(out),
                                      "--max-steps", "6", "--eval-data", str(curated), "--eval-every", "3"])
    assert result.exit_code == 0, result.output
    losses = [r["loss"] for r in _records(out, "train") if "loss" in r]
    assert len(losses) == 6
    assert losses[-1] < 0.85 * losses[0], losses
    evals = _records(out, "eval")
    assert [e["step"] for e in evals] == [0, 3, 6] and all(e["eval_n"] == 2 for e in evals)

    from vrd.engines.base import GenerationRequest
    from vrd.models.loading import load_model_and_processor

    model, processor = load_model_and_processor(out, device="cpu")
    messages = GenerationRequest("<image> Find the third angle.", [figure(3)]).messages()
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = processor(text=[text], images=[figure(3)], return_tensors="pt")
    generated = model.generate(**inputs, max_new_tokens=5, do_sample=False)
    assert generated.shape[1] > inputs["input_ids"].shape[1]
    assert json.loads((out / "vrd_train_config.json").read_text())["max_steps"] == 6

    # Resume: the same command with more steps continues from checkpoint-6 instead of starting over.
    again = CliRunner().invoke(app, ["train", "sft", "--config", str(cfg), "--data", str(curated), "--out", str(out),
                                     "--max-steps", "7"])
    assert again.exit_code == 0, again.output
    steps = [r["step"] for r in _records(out, "train") if "loss" in r]
    assert steps == [1, 2, 3, 4, 5, 6, 7]


def test_sft_lora_is_merged_into_a_loadable_model(tiny_model_dir: Path, curated: Path, tmp_path: Path) -> None:
    from vrd.models.loading import load_model_and_processor
    from vrd.trainers.config import VrdSFTConfig
    from vrd.trainers.sft import train_sft

    out = train_sft(VrdSFTConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(tmp_path / "lora"),
                                max_steps=1, global_batch=4, batch_size=4, lr=1e-2, warmup_ratio=0.0, lora=4,
                                save_steps=1000))
    assert (out / "adapter" / "adapter_config.json").is_file() and not (out / "adapter_config.json").exists()
    merged, _ = load_model_and_processor(out, device="cpu")
    base, _ = load_model_and_processor(tiny_model_dir, device="cpu")
    assert sum(p.numel() for p in merged.parameters()) == sum(p.numel() for p in base.parameters())
    name = "model.language_model.layers.0.self_attn.q_proj.weight"
    assert not merged.state_dict()[name].equal(base.state_dict()[name])  # the adapter was merged in
    vis = "model.visual.blocks.0.attn.qkv.weight"
    assert merged.state_dict()[vis].equal(base.state_dict()[vis])  # vision tower frozen and not adapted


def test_grpo_two_steps_logs_rewards(tiny_model_dir: Path, curated: Path, tmp_path: Path) -> None:
    from vrd.trainers.config import VrdRLConfig
    from vrd.trainers.rl import train_rl

    out = tmp_path / "grpo"
    cfg = VrdRLConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(out), max_steps=2,
                      num_generations=2, global_batch=4, batch_size=4, max_new_tokens=6, save_steps=1000)
    train_rl(cfg)
    logs = [r for r in _records(out, "train") if "loss" in r]
    assert len(logs) == 2
    for r in logs:
        assert math.isfinite(r["loss"])
        for key in ("reward", "rewards/accuracy/mean", "rewards/format/mean", "groups/zero_adv_frac",
                    "groups/all_wrong_frac", "frac_reward_zero_std", "kl"):
            assert key in r, key
        # The logged reward is the run's weighting of its two parts, (1-w)*accuracy + w*format, w=0.1.
        assert r["reward"] == pytest.approx(0.9 * r["rewards/accuracy/mean"] + 0.1 * r["rewards/format/mean"],
                                            abs=1e-6)
        # 4 completions in groups of 2: vrd's group fractions are counts of 2 groups.
        for key in ("groups/all_correct_frac", "groups/all_wrong_frac"):
            assert r[key] in (0.0, 0.5, 1.0), key
        assert r["groups/zero_adv_frac"] == r["groups/all_correct_frac"] + r["groups/all_wrong_frac"]
        if r["rewards/accuracy/mean"] == 0.0:
            assert r["groups/all_wrong_frac"] == 1.0
        # A group whose total reward is constant (TRL's count) has constant accuracy (vrd's count):
        # with weights 0.9/0.1 no accuracy change can be offset by format.
        assert r["frac_reward_zero_std"] <= r["groups/zero_adv_frac"] + 1e-9
    assert (out / "model.safetensors").is_file() and (out / "processor_config.json").is_file()


def test_rl_steps_are_generation_rounds_in_metrics_and_eval_every(tiny_model_dir: Path, curated: Path,
                                                                  tmp_path: Path) -> None:
    """A step of 4 prompts updated as 2 x 2 prompts (EasyR1's rollout vs actor batch): --max-steps,
    --eval-every and metrics.jsonl's "step" count rounds, and TRL's updates are kept as "update"."""
    from vrd.trainers.config import VrdRLConfig
    from vrd.trainers.rl import train_rl

    out = tmp_path / "rounds"
    cfg = VrdRLConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(out), max_steps=2,
                           num_generations=2, rollout_batch=4, global_batch=4, batch_size=4, max_new_tokens=4,
                           save_steps=1000, eval_data=str(curated), eval_every=1, eval_limit=1,
                           eval_max_new_tokens=2)
    assert cfg.batch_plan().updates_per_step == 2
    train_rl(cfg)
    train = [r for r in _records(out, "train") if "loss" in r]
    assert [(r["step"], r["update"]) for r in train] == [(1, 2), (2, 4)]
    assert [(r["step"], r.get("update")) for r in _records(out, "eval")] == [(0, 0), (1, 2), (2, 4)]
    state = json.loads((out / "trainer_state.json").read_text()) if (out / "trainer_state.json").exists() else None
    assert state is None or state["global_step"] == 4


def test_dapo_dynamic_sampling_keeps_only_informative_groups(tiny_model_dir: Path, curated: Path,
                                                             tmp_path: Path) -> None:
    from vrd.trainers.config import VrdRLConfig
    from vrd.trainers.rl import build_rl_trainer

    cfg = VrdRLConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(tmp_path / "dapo"),
                      algo="dapo", dynamic_sampling=True, max_steps=2, num_generations=2, global_batch=4,
                      batch_size=4, max_new_tokens=6, save_steps=1000, lr=1e-2, resume="never")
    trainer, _ = build_rl_trainer(cfg)
    assert trainer.beta == 0.0 and trainer.epsilon_high == 0.28 and trainer.loss_type == "dapo"
    assert "soft_overlong_punishment_reward" in trainer.reward_func_names

    class Scripted:
        """Group 1 mixed (1, 0), group 2 all correct (1, 1): dynamic sampling keeps half."""

        __name__ = "accuracy"

        def __call__(self, prompts, completions, **kw):
            return [1.0, 0.0, 1.0, 1.0][: len(completions)]

    trainer.reward_funcs[0] = Scripted()
    trainer.train()
    logs = [r for r in trainer.state.log_history if "loss" in r]
    assert len(logs) == 2
    for r in logs:
        assert r["dynamic_sampling/kept_frac"] == pytest.approx(0.5)
        assert r["groups/all_correct_frac"] == pytest.approx(0.5)
        assert math.isfinite(r["loss"])
        assert r["grad_norm"] > 0  # the kept, mixed group carries a gradient

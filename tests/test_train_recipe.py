"""Batch arithmetic on any GPU count, and the `paper` recipe (EasyR1 / LLaMA-Factory) versus vrd's defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from vrd.errors import ConfigError, UnknownNameError
from vrd.trainers.config import VrdRLConfig, VrdSFTConfig, plan_batches


@pytest.mark.parametrize("world", [1, 2, 3, 4, 6, 8, 16])
def test_default_rl_batch_is_exact_on_any_gpu_count(world: int) -> None:
    plan = plan_batches(80, 10, world, group=10, adjustable=True)
    assert plan.per_device * plan.world * plan.accum == plan.global_batch  # no silent drift
    assert plan.global_batch % 10 == 0 and plan.per_device <= 10
    assert plan.global_batch == 80 or (plan.note and plan.global_batch == 90)  # 3 and 6 GPUs: 9 prompts, said


def test_eight_gpus_with_batch_size_four() -> None:
    plan = plan_batches(80, 4, 8, group=10)
    assert (plan.per_device, plan.accum, plan.global_batch) == (2, 5, 80)  # TRL accepts: 80 % 10 == 0


def test_a_chosen_global_batch_that_cannot_split_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"--global-batch 80 cannot be split evenly over 3 process\(es\) in whole "
                                          r"groups of 10 completions: it must be a multiple of 30; use 60 or 90"):
        plan_batches(80, 10, 3, group=10)


def test_user_given_global_batch_is_strict_default_is_adjusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert VrdRLConfig.load(None, {"model": "m"}).batch_plan().global_batch == 90
    with pytest.raises(ConfigError, match="multiple of 30"):
        VrdRLConfig.load(None, {"model": "m", "global_batch": 80}).batch_plan()
    sft = VrdSFTConfig.load(None, {"model": "m"}).batch_plan()  # 128 on 3 GPUs -> 129, said
    assert sft.global_batch == 129 and sft.per_device * 3 * sft.accum == 129 and sft.note


def test_paper_recipe_is_easyr1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "8")
    cfg = VrdRLConfig.load(None, {"model": "m", "recipe": "paper"})
    assert (cfg.lr, cfg.scheduler, cfg.warmup_ratio, cfg.weight_decay, cfg.epochs) == (1e-6, "constant", 0.0, 0.01, 2.0)
    assert (cfg.max_new_tokens, cfg.unfreeze_vision, cfg.num_generations) == (2048, True, 10)
    assert cfg.loss_settings() == {"loss_type": "dapo", "beta": 0.01, "epsilon_high": 0.2, "scale_rewards": "group"}
    dapo = VrdRLConfig.load(None, {"model": "m", "recipe": "paper", "algo": "dapo"}).loss_settings()
    assert (dapo["loss_type"], dapo["beta"], dapo["epsilon_high"]) == ("dapo", 0.0, 0.28)
    plan = cfg.batch_plan()
    # A step is 512 prompts (EasyR1 rollout_batch_size), four updates of 128 prompts (actor global_batch_size).
    assert plan.generation_batch == 5120 and plan.global_batch == 1280 and plan.updates_per_step == 4
    assert plan.per_device * 8 * plan.accum == 1280


def test_flags_and_yaml_beat_the_recipe(tmp_path: Path) -> None:
    yaml = tmp_path / "rl.yaml"
    yaml.write_text("recipe: paper\nepochs: 1\n")
    cfg = VrdRLConfig.load(yaml, {"model": "m", "lr": 5e-7})
    assert (cfg.recipe, cfg.epochs, cfg.lr, cfg.weight_decay) == ("paper", 1.0, 5e-7, 0.01)
    default = VrdRLConfig.load(None, {"model": "m"})
    assert (default.recipe, default.epochs, default.scheduler, default.weight_decay) == ("vrd", 1.0, "cosine", 0.0)
    assert default.loss_settings()["loss_type"] == "grpo"
    with pytest.raises(UnknownNameError, match="papr"):
        VrdRLConfig.load(None, {"model": "m", "recipe": "papr"})


def test_sft_paper_recipe_is_llamafactory() -> None:
    cfg = VrdSFTConfig.load(None, {"model": "m", "recipe": "paper"})
    assert (cfg.global_batch, cfg.lr, cfg.epochs) == (128, 1e-5, 3.0)


def test_grpo_args_count_steps_as_generation_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    from vrd.trainers.rl import grpo_args

    monkeypatch.setenv("WORLD_SIZE", "8")
    cfg = VrdRLConfig.load(None, {"model": "m", "out": "o", "data": "d", "recipe": "paper", "max_steps": 3,
                                  "save_steps": 10, "use_vllm": True})
    args = grpo_args(cfg)
    assert args["generation_batch_size"] == 5120 and args["max_steps"] == 12 and args["save_steps"] == 40
    assert args["per_device_train_batch_size"] * 8 * args["gradient_accumulation_steps"] == 1280
    assert args["weight_decay"] == 0.01 and args["vllm_max_model_length"] == 2048 + 2048
    assert args["logging_steps"] == 4  # one metrics record per step, averaged over its 4 updates
    from trl import GRPOConfig

    monkeypatch.delenv("WORLD_SIZE")  # TRL's own checks, in one process (it would start a process group otherwise)
    trl_args = GRPOConfig(**{**args, "use_cpu": True, "bf16": False, "use_vllm": False})
    assert trl_args.generation_batch_size == 5120

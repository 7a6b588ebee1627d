"""The `trl:` mapping / `--trl KEY=VALUE`: keys that would silently break vrd are refused, the rest reach TRL.

A TRL or LLaMA-Factory user passes `save_only_model`, `push_to_hub`, `output_dir` or `seed` out of
habit; each one would have made vrd's record, its resume or its global batch quietly wrong.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from train_fixtures import curate_output
from typer.testing import CliRunner

from vrd.cli.main import app
from vrd.errors import ConfigError
from vrd.trainers import trl_keys
from vrd.trainers.config import VrdRLConfig, VrdSFTConfig

runner = CliRunner()

SFT_KEYS = sorted({*trl_keys.OWNED["sft"], *trl_keys.REFUSED["sft"]})
RL_ONLY_KEYS = sorted({*trl_keys.OWNED["rl"], *trl_keys.REFUSED["rl"]} - set(SFT_KEYS))


def _refused_line(trainer: str, *trl_args: str) -> str:
    result = runner.invoke(app, ["train", trainer, "--model", "m", "--data", "d", "--out", "o", *trl_args])
    assert result.exit_code == 2, (trl_args, result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("key", SFT_KEYS)
def test_each_refused_key_is_one_line_naming_it_and_what_to_use(key: str) -> None:
    line = _refused_line("sft", "--trl", f"{key}=1")
    assert f"trl.{key}:" in line
    if key in trl_keys.OWNED["sft"]:
        # the setting to give instead: its flag, or its name in the --config file
        assert trl_keys.OWNED["sft"][key] in line


@pytest.mark.parametrize("key", RL_ONLY_KEYS)
def test_each_refused_rl_key_is_one_line_naming_it(key: str) -> None:
    line = _refused_line("rl", "--trl", f"{key}=1")
    assert f"trl.{key}:" in line and trl_keys.OWNED["rl"][key] in line


def test_refused_keys_from_the_yaml_file_too_and_in_any_spelling(tmp_path: Path) -> None:
    yml = tmp_path / "c.yaml"
    yml.write_text("model: m\ndata: d\nout: o\ntrl:\n  save-only-model: true\n  push_to_hub: true\n  top_p: 0.9\n")
    line = _refused_line("rl", "--config", str(yml))
    assert "trl.save_only_model: a checkpoint without optimizer" in line and "trl.push_to_hub:" in line
    assert "top_p" not in line
    # through the API as well, before any data or model is read
    with pytest.raises(ConfigError, match=r"trl\.save_only_model"):
        VrdSFTConfig(model="m", trl={"save_only_model": True})
    with pytest.raises(ConfigError, match=r"trl\.save_steps: set by vrd from --save-steps"):
        VrdRLConfig.load(model="m", trl={"save_steps": 5})
    assert VrdRLConfig(model="m", trl={"top-p": 0.9}).trl == {"top_p": 0.9}


def test_a_refused_key_set_to_off_asks_for_what_vrd_does_and_passes() -> None:
    off = {"push_to_hub": False, "save_only_model": False, "load_best_model_at_end": None, "save_strategy": "steps",
           "eval_strategy": "no", "deepspeed": None, "fsdp": "", "enable_jit_checkpoint": False}
    assert VrdRLConfig(model="m", trl=off).trl == off
    for key, value in (("save_only_model", 0), ("save_strategy", "epoch"), ("push_to_hub", "false "),
                       ("fsdp", "full_shard")):
        with pytest.raises(ConfigError, match=rf"^trl\.{key}: "):
            VrdRLConfig(model="m", trl={key: value})
    assert "trl.save_only_model" in _refused_line("sft", "--trl", "push_to_hub=false", "--trl", "save_only_model=true")


@pytest.mark.parametrize("trainer, text, words", [
    ("sft", "learning_rate: 1.0e-5", "unknown setting 'learning_rate': vrd's setting for it is 'lr'"),
    ("sft", "cutoff_len: 2048", "unknown setting 'cutoff_len': vrd's setting for it is 'max_length'"),
    ("rl", "rollout_batch_size: 64", "unknown setting 'rollout_batch_size': vrd's setting for it is 'rollout_batch'"),
    ("sft", "save_only_model: true", "unknown setting 'save_only_model': a checkpoint without optimizer"),
    ("rl", "top_p: 0.9", "unknown setting 'top_p': a TRL setting, so it goes under `trl:` (or --trl top_p=VALUE)"),
    ("sft", "lernin_rat: 1", "unknown setting 'lernin_rat'. Known: "),
])
def test_a_trl_or_llamafactory_name_at_the_top_of_the_file_says_where_it_belongs(
        trainer: str, text: str, words: str, tmp_path: Path) -> None:
    yml = tmp_path / "c.yaml"
    yml.write_text(f"model: m\ndata: d\nout: o\n{text}\n")
    assert f"error: {yml}: {words}" in _refused_line(trainer, "--config", str(yml))


def test_a_key_the_installed_trl_does_not_have_names_the_nearest() -> None:
    from trl import GRPOConfig, SFTConfig

    with pytest.raises(ConfigError, match=r"trl\.max_grad_nrom: not a setting of TRL's GRPOConfig .*max_grad_norm"):
        trl_keys.check_known({"max_grad_nrom": 1.0, "top_p": 0.9}, GRPOConfig)
    with pytest.raises(ConfigError, match=r"trl\.top_p: not a setting of TRL's SFTConfig"):
        trl_keys.check_known({"top_p": 0.9}, SFTConfig)
    with pytest.raises(ConfigError, match=r"trl: TRL's SFTConfig refused the settings: .*adamw_nonexistent"):
        trl_keys.trainer_args(SFTConfig, {"output_dir": "o", "use_cpu": True}, {"optim": "adamw_nonexistent"}, "sft")


def test_the_tables_name_real_fields_and_cover_every_field_vrd_sets(tmp_path: Path) -> None:
    """A key vrd starts to set, or a field TRL renames, must be classified here, not forwarded by accident."""
    from trl import GRPOConfig, SFTConfig

    from vrd.trainers.common import common_args
    from vrd.trainers.rl import grpo_args

    sft_fields = {f.name for f in dataclasses.fields(SFTConfig)}
    rl_fields = {f.name for f in dataclasses.fields(GRPOConfig)}
    not_in_transformers_5 = {"overwrite_output_dir", "logging_dir"}  # refused with the transformers 5 way
    for trainer, fields in (("sft", sft_fields), ("rl", rl_fields)):
        named = {*trl_keys.OWNED[trainer], *trl_keys.REFUSED[trainer]} - not_in_transformers_5
        assert named <= fields, (trainer, sorted(named - fields))
    assert not set(trl_keys.OWNED["rl"]) & set(trl_keys.REFUSED["rl"])
    # Fields vrd sets that the user may still change: forwarded on purpose.
    forwarded = {"activation_checkpointing_kwargs", "dataloader_num_workers", "log_completions",
                 *trl_keys.ALGO_CHOICES}
    rl = VrdRLConfig(model="m", data="d", out=str(tmp_path), use_vllm=True)
    set_by_vrd = set(grpo_args(rl)) | {"reward_weights"}
    sft_set = set(common_args(VrdSFTConfig(model="m", data="d", out=str(tmp_path)))) | {
        "max_length", "assistant_only_loss", "packing"}
    for trainer, keys in (("rl", set_by_vrd), ("sft", sft_set)):
        covered = {*trl_keys.OWNED[trainer], *trl_keys.REFUSED[trainer], *forwarded}
        assert keys <= covered, (trainer, sorted(keys - covered))


def test_the_design_doc_lists_every_key() -> None:
    text = (Path(__file__).parents[1] / "docs" / "DESIGN.md").read_text()
    keys = {*trl_keys.OWNED["sft"], *trl_keys.OWNED["rl"], *trl_keys.REFUSED["sft"], *trl_keys.ALGO_CHOICES}
    assert not [k for k in sorted(keys) if f"`{k}`" not in text]


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curate_output(tmp_path_factory.mktemp("curated"), n_sft=2, n_rl=2, n_val=1)


def test_forwarded_keys_reach_the_sft_trainer(tiny_model_dir: Path, curated: Path, tmp_path: Path) -> None:
    from vrd.trainers.sft import build_sft_trainer

    cfg = VrdSFTConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(tmp_path / "sft"), max_steps=1,
                            global_batch=2, batch_size=2, resume="never",
                            trl={"max_grad_norm": 0.25, "adam_beta2": 0.9, "data_seed": 11, "optim": "adamw_torch",
                                 "dataloader_num_workers": 1})
    trainer, _ = build_sft_trainer(cfg)
    args = trainer.args
    assert (args.max_grad_norm, args.adam_beta2, args.data_seed, args.dataloader_num_workers) == (0.25, 0.9, 11, 1)
    assert args.optim == "adamw_torch"
    assert args.output_dir == cfg.out and args.seed == cfg.seed and not args.save_only_model


def test_forwarded_keys_reach_the_grpo_trainer_and_algo_changes_are_logged(
        tiny_model_dir: Path, curated: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from vrd.trainers.rl import build_rl_trainer

    cfg = VrdRLConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(tmp_path / "rl"), max_steps=1,
                           num_generations=2, global_batch=4, batch_size=4, max_new_tokens=4, resume="never",
                           trl={"top_p": 0.9, "num_iterations": 2, "loss_type": "bnpo", "repetition_penalty": 1.1})
    with caplog.at_level(logging.WARNING, logger="vrd.trainers.trl_keys"):
        trainer, _ = build_rl_trainer(cfg)
    args = trainer.args
    assert (args.top_p, args.num_iterations, args.loss_type, args.repetition_penalty) == (0.9, 2, "bnpo", 1.1)
    assert trainer.loss_type == "bnpo" and trainer.num_iterations == 2
    assert "trl.loss_type 'bnpo' replaces the 'grpo' that vrd's --algo chose" in caplog.text


def test_a_model_only_checkpoint_is_never_resumed_silently(tiny_model_dir: Path, curated: Path,
                                                           tmp_path: Path) -> None:
    """`save_only_model` checkpoints (no optimizer, scheduler or RNG state) are refused at resume, whether this
    run wrote them (an older vrd forwarded the key) or another tool did: transformers would start a fresh
    optimizer and schedule from them without a word."""
    from vrd.trainers.common import resume_checkpoint
    from vrd.trainers.resume import CheckpointError
    from vrd.trainers.sft import build_sft_trainer

    out = tmp_path / "sft"
    cfg = VrdSFTConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(out), max_steps=1, save_steps=1,
                            global_batch=2, batch_size=2, resume="never")
    trainer, _ = build_sft_trainer(cfg)
    trainer.args.save_only_model = True  # what `trl: {save_only_model: true}` used to reach
    trainer.train()
    checkpoint = out / "checkpoint-1"
    assert (checkpoint / "vrd_checkpoint.json").is_file() and not (checkpoint / "optimizer.pt").exists()
    for resume in ("auto", str(checkpoint)):
        with pytest.raises(CheckpointError, match="model-only checkpoint .*--model"):
            resume_checkpoint(dataclasses.replace(cfg, resume=resume, max_steps=2))
    line = _refused_line_with(["train", "sft", "--model", str(tiny_model_dir), "--data", str(curated),
                               "--out", str(out), "--max-steps", "2", "--save-steps", "1", "--global-batch", "2",
                               "--batch-size", "2"])
    assert "model-only checkpoint" in line and "checkpoint-1" in line


def _refused_line_with(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.output, result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]

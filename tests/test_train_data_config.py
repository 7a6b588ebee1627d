"""Trainer inputs: --data layouts -> TRL conversational rows; YAML + flag config; dynamic sampling math."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from train_fixtures import curate_output, figure

from vrd.errors import VrdError
from vrd.trainers.config import VrdRLConfig, VrdSFTConfig
from vrd.trainers.data import load_eval_problems, load_rl_dataset, load_sft_dataset, locate, user_content
from vrd.trainers.dynamic_sampling import degenerate_groups, drop_rows, group_stats, keep_rows
from vrd.trainers.launch import launch_command, strip_flag
from vrd.trainers.rl import collapse_image_runs


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curate_output(tmp_path_factory.mktemp("curated"))


def test_user_content_places_images_at_marks() -> None:
    parts = user_content("Look <image> and <image> now", 2)
    assert [p["type"] for p in parts] == ["text", "image", "text", "image", "text"]
    lead = user_content("no marks here", 1)
    assert [p["type"] for p in lead] == ["image", "text"]


def test_sft_rows_from_curate_output(curated: Path) -> None:
    ds = load_sft_dataset(curated)
    assert set(ds.column_names) == {"messages", "images"} and len(ds) == 8
    row = ds[0]
    user, assistant = row["messages"]
    assert user["role"] == "user" and assistant["role"] == "assistant"
    assert sum(p["type"] == "image" for p in user["content"]) == len(row["images"]) == 1
    assert "\\boxed{90}" in assistant["content"][0]["text"]
    assert row["images"][0].size == (56, 56)


def test_rl_rows_resized_to_one_size(curated: Path) -> None:
    ds = load_rl_dataset(curated, image_size=84)
    assert {"prompt", "images", "answer", "choices", "answer_type", "id"} <= set(ds.column_names)
    sizes = {im.size for row in ds for im in row["images"]}
    assert sizes == {(84, 84)}  # the source split mixes 56x56 and 84x56 (trl#6401 workaround)
    prompt = ds[0]["prompt"]
    assert prompt[0]["role"] == "user"
    assert "\\boxed" in " ".join(p["text"] or "" for p in prompt[0]["content"])  # math template rendered
    assert ds[3]["answer"] == "87"


def test_trl_export_json_with_relative_image_paths(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    figure(1).save(tmp_path / "images" / "a.png")
    rows = [{"messages": [{"role": "user", "content": "<image>What is x?"}, {"role": "assistant", "content": "\\boxed{3}"}],
             "images": ["images/a.png"]}]
    (tmp_path / "sft.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    rl = [{"prompt": [{"role": "user", "content": "<image>What is x?"}], "images": ["images/a.png"], "answer": "3"}]
    (tmp_path / "rl.json").write_text(json.dumps(rl))
    sft = load_sft_dataset(tmp_path)
    assert sft[0]["images"][0].size == (56, 56)
    assert [p["type"] for p in sft[0]["messages"][0]["content"]] == ["image", "text"]
    rl_ds = load_rl_dataset(tmp_path)
    assert rl_ds[0]["answer"] == "3" and rl_ds[0]["choices"] == []


def test_trl_export_parquet(tmp_path: Path, curated: Path) -> None:
    ds = load_sft_dataset(curated)
    (tmp_path / "sft").mkdir()
    ds.to_parquet(str(tmp_path / "sft" / "train.parquet"))
    again = load_sft_dataset(tmp_path)
    assert len(again) == len(ds) and again[0]["images"][0].size == (56, 56)


def test_missing_split_names_what_exists(curated: Path) -> None:
    with pytest.raises(VrdError, match="found: rl, sft, val"):
        locate(curated, "nope")
    with pytest.raises(VrdError, match="problems without responses"):
        load_sft_dataset(curated, split="rl")


def test_eval_problems_prefer_val(curated: Path) -> None:
    ds = load_eval_problems(curated)
    assert len(ds) == 4 and ds[0]["id"] == "tri/train/100"


def test_eval_problems_never_the_training_split_unless_named(curated: Path, tmp_path: Path) -> None:
    import shutil

    from vrd.errors import ConfigError

    no_val = tmp_path / "no_val"
    shutil.copytree(curated, no_val)
    shutil.rmtree(no_val / "val")
    with pytest.raises(ConfigError, match="no held-out split found"):
        load_eval_problems(no_val)
    assert len(load_eval_problems(no_val, split="rl")) > 0  # named: the user's choice
    train = locate(curated, "val")  # pretend val is what we train on
    with pytest.raises(ConfigError, match="training data itself"):
        load_eval_problems(curated / "val", train_files=train)


def test_eval_problems_are_a_seeded_random_subset(curated: Path) -> None:
    full = [r["id"] for r in load_eval_problems(curated)]
    a = [r["id"] for r in load_eval_problems(curated, limit=2, seed=1)]
    b = [r["id"] for r in load_eval_problems(curated, limit=2, seed=1)]
    assert a == b and len(a) == 2 and set(a) <= set(full)
    picks = {tuple(r["id"] for r in load_eval_problems(curated, limit=2, seed=s)) for s in range(8)}
    assert len(picks) > 1  # not always the first rows


def test_monitor_uses_the_training_token_budget() -> None:
    from types import SimpleNamespace

    from vrd.trainers.callbacks import eval_token_budget

    assert eval_token_budget(SimpleNamespace(eval_max_new_tokens=None, max_new_tokens=1024)) == 1024
    assert eval_token_budget(SimpleNamespace(eval_max_new_tokens=None, max_length=4096)) == 4096
    assert eval_token_budget(SimpleNamespace(eval_max_new_tokens=300, max_new_tokens=1024)) == 300


def test_config_yaml_then_flags(tmp_path: Path) -> None:
    yml = tmp_path / "c.yaml"
    yml.write_text("model: m\ndata: d\nout: o\nlr: 2.0e-5\nmax-steps: 7\ntrl: {adam_beta2: 0.1}\n")
    cfg = VrdSFTConfig.load(yml, max_steps=3, batch_size=None)
    assert (cfg.lr, cfg.max_steps, cfg.epochs, cfg.trl) == (2e-5, 3, 3.0, {"adam_beta2": 0.1})
    assert cfg.global_batch == 128 and cfg.grad_accum() == 128 and cfg.scheduler == "cosine"
    yml.write_text("model: m\nlearnin_rate: 1\n")
    with pytest.raises(VrdError, match="learnin_rate"):
        VrdSFTConfig.load(yml)


def test_rl_algorithm_defaults() -> None:
    grpo = VrdRLConfig.load(model="m", data="d", out="o")
    assert (grpo.num_generations, grpo.lr, grpo.global_batch, grpo.batch_size) == (10, 1e-6, 80, 10)
    assert grpo.loss_settings()["beta"] == 0.01 and grpo.loss_settings()["loss_type"] == "grpo"
    dapo = VrdRLConfig.load(model="m", data="d", out="o", algo="dapo", max_new_tokens=500)
    assert dapo.loss_settings() == {"loss_type": "dapo", "beta": 0.0, "epsilon_high": 0.28, "scale_rewards": "group"}
    assert dapo.overlong_cache() == 100
    dr = VrdRLConfig.load(model="m", data="d", out="o", algo="dr_grpo", beta=0.05)
    assert dr.loss_settings()["scale_rewards"] == "none" and dr.loss_settings()["beta"] == 0.05
    with pytest.raises(VrdError, match="multiple of num_generations"):
        VrdRLConfig.load(model="m", data="d", out="o", global_batch=15)
    with pytest.raises(Exception, match="ppo"):
        VrdRLConfig.load(model="m", data="d", out="o", algo="ppo")


def test_dynamic_sampling_masks_degenerate_groups() -> None:
    correct = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0])  # groups of 2: all-1, mixed, all-0, mixed
    assert degenerate_groups(correct, 2).tolist() == [True, False, True, False]
    stats = group_stats(correct, 2)
    assert stats == {"groups/all_correct_frac": 0.25, "groups/all_wrong_frac": 0.25, "groups/zero_adv_frac": 0.5}
    keep = keep_rows(correct, 2)
    assert keep.tolist() == [False, False, True, True, False, False, True, True]
    output = {"advantages": torch.ones(8), "completion_mask": torch.ones(8, 3, dtype=torch.long),
              "num_items_in_batch": torch.tensor(24)}
    out = drop_rows(output, keep, gather=lambda t: t.reshape(1))
    assert out["advantages"].tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    assert out["completion_mask"].sum().item() == 12 and out["num_items_in_batch"].item() == 12


def test_collapse_image_runs_for_vllm() -> None:
    assert collapse_image_runs([1, 9, 9, 9, 2, 9, 9, 3], 9) == [1, 9, 2, 9, 3]


def test_launch_command_strips_its_own_flag() -> None:
    argv = ["train", "sft", "--model", "m", "--num-processes", "2", "--out", "o"]
    assert strip_flag(argv) == ["train", "sft", "--model", "m", "--out", "o"]
    cmd = launch_command(argv, 2, "fsdp", gpu=True)
    assert cmd[cmd.index("--config_file") + 1].endswith("fsdp.yaml")
    assert cmd[-6:] == ["train", "sft", "--model", "m", "--out", "o"] and "--num-processes" not in cmd
    cpu = launch_command(argv, 2, "fsdp", gpu=False)
    assert cpu[cpu.index("--config_file") + 1].endswith("cpu.yaml")


def test_rl_rows_from_synth_problems(synth_problems_dir: Path) -> None:
    ds = load_rl_dataset(synth_problems_dir, image_size=56)
    assert len(ds) == 24
    choice_rows = [r for r in ds if r["answer_type"] == "choice"]
    for row in ds:
        n_placeholders = sum(p["type"] == "image" for p in row["prompt"][0]["content"])
        assert n_placeholders == len(row["images"])
    if choice_rows:  # multiple-choice prompts list the lettered options for the policy
        text = " ".join(p["text"] or "" for p in choice_rows[0]["prompt"][0]["content"])
        assert "A" in text and choice_rows[0]["answer"] in "ABCDEFGH"


def test_cli_errors_are_one_line(curated: Path, tmp_path: Path) -> None:
    import importlib.util

    from typer.testing import CliRunner

    from vrd.cli.main import app

    runner = CliRunner()
    missing = runner.invoke(app, ["train", "sft", "--data", str(curated), "--out", str(tmp_path / "o")])
    assert missing.exit_code == 2 and "missing required setting 'model'" in missing.output
    bad_algo = runner.invoke(app, ["train", "rl", "--model", "m", "--data", str(curated), "--out", str(tmp_path / "o"),
                                   "--algo", "dapoo"])
    assert bad_algo.exit_code == 2 and "dapo" in bad_algo.output
    if importlib.util.find_spec("vllm") is None:
        no_vllm = runner.invoke(app, ["train", "rl", "--model", "m", "--data", str(curated), "--out",
                                      str(tmp_path / "o"), "--vllm"])
        assert no_vllm.exit_code == 2 and "vllm" in no_vllm.output



def test_rl_split_smaller_than_one_step_is_a_clear_error(tmp_path, tiny_model_dir) -> None:
    import pytest
    from train_fixtures import curate_output

    from vrd.errors import VrdError
    from vrd.trainers.config import VrdRLConfig
    from vrd.trainers.rl import build_rl_trainer

    data = curate_output(tmp_path / "curated", n_sft=2, n_rl=3, n_val=1)
    cfg = VrdRLConfig.load(None, model=str(tiny_model_dir), data=str(data), out=str(tmp_path / "rl"),
                      max_steps=2, num_generations=2, batch_size=2, max_new_tokens=8)
    with pytest.raises(VrdError, match="has 3 prompt.*needs 8"):
        build_rl_trainer(cfg)


def test_monitor_records_epoch_and_samples_seen() -> None:
    from types import SimpleNamespace

    from vrd.trainers.callbacks import progress

    state = SimpleNamespace(global_step=30, epoch=1.5)
    trainer = SimpleNamespace(args=SimpleNamespace(per_device_train_batch_size=4, gradient_accumulation_steps=2,
                                                   world_size=2))
    assert progress(state, trainer) == {"epoch": 1.5, "samples_seen": 30 * 4 * 2 * 2}

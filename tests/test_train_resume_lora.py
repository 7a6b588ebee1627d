"""`--lora` runs resumed from a checkpoint: the adapter comes back (not re-initialised) and the final
folder is the same merged model, and the same adapter, as the uninterrupted run's.

The resume starts from a copy of the uninterrupted run's checkpoint in a fresh --out (what a
killed run leaves; the kill itself is exercised in test_train_resume*.py). The LoRA B matrices
start at zero and the learning rate is high, so an adapter that was not restored ends far away.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from train_fixtures import curate_output, dense_reward_functions


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curate_output(tmp_path_factory.mktemp("curated"), n_sft=4, n_rl=4, n_val=1)


def _tensors(path: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(path))


def _max_diff(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def _resume_from(straight: Path, step: int, out: Path) -> None:
    out.mkdir()
    shutil.copytree(straight / f"checkpoint-{step}", out / f"checkpoint-{step}")


def _same_final(out: Path, straight: Path, base: Path) -> None:
    final, reference = _tensors(out / "model.safetensors"), _tensors(straight / "model.safetensors")
    assert _max_diff(final, reference) < 1e-6
    adapter = _tensors(out / "adapter" / "adapter_model.safetensors")
    assert _max_diff(adapter, _tensors(straight / "adapter" / "adapter_model.safetensors")) < 1e-6
    assert not (out / "adapter_model.safetensors").exists()  # merged: the top folder is a plain model
    base_weights = _tensors(base / "model.safetensors")
    assert _max_diff(reference, {k: base_weights[k] for k in reference}) > 1e-4  # the adapter moved the model


def test_sft_lora_resume_restores_the_adapter_and_merges_like_the_uninterrupted_run(
        tiny_model_dir: Path, curated: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForImageTextToText

    from vrd.trainers.config import VrdSFTConfig
    from vrd.trainers.sft import train_sft

    def cfg(out: Path) -> VrdSFTConfig:
        return VrdSFTConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(out), max_steps=4,
                                 save_steps=2, lr=1e-2, global_batch=2, batch_size=2, lora=4)

    straight = tmp_path / "straight"
    train_sft(cfg(straight))
    out = tmp_path / "resumed"
    _resume_from(straight, 2, out)
    train_sft(cfg(out))
    _same_final(out, straight, tiny_model_dir)
    assert AutoModelForImageTextToText.from_pretrained(out) is not None

    # A checkpoint whose adapter file lacks tensors is refused, not resumed with fresh adapters.
    from safetensors.torch import save_file

    from vrd.trainers.resume import CheckpointError

    broken = tmp_path / "broken"
    _resume_from(straight, 2, broken)
    adapter = _tensors(broken / "checkpoint-2" / "adapter_model.safetensors")
    dropped = sorted(adapter)[:2]
    save_file({k: v for k, v in adapter.items() if k not in dropped},
              str(broken / "checkpoint-2" / "adapter_model.safetensors"))
    with pytest.raises(CheckpointError, match="adapter was not restored"):
        train_sft(cfg(broken))


def test_rl_lora_resume_restores_the_adapter_and_merges_like_the_uninterrupted_run(
        tiny_model_dir: Path, curated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vrd.trainers import rewards
    from vrd.trainers.config import VrdRLConfig
    from vrd.trainers.rl import train_rl

    monkeypatch.setattr(rewards, "reward_functions", dense_reward_functions)

    def cfg(out: Path) -> VrdRLConfig:
        return VrdRLConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(out), num_generations=2,
                                global_batch=4, batch_size=4, max_new_tokens=6, max_steps=3, save_steps=1,
                                lr=1e-2, lora=4)

    straight = tmp_path / "straight"
    train_rl(cfg(straight))
    out = tmp_path / "resumed"
    _resume_from(straight, 2, out)  # second epoch: the adapter and TRL's sampler order both come back
    train_rl(cfg(out))
    _same_final(out, straight, tiny_model_dir)

"""Master weights: full fine-tuning keeps fp32 weights and computes in bf16 under autocast.

At the RL learning rate (1e-6) an AdamW update is far below half a bf16 ulp of a typical
weight, so a model trained in pure bf16 barely moves (norm weights near 1.0 not at all).
These checks run on CPU with bf16 autocast, the same code path a GPU takes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from train_fixtures import curate_output


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return curate_output(tmp_path_factory.mktemp("cur"), n_sft=6, n_rl=4)


def _moved(before: dict[str, torch.Tensor], model: torch.nn.Module) -> tuple[float, dict[str, float]]:
    """Fraction of trainable elements that changed, and the per-tensor fraction for norm weights."""
    changed = total = 0
    norms: dict[str, float] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad or "embed_tokens" in name or "lm_head" in name:
            continue  # rows of tokens the batch never uses get no gradient in any precision
        diff = (p.detach().float() != before[name].float())
        changed += int(diff.sum())
        total += diff.numel()
        if "norm" in name and name.endswith("weight"):
            norms[name] = float(diff.float().mean())
    return changed / total, norms


def test_full_finetune_keeps_fp32_masters_and_moves_at_lr_1e6(tiny_model_dir: Path, curated: Path,
                                                               tmp_path: Path) -> None:
    from vrd.trainers.config import VrdSFTConfig
    from vrd.trainers.sft import build_sft_trainer

    cfg = VrdSFTConfig.load(model=str(tiny_model_dir), data=str(curated), out=str(tmp_path / "sft"),
                      max_steps=3, global_batch=2, batch_size=2, lr=1e-6, scheduler="constant", warmup_ratio=0.0,
                      bf16=True, save_steps=1000)
    trainer, _ = build_sft_trainer(cfg)
    assert trainer.args.bf16 and trainer.accelerator.mixed_precision == "bf16"  # autocast on
    assert all(p.dtype == torch.float32 for p in trainer.model.parameters())  # fp32 masters
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()
    frac, norms = _moved(before, trainer.model)
    assert frac > 0.9, f"only {frac:.1%} of trainable weights moved at lr 1e-6"
    assert norms and min(norms.values()) > 0.9, norms


def test_pure_bf16_weights_would_not_move(tiny_model_dir: Path) -> None:
    """The control: the same AdamW steps on bf16 weights lose almost every update (why masters are fp32)."""
    from transformers import AutoModelForImageTextToText

    model = AutoModelForImageTextToText.from_pretrained(str(tiny_model_dir), dtype=torch.bfloat16)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.0)
    ids = torch.randint(0, 100, (2, 16))
    for _ in range(3):
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    frac, norms = _moved(before, model)
    assert frac < 0.2 and max(norms.values()) < 0.05, (frac, norms)


def test_lora_keeps_a_bf16_base_and_fp32_adapters() -> None:
    from vrd.trainers.common import master_dtype
    from vrd.trainers.config import VrdSFTConfig

    assert master_dtype(VrdSFTConfig(model="m", data="d", out="o", bf16=True)) == torch.float32
    assert master_dtype(VrdSFTConfig(model="m", data="d", out="o", bf16=True, lora=8)) == torch.bfloat16
    assert master_dtype(VrdSFTConfig(model="m", data="d", out="o", bf16=False, lora=8)) == torch.float32


def test_lora_merge_from_disk_matches_the_in_memory_merge(tiny_model_dir: Path, tmp_path: Path) -> None:
    """The FSDP / ZeRO-3 path: the adapter merged into base weights read from disk gives the same model."""
    from peft import get_peft_model
    from transformers import AutoModelForImageTextToText

    from vrd.trainers.common import lora_config, merge_adapter_from_disk
    from vrd.trainers.config import VrdSFTConfig

    cfg = VrdSFTConfig(model=str(tiny_model_dir), data="d", out=str(tmp_path), lora=4, bf16=False)
    peft_model = get_peft_model(AutoModelForImageTextToText.from_pretrained(str(tiny_model_dir)), lora_config(cfg))
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.5)  # a trained adapter: B is no longer zero
    peft_model.save_pretrained(str(tmp_path / "adapter"))
    ids = torch.randint(0, 100, (1, 12))
    want = peft_model.merge_and_unload()(input_ids=ids).logits
    merge_adapter_from_disk(cfg, tmp_path / "adapter", tmp_path / "merged")
    got = AutoModelForImageTextToText.from_pretrained(str(tmp_path / "merged"))(input_ids=ids).logits
    base = AutoModelForImageTextToText.from_pretrained(str(tiny_model_dir))(input_ids=ids).logits
    assert torch.allclose(got, want, atol=1e-4) and not torch.allclose(got, base, atol=1e-3)


def test_sharded_strategies_are_detected() -> None:
    from types import SimpleNamespace

    from accelerate.utils import DistributedType

    from vrd.trainers.common import params_sharded

    def acc(kind: object, stage: int | None = None) -> SimpleNamespace:
        return SimpleNamespace(distributed_type=kind, state=SimpleNamespace(
            deepspeed_plugin=SimpleNamespace(zero_stage=stage) if stage else None))

    assert params_sharded(acc(DistributedType.FSDP)) and params_sharded(acc(DistributedType.DEEPSPEED, 3))
    assert not params_sharded(acc(DistributedType.DEEPSPEED, 2)) and not params_sharded(acc(DistributedType.MULTI_GPU))

"""The trainer behind `interleaved`, `progressive` and `mix`, and `train_combo`, which runs any strategy
(the strategies and their settings are in `vrd/trainers/strategies.py`).

`ComboGRPOTrainer` is vrd's GRPO trainer with `training_step` and `compute_loss` overridden:
an SFT step skips rollouts and back-propagates the NLL of an SFT batch (TRL's vision SFT
collator, assistant-only labels) at the SFT learning rate; a mix step adds lambda x that NLL
to the RL loss. The SFT rows a micro-step reads are a function of the step number, so a run
resumed from a checkpoint reads what the uninterrupted run would have.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from vrd.trainers.rl import VrdGRPOTrainer
from vrd.trainers.strategies import PHASES_FILE, STRATEGY_FILE, Schedule, VrdComboConfig, stage_configs

log = logging.getLogger(__name__)


class SFTBatches:
    """SFT micro-batches addressed by a running index: epoch e reads a seeded permutation of the split."""

    def __init__(self, dataset: Any, collator: Any, batch_size: int, seed: int, rank: int = 0, world: int = 1) -> None:
        self.dataset = dataset
        self.collator = collator
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world = world
        self._perms: dict[int, list[int]] = {}

    def _perm(self, epoch: int) -> list[int]:
        import torch

        if epoch not in self._perms:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._perms[epoch] = torch.randperm(len(self.dataset), generator=g).tolist()
        return self._perms[epoch]

    def rows(self, index: int) -> list[int]:
        """Dataset rows of micro-batch `index` on this process."""
        n = len(self.dataset)
        start = (index * self.world + self.rank) * self.batch_size
        return [self._perm(k // n)[k % n] for k in range(start, start + self.batch_size)]

    def batch(self, index: int, device: Any) -> dict[str, Any]:
        examples = [self.dataset[i] for i in self.rows(index)]
        out = self.collator(examples)
        return {k: v.to(device) if hasattr(v, "to") else v for k, v in out.items()}


def sft_collator(processor: Any, max_length: int | None) -> Any:
    """TRL's vision SFT collator with assistant-only labels, as SFTTrainer builds it."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers
    from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

    from vrd.trainers.sft import _assistant_only_ok

    assistant_only = _assistant_only_ok(processor)
    template = None
    if assistant_only and not has_generation_markers(processor.chat_template):
        template = get_training_chat_template(processor)
    return DataCollatorForVisionLanguageModeling(processor=processor, max_length=max_length,
                                                 assistant_only_loss=assistant_only, chat_template=template)


class ComboGRPOTrainer(VrdGRPOTrainer):
    """VrdGRPOTrainer whose optimizer steps follow a Schedule of SFT / RL / mixed steps."""

    def __init__(self, *args: Any, schedule: Schedule, sft_batches: SFTBatches, sft_lr_scale: float = 1.0,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedule = schedule
        self.sft_batches = sft_batches
        self.sft_lr_scale = sft_lr_scale
        self._micro_step = -1  # micro-step within the current optimizer step
        self._micro_of: int | None = None  # the optimizer step _micro_step counts for
        self._lr_scaled_at: int | None = None
        self.last_phase: dict[str, Any] = {}

    # -- bookkeeping ------------------------------------------------------------------------------
    def _total(self) -> int:
        return max(1, int(self.state.max_steps or 1))

    def _next_sft_index(self) -> int:
        step = self.state.global_step
        if self._micro_of != step:
            self._micro_of, self._micro_step = step, 0
        else:
            self._micro_step += 1
        before = self.schedule.sft_steps_before(step, self._total())
        return before * self.current_gradient_accumulation_steps + self._micro_step

    def _sft_nll(self, model: Any) -> Any:
        batch = self.sft_batches.batch(self._next_sft_index(), self.accelerator.device)
        return model(**batch).loss

    def _record(self, phase: str, **extra: float) -> None:
        step = self.state.global_step
        share = self.schedule.share(step, self._total()) if self.schedule.strategy == "progressive" else None
        if self.last_phase.get("step") != step + 1:
            m = self._metrics["train"]
            m["phase/sft"].append(1.0 if phase == "sft" else 0.0)
            m["phase/rl"].append(1.0 if phase == "rl" else 0.0)
            if phase == "mix":
                m["mix/lambda"].append(self.schedule.mix_lambda)
            if share is not None:
                m["progressive/sft_share"].append(share)
            self.last_phase = {"step": step + 1, "phase": phase, "strategy": self.schedule.strategy}
            if share is not None:
                self.last_phase["sft_share"] = round(share, 6)
            if phase == "mix":
                self.last_phase["lambda"] = self.schedule.mix_lambda
        for key, value in extra.items():
            self._metrics["train"][key].append(value)
            self.last_phase[key] = round(value, 6)

    def _scale_lr_for_sft(self) -> None:
        """An SFT step runs at the SFT rate: LambdaLR recomputes every group's rate at its next step."""
        step = self.state.global_step
        if self._lr_scaled_at == step or self.optimizer is None or self.sft_lr_scale == 1.0:
            return
        for group in self.optimizer.param_groups:
            group["lr"] = group["lr"] * self.sft_lr_scale
        self._lr_scaled_at = step

    # -- the two overrides ---------------------------------------------------------------------------
    # Same convention as VrdGRPOTrainer: read the named arguments, pass the rest on untouched.
    def training_step(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        phase = self.schedule.phase(self.state.global_step, self._total())
        if phase != "sft":
            self._record(phase)
            return super().training_step(model, inputs, *args, **kwargs)
        # An SFT step: no rollouts; the RL prompts this micro-step was handed are skipped.
        self._record("sft")
        self._scale_lr_for_sft()
        model.train()
        with self.compute_loss_context_manager():
            nll = self._sft_nll(model)
        lr = float(self.optimizer.param_groups[0]["lr"]) if self.optimizer is not None else float("nan")
        self._record("sft", **{"sft/nll": float(nll.detach()), "sft/lr": lr})
        loss = nll / self.current_gradient_accumulation_steps
        self.accelerator.backward(loss)
        return loss.detach()

    def compute_loss(self, model: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        loss = super().compute_loss(model, inputs, *args, **kwargs)
        if self.schedule.strategy != "mix" or not model.training or self.schedule.mix_lambda == 0:
            return loss
        nll = self._sft_nll(model)
        self._record("mix", **{"sft/nll": float(nll.detach())})
        # GRPO's loss is already divided by the accumulation steps (loss_is_scaled_for_ga); so is this term.
        return loss + self.schedule.mix_lambda * nll / self.current_gradient_accumulation_steps


class PhaseLog(TrainerCallback):
    """One `phases.jsonl` line per optimizer step; a resumed run first drops lines past its checkpoint."""

    def __init__(self, out: str | Path) -> None:
        self.path = Path(out) / PHASES_FILE
        self.trainer: ComboGRPOTrainer | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        from vrd.trainers.callbacks import cut_run_log

        if state.is_world_process_zero:  # a torn line left by a kill goes too
            cut_run_log(self.path, lambda r: 0 < int(r["step"]) <= state.global_step)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero or self.trainer is None or not self.trainer.last_phase:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(self.trainer.last_phase) + "\n")


def build_combo_trainer(cfg: VrdComboConfig, callbacks: list[Any] | None = None) -> tuple[Any, Any]:
    """(ComboGRPOTrainer, processor) for interleaved / progressive / mix."""
    from vrd.trainers.data import load_sft_dataset
    from vrd.trainers.rl import build_rl_trainer

    phase_log = PhaseLog(cfg.out)
    sft_dataset = load_sft_dataset(cfg.sft_source(), cfg.sft_split, limit=cfg.limit)
    def extra(processor: Any, args: Any) -> dict[str, Any]:
        import os

        batches = SFTBatches(sft_dataset, sft_collator(processor, cfg.sft_max_length), cfg.sft_batch_size,
                             cfg.seed, rank=int(os.environ.get("RANK", "0")), world=cfg.world_size())
        return {"schedule": Schedule.from_config(cfg), "sft_batches": batches, "sft_lr_scale": cfg.sft_lr / cfg.lr}

    trainer, processor = build_rl_trainer(cfg, [phase_log, *(callbacks or [])], trainer_cls=ComboGRPOTrainer,
                                          trainer_kwargs=extra)
    phase_log.trainer = trainer
    return trainer, processor


def _write_phases_two_stage(out: Path, sft_dir: Path, rl_dir: Path) -> None:
    from vrd.trainers.callbacks import METRICS_FILE

    def steps(folder: Path) -> list[int]:
        path = folder / METRICS_FILE
        if not path.is_file():
            return []
        recs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return sorted({int(r["step"]) for r in recs if r.get("kind") == "train" and "loss" in r})

    sft_steps = steps(sft_dir)
    lines = [{"step": s, "phase": "sft", "strategy": "two-stage", "stage_step": s, "stage": str(sft_dir)}
             for s in sft_steps]
    offset = sft_steps[-1] if sft_steps else 0
    lines += [{"step": offset + s, "phase": "rl", "strategy": "two-stage", "stage_step": s, "stage": str(rl_dir)}
              for s in steps(rl_dir)]
    from vrd.outputs import write_text_atomic

    write_text_atomic(out / PHASES_FILE, "".join(json.dumps(r) + "\n" for r in lines))


def train_two_stage(cfg: VrdComboConfig) -> Path:
    """SFT into OUT/sft (skipped when its final model is there), then RL from it into OUT/rl."""
    from vrd.trainers.rl import train_rl
    from vrd.trainers.sft import train_sft

    sft_cfg, rl_cfg = stage_configs(cfg)
    sft_dir = Path(sft_cfg.out)
    if (sft_dir / "vrd_train_config.json").is_file() and cfg.resume != "never":
        log.info("two-stage: SFT model already in %s; going on to RL", sft_dir)
    else:
        train_sft(sft_cfg)
    rl_dir = train_rl(rl_cfg)
    out = Path(cfg.out)
    _write_phases_two_stage(out, sft_dir, Path(rl_dir))
    _write_record(cfg, final=Path(rl_dir), stages={"sft": str(sft_dir), "rl": str(rl_dir)})
    return Path(rl_dir)


def _write_record(cfg: VrdComboConfig, final: Path, stages: dict[str, str] | None = None) -> None:
    from vrd.outputs import write_text_atomic
    from vrd.redact import redact

    record = {"strategy": cfg.strategy, "final_model": str(final), "stages": stages or {}, "config": cfg.to_dict()}
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / STRATEGY_FILE, json.dumps(redact(record), indent=2, default=str))


def train_combo(cfg: VrdComboConfig, callbacks: list[Any] | None = None) -> Path:
    """Run the configured strategy; returns the folder of the final model."""
    from vrd.trainers.combo import build_combo_trainer
    from vrd.trainers.common import resume_checkpoint, save_final, say_what_is_kept
    from vrd.trainers.data import check_eval_data
    from vrd.trainers.launch import train_lock

    cfg.require_io()
    check_eval_data(cfg)
    with train_lock(cfg.out, "train combo"):
        if cfg.strategy == "two-stage":
            return train_two_stage(cfg)
        trainer, processor = build_combo_trainer(cfg, callbacks)
        with say_what_is_kept(cfg):
            trainer.train(resume_from_checkpoint=resume_checkpoint(cfg))
        out = save_final(trainer, processor, cfg)
        if trainer.accelerator.is_main_process:
            _write_record(cfg, final=out)
        return out

"""What SFT and RL share: loading the VLM, freezing the vision tower, LoRA, precision, resume, saving.

The output directory must be loadable by `vrd distill --teacher OUT` and `vrd eval --model OUT`
(AutoModelForImageTextToText + AutoProcessor), so a LoRA run is merged before the final save
and the processor is always written beside the weights.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vrd.trainers.config import VrdTrainConfig, to_dict

log = logging.getLogger(__name__)

VISION_ATTRS = ("visual", "vision_tower", "vision_model")
# Projector names kept trainable when the vision tower is frozen: they map vision features into
# the language model's space and are cheap; freezing only the encoder matches common VLM SFT.
PROJECTOR_NAMES = ("merger", "multi_modal_projector", "mm_projector")
LORA_TARGETS = r".*(language_model|model\.layers).*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


def on_gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def use_bf16(cfg: VrdTrainConfig) -> bool:
    """bf16 on a GPU that supports it; fp32 on CPU, where bf16 matmuls are slow and lossy."""
    if cfg.bf16 is not None:
        return bool(cfg.bf16)
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def load_processor(cfg: VrdTrainConfig) -> Any:
    from vrd.models.loading import load_processor as _load

    return _load(cfg.model, max_pixels=cfg.max_pixels or None, min_pixels=cfg.min_pixels or None)


def master_dtype(cfg: VrdTrainConfig) -> Any:
    """The dtype the trained weights are kept in.

    Full fine-tuning keeps fp32 master weights and computes in bf16 under autocast
    (TrainingArguments `bf16=True` makes accelerate wrap the forward in `torch.autocast`):
    a bf16 weight has 8 mantissa bits, so an AdamW update of lr 1e-6 (the RL rate) is below
    half an ulp for almost every weight and rounds away, and norm weights near 1.0 never move.
    The Trainer and DDP keep no fp32 copy of their own (only FSDP's mixed-precision policy
    and DeepSpeed do), so the copy has to be the model itself. Under LoRA the base weights
    are frozen and peft keeps the adapters in fp32 (`autocast_adapter_dtype`), so the base
    can stay in bf16 and halve its memory.
    """
    import torch

    if cfg.lora and use_bf16(cfg):
        return torch.bfloat16
    return torch.float32


def load_model(cfg: VrdTrainConfig) -> Any:
    """The VLM in its master dtype (see `master_dtype`), not moved: the Trainer/accelerate places it."""
    from vrd.models.loading import load_model as _load

    model = _load(cfg.model, dtype=master_dtype(cfg))
    model.config.use_cache = False
    return model


def vision_tower(model: Any) -> Any | None:
    """The vision encoder module of a HF VLM, wherever this architecture keeps it."""
    for holder in (model, getattr(model, "model", None)):
        if holder is None:
            continue
        for attr in VISION_ATTRS:
            module = getattr(holder, attr, None)
            if module is not None:
                return module
    return None


def freeze_vision(model: Any) -> int:
    """Freeze the vision encoder (projector stays trainable); returns parameters frozen."""
    tower = vision_tower(model)
    if tower is None:
        log.warning("no vision tower found on %s; nothing frozen", type(model).__name__)
        return 0
    frozen = 0
    for name, param in tower.named_parameters():
        if any(p in name for p in PROJECTOR_NAMES):
            continue
        param.requires_grad_(False)
        frozen += param.numel()
    return frozen


def lora_config(cfg: VrdTrainConfig) -> Any | None:
    """A peft LoRA config on the language model's linear layers, or None for full fine-tuning."""
    if not cfg.lora:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=cfg.lora,
        lora_alpha=cfg.lora_alpha or 2 * cfg.lora,
        lora_dropout=cfg.lora_dropout,
        target_modules=LORA_TARGETS,
        task_type="CAUSAL_LM",
    )


def resume_checkpoint(cfg: VrdTrainConfig) -> str | None:
    """What to pass as `resume_from_checkpoint`: under 'auto', the newest whole checkpoint of this run in OUT.

    See `vrd.trainers.resume`: half-saved checkpoints are skipped and another run's are refused.
    """
    from vrd.trainers.resume import check_explicit, check_whole, find_checkpoint, run_identity

    if cfg.resume in ("never", "no", "false", ""):
        return None
    identity = run_identity(cfg)
    if cfg.resume == "auto":
        found = find_checkpoint(Path(cfg.out), identity)
        if found is not None:
            check_whole(found)
            print_effective_settings(f"vrd train | resuming from {found} (a rerun of a stopped run)")
        return str(found) if found is not None else None
    path = Path(cfg.resume)
    check_explicit(path, identity)
    check_whole(path)
    print_effective_settings(f"vrd train | resuming from {path}")
    return str(path)


@contextlib.contextmanager
def say_what_is_kept(cfg: VrdTrainConfig) -> Iterator[None]:
    """Ctrl-C in training: one line naming the newest whole checkpoint the same command resumes
    from, instead of a bare 'interrupted'."""
    try:
        yield
    except KeyboardInterrupt as exc:
        if str(exc):
            raise
        from vrd.trainers.resume import find_checkpoint, run_identity

        try:
            found = find_checkpoint(Path(cfg.out), run_identity(cfg))
        except Exception:  # noqa: BLE001 - the note must not hide the interrupt
            found = None
        if found is not None:
            note = f"interrupted: {found} is saved; rerun the same command to resume from it"
        else:
            note = (f"interrupted: no checkpoint was saved in {cfg.out} yet (one every --save-steps steps); "
                    "rerun the same command to start over")
        raise KeyboardInterrupt(note) from None


def _checkpointing(on: bool) -> dict[str, Any]:
    """transformers 5 renamed gradient_checkpointing to activation_checkpointing; use what exists."""
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    prefix = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {prefix: on, f"{prefix}_kwargs": {"use_reentrant": False} if on else None}


def common_args(cfg: VrdTrainConfig) -> dict[str, Any]:
    """TrainingArguments fields both trainers set the same way."""
    gpu = on_gpu()
    ckpt = cfg.gradient_checkpointing if cfg.gradient_checkpointing is not None else gpu
    plan = cfg.batch_plan()
    return {
        "output_dir": cfg.out,
        "num_train_epochs": cfg.epochs,
        "max_steps": cfg.max_steps,
        "learning_rate": cfg.lr,
        "lr_scheduler_type": cfg.scheduler,
        "warmup_steps": cfg.warmup_ratio,  # transformers 5: a float in [0, 1) is a ratio of total steps
        "weight_decay": cfg.weight_decay,
        "per_device_train_batch_size": plan.per_device,
        "gradient_accumulation_steps": plan.accum,
        "bf16": use_bf16(cfg),
        "fp16": False,
        **_checkpointing(ckpt),
        "logging_steps": cfg.logging_steps,
        "save_steps": cfg.save_steps,
        "save_total_limit": cfg.save_total_limit,
        "report_to": [] if cfg.report_to == "none" else [cfg.report_to],
        "seed": cfg.seed,
        "use_cpu": not gpu,
        "dataloader_num_workers": 0,
        "remove_unused_columns": False,
    }


def effective_settings(cfg: VrdTrainConfig, args: Any, extra: dict[str, Any] | None = None) -> str:
    """What this run actually trains with, printed at start: the recipe, the batch arithmetic, the optimizer."""
    plan = cfg.batch_plan()
    lines = [
        f"recipe: {cfg.recipe}" + ("" if cfg.recipe == "paper" else " (vrd's defaults, not the papers'; "
                                                                      "--recipe paper for theirs)"),
        f"batch: {plan.global_batch} per optimizer update = {plan.per_device} per device x {plan.world} process(es) "
        f"x {plan.accum} accumulation",
        f"optimizer: lr {args.learning_rate:g} ({args.lr_scheduler_type}, warmup {cfg.warmup_ratio:g}), "
        f"weight decay {args.weight_decay:g}, {cfg.epochs:g} epoch(s), max steps {cfg.max_steps}",
        f"precision: {'bf16 autocast' if args.bf16 else 'fp32'}, master weights {str(master_dtype(cfg)).split('.')[-1]}"
        f"{', LoRA rank ' + str(cfg.lora) if cfg.lora else ', full fine-tuning'}, vision tower "
        f"{'trainable' if cfg.unfreeze_vision else 'frozen'}",
    ]
    if plan.note:
        lines.append(f"note: {plan.note}")
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return "\n".join("vrd train | " + line for line in lines)


def print_effective_settings(text: str) -> None:
    import os
    import sys

    if os.environ.get("RANK", "0") == "0":
        print(text, file=sys.stderr, flush=True)


def prepare_model(cfg: VrdTrainConfig) -> Any:
    model = load_model(cfg)
    if not cfg.unfreeze_vision:
        n = freeze_vision(model)
        log.info("froze %d vision-tower parameters", n)
    return model


def params_sharded(accelerator: Any) -> bool:
    """Whether each process holds only a shard of the weights (FSDP, or DeepSpeed ZeRO stage 3)."""
    from accelerate.utils import DistributedType

    kind = getattr(accelerator, "distributed_type", None)
    if kind == DistributedType.FSDP:
        return True
    if kind == DistributedType.DEEPSPEED:
        plugin = getattr(accelerator.state, "deepspeed_plugin", None)
        return getattr(plugin, "zero_stage", None) == 3
    return False


def merge_adapter_from_disk(cfg: VrdTrainConfig, adapter: Path, out: Path) -> None:
    """Merge a saved LoRA adapter into the base model read from disk, and save the result in `out`."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    from vrd.models.loading import resolve_model

    dtype = torch.bfloat16 if use_bf16(cfg) else torch.float32
    base = AutoModelForImageTextToText.from_pretrained(resolve_model(cfg.model), dtype=dtype)
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.config.use_cache = True
    merged.save_pretrained(str(out), safe_serialization=True)


FINAL_STAGING = ".final-staging"
DONE_MARK = "vrd_train_config.json"  # written last: a folder without it holds no finished model
# What a final save writes that a later save in another layout (sharded, LoRA) would not overwrite.
WEIGHT_FILES = re.compile(r"(model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json|"
                          r"adapter_model\.safetensors|adapter_config\.json)")


def save_final(trainer: Any, processor: Any, cfg: VrdTrainConfig) -> Path:
    """Write a model + processor that the Auto classes load; LoRA adapters are merged first.

    Everything is saved into `OUT/.final-staging` and moved into OUT once whole, the record
    (`vrd_train_config.json`) last; the earlier run's record goes first. So a kill mid-save never
    leaves a torn weight file at OUT, nor weights without their processor under a record that
    says the run finished (two-stage skips an SFT stage on that record).
    """
    import shutil

    out = Path(cfg.out)
    stage = out / FINAL_STAGING
    main = trainer.accelerator.is_main_process
    if main:
        (out / DONE_MARK).unlink(missing_ok=True)
        shutil.rmtree(stage, ignore_errors=True)  # a killed save's
    trainer.accelerator.wait_for_everyone()  # every rank saves into a clean folder
    unwrapped = trainer.accelerator.unwrap_model(trainer.model)
    for m in (unwrapped, getattr(unwrapped, "base_model", None)):
        if m is not None and getattr(m, "config", None) is not None:
            m.config.use_cache = True  # training turned the KV cache off; generation wants it back
    trainer.save_model(str(stage))  # full model, or the adapter under LoRA; handles FSDP/ZeRO-3 gathering
    if not main:
        return out
    model = trainer.accelerator.unwrap_model(trainer.model)
    if cfg.lora and hasattr(model, "merge_and_unload"):
        if params_sharded(trainer.accelerator):
            # Under FSDP / ZeRO-3 this process holds only a shard of each base weight, so merging
            # in memory would write a broken model. `save_model` above gathered the adapter;
            # merge it into a fresh copy of the base weights read from disk instead.
            adapter = stage / "adapter"
            adapter.mkdir(exist_ok=True)
            for name in ("adapter_model.safetensors", "adapter_config.json"):
                if (stage / name).exists():
                    (stage / name).replace(adapter / name)
            merge_adapter_from_disk(cfg, adapter, stage)
        else:
            model.save_pretrained(str(stage / "adapter"))
            merged = model.merge_and_unload()
            merged.save_pretrained(str(stage), safe_serialization=True)
        for stale in ("adapter_model.safetensors", "adapter_config.json"):
            (stage / stale).unlink(missing_ok=True)
    processor.save_pretrained(str(stage))
    _publish_final(stage, out)
    record = {**to_dict(cfg), "run": {
        "world_size": trainer.accelerator.num_processes,
        "gradient_accumulation_steps": trainer.args.gradient_accumulation_steps,
        "per_device_train_batch_size": trainer.args.per_device_train_batch_size,
        "bf16": bool(trainer.args.bf16),
        "global_step": trainer.state.global_step,
    }}
    from vrd.outputs import write_text_atomic
    from vrd.redact import redact

    write_text_atomic(out / DONE_MARK, json.dumps(redact(record), indent=2, default=str))
    return out


def _publish_final(stage: Path, out: Path) -> None:
    """Move the staged final model into OUT, each file whole (a rename); weight files of an
    earlier save that this one did not write go first, so a loader never mixes the two."""
    import os
    import shutil

    from vrd.outputs import fsync_path, fsync_tree

    fsync_tree(stage)
    new = {p.name for p in stage.iterdir()}
    for old in out.iterdir():
        if old.is_file() and WEIGHT_FILES.fullmatch(old.name) and old.name not in new:
            old.unlink()
    for item in sorted(stage.iterdir()):
        target = out / item.name
        if item.is_dir() and target.is_dir():
            shutil.rmtree(target)
        os.replace(item, target)
    stage.rmdir()
    fsync_path(out)

"""`vrd train sft`: TRL's SFTTrainer on a VLM with the paper's recipe.

Rows are conversational (`messages` + `images`); TRL's vision collator applies the chat
template with the images and, with `assistant_only_loss`, masks everything but the
assistant turn through the template's `{% generation %}` marks (TRL swaps in a training
template for known families such as Qwen2.5-VL). Templates TRL cannot patch fall back to a
full-sequence loss with a warning rather than failing the run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from vrd.trainers.config import VrdSFTConfig

log = logging.getLogger(__name__)


def _assistant_only_ok(processor: Any) -> bool:
    """Whether TRL can mask the loss to the assistant turn with this chat template."""
    from trl.chat_template_utils import get_training_chat_template, has_generation_markers

    template = getattr(processor, "chat_template", None)
    if isinstance(template, dict):
        template = template.get("default")
    if template and has_generation_markers(template):
        return True
    try:
        return get_training_chat_template(processor) is not None
    except (ValueError, TypeError, KeyError, NotImplementedError) as exc:
        log.warning("chat template has no {%% generation %%} marks and TRL cannot patch it (%s); "
                    "training on the full sequence", exc)
        return False


def sft_trainer_class() -> type:
    """TRL's SFTTrainer with whole checkpoints and full-weight resume (see vrd.trainers.resume)."""
    from trl import SFTTrainer

    from vrd.trainers.resume import CheckpointMixin

    return type("VrdSFTTrainer", (CheckpointMixin, SFTTrainer), {})


def build_sft_trainer(cfg: VrdSFTConfig, callbacks: list[Any] | None = None) -> tuple[Any, Any]:
    """(SFTTrainer, processor), ready to `.train()`; split out so tests can inspect it."""
    from trl import SFTConfig

    from vrd.trainers.callbacks import RewardAccuracyMonitor
    from vrd.trainers.common import (
        common_args,
        effective_settings,
        load_processor,
        lora_config,
        prepare_model,
        print_effective_settings,
    )
    from vrd.trainers.data import load_sft_dataset
    from vrd.trainers.resume import run_identity
    from vrd.trainers.trl_keys import trainer_args

    cfg.require_io()
    dataset = load_sft_dataset(cfg.data, cfg.data_split(), limit=cfg.limit)
    processor = load_processor(cfg)
    fields = {
        **common_args(cfg),
        "max_length": cfg.max_length,
        "assistant_only_loss": cfg.assistant_only_loss and _assistant_only_ok(processor),
        "packing": False,  # TRL does not pack vision datasets
    }
    # The arguments exist before the model loads: under ZeRO-3 they install the DeepSpeed config
    # that makes `from_pretrained` build the model sharded (`zero3_init_flag`) instead of whole on every rank.
    args = trainer_args(SFTConfig, fields, cfg.trl, "sft")  # the YAML's `trl:` mapping adds fields vrd does not set
    print_effective_settings(effective_settings(cfg, args, {"max length": cfg.max_length}))
    model = prepare_model(cfg)
    monitor = RewardAccuracyMonitor.from_config(cfg)
    trainer = sft_trainer_class()(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=lora_config(cfg),
        callbacks=[monitor, *(callbacks or [])],
    )
    monitor.bind(trainer)
    trainer.vrd_identity = run_identity(cfg)
    return trainer, processor


def train_sft(cfg: VrdSFTConfig, callbacks: list[Any] | None = None) -> Path:
    """Train, then save model + processor to `cfg.out`; resumes from the last checkpoint by default."""
    from vrd.outputs import require_out_dir
    from vrd.trainers.common import resume_checkpoint, save_final, say_what_is_kept
    from vrd.trainers.data import check_eval_data
    from vrd.trainers.launch import train_lock

    check_eval_data(cfg)
    require_out_dir(cfg.out)
    with train_lock(cfg.out, "train sft"):
        checkpoint = resume_checkpoint(cfg)  # refuse another run's checkpoints before loading anything
        trainer, processor = build_sft_trainer(cfg, callbacks)
        with say_what_is_kept(cfg):
            trainer.train(resume_from_checkpoint=checkpoint)
        return save_final(trainer, processor, cfg)

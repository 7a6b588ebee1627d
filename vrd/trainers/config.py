"""Trainer settings: one dataclass per trainer, with the paper's defaults.

The same object is filled from three places, in order of precedence: CLI flags, then a
YAML file (`--config`), then these defaults. Keeping vrd's own small set of knobs (rather
than exposing TRL's hundred) is what lets the defaults encode the paper's recipe; anything
else TRL accepts can still be passed through the `trl` mapping of the YAML file.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from vrd.errors import VrdError, unknown_name

ALGOS = ("grpo", "dapo", "dr_grpo")
REPORT_TO = ("none", "tensorboard", "wandb")


@dataclass
class VrdTrainConfig:
    """Settings shared by SFT and RL."""

    model: str = ""
    data: str = ""
    out: str = ""
    split: str = ""  # the split subfolder read from a curate output; "" = the trainer's own (sft / rl)
    template: str = "math"  # prompt template for problem rows (RL, eval) and the format check
    epochs: float = 3.0
    max_steps: int = -1
    lr: float = 1e-5
    scheduler: str = "cosine"
    warmup_ratio: float = 0.1
    global_batch: int = 128
    batch_size: int = 1  # per device
    max_pixels: int | None = None
    min_pixels: int | None = None
    unfreeze_vision: bool = False
    lora: int = 0  # LoRA rank; 0 = full fine-tuning
    lora_alpha: int | None = None  # default 2 * rank
    lora_dropout: float = 0.05
    report_to: str = "none"
    resume: str = "auto"  # "auto" (latest checkpoint in OUT if any), "never", or a checkpoint path
    save_steps: int = 500
    save_total_limit: int | None = 2
    logging_steps: int = 1
    seed: int = 0
    bf16: bool | None = None  # None = bf16 on a GPU that supports it, fp32 elsewhere
    gradient_checkpointing: bool | None = None  # None = on for GPU, off for CPU
    eval_data: str | None = None
    eval_every: int = 0  # 0 = no held-out monitor
    eval_max_new_tokens: int = 512
    eval_limit: int = 200
    eval_batch_size: int = 8
    num_processes: int = 1
    accelerate_config: str = "ddp"  # ddp | fsdp | zero3 | a path to an accelerate YAML
    limit: int | None = None  # train on the first N rows only (smoke runs)
    trl: dict[str, Any] = field(default_factory=dict)  # extra fields passed verbatim to TRL's config

    def validate(self) -> None:
        """Fail before any model is loaded, with the name of the bad setting."""
        for name in ("model", "data", "out"):
            if not getattr(self, name):
                raise VrdError(f"missing required setting '{name}' (give --{name} or put it in --config)")
        if self.report_to not in REPORT_TO:
            raise unknown_name("report_to", self.report_to, REPORT_TO)
        if self.batch_size < 1 or self.global_batch < 1:
            raise VrdError("batch_size and global_batch must be >= 1")
        if self.lora < 0:
            raise VrdError("lora rank must be >= 0")
        if self.eval_every and not self.eval_data:
            raise VrdError("--eval-every needs --eval-data (the held-out problems to score)")

    def world_size(self) -> int:
        """Processes in this run: accelerate sets WORLD_SIZE in each child it launches."""
        return int(os.environ.get("WORLD_SIZE", "1"))

    def grad_accum(self) -> int:
        """Accumulation steps so that per-device batch x world x steps reaches the global batch."""
        per_step = self.batch_size * self.world_size()
        return max(1, math.ceil(self.global_batch / per_step))


@dataclass
class VrdSFTConfig(VrdTrainConfig):
    """SFT defaults (paper): lr 1e-5, 3 epochs, cosine, warmup 0.1, global batch 128, frozen ViT."""

    max_length: int | None = 4096
    assistant_only_loss: bool = True

    def data_split(self) -> str:
        return self.split or "sft"


@dataclass
class VrdRLConfig(VrdTrainConfig):
    """GRPO-family defaults (paper): 10 generations, lr 1e-6, beta 0.01 (grpo) / 0 (dapo).

    `global_batch` and `batch_size` count completions, as TRL does: each optimizer step sees
    `global_batch / num_generations` prompts. The default (None) is 8 prompts per step.
    """

    lr: float = 1e-6
    epochs: float = 1.0
    global_batch: int | None = None  # type: ignore[assignment]
    batch_size: int | None = None  # type: ignore[assignment]  # default = num_generations
    algo: str = "grpo"
    num_generations: int = 10
    max_new_tokens: int = 1024
    temperature: float = 1.0
    beta: float | None = None  # None = the algorithm's default
    epsilon: float = 0.2
    epsilon_high: float | None = None  # None = the algorithm's default
    format_weight: float = 0.1
    overlong_buffer: int | None = None  # DAPO soft overlong cache; None = max_new_tokens // 5
    mask_truncated_completions: bool = False
    dynamic_sampling: bool = False
    image_size: int | None = None  # RL images are resized to one square size; None = from max_pixels
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    vllm_gpu_memory_utilization: float = 0.3

    def data_split(self) -> str:
        return self.split or "rl"

    def __post_init__(self) -> None:
        if self.batch_size is None:
            self.batch_size = self.num_generations
        if self.global_batch is None:
            self.global_batch = 8 * self.num_generations

    def validate(self) -> None:
        super().validate()
        if self.algo not in ALGOS:
            raise unknown_name("algorithm", self.algo, ALGOS)
        if self.num_generations < 2:
            raise VrdError("--num-generations must be >= 2: GRPO needs a group to compute advantages")
        if self.global_batch % self.num_generations:
            raise VrdError(
                f"global_batch ({self.global_batch}) must be a multiple of num_generations ({self.num_generations}): "
                "every optimizer step must hold whole prompt groups"
            )
        if not 0.0 <= self.format_weight <= 1.0:
            raise VrdError("format_weight must be in [0, 1]")

    def algo_defaults(self) -> dict[str, Any]:
        """The loss settings each algorithm stands for, before user overrides."""
        if self.algo == "dapo":
            # DAPO: no KL, clip-higher, token-level loss; soft overlong penalty is added as a reward.
            return {"loss_type": "dapo", "beta": 0.0, "epsilon_high": 0.28, "scale_rewards": "group"}
        if self.algo == "dr_grpo":
            # Dr. GRPO: constant length normalizer and no std scaling (removes the difficulty bias).
            return {"loss_type": "dr_grpo", "beta": 0.0, "epsilon_high": self.epsilon, "scale_rewards": "none"}
        return {"loss_type": "grpo", "beta": 0.01, "epsilon_high": self.epsilon, "scale_rewards": "group"}

    def loss_settings(self) -> dict[str, Any]:
        settings = self.algo_defaults()
        if self.beta is not None:
            settings["beta"] = self.beta
        if self.epsilon_high is not None:
            settings["epsilon_high"] = self.epsilon_high
        return settings

    def overlong_cache(self) -> int:
        return self.overlong_buffer if self.overlong_buffer is not None else max(1, self.max_new_tokens // 5)


C = TypeVar("C", bound=VrdTrainConfig)


def _read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such config file")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise VrdError(f"{p}: not valid YAML ({exc})") from exc
    if not isinstance(data, Mapping):
        raise VrdError(f"{p}: the top level must be a mapping of setting: value")
    return dict(data)


def load_config(cls: type[C], path: str | os.PathLike | None = None, **overrides: Any) -> C:
    """Build a config: defaults <- YAML file <- overrides (None means 'not given')."""
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    if path:
        for key, value in _read_yaml(path).items():
            name = str(key).replace("-", "_")
            if name not in names:
                err = unknown_name("setting", name, sorted(names))
                raise VrdError(f"{path}: {err}") from None
            values[name] = value
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in names:
            raise unknown_name("setting", key, sorted(names))
        values[key] = value
    cfg = cls(**values)
    cfg.validate()
    return cfg


def to_dict(cfg: VrdTrainConfig) -> dict[str, Any]:
    """Plain dict for the run's manifest (`train_config.json`)."""
    return dataclasses.asdict(cfg)

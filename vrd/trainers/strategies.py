"""`vrd train combo`: SFT and RL combined, each strategy one setting away from the others.

The Synergy Dilemma paper (arXiv 2507.07562) compares ways of combining long-CoT SFT with RL;
these are the four that train (merging is `vrd merge`):
- `two-stage`: SFT, then RL from the SFT model; one command, OUT/sft and OUT/rl.
- `interleaved`: one GRPO run whose optimizer steps alternate `every` SFT steps and `every` RL
  steps, SFT first.
- `progressive`: the share of SFT steps decays linearly from `sft_share_start` to
  `sft_share_end` over the run while RL takes over. Step t is an SFT step when the running sum
  of the shares crosses an integer, so the schedule is deterministic and a resumed run repeats it.
- `mix`: every step optimizes RL loss + lambda * SFT NLL of one SFT batch per micro-step.

The single-run strategies (`vrd/trainers/combo.py`) are TRL's GRPOTrainer (vrd's `VrdGRPOTrainer`) with one override,
`training_step`: an SFT step skips rollout generation entirely and back-propagates the NLL of a
batch from the SFT split, collated by TRL's own vision SFT collator (assistant-only labels), at
the SFT learning rate (the optimizer's rate is scaled for that step only; the scheduler resets
it at the next step). Which SFT rows a micro-step reads is a function of the step number, so
resuming from a checkpoint continues the same data order without extra state.

Every step's phase, share and lambda go to `phases.jsonl` in the run folder and, as numbers,
to `metrics.jsonl` (`phase/sft`, `phase/rl`, `progressive/sft_share`, `mix/lambda`, `sft/nll`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vrd.config import setting
from vrd.errors import ConfigError, unknown_name
from vrd.trainers.config import (
    MAX_BATCH,
    MAX_EPOCHS,
    MAX_LOSS_WEIGHT,
    VrdRLConfig,
    VrdSFTConfig,
    VrdTrainConfig,
)

STRATEGIES = ("two-stage", "interleaved", "progressive", "mix")
PHASES_FILE = "phases.jsonl"
STRATEGY_FILE = "vrd_strategy.json"


@dataclass
class VrdComboConfig(VrdRLConfig):
    """RL settings (the RL side of every strategy) plus the SFT side and the schedule."""

    strategy: str = setting("two-stage", help="two-stage | interleaved | progressive | mix.")
    sft_data: str = setting("", help="Where the SFT split is read from (default: --data).")
    sft_split: str = setting("sft", help="SFT split subfolder.")
    sft_lr: float = setting(1e-5, help="SFT learning rate (two-stage's SFT stage; SFT steps of interleaved / "
                                       "progressive).", above=0, at_most=1)
    sft_epochs: float = setting(3.0, help="two-stage: SFT epochs.", above=0, at_most=MAX_EPOCHS)
    sft_max_steps: int = setting(-1, help="two-stage: SFT steps (-1 = run the epochs).", at_least=-1)
    sft_global_batch: int = setting(128, help="two-stage: SFT samples per optimizer step.", at_least=1,
                                    at_most=MAX_BATCH)
    sft_batch_size: int = setting(1, help="SFT rows per device per micro-step.", at_least=1, at_most=MAX_BATCH)
    sft_max_length: int | None = setting(4096, help="Max tokens per SFT sample.", at_least=1)
    every: int = setting(1, help="interleaved: optimizer steps per phase (SFT first).")
    sft_share_start: float = setting(1.0, help="progressive: share of SFT steps at the start.")
    sft_share_end: float = setting(0.0, help="progressive: share of SFT steps at the end.")
    mix_lambda: float = setting(0.1, help="mix: weight of the SFT NLL added to the RL loss.",
                                at_most=MAX_LOSS_WEIGHT)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.strategy not in STRATEGIES:
            raise unknown_name("strategy", self.strategy, STRATEGIES)
        if self.every < 1:
            raise ConfigError(f"--every {self.every}: must be >= 1")
        if self.sft_max_steps == 0:
            raise ConfigError("--sft-max-steps 0: must be -1 (run the epochs) or at least 1")
        for name in ("sft_share_start", "sft_share_end"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"--{name.replace('_', '-')} {getattr(self, name)}: must be in [0, 1]")
        if self.mix_lambda < 0:
            raise ConfigError(f"--mix-lambda {self.mix_lambda}: must be >= 0")
        if self.sft_batch_size < 1 or self.sft_global_batch < 1:
            raise ConfigError("sft_batch_size and sft_global_batch must be >= 1")
        if self.sft_lr <= 0:
            raise ConfigError(f"--sft-lr {self.sft_lr}: must be > 0")

    def sft_source(self) -> str:
        return self.sft_data or self.data


# ---- the schedule ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Which phase optimizer step `step` (0-based) runs, as a pure function of the step number."""

    strategy: str
    every: int = 1
    share_start: float = 1.0
    share_end: float = 0.0
    mix_lambda: float = 0.1

    @classmethod
    def from_config(cls, cfg: VrdComboConfig) -> Schedule:
        return cls(cfg.strategy, cfg.every, cfg.sft_share_start, cfg.sft_share_end, cfg.mix_lambda)

    def share(self, step: int, total: int) -> float:
        """progressive: the SFT share at `step`, linear from start to end over `total` steps."""
        if total <= 1:
            return self.share_start
        return self.share_start + (self.share_end - self.share_start) * min(step, total - 1) / (total - 1)

    def phase(self, step: int, total: int) -> str:
        if self.strategy == "mix":
            return "mix"
        if self.strategy == "interleaved":
            return "sft" if (step // self.every) % 2 == 0 else "rl"
        if self.strategy == "progressive":
            before = sum(self.share(i, total) for i in range(step))
            # a small epsilon so that a share of exactly 1.0 gives an SFT step despite float sums
            return "sft" if math.floor(before + self.share(step, total) + 1e-9) > math.floor(before + 1e-9) else "rl"
        raise ConfigError(f"strategy '{self.strategy}' is not a single-run schedule")

    def sft_steps_before(self, step: int, total: int) -> int:
        """Optimizer steps before `step` that read SFT batches (SFT phases and every mix step)."""
        return sum(1 for i in range(step) if self.phase(i, total) in ("sft", "mix"))


# ---- entry points ---------------------------------------------------------------------------------


def _shared(cfg: VrdComboConfig, cls: type) -> dict[str, Any]:
    """The settings of `cfg` that `cls` also has (the shared trainer settings and, for RL, the RL ones)."""
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    return {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg) if f.name in names}


def stage_configs(cfg: VrdComboConfig) -> tuple[VrdSFTConfig, VrdRLConfig]:
    """two-stage: the SFT stage (OUT/sft) and the RL stage starting from its model (OUT/rl)."""
    out = Path(cfg.out)
    shared = _shared(cfg, VrdTrainConfig)
    sft = VrdSFTConfig(**{**shared, "data": cfg.sft_source(), "split": cfg.sft_split, "out": str(out / "sft"),
                          "lr": cfg.sft_lr, "epochs": cfg.sft_epochs, "max_steps": cfg.sft_max_steps,
                          "global_batch": cfg.sft_global_batch, "batch_size": cfg.sft_batch_size,
                          "max_length": cfg.sft_max_length, "trl": {}})
    rl = VrdRLConfig(**{**_shared(cfg, VrdRLConfig), "model": str(out / "sft"), "out": str(out / "rl")})
    return sft, rl

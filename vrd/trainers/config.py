"""Trainer settings: one dataclass per trainer, and the recipes that fill them.

Two recipes (`--recipe`): `vrd`, the default, is sized for a first run on a few GPUs and is
*not* the papers' recipe (RL: 8 prompts a step, cosine schedule with warmup, no weight decay,
1 epoch, 1,024 completion tokens, sequence-mean `grpo` loss, frozen vision tower); `paper`
is the recipe the seed papers ran (RL in EasyR1, SFT in LLaMA-Factory; see `RECIPES`). A
recipe only fills settings the user did not give; flags and the YAML file still win.

The same object is filled from three places, in order of precedence: CLI flags, then a
YAML file (`--config`), then these defaults (`Config.load`); the flags are made from the
fields (`vrd.config.command_options`). Keeping vrd's own small set of knobs (rather
than exposing TRL's hundred) is what lets the defaults encode the paper's recipe; anything
else TRL accepts can still be passed through the `trl` mapping of the YAML file, except the
keys `vrd.trainers.trl_keys` refuses (those vrd sets itself, and those that break its promises).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from vrd.config import Config, seed_setting, setting
from vrd.engines.base import MAX_TEMPERATURE
from vrd.errors import ConfigError, unknown_name

ALGOS = ("grpo", "dapo", "dr_grpo")
REPORT_TO = ("none", "tensorboard", "wandb")
VLLM_MODES = ("colocate", "server")
# Upper bounds that no real run reaches but that keep a typo (or 10**12) from starting a job that
# hangs or forks without end: the batch planner searches divisors up to the per-device batch, and
# accelerate would try to start that many processes.
MAX_BATCH = 2**20
MAX_GENERATIONS = 4096
MAX_PROCESSES = 1024
MAX_LORA_RANK = 65536
MAX_EPOCHS = 10_000
# A loss term weighted past this overflows fp32 / bf16 as soon as the term is not tiny.
MAX_LOSS_WEIGHT = 1000.0
# Qwen2.5-VL's processor works on 28x28 pixel blocks (14-pixel patches merged 2x2): less cannot hold one.
MIN_IMAGE_SIDE = 28
MIN_PIXELS = MIN_IMAGE_SIDE * MIN_IMAGE_SIDE


@dataclass
class VrdTrainConfig(Config):
    """Settings shared by SFT and RL."""

    TRL_KIND: ClassVar[str] = "common"  # which trainer's `trl:` keys are checked (vrd.trainers.trl_keys)

    model: str = setting(help="Base model: alias, hub id or local directory.")
    data: str = setting("", help="`vrd curate` output, vrd dataset or trl export.")
    out: str = setting("", help="Output directory (checkpoints, final model, metrics).")
    split: str = setting("", help="Split subfolder to read (default: sft for SFT, rl for RL).")
    template: str = setting("math", help="Prompt template for problem rows and the format check: math | r1v | easyr1-math | easyr1-r1v | none | PATH.jinja.")
    epochs: float = setting(3.0, help="Epochs.", above=0, at_most=MAX_EPOCHS)
    max_steps: int = setting(-1, help="Stop after N optimizer steps (-1 = run the epochs).", at_least=-1)
    lr: float = setting(1e-5, help="Learning rate.", above=0, at_most=1)
    scheduler: str = setting("cosine", help="LR scheduler (transformers name).", cli=False)
    warmup_ratio: float = setting(0.1, help="Warmup share of the steps.", cli=False, at_least=0, at_most=1)
    global_batch: int = setting(128, flags=("--global-batch", "--global-batch-size"),
                                help="Samples per optimizer step; sets grad accumulation.", at_least=1,
                                at_most=MAX_BATCH)
    batch_size: int = setting(1, help="Per-device batch.", at_least=1, at_most=MAX_BATCH)
    max_pixels: int | None = setting(None, help="Cap image pixels in the processor.", at_least=MIN_PIXELS)
    min_pixels: int | None = setting(None, help="Floor on image pixels in the processor.", cli=False,
                                     at_least=MIN_PIXELS)
    unfreeze_vision: bool = setting(False, flags=("--unfreeze-vision/--freeze-vision",),
                                    help="Train the vision tower too (default frozen).")
    lora: int = setting(0, help="LoRA rank (0 = full fine-tuning).", at_least=0, at_most=MAX_LORA_RANK)
    lora_alpha: int | None = setting(None, help="LoRA alpha (default 2 x rank).", cli=False, above=0)
    lora_dropout: float = setting(0.05, help="LoRA dropout.", cli=False, at_least=0, at_most=1)
    report_to: str = setting("none", help="none | tensorboard | wandb.")
    resume: str = setting("auto", help="auto (latest checkpoint in OUT) | never | CHECKPOINT_DIR.")
    save_steps: int = setting(500, help="Checkpoint every N steps.", at_least=1)
    save_total_limit: int | None = setting(2, help="Checkpoints kept.", cli=False, at_least=1)
    logging_steps: int = setting(1, help="Log every N steps.", cli=False, at_least=1)
    seed: int = seed_setting("Seed for data order, initialisation and sampling.")
    bf16: bool | None = setting(None, help="bf16 (default: on a GPU that supports it, fp32 elsewhere).", cli=False)
    gradient_checkpointing: bool | None = setting(None, help="Default: on for GPU, off for CPU.", cli=False)
    eval_data: str | None = setting(None, help="Held-out problems for the accuracy monitor.")
    eval_every: int = setting(0, help="Score --eval-data every N steps (0 = no held-out monitor).", at_least=0)
    eval_max_new_tokens: int | None = setting(None, help="Completion tokens for the monitor (default: the training "
                                              "budget, so longer answers are not scored as wrong).", cli=False)
    eval_split: str | None = setting(None, help="Split of --eval-data for the monitor (default val, then test; "
                                     "a training split only when named).", cli=False)
    eval_limit: int = setting(200, help="Problems scored by the monitor.", cli=False, at_least=1)
    eval_batch_size: int = setting(8, help="Monitor generation batch.", cli=False, at_least=1)
    num_processes: int = setting(1, help="Launch N processes via accelerate.", at_least=1, at_most=MAX_PROCESSES)
    accelerate_config: str = setting("ddp", help="ddp | fsdp | zero3 | PATH.yaml")
    limit: int | None = setting(None, help="Use only the first N rows (smoke runs).", at_least=1)
    trl: dict[str, Any] = setting(default_factory=dict, help="KEY=VALUE added to TRL's config (repeatable); fields vrd sets "
                                 "itself are refused, naming the flag to use.")
    weight_decay: float = setting(0.0, help="AdamW weight decay.", cli=False, at_least=0)
    recipe: str = setting("vrd", help="vrd (defaults sized for a first run; not the papers') | paper (the papers' "
                                      "recipe: RL as in EasyR1, SFT as in LLaMA-Factory).")

    @classmethod
    def load(cls: type[C], yaml_path: str | os.PathLike | None = None,
             overrides: Mapping[str, Any] | None = None, /, **more: Any) -> C:
        """`Config.load`, with the recipe's values filled in for every setting the user did not give."""
        from vrd.config import read_yaml

        file_values = read_yaml(yaml_path) if yaml_path else {}
        passed = {k.replace("-", "_"): v for k, v in {**(overrides or {}), **more}.items() if v is not None}
        given = set(file_values) | set(passed)
        name = str(passed["recipe"] if "recipe" in passed else file_values.get("recipe", "vrd"))
        recipes = getattr(cls, "RECIPES", {})
        if name not in recipes:
            raise unknown_name("recipe", name, sorted(recipes))
        filled = {k: v for k, v in recipes[name].items() if k not in given}
        cfg = super().load(yaml_path, {**filled, **passed})
        cfg.given = frozenset(given)
        return cfg

    @classmethod
    def unknown_setting(cls, key: str, names: list[str]) -> Exception:
        """A TRL / LLaMA-Factory / EasyR1 name at the top of a --config file says which vrd setting it is,
        or that it belongs under `trl:`, instead of suggesting lookalike names."""
        from vrd.trainers.trl_keys import top_level_hint

        config_cls = None
        try:
            import trl

            config_cls = {"sft": trl.SFTConfig, "rl": trl.GRPOConfig}.get(cls.TRL_KIND)
        except ImportError:  # the hint is a courtesy; without trl the plain error stands
            pass
        hint = top_level_hint(key, names, cls.TRL_KIND, config_cls)
        return ConfigError(hint) if hint else super().unknown_setting(key, names)

    def __post_init__(self) -> None:
        """Fail before any model is loaded, with the name of the bad setting."""
        if not self.model:
            raise ConfigError("missing required setting 'model' (give --model or put it in --config)")
        if self.report_to not in REPORT_TO:
            raise unknown_name("report_to", self.report_to, REPORT_TO)
        if self.max_steps == 0:
            raise ConfigError("--max-steps 0: must be -1 (run the epochs) or at least 1")
        from vrd.prompts import get_template
        from vrd.trainers.launch import config_path

        get_template(self.template)  # an unknown template fails before the model loads
        config_path(self.accelerate_config)
        if self.batch_size < 1 or self.global_batch < 1:
            raise ConfigError("batch_size and global_batch must be >= 1")
        if self.lora < 0:
            raise ConfigError("lora rank must be >= 0")
        if self.eval_every and not self.eval_data:
            raise ConfigError("--eval-every needs --eval-data (the held-out problems to score)")
        if not isinstance(self.trl, Mapping):
            raise ConfigError(f"trl: expected a mapping of TRL setting -> value, got {type(self.trl).__name__}")
        from vrd.trainers.trl_keys import check_refused, normalized

        self.trl = normalized(self.trl)
        check_refused(self.trl, self.TRL_KIND)

    def require_io(self) -> None:
        """data and out are given by the caller (flags, YAML or the API's inputs/out)."""
        for name in ("data", "out"):
            if not getattr(self, name):
                raise ConfigError(f"missing required setting '{name}' (give --{name} or put it in --config)")

    def world_size(self) -> int:
        """Processes in this run: accelerate sets WORLD_SIZE in each child it launches."""
        return int(os.environ.get("WORLD_SIZE", "1"))

    def is_given(self, name: str) -> bool:
        """Whether the user set `name` (flag or YAML); a config built directly counts as all given."""
        given = getattr(self, "given", None)
        return True if given is None else name in given

    def batch_plan(self) -> BatchPlan:
        return plan_batches(self.global_batch, self.batch_size, self.world_size(),
                            adjustable=not self.is_given("global_batch"))

    def grad_accum(self) -> int:
        """Accumulation steps so that per-device batch x world x steps is exactly the global batch."""
        return self.batch_plan().accum


@dataclass
class VrdSFTConfig(VrdTrainConfig):
    """SFT: lr 1e-5, 3 epochs, cosine, warmup 0.1, global batch 128, frozen ViT (the papers' LLaMA-Factory SFT)."""

    TRL_KIND: ClassVar[str] = "sft"

    # LLaMA-Factory's SFT in the papers: batch 128, lr 1e-5, 3 epochs (cosine, warmup 0.1), which vrd's
    # SFT defaults already are; `paper` names them so a run can say which recipe it followed.
    RECIPES: ClassVar[dict[str, dict[str, Any]]] = {
        "vrd": {},
        "paper": {"global_batch": 128, "lr": 1e-5, "epochs": 3.0, "scheduler": "cosine", "warmup_ratio": 0.1},
    }

    max_length: int | None = setting(4096, help="Max tokens per sample.", at_least=1)
    assistant_only_loss: bool = setting(True, help="Loss on the assistant turn only.", cli=False)

    def data_split(self) -> str:
        return self.split or "sft"


@dataclass
class VrdRLConfig(VrdTrainConfig):
    """GRPO-family settings. The defaults (`--recipe vrd`) are not the papers': see the module docstring.

    `global_batch` and `batch_size` count completions, as TRL does: each optimizer update sees
    `global_batch / num_generations` prompts (default 8). A *step* is one generation round of
    `rollout_batch` prompts, as in EasyR1 (where it is `rollout_batch_size`); it holds
    `rollout_batch x num_generations / global_batch` optimizer updates (default 1), and
    `--max-steps`, `--save-steps` and `--eval-every` count these steps (so do the steps in metrics.jsonl).
    """

    TRL_KIND: ClassVar[str] = "rl"

    # EasyR1's examples/config.yaml as the papers ran it: rollout_batch_size 512, n 10, actor
    # global_batch_size 128 prompts (4 updates a step), lr 1e-6 constant, weight decay 0.01, 2 epochs,
    # token-mean loss, KL 0.01 low_var_kl (TRL's k3 estimator) for GRPO and clip 0.2/0.28 for DAPO,
    # 2,048 response tokens, vision tower trainable.
    RECIPES: ClassVar[dict[str, dict[str, Any]]] = {
        "vrd": {},
        "paper": {"rollout_batch": 512, "num_generations": 10, "global_batch": 1280, "lr": 1e-6,
                  "scheduler": "constant", "warmup_ratio": 0.0, "weight_decay": 0.01, "epochs": 2.0,
                  "max_new_tokens": 2048, "unfreeze_vision": True},
    }

    lr: float = setting(1e-6, help="Learning rate.", above=0, at_most=1)
    epochs: float = setting(1.0, help="Epochs.", above=0, at_most=MAX_EPOCHS)
    global_batch: int | None = setting(None, flags=("--global-batch", "--global-batch-size"),  # type: ignore[assignment]
                                       help="Completions per optimizer step (default 8 x generations).",
                                       at_least=1, at_most=MAX_BATCH)
    batch_size: int | None = setting(None,  # type: ignore[assignment]
                                     help="Completions per device per micro-step (default = generations).",
                                     at_least=1, at_most=MAX_BATCH)
    algo: str = setting("grpo", help="grpo | dapo | dr_grpo.")
    num_generations: int = setting(10, help="Group size: completions per prompt.", at_least=2, at_most=MAX_GENERATIONS)
    max_new_tokens: int = setting(1024, help="Max completion tokens.", at_least=1)
    # GRPO needs different completions in a group: 0 (greedy) gives every group zero advantage
    temperature: float = setting(1.0, help="Rollout sampling temperature.", above=0, at_most=MAX_TEMPERATURE)
    beta: float | None = setting(None, help="KL weight (default 0.01 grpo, 0 dapo / dr_grpo).", at_least=0,
                                 at_most=MAX_LOSS_WEIGHT)
    epsilon: float = setting(0.2, help="Lower clip.", cli=False, at_least=0)
    epsilon_high: float | None = setting(None, help="Upper clip (default 0.28 for dapo).", at_least=0)
    format_weight: float | None = setting(None, help="w in (1-w)*acc + w*format (default: the reward's own, "
                                                      "EasyR1 0.1 math / 0.5 r1v; vrd 0.1).")
    reward: str = setting("easyr1", help="easyr1 (EasyR1's math / r1v reward, as the papers trained) | vrd.")
    overlong_buffer: int | None = setting(None, help="DAPO soft overlong cache (default max_new_tokens // 5).",
                                          cli=False, at_least=1)
    mask_truncated_completions: bool = setting(False, help="Mask truncated completions from the loss.", cli=False)
    dynamic_sampling: bool = setting(False, help="Drop all-correct / all-wrong groups from the loss.")
    image_size: int | None = setting(None, help="Square size all RL images are resized to (default from max_pixels).",
                                     at_least=MIN_IMAGE_SIDE)
    use_vllm: bool = setting(False, flags=("--vllm/--no-vllm",), help="Generate rollouts with vLLM.")
    vllm_mode: str = setting("colocate", help="colocate | server.")
    vllm_gpu_memory_utilization: float = setting(0.3, help="vLLM memory share when colocated.", cli=False,
                                                 above=0, at_most=1)
    rollout_batch: int | None = setting(None, help="Prompts per step (one generation round); "
                                                   "default global_batch / num_generations.", at_least=1,
                                        at_most=MAX_BATCH)
    max_prompt_tokens: int = setting(2048, at_least=1, help="Prompt budget (text + image tokens) for vLLM's context "
                                               "window: vllm_max_model_length = this + max_new_tokens.", cli=False)

    def batch_plan(self) -> BatchPlan:
        return plan_batches(self.global_batch, self.batch_size, self.world_size(), group=self.num_generations,
                            rollout=self.rollout_batch, adjustable=not self.is_given("global_batch"))

    def data_split(self) -> str:
        return self.split or "rl"

    def __post_init__(self) -> None:
        if self.batch_size is None:
            self.batch_size = self.num_generations
        if self.global_batch is None:
            self.global_batch = 8 * self.num_generations
        super().__post_init__()
        if self.algo not in ALGOS:
            raise unknown_name("algorithm", self.algo, ALGOS)
        if self.vllm_mode not in VLLM_MODES:
            raise unknown_name("vllm mode", self.vllm_mode, VLLM_MODES)
        if self.num_generations < 2:
            raise ConfigError("--num-generations must be >= 2: GRPO needs a group to compute advantages")
        if self.global_batch % self.num_generations:
            raise ConfigError(
                f"global_batch ({self.global_batch}) must be a multiple of num_generations ({self.num_generations}): "
                "every optimizer step must hold whole prompt groups"
            )
        if self.format_weight is not None and not 0.0 <= self.format_weight <= 1.0:
            raise ConfigError("format_weight must be in [0, 1]")
        from vrd.verify.reward import check_reward

        check_reward(self.reward)
        if self.rollout_batch is not None and self.rollout_batch < 1:
            raise ConfigError("--rollout-batch must be >= 1 (prompts per step)")

    def algo_defaults(self) -> dict[str, Any]:
        """The loss settings each algorithm stands for, before user overrides."""
        if self.algo == "dapo":
            # DAPO: no KL, clip-higher, token-level loss; soft overlong penalty is added as a reward.
            return {"loss_type": "dapo", "beta": 0.0, "epsilon_high": 0.28, "scale_rewards": "group"}
        if self.algo == "dr_grpo":
            # Dr. GRPO: constant length normalizer and no std scaling (removes the difficulty bias).
            return {"loss_type": "dr_grpo", "beta": 0.0, "epsilon_high": self.epsilon, "scale_rewards": "none"}
        # The papers' GRPO averages the loss over the batch's tokens (EasyR1 loss_avg_mode "token"),
        # which is TRL's "dapo" normalisation; vrd's default keeps TRL's per-sequence "grpo" mean.
        loss_type = "dapo" if self.recipe == "paper" else "grpo"
        return {"loss_type": loss_type, "beta": 0.01, "epsilon_high": self.epsilon, "scale_rewards": "group"}

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


@dataclass
class BatchPlan:
    """How one step's completions split over processes, micro-batches and optimizer updates."""

    per_device: int
    accum: int
    global_batch: int  # completions per optimizer update = per_device x world x accum, exactly
    generation_batch: int  # completions per step (one generation round)
    world: int
    note: str | None = None  # set when a default was changed to fit the world size

    @property
    def updates_per_step(self) -> int:
        return self.generation_batch // self.global_batch


def plan_batches(global_batch: int, batch_size: int, world: int, *, group: int = 1, rollout: int | None = None,
                 adjustable: bool = False) -> BatchPlan:
    """A per-device batch and accumulation that reach `global_batch` exactly on `world` processes.

    Rounding the accumulation up (what TRL's arithmetic does by itself) silently trains on a
    different batch on 3, 6 or 16 GPUs, and a batch that is not whole prompt groups is refused
    by TRL. So the per-device batch is the largest divisor of the per-process share that fits
    `batch_size` (the memory bound); a global batch that cannot be shared evenly is refused if
    the user chose it, or rounded up to the next valid size if it is a default.
    """
    unit = math.lcm(max(1, world), max(1, group))
    note = None
    if global_batch % unit:
        lower, upper = (global_batch // unit) * unit, (global_batch // unit + 1) * unit
        if not adjustable:
            options = " or ".join(str(v) for v in (lower, upper) if v > 0)
            raise ConfigError(
                f"--global-batch {global_batch} cannot be split evenly over {world} process(es)"
                + (f" in whole groups of {group} completions" if group > 1 else "")
                + f": it must be a multiple of {unit}; use {options}")
        note = f"default global batch {global_batch} -> {upper} (a multiple of {unit} for {world} process(es))"
        global_batch = upper
    per_rank = global_batch // world
    per_device = max(d for d in range(1, min(batch_size, per_rank) + 1) if per_rank % d == 0)
    accum = per_rank // per_device
    generation = rollout * group if rollout else global_batch
    if generation % global_batch:
        raise ConfigError(
            f"a step of {rollout} prompts x {group} = {generation} completions is not a whole number of optimizer "
            f"updates of {global_batch} completions; make --rollout-batch x num_generations a multiple of "
            "--global-batch")
    return BatchPlan(per_device, accum, global_batch, generation, world, note)


@dataclass
class AuditConfig(Config):
    """How `vrd reward-audit` decides that reward stopped tracking held-out accuracy."""

    tolerance: float = setting(0.01, help="Smallest accuracy / reward change counted as a rise (absolute).")
    alpha: float = setting(0.05, help="Level of the onset test.", cli=False)
    seed: int = seed_setting("Seed of the bootstrap and null draws.")

    def __post_init__(self) -> None:
        if self.tolerance < 0:
            raise ConfigError(f"--tolerance {self.tolerance}: must be >= 0")
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"alpha {self.alpha}: must be in (0, 1)")


def to_dict(cfg: VrdTrainConfig) -> dict[str, Any]:
    """Plain dict for the run's manifest (`train_config.json`)."""
    return cfg.to_dict()

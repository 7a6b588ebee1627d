"""What the `trl:` mapping (`--trl KEY=VALUE`) may pass to TRL's SFTConfig / GRPOConfig.

Everything TRL accepts is forwarded, except two kinds of keys, refused with a one-line
`ConfigError` before any data or model is loaded:

- keys vrd fills from one of its own settings (`OWNED`): a second name for the same setting
  would leave vrd's own use of it behind. vrd derives more than TRL's field from each setting
  (an RL step is a generation round, so `--max-steps` and `--save-steps` are multiplied into
  optimizer updates; the per-device batch and accumulation are solved so the global batch is
  exact; `--max-new-tokens` also sizes vLLM's context and DAPO's overlong penalty; `--lr` also
  scales combo's SFT steps), and the printed settings, `vrd_train_config.json` and the resume
  identity name vrd's value. The error names the flag to use.
- keys that break a promise vrd makes and have no vrd setting (`REFUSED`): a checkpoint
  without optimizer / scheduler / RNG state, a resume that skips no batches, a SIGTERM
  checkpoint that ends the run as if it had finished, a "best" model in place of the last step's,
  a push from inside the run, another launcher than accelerate's.

A refused key given its "off" value (`push_to_hub: false`, `save_strategy: steps`; `OFF_VALUES`)
is forwarded: it asks for what vrd does anyway. A few forwarded keys replace a choice `--algo` made (`ALGO_CHOICES`); they are logged. A key
that is not a field of the installed TRL's config class is refused with the nearest names
(TRL would raise a TypeError deep in the trainer's setup). The table is in docs/DESIGN.md.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Mapping
from typing import Any

from vrd.errors import ConfigError

log = logging.getLogger(__name__)

CONFIG_FILE = "in the --config file"

# TRL field -> the vrd setting that fills it, for both trainers.
OWNED_COMMON: dict[str, str] = {
    "output_dir": "--out",
    "num_train_epochs": "--epochs",
    "max_steps": "--max-steps",
    "learning_rate": "--lr",
    "lr_scheduler_type": f"`scheduler:` {CONFIG_FILE}",
    "warmup_steps": f"`warmup_ratio:` {CONFIG_FILE}",
    "weight_decay": f"`weight_decay:` {CONFIG_FILE}",
    "per_device_train_batch_size": "--batch-size",
    "gradient_accumulation_steps": "--global-batch (vrd derives the accumulation that makes it exact)",
    "bf16": f"`bf16: true|false` {CONFIG_FILE} (bf16 autocast over fp32 master weights, or fp32)",
    "activation_checkpointing": f"`gradient_checkpointing:` {CONFIG_FILE}",
    "gradient_checkpointing": f"`gradient_checkpointing:` {CONFIG_FILE}",
    "logging_steps": f"`logging_steps:` {CONFIG_FILE}",
    "save_steps": "--save-steps",
    "save_total_limit": f"`save_total_limit:` {CONFIG_FILE}",
    "report_to": "--report-to none|tensorboard|wandb",
    "seed": "--seed",
}
OWNED_SFT: dict[str, str] = {
    "max_length": "--max-length",
    "assistant_only_loss": f"`assistant_only_loss:` {CONFIG_FILE}",
}
OWNED_RL: dict[str, str] = {
    "num_generations": "--num-generations",
    "generation_batch_size": "--rollout-batch",
    "steps_per_generation": "--rollout-batch",
    "max_completion_length": "--max-new-tokens",
    "temperature": "--temperature",
    "beta": "--beta",
    "epsilon": f"`epsilon:` {CONFIG_FILE}",
    "epsilon_high": "--epsilon-high",
    "reward_weights": "--format-weight",
    "mask_truncated_completions": f"`mask_truncated_completions:` {CONFIG_FILE}",
    "use_vllm": "--vllm",
    "vllm_mode": "--vllm-mode",
    "vllm_gpu_memory_utilization": f"`vllm_gpu_memory_utilization:` {CONFIG_FILE}",
    "vllm_max_model_length": f"`max_prompt_tokens:` {CONFIG_FILE} (vLLM's context = it + --max-new-tokens)",
}
OWNED: dict[str, dict[str, str]] = {"common": OWNED_COMMON, "sft": {**OWNED_COMMON, **OWNED_SFT},
                                    "rl": {**OWNED_COMMON, **OWNED_RL}}

# TRL field -> why vrd refuses it and what to do instead.
REFUSED_COMMON: dict[str, str] = {
    "resume_from_checkpoint": "the Trainer ignores it (vrd hands the checkpoint to train()); use --resume "
                              "auto|never|CHECKPOINT_DIR",
    "overwrite_output_dir": "not a transformers 5 setting; vrd resumes the run it finds in --out (--resume never "
                            "starts it over there)",
    "logging_dir": "not a transformers 5 setting; TensorBoard writes to OUT/runs (set TENSORBOARD_LOGGING_DIR "
                   "to move it)",
    "save_strategy": "vrd checkpoints every --save-steps steps, where a resume continues the run exactly; "
                     "use --save-steps",
    "save_only_model": "a checkpoint without optimizer, scheduler and RNG state cannot resume to the "
                       "uninterrupted run's weights; lower `save_total_limit:` to save disk instead",
    "ignore_data_skip": "a resumed run would train on batches the uninterrupted run never saw at those steps; "
                        "resume keeps the data order",
    "enable_jit_checkpoint": "on SIGTERM it saves mid-step and stops the run as if it had finished (vrd would "
                             "write the final model); vrd's --save-steps checkpoints survive a kill, rerun to "
                             "resume",
    "load_best_model_at_end": "the final model is the last step's (a resumed run ends on the uninterrupted "
                              "run's weights); score checkpoints with `vrd eval`",
    "eval_strategy": "vrd passes no Trainer eval set; use --eval-data with --eval-every N (the held-out monitor)",
    "eval_steps": "vrd passes no Trainer eval set; use --eval-data with --eval-every N (the held-out monitor)",
    "eval_on_start": "vrd passes no Trainer eval set; use --eval-data with --eval-every N (the held-out monitor)",
    "do_eval": "vrd passes no Trainer eval set; use --eval-data with --eval-every N (the held-out monitor)",
    "push_to_hub": "the Trainer pushes from inside the run (network at start and at every save) and, under "
                   "--lora, the adapter rather than vrd's merged model; upload OUT when the run ends "
                   "(`hf upload REPO OUT`)",
    "deepspeed": "vrd launches through accelerate; use --accelerate-config zero3|PATH.yaml with --num-processes N",
    "fsdp": "vrd launches through accelerate; use --accelerate-config fsdp|PATH.yaml with --num-processes N",
    "fsdp_config": "vrd launches through accelerate; use --accelerate-config fsdp|PATH.yaml with --num-processes N",
    "auto_find_batch_size": "it halves the per-device batch on out-of-memory without raising the accumulation, "
                            "so the global batch changes; lower --batch-size (the global batch stays exact)",
    "fp16": "vrd computes in bf16 autocast over fp32 master weights or in fp32 (`bf16: true|false` "
            f"{CONFIG_FILE})",
    "use_cpu": "vrd picks precision and checkpointing from the device it sees; hide the GPUs "
               "(CUDA_VISIBLE_DEVICES=) to train on CPU",
    "remove_unused_columns": "vrd's collators and rewards read columns the model's forward does not take "
                             "(images, answer)",
    "gradient_checkpointing_kwargs": "transformers 5 replaces it with activation_checkpointing_kwargs, which vrd "
                                     "sets; give trl.activation_checkpointing_kwargs",
}
REFUSED_SFT: dict[str, str] = {
    "packing": "TRL does not pack vision datasets",
}
# Refused keys whose value may still say "off" (a config converted from TRL or LLaMA-Factory often spells
# out `push_to_hub: false`): such a value is what vrd does anyway, so it is forwarded.
OFF_VALUES: dict[str, tuple[Any, ...]] = {
    **dict.fromkeys(("save_only_model", "ignore_data_skip", "enable_jit_checkpoint", "load_best_model_at_end",
                     "do_eval", "eval_on_start", "push_to_hub", "auto_find_batch_size", "fp16",
                     "remove_unused_columns", "packing"), (False, None)),
    "resume_from_checkpoint": (None,),
    "save_strategy": ("steps",),
    "eval_strategy": ("no",),
    "deepspeed": (None, ""),
    "fsdp": (None, "", []),
    "fsdp_config": (None, {}),
}

REFUSED: dict[str, dict[str, str]] = {"common": REFUSED_COMMON, "sft": {**REFUSED_COMMON, **REFUSED_SFT},
                                      "rl": REFUSED_COMMON}

# The names a TRL, LLaMA-Factory or EasyR1 config uses for vrd's settings, for a top-level key of a vrd
# --config file that vrd does not have (`learning_rate: 1e-5` means `lr`).
VRD_NAMES: dict[str, str] = {
    "output_dir": "out", "num_train_epochs": "epochs", "learning_rate": "lr", "lr_scheduler_type": "scheduler",
    "warmup_steps": "warmup_ratio", "per_device_train_batch_size": "batch_size",
    "gradient_accumulation_steps": "global_batch", "activation_checkpointing": "gradient_checkpointing",
    "max_completion_length": "max_new_tokens", "generation_batch_size": "rollout_batch",
    "steps_per_generation": "rollout_batch", "reward_weights": "format_weight",
    "vllm_max_model_length": "max_prompt_tokens", "resume_from_checkpoint": "resume",
    # LLaMA-Factory
    "model_name_or_path": "model", "dataset": "data", "dataset_dir": "data", "cutoff_len": "max_length",
    "lora_rank": "lora", "image_max_pixels": "max_pixels", "image_min_pixels": "min_pixels",
    # EasyR1
    "rollout_batch_size": "rollout_batch", "max_response_length": "max_new_tokens",
    "max_prompt_length": "max_prompt_tokens",
}

# Forwarded, but they replace what `--algo` chose: said in the log, since the run is then none of
# the named algorithms.
ALGO_CHOICES = ("loss_type", "scale_rewards")


def normalized(trl: Mapping[Any, Any]) -> dict[str, Any]:
    """Keys as TRL spells them: `save-steps` and `save_steps` are the same key, as for vrd's own settings."""
    return {str(k).replace("-", "_"): v for k, v in trl.items()}


def is_off(key: str, value: Any) -> bool:
    """`value` turns the refused `key` off (`False` is not `0`: YAML's `0` is not a "no" here)."""
    return any(value == off and type(value) is type(off) for off in OFF_VALUES.get(key, ()))


def check_refused(trl: Mapping[str, Any], trainer: str) -> None:
    """One `ConfigError` line naming every refused key of `trl` and what to use instead."""
    owned, refused = OWNED[trainer], REFUSED[trainer]
    problems = []
    for key in trl:
        if key in owned:
            problems.append(f"trl.{key}: set by vrd from {owned[key]}; give that instead")
        elif key in refused and not is_off(key, trl[key]):
            problems.append(f"trl.{key}: {refused[key]}")
    if problems:
        raise ConfigError("; ".join(problems))


def check_known(trl: Mapping[str, Any], config_cls: type) -> None:
    """Every key is a field of the installed TRL's config class, or one line naming the nearest ones."""
    names = [f.name for f in dataclasses.fields(config_cls) if f.init]
    unknown = [k for k in trl if k not in names]
    if not unknown:
        return
    from importlib.metadata import version

    parts = []
    for key in unknown:
        near = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
        parts.append(f"trl.{key}: not a setting of TRL's {config_cls.__name__} (trl {version('trl')})"
                     + (f"; did you mean {', '.join(near)}?" if near else ""))
    raise ConfigError("; ".join(parts))


def trainer_args(config_cls: type, fields: Mapping[str, Any], trl: Mapping[str, Any], trainer: str) -> Any:
    """TRL's config from vrd's fields and the user's `trl:` mapping, which adds fields vrd does not set."""
    check_refused(trl, trainer)
    check_known(trl, config_cls)
    for key in ALGO_CHOICES:
        if key in trl and key in fields and trl[key] != fields[key]:
            log.warning("trl.%s %r replaces the %r that vrd's --algo chose", key, trl[key], fields[key])
    try:
        return config_cls(**{**fields, **trl})
    except ValueError as exc:  # TRL / transformers refuse a value (an unknown optimizer name, a bad combination)
        if isinstance(exc, ConfigError) or not trl:
            raise
        message = " ".join(str(exc).split())
        raise ConfigError(f"trl: TRL's {config_cls.__name__} refused the settings: {message[:500]}") from exc


def top_level_hint(key: str, names: list[str], trainer: str, config_cls: type | None = None) -> str | None:
    """What a top-level --config key vrd does not have means, if it is a TRL / LLaMA-Factory / EasyR1 name."""
    if VRD_NAMES.get(key) in names:
        return f"unknown setting '{key}': vrd's setting for it is '{VRD_NAMES[key]}'"
    if key in REFUSED.get(trainer, {}):
        return f"unknown setting '{key}': {REFUSED[trainer][key]}"
    if config_cls is not None and key in {f.name for f in dataclasses.fields(config_cls) if f.init}:
        return f"unknown setting '{key}': a TRL setting, so it goes under `trl:` (or --trl {key}=VALUE)"
    return None

"""CLI: `vrd train sft | rl` — TRL trainers with the paper's defaults (see vrd/trainers)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from vrd.cli.common import console, user_errors

HELP_CONFIG = "YAML file of settings (same names as the flags, with _ or -); flags override it."


def _overrides(**values: Any) -> dict[str, Any]:
    """CLI values that were given (None = not given, so YAML / defaults stand)."""
    out = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = str(value) if isinstance(value, Path) else value
    return out


def _maybe_relaunch(num_processes: int | None, accelerate_config: str | None) -> bool:
    """Re-run this command under `accelerate launch`; True when it did (and this process should stop)."""
    from vrd.trainers.launch import in_child, relaunch

    if not num_processes or num_processes <= 1 or in_child():
        return False
    code = relaunch(sys.argv[1:], num_processes, accelerate_config or "ddp")
    if code:
        raise typer.Exit(code=code)
    return True


def _done(out: Path) -> None:
    import os

    if os.environ.get("RANK", "0") == "0":
        console.print(f"saved model + processor to [bold]{out}[/]; metrics in {out / 'metrics.jsonl'}")


def register(app: typer.Typer) -> None:
    train = typer.Typer(help="Train a VLM on a curated split: SFT or RL (GRPO / DAPO / Dr. GRPO) on TRL.",
                        no_args_is_help=True)

    @train.command("sft")
    def sft_cmd(
        model: str | None = typer.Option(None, "--model", help="Base model: alias, hub id or local directory."),
        data: Path | None = typer.Option(None, "--data", help="`vrd curate` output, vrd dataset or trl export."),
        out: Path | None = typer.Option(None, "--out", help="Output directory (checkpoints, final model, metrics)."),
        config: Path | None = typer.Option(None, "--config", help=HELP_CONFIG),
        split: str | None = typer.Option(None, "--split", help="Split subfolder to read (default: sft)."),
        max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after N optimizer steps."),
        epochs: float | None = typer.Option(None, "--epochs", help="Epochs (default 3)."),
        lr: float | None = typer.Option(None, "--lr", help="Learning rate (default 1e-5)."),
        batch_size: int | None = typer.Option(None, "--batch-size", help="Per-device batch (default 1)."),
        global_batch: int | None = typer.Option(None, "--global-batch", "--global-batch-size",
                                                help="Samples per optimizer step (default 128); sets grad accumulation."),
        max_length: int | None = typer.Option(None, "--max-length", help="Max tokens per sample (default 4096)."),
        max_pixels: int | None = typer.Option(None, "--max-pixels", help="Cap image pixels in the processor."),
        unfreeze_vision: bool | None = typer.Option(None, "--unfreeze-vision/--freeze-vision",
                                                    help="Train the vision tower too (default frozen)."),
        lora: int | None = typer.Option(None, "--lora", help="LoRA rank (0 = full fine-tuning)."),
        report_to: str | None = typer.Option(None, "--report-to", help="none | tensorboard | wandb."),
        resume: str | None = typer.Option(None, "--resume", help="auto (default) | never | CHECKPOINT_DIR."),
        eval_data: Path | None = typer.Option(None, "--eval-data", help="Held-out problems for the accuracy monitor."),
        eval_every: int | None = typer.Option(None, "--eval-every", help="Score --eval-data every N steps."),
        save_steps: int | None = typer.Option(None, "--save-steps", help="Checkpoint every N steps (default 500)."),
        limit: int | None = typer.Option(None, "--limit", help="Use only the first N rows."),
        num_processes: int | None = typer.Option(None, "--num-processes", help="Launch N processes via accelerate."),
        accelerate_config: str | None = typer.Option(None, "--accelerate-config",
                                                     help="ddp (default) | fsdp | zero3 | PATH.yaml"),
    ) -> None:
        """Supervised fine-tuning (TRL SFTTrainer) on the `sft` split."""
        if _maybe_relaunch(num_processes, accelerate_config):
            return
        with user_errors():
            from vrd.trainers.config import VrdSFTConfig, load_config
            from vrd.trainers.sft import train_sft

            cfg = load_config(VrdSFTConfig, config, **_overrides(
                model=model, data=data, out=out, split=split, max_steps=max_steps, epochs=epochs, lr=lr,
                batch_size=batch_size, global_batch=global_batch, max_length=max_length, max_pixels=max_pixels,
                unfreeze_vision=unfreeze_vision, lora=lora, report_to=report_to, resume=resume,
                eval_data=eval_data, eval_every=eval_every, save_steps=save_steps, limit=limit,
                num_processes=num_processes, accelerate_config=accelerate_config))
            _done(train_sft(cfg))

    @train.command("rl")
    def rl_cmd(
        model: str | None = typer.Option(None, "--model", help="Policy to start from: alias, hub id or directory."),
        data: Path | None = typer.Option(None, "--data", help="`vrd curate` output, vrd dataset or trl export."),
        out: Path | None = typer.Option(None, "--out", help="Output directory (checkpoints, final model, metrics)."),
        config: Path | None = typer.Option(None, "--config", help=HELP_CONFIG),
        algo: str | None = typer.Option(None, "--algo", help="grpo (default) | dapo | dr_grpo."),
        split: str | None = typer.Option(None, "--split", help="Split subfolder to read (default: rl)."),
        max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after N optimizer steps."),
        epochs: float | None = typer.Option(None, "--epochs", help="Epochs (default 1)."),
        lr: float | None = typer.Option(None, "--lr", help="Learning rate (default 1e-6)."),
        batch_size: int | None = typer.Option(None, "--batch-size",
                                              help="Completions per device per micro-step (default = generations)."),
        global_batch: int | None = typer.Option(None, "--global-batch", "--global-batch-size",
                                                help="Completions per optimizer step (default 8 x generations)."),
        num_generations: int | None = typer.Option(None, "--num-generations", help="Group size (default 10)."),
        max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", help="Max completion tokens (default 1024)."),
        beta: float | None = typer.Option(None, "--beta", help="KL weight (default 0.01 grpo, 0 dapo / dr_grpo)."),
        epsilon_high: float | None = typer.Option(None, "--epsilon-high", help="Upper clip (default 0.28 for dapo)."),
        format_weight: float | None = typer.Option(None, "--format-weight", help="w in (1-w)*acc + w*format (0.1)."),
        dynamic_sampling: bool | None = typer.Option(None, "--dynamic-sampling/--no-dynamic-sampling",
                                                     help="Drop all-correct / all-wrong groups from the loss."),
        template: str | None = typer.Option(None, "--template", help="Prompt template: math (default) | r1v | PATH."),
        max_pixels: int | None = typer.Option(None, "--max-pixels", help="Cap image pixels in the processor."),
        image_size: int | None = typer.Option(None, "--image-size", help="Square size all RL images are resized to."),
        unfreeze_vision: bool | None = typer.Option(None, "--unfreeze-vision/--freeze-vision",
                                                    help="Train the vision tower too (default frozen)."),
        lora: int | None = typer.Option(None, "--lora", help="LoRA rank (0 = full fine-tuning)."),
        use_vllm: bool | None = typer.Option(None, "--vllm/--no-vllm", help="Generate rollouts with vLLM."),
        vllm_mode: str | None = typer.Option(None, "--vllm-mode", help="colocate (default) | server."),
        report_to: str | None = typer.Option(None, "--report-to", help="none | tensorboard | wandb."),
        resume: str | None = typer.Option(None, "--resume", help="auto (default) | never | CHECKPOINT_DIR."),
        eval_data: Path | None = typer.Option(None, "--eval-data", help="Held-out problems for the accuracy monitor."),
        eval_every: int | None = typer.Option(None, "--eval-every", help="Score --eval-data every N steps."),
        save_steps: int | None = typer.Option(None, "--save-steps", help="Checkpoint every N steps (default 500)."),
        limit: int | None = typer.Option(None, "--limit", help="Use only the first N problems."),
        num_processes: int | None = typer.Option(None, "--num-processes", help="Launch N processes via accelerate."),
        accelerate_config: str | None = typer.Option(None, "--accelerate-config",
                                                     help="ddp (default) | fsdp | zero3 | PATH.yaml"),
    ) -> None:
        """Reinforcement learning (TRL GRPOTrainer) on the `rl` split with the vrd.verify reward."""
        if _maybe_relaunch(num_processes, accelerate_config):
            return
        with user_errors():
            from vrd.trainers.config import VrdRLConfig, load_config
            from vrd.trainers.rl import train_rl

            cfg = load_config(VrdRLConfig, config, **_overrides(
                model=model, data=data, out=out, algo=algo, split=split, max_steps=max_steps, epochs=epochs,
                lr=lr, batch_size=batch_size, global_batch=global_batch, num_generations=num_generations,
                max_new_tokens=max_new_tokens, beta=beta, epsilon_high=epsilon_high, format_weight=format_weight,
                dynamic_sampling=dynamic_sampling, template=template, max_pixels=max_pixels,
                image_size=image_size, unfreeze_vision=unfreeze_vision, lora=lora, use_vllm=use_vllm,
                vllm_mode=vllm_mode, report_to=report_to, resume=resume, eval_data=eval_data,
                eval_every=eval_every, save_steps=save_steps, limit=limit, num_processes=num_processes,
                accelerate_config=accelerate_config))
            _done(train_rl(cfg))

    app.add_typer(train, name="train")

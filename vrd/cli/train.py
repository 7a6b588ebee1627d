"""CLI: `vrd train sft | rl` — TRL trainers; `--recipe vrd` (default, sized for a first run) or `--recipe paper`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from vrd.cli.common import console, user_errors


def _maybe_relaunch(num_processes: int | None, accelerate_config: str | None, out: str | None = None,
                    what: str = "train") -> bool:
    """Re-run this command under `accelerate launch`; True when it did (and this process should stop).

    This process holds OUT's writer lock while its children train.
    """
    from vrd.trainers.launch import in_child, relaunch, train_lock

    if not num_processes or num_processes <= 1 or in_child():
        return False
    with user_errors(), train_lock(out, what):
        code = relaunch(sys.argv[1:], num_processes, accelerate_config or "ddp")
    if code:
        raise typer.Exit(code=code)
    return True


def _done(out: Path) -> None:
    import os

    if os.environ.get("RANK", "0") == "0":
        console.print(f"saved model + processor to {out}; metrics in {out / 'metrics.jsonl'}")


def register(app: typer.Typer) -> None:
    from vrd.config import command_options
    from vrd.trainers.config import VrdRLConfig, VrdSFTConfig

    train = typer.Typer(help="Train a VLM on a curated split: SFT or RL (GRPO / DAPO / Dr. GRPO) on TRL.",
                        no_args_is_help=True)

    @train.command("sft")
    @command_options(VrdSFTConfig)
    def sft_cmd(config: VrdSFTConfig) -> None:
        """Supervised fine-tuning (TRL SFTTrainer) on the `sft` split."""
        if _maybe_relaunch(config.num_processes, config.accelerate_config, config.out, "train sft"):
            return
        with user_errors():
            import vrd

            _done(vrd.train_sft(config.data, config.out, config).out)

    @train.command("rl")
    @command_options(VrdRLConfig)
    def rl_cmd(config: VrdRLConfig) -> None:
        """Reinforcement learning (TRL GRPOTrainer) on the `rl` split with the vrd.verify reward."""
        if _maybe_relaunch(config.num_processes, config.accelerate_config, config.out, "train rl"):
            return
        with user_errors():
            import vrd

            _done(vrd.train_rl(config.data, config.out, config).out)

    from vrd.trainers.strategies import VrdComboConfig

    @train.command("combo")
    @command_options(VrdComboConfig)
    def combo_cmd(config: VrdComboConfig) -> None:
        """SFT and RL combined: --strategy two-stage | interleaved | progressive | mix (one run, one folder)."""
        if _maybe_relaunch(config.num_processes, config.accelerate_config, config.out, "train combo"):
            return
        with user_errors():
            from vrd.trainers.combo import train_combo

            _done(train_combo(config))

    app.add_typer(train, name="train")

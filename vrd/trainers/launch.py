"""`--num-processes N`: re-run the same `vrd train` command under `accelerate launch`.

The user types one command; vrd re-executes itself as `accelerate launch --config_file
vrd/trainers/configs/<name>.yaml --num_processes N --module vrd.cli.main <same args>` so each
process runs the identical CLI and TRL's Trainer picks up the distributed setup (DDP, FSDP2,
DeepSpeed ZeRO-3) from accelerate. The children see WORLD_SIZE and VRD_ACCELERATE_CHILD, so
they train instead of launching again. Without a GPU the `cpu` config is used: gloo ranks
started by torchrun (accelerate's `--cpu` flag alone would start one process, as its CPU
multi-process path needs MPI).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from vrd.errors import unknown_name

CONFIG_DIR = Path(__file__).parent / "configs"
CONFIGS: dict[str, str] = {
    "ddp": "ddp.yaml",
    "fsdp": "fsdp.yaml",
    "zero3": "deepspeed_zero3.yaml",
    "cpu": "cpu.yaml",
}
CHILD_ENV = "VRD_ACCELERATE_CHILD"


def config_path(name: str) -> Path:
    """A shipped config by name, or a user's accelerate YAML by path."""
    if name in CONFIGS:
        return CONFIG_DIR / CONFIGS[name]
    path = Path(name)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    raise unknown_name("accelerate config", name, list(CONFIGS) + ["<path to an accelerate .yaml>"])


def in_child() -> bool:
    """True inside a process that accelerate (or torchrun) started."""
    return os.environ.get(CHILD_ENV) == "1" or "LOCAL_RANK" in os.environ


def strip_flag(argv: list[str], flag: str = "--num-processes") -> list[str]:
    """argv without `flag VALUE` / `flag=VALUE`, so the children do not launch again."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == flag:
            skip = True
            continue
        if arg.startswith(flag + "="):
            continue
        out.append(arg)
    return out


def launch_command(argv: list[str], num_processes: int, config: str = "ddp", *, gpu: bool | None = None) -> list[str]:
    """The `accelerate launch` command line that re-runs `vrd <argv>` in N processes."""
    if gpu is None:
        import torch

        gpu = torch.cuda.is_available()
    name = config if gpu else "cpu"
    return [
        sys.executable, "-m", "accelerate.commands.launch",
        "--config_file", str(config_path(name)),
        "--num_processes", str(num_processes),
        "--num_machines", "1",
        "--module", "vrd.cli.main",
        *strip_flag(argv),
    ]


def relaunch(argv: list[str], num_processes: int, config: str = "ddp") -> int:
    """Run the command under accelerate and return its exit status."""
    cmd = launch_command(argv, num_processes, config)
    env = {**os.environ, CHILD_ENV: "1"}
    return subprocess.call(cmd, env=env)


@contextlib.contextmanager
def train_lock(out: str | os.PathLike | None, what: str = "train") -> Iterator[None]:
    """One training run per output folder (the lock every vrd writer takes, `vrd.outputs`).

    Under `--num-processes` the launching process holds it for its children; under a bare
    `torchrun` / `accelerate launch`, rank 0 holds it and the other ranks follow rank 0.
    """
    if out is None or os.environ.get(CHILD_ENV) == "1" or os.environ.get("RANK", "0") != "0":
        yield
        return
    from vrd.outputs import output_lock, require_out_dir

    with output_lock(require_out_dir(out), what):
        yield

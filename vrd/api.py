"""vrd's Python API: one function per stage, each `(inputs, out, config) -> result dataclass`.

`inputs` is what the stage reads (a source name, a directory, a list of directories),
`out` is where it writes, `config` is the stage's settings dataclass (the same object the
CLI builds from its flags and `--config` file; `None` = the defaults, where the stage has
no required setting). The caller's config is never changed: a stage works on a copy.
The CLI commands call exactly these functions, so a script and a shell run do the same.

Everything heavy is imported inside the functions; `import vrd` stays cheap.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - types only
    from vrd.analysis.config import ShiftConfig
    from vrd.analysis.report import ShiftReport
    from vrd.curate.config import CurateConfig, ExportConfig
    from vrd.curate.exporters.base import ExportResult
    from vrd.curate.report import CurationReport
    from vrd.distill.config import DistillConfig
    from vrd.distill.runner import DistillSummary
    from vrd.eval.config import EvalConfig
    from vrd.sources.config import PrepareConfig
    from vrd.sources.prepare import PrepareResult
    from vrd.trainers.audit import AuditResult
    from vrd.trainers.config import AuditConfig, VrdRLConfig, VrdSFTConfig

PathLike = str | os.PathLike


@dataclass
class TrainResult:
    """A finished training run: the saved model + processor, and its metrics log."""

    out: Path
    metrics: Path
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class EvalResult:
    """An eval run: `results` is what `results.json` holds (accuracy per benchmark, pass@k, slices)."""

    out: Path
    results: dict[str, Any]

    @property
    def mean_accuracy(self) -> float | None:
        return self.results.get("mean_accuracy")


@dataclass
class AuditReport:
    """A reward audit: the numbers, and the JSON and plot written."""

    result: AuditResult
    json: Path
    plot: Path


def _io(config: Any, inputs: PathLike | None, out: PathLike | None, *, inputs_field: str = "data",
        out_field: str = "out") -> Any:
    """A copy of `config` whose input / output settings are the call's arguments."""
    from vrd.errors import ConfigError

    changes: dict[str, Any] = {}
    if inputs is not None:
        changes[inputs_field] = str(inputs)
    if out is not None:
        changes[out_field] = str(out)
    cfg = config.replace(**changes)
    for name in (inputs_field, out_field):
        if not getattr(cfg, name):
            raise ConfigError(f"missing required setting '{name}' (give --{name} or put it in --config)")
    return cfg


def prepare(inputs: str, out: PathLike, config: PrepareConfig | None = None) -> PrepareResult:
    """Normalise the source `inputs` (a name from `vrd data list`) into problem rows under `out`;
    bad records go to `out/rejects.jsonl`."""
    from vrd.sources.config import PrepareConfig
    from vrd.sources.prepare import prepare as run

    cfg = config if config is not None else PrepareConfig()
    return run(inputs, out, path=cfg.path, split=cfg.split, limit=cfg.limit, **cfg.map)


def distill(inputs: PathLike | None, out: PathLike | None, config: DistillConfig) -> DistillSummary:
    """Rejection-sample `config.teacher` on the problems `inputs` (a vrd problems dir or a source
    name) into the resumable response store `out`."""
    from vrd.distill.runner import run_distill

    return run_distill(_io(config, inputs, out))


def curate(inputs: PathLike, out: PathLike, config: CurateConfig | None = None) -> CurationReport:
    """Filter, label, dedup, decontaminate and split the distill output `inputs` into `out/<split>/`."""
    from vrd.curate.config import CurateConfig
    from vrd.curate.pipeline import curate as run

    return run(inputs, out, config if config is not None else CurateConfig())


def export(inputs: PathLike, out: PathLike, config: ExportConfig) -> ExportResult:
    """Write the curated splits `inputs` to `out` in a trainer's format (`config.format`)."""
    from vrd.curate.exporters import export as run

    return run(inputs, config.format, out, splits=list(config.split) or None, template=config.template,
               push_to_hub=config.push_to_hub)


def shift_report(inputs: Sequence[PathLike], out: PathLike, config: ShiftConfig, *,
                 log: Any = None) -> ShiftReport:
    """How far each response dataset in `inputs` sits from `config.base_model`, and whether RL on
    it would get signal; writes `out/report.html` and `out/metrics.json`."""
    from vrd.analysis.report import shift_report as run

    cfg = config.replace(out_dir=Path(out))
    return run([Path(p) for p in ([inputs] if isinstance(inputs, str | os.PathLike) else inputs)], cfg, log=log)


def evaluate(inputs: Sequence[str] | str | None, out: PathLike, config: EvalConfig, *,
             engine: Any = None, progress: Any = None) -> EvalResult:
    """Evaluate `config.model` on the benchmarks `inputs` (names or problem folders; None = the
    config's); responses and `results.json` go to `out`. A rerun resumes."""
    from vrd.eval.runner import run_eval

    cfg = config if inputs is None else config.replace(benchmarks=[inputs] if isinstance(inputs, str) else
                                                       list(inputs))
    return EvalResult(out=Path(out), results=run_eval(cfg, out, engine=engine, progress=progress))


def train_sft(inputs: PathLike | None, out: PathLike | None, config: VrdSFTConfig) -> TrainResult:
    """Supervised fine-tuning on the `sft` split of `inputs` (a curate output or an export)."""
    from vrd.trainers.sft import train_sft as run

    cfg = _io(config, inputs, out)
    path = Path(run(cfg))
    return TrainResult(out=path, metrics=path / "metrics.jsonl", config=cfg.to_dict())


def train_rl(inputs: PathLike | None, out: PathLike | None, config: VrdRLConfig) -> TrainResult:
    """GRPO / DAPO / Dr. GRPO on the `rl` split of `inputs`, rewarded by vrd.verify."""
    from vrd.trainers.rl import train_rl as run

    cfg = _io(config, inputs, out)
    path = Path(run(cfg))
    return TrainResult(out=path, metrics=path / "metrics.jsonl", config=cfg.to_dict())


def audit(inputs: PathLike, out: PathLike | None = None, config: AuditConfig | None = None) -> AuditReport:
    """Does train reward still track held-out accuracy in the RL run `inputs`? Writes
    `reward_audit.json` and `.png` to `out` (default: the run directory)."""
    from vrd.outputs import output_lock
    from vrd.trainers.audit import audit as run
    from vrd.trainers.audit import write_report
    from vrd.trainers.config import AuditConfig

    cfg = config if config is not None else AuditConfig()
    result = run(inputs, abs_tol=cfg.tolerance, alpha=cfg.alpha, seed=cfg.seed)
    if out is None:
        # Beside the run's own files, without its lock: auditing a run while it trains is the point,
        # and the two files are replaced whole (tmp + rename), so readers never see half of one.
        js, png = write_report(result, inputs)
    else:
        with output_lock(out, "reward-audit"):
            js, png = write_report(result, out)
    return AuditReport(result=result, json=Path(js), plot=Path(png))


__all__: Sequence[str] = ("AuditReport", "EvalResult", "TrainResult", "audit", "curate", "distill", "evaluate",
                          "export", "prepare", "shift_report", "train_rl", "train_sft")

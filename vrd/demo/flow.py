"""The demo's stages, each one real `vrd` command run in-process, with a closing summary.

Running the same commands a user would type (rather than private shortcuts) is the point: the
demo is proof that the toolkit's flow works end to end on a CPU, and each stage's folder is what
the user would get from that command.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from vrd.demo.config import DemoConfig
from vrd.demo.teacher import prepare_teacher
from vrd.errors import VrdError


@dataclass
class Stage:
    name: str
    seconds: float
    output: Path
    produced: str


class DemoFailed(VrdError):
    """A stage exited non-zero; the message names the stage and the command to rerun it."""


def run_cli(args: list[str]) -> None:
    """Run one `vrd` command in this process; a non-zero exit becomes DemoFailed."""
    from vrd.cli.main import app

    try:
        code = app(args, standalone_mode=False, prog_name="vrd")
    except SystemExit as exc:  # typer.Exit inside a nested app call
        code = exc.code
    if code not in (None, 0):
        raise DemoFailed(f"`vrd {shlex.join(args)}` exited with code {code}")


def _count_rows(path: Path) -> int:
    import pyarrow.parquet as pq

    from vrd.schema import read_manifest, shard_files

    manifest = read_manifest(path) if path.is_dir() else {}
    if isinstance(manifest.get("rows"), int):
        return manifest["rows"]
    return sum(pq.read_metadata(f).num_rows for f in shard_files(path))


def _accuracy(results_dir: Path) -> dict[str, float]:
    data = json.loads((results_dir / "results.json").read_text())
    return {name: float(b["accuracy"]) for name, b in data["benchmarks"].items()}


class Demo:
    """Runs the stages in order under `out`, timing each and collecting what it produced."""

    def __init__(self, out: Path, config: DemoConfig | None = None, console: Console | None = None) -> None:
        self.out = Path(out)
        self.config = config or DemoConfig()
        self.console = console or Console(markup=False)  # paths and model output are printed as they are
        self.stages: list[Stage] = []

    def stage(self, name: str, output: Path, action: Callable[[], str]) -> None:
        self.console.rule(Text(f"{len(self.stages) + 1}. {name}", style="bold cyan"))
        started = time.time()
        produced = action()
        seconds = time.time() - started
        self.stages.append(Stage(name, seconds, output, produced))
        self.console.print(f"done in {seconds:.1f}s: {produced}")

    def run(self) -> list[Stage]:
        from vrd.outputs import output_lock, require_out_dir
        from vrd.schema import quiet_datasets

        require_out_dir(self.out)
        # The commands' own progress bars and tables are enough for a readable demo; `datasets`'
        # bars are silenced for the demo only (a program calling it keeps its own setting).
        with output_lock(self.out, "demo"), quiet_datasets():  # each stage's command also locks its own folder
            return self._run()

    def _run(self) -> list[Stage]:
        import warnings

        # Library deprecation chatter is not for a first-time user.
        warnings.filterwarnings("ignore", category=FutureWarning)
        warnings.filterwarnings("ignore", message=".*`max_length` is ignored when `padding`.*")
        c, o = self.config, self.out
        o.mkdir(parents=True, exist_ok=True)
        data, heldout = o / "data" / "synth", o / "data" / "heldout"
        teacher_info: dict[str, Any] = {}

        family = ["--families", c.teacher.families, "--tiers", c.teacher.tiers]

        def synth() -> str:
            run_cli(["data", "synth", "--n", str(c.n_problems), "--seed", str(c.seed), "--out", str(data), *family])
            run_cli(["data", "synth", "--n", str(c.n_heldout), "--seed", str(c.seed + 1), "--split", "heldout",
                     "--out", str(heldout), *family])
            return f"{_count_rows(data)} training problems, {_count_rows(heldout)} held-out problems"

        self.stage("synth data", data, synth)

        def teacher() -> str:
            art = prepare_teacher(run_cli, o / "teacher-work", c.teacher, log=self.console.print)
            teacher_info.update(base=art.base, teacher=art.teacher, cached=art.cached, **art.info)
            run_cli(["eval", "--model", str(art.teacher), "--benchmarks", str(heldout), "--out",
                     str(o / "eval" / "teacher"), "--backend", "hf", "--max-new-tokens", str(c.max_new_tokens)])
            acc = _accuracy(o / "eval" / "teacher")
            teacher_info["heldout_accuracy"] = next(iter(acc.values()))
            self.console.print(f"tiny teacher solves {teacher_info['heldout_accuracy']:.1%} of held-out "
                               "synth problems (greedy)")
            how = "reused from cache" if art.cached else f"trained in {art.info.get('train_seconds', 0):.0f}s"
            return f"teacher {how}; held-out accuracy {teacher_info['heldout_accuracy']:.1%}"

        self.stage("tiny teacher", o / "eval" / "teacher", teacher)
        base, teacher_dir = str(teacher_info["base"]), str(teacher_info["teacher"])

        distill_dir = o / "distill"

        def distill() -> str:
            run_cli(["distill", "--teacher", teacher_dir, "--data", str(data), "--out", str(distill_dir),
                     "--backend", "hf", "--samples", str(c.samples), "--keep", str(c.keep),
                     "--max-new-tokens", str(c.max_new_tokens), "--temperature", "1.0", "--seed", str(c.seed)])
            counts = json.loads((distill_dir / "manifest.json").read_text()).get("counts", {})
            return (f"{_count_rows(distill_dir)} kept of {counts.get('generated', '?')} samples "
                    f"(acceptance {counts.get('acceptance', 0):.0%}, mean pass rate {counts.get('pass_rate_mean', 0):.2f})")

        self.stage("distill (rejection sampling)", distill_dir, distill)

        rollouts = o / "rollouts"

        def rollout() -> str:
            run_cli(["distill", "--teacher", base, "--data", str(data), "--out", str(rollouts), "--backend", "hf",
                     "--samples", str(c.samples), "--keep", "all", "--max-new-tokens", str(c.max_new_tokens),
                     "--temperature", "1.0", "--seed", str(c.seed)])
            counts = json.loads((rollouts / "manifest.json").read_text()).get("counts", {})
            return f"{_count_rows(rollouts)} rollouts, base pass rate {counts.get('pass_rate_mean', 0):.2f}"

        self.stage("base-model rollouts", rollouts, rollout)

        curated = o / "curated"

        def curate() -> str:
            run_cli(["curate", str(distill_dir), "--out", str(curated), "--rollouts", str(rollouts),
                     "--select", "shortest", "--split", "sft=50%,rl=40%,val=rest", "--seed", str(c.seed)])
            counts = {s: _count_rows(curated / s) for s in ("sft", "rl", "val") if (curated / s).exists()}
            return ", ".join(f"{k}: {v} rows" for k, v in counts.items())

        self.stage("curate", curated, curate)

        exported = o / "export"

        def export() -> str:
            written = []
            for fmt in ("llamafactory", "easyr1", "trl"):
                run_cli(["export", str(curated), "--format", fmt, "--out", str(exported / fmt)])
                written.append(f"{fmt} ({sum(1 for p in (exported / fmt).rglob('*') if p.is_file())} files)")
            return ", ".join(written)

        self.stage("export", exported, export)

        shift = o / "shift-report"

        def shift_report() -> str:
            run_cli(["shift-report", str(curated / "sft"), str(distill_dir), "--base-model", base,
                     "--base-samples", str(rollouts), "--out", str(shift)])
            metrics = json.loads((shift / "metrics.json").read_text())
            nll = {k: v["likelihood"]["nll_per_byte_mean"] for k, v in metrics["datasets"].items()}
            advice = metrics.get("signal", {}).get("recommendation", {})
            advice = advice.get("verdict", advice) if isinstance(advice, dict) else advice
            return ("NLL/byte " + ", ".join(f"{k} {v:.3f}" for k, v in nll.items())
                    + (f"; {advice}" if isinstance(advice, str) and advice else ""))

        self.stage("shift-report", shift / "report.html", shift_report)

        sft_out = o / "train" / "sft"

        def sft() -> str:
            run_cli(["train", "sft", "--model", base, "--data", str(curated), "--out", str(sft_out),
                     "--max-steps", str(c.sft_steps), "--batch-size", "4", "--global-batch-size", "4",
                     "--lr", "1e-4"])
            return f"{c.sft_steps} steps, model + processor saved"

        self.stage("SFT", sft_out, sft)

        rl_out = o / "train" / "rl"

        def rl() -> str:
            run_cli(["train", "rl", "--model", base, "--data", str(curated), "--out", str(rl_out), "--algo", "grpo",
                     "--max-steps", str(c.rl_steps), "--num-generations", str(c.rl_generations),
                     "--batch-size", str(c.rl_generations), "--global-batch-size", str(2 * c.rl_generations),
                     "--max-new-tokens", "64", "--lr", "1e-5",
                     "--eval-data", str(heldout), "--eval-every", "1"])
            return f"{c.rl_steps} GRPO steps x {c.rl_generations} generations, held-out accuracy logged"

        self.stage("GRPO", rl_out, rl)

        evals = o / "eval"

        def evaluate() -> str:
            for name, model in (("base", base), ("sft", str(sft_out)), ("rl", str(rl_out))):
                run_cli(["eval", "--model", model, "--benchmarks", str(heldout), "--out", str(evals / name),
                         "--backend", "hf", "--max-new-tokens", str(c.max_new_tokens)])
            run_cli(["eval", "compare", str(evals / "base"), str(evals / "sft"), str(evals / "rl")])
            accs = {n: next(iter(_accuracy(evals / n).values())) for n in ("base", "sft", "rl")}
            return "held-out accuracy " + ", ".join(f"{k} {v:.1%}" for k, v in accs.items())

        self.stage("eval: base vs SFT vs RL", evals, evaluate)

        def audit() -> str:
            run_cli(["reward-audit", str(rl_out)])
            found = json.loads((rl_out / "reward_audit.json").read_text())
            rho = found.get("spearman")
            return "reward vs accuracy Spearman " + (f"{rho:.2f}" if isinstance(rho, (int, float)) else "n/a")

        self.stage("reward-audit", rl_out, audit)

        def synergy() -> str:
            return self.synergy(base, curated, heldout, sft_out, rl_out)

        self.stage("synergy: two-stage, mix, merge vs SFT and RL", o / "eval" / "synergy.md", synergy)
        self.summary(teacher_info)
        return self.stages

    def synergy(self, base: str, curated: Path, heldout: Path, sft_out: Path, rl_out: Path) -> str:
        """The Synergy Dilemma's comparison at toy size: the combinations beside SFT and RL, by level and length.

        Levels come from base-model rollouts on the held-out problems (independent of every eval's
        greedy answers); the compare table and its figures are what `vrd eval compare` gives a user.
        """
        c, o = self.config, self.out
        g = str(c.rl_generations)
        rl_flags = ["--max-steps", str(c.rl_steps), "--num-generations", g, "--batch-size", g,
                    "--global-batch-size", str(2 * c.rl_generations), "--max-new-tokens", "64", "--lr", "1e-5"]
        sft_flags = ["--sft-batch-size", "4", "--sft-lr", "1e-4"]
        two_stage, mix, merged = o / "train" / "two-stage", o / "train" / "mix", o / "merged"
        run_cli(["train", "combo", "--strategy", "two-stage", "--model", base, "--data", str(curated),
                 "--out", str(two_stage), "--sft-max-steps", str(c.sft_steps), "--sft-global-batch", "4",
                 *sft_flags, *rl_flags])
        run_cli(["train", "combo", "--strategy", "mix", "--mix-lambda", "0.1", "--model", base, "--data",
                 str(curated), "--out", str(mix), *sft_flags, *rl_flags])
        run_cli(["merge", str(sft_out), str(rl_out), "--alpha", "0.5", "--out", str(merged), "--overwrite"])
        base_rollouts = o / "rollouts-heldout"
        run_cli(["distill", "--teacher", base, "--data", str(heldout), "--out", str(base_rollouts), "--backend", "hf",
                 "--samples", str(c.samples), "--keep", "all", "--max-new-tokens", str(c.max_new_tokens),
                 "--temperature", "1.0", "--seed", str(c.seed)])
        evals = o / "eval"
        models = {"base": base, "sft": str(sft_out), "rl": str(rl_out), "two-stage": str(two_stage / "rl"),
                  "mix": str(mix), "merged": str(merged)}
        for name, model in models.items():  # base / sft / rl answers are reused; only the levels are added
            run_cli(["eval", "--model", model, "--benchmarks", str(heldout), "--out", str(evals / name),
                     "--backend", "hf", "--max-new-tokens", str(c.max_new_tokens), "--rollouts", str(base_rollouts)])
        run_cli(["eval", "compare", *(str(evals / n) for n in models), "--out", str(evals / "synergy.md"),
                 "--plot", str(evals / "synergy-plots")])
        accs = {n: next(iter(_accuracy(evals / n).values())) for n in ("two-stage", "mix", "merged")}
        return "held-out accuracy " + ", ".join(f"{k} {v:.1%}" for k, v in accs.items()) + \
            f"; table by level and length in {evals / 'synergy.md'}"

    def summary(self, teacher_info: dict[str, Any]) -> None:
        table = Table(title="vrd demo: what each stage produced", show_lines=False)
        table.add_column("stage", no_wrap=True)
        table.add_column("s", justify="right")
        table.add_column("produced", ratio=3)
        table.add_column(f"under {self.out}", ratio=1)
        for i, s in enumerate(self.stages, start=1):
            where = s.output.relative_to(self.out) if s.output.is_relative_to(self.out) else s.output
            table.add_row(f"{i}. {s.name}", f"{s.seconds:.0f}", s.produced, str(where))
        self.console.print(table)
        total = sum(s.seconds for s in self.stages)
        self.console.print(f"total {total:.0f}s. Shift report: {self.out / 'shift-report' / 'report.html'}")
        from vrd.outputs import write_text_atomic

        write_text_atomic(self.out / "demo-summary.json", json.dumps({
            "stages": [{"name": s.name, "seconds": round(s.seconds, 1), "produced": s.produced,
                        "output": str(s.output)} for s in self.stages],
            "teacher": {k: str(v) if isinstance(v, Path) else v for k, v in teacher_info.items()},
        }, indent=2))

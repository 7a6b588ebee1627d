"""Live progress of a distill run: problems done of total, samples/s, acceptance rate, ETA.

Rates are computed from this invocation's own work (not the resumed part), so a resumed run
shows its real speed; the bar itself starts at what earlier runs already finished.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class DistillProgress:
    def __init__(self, total: int, done_before: int = 0, *, enabled: bool = True, description: str = "distill",
                 console: Console | None = None) -> None:
        self.total = total
        self.done_before = done_before
        self.problems = 0
        self.generated = 0
        self.kept = 0
        self.rejected = 0
        self.started = time.perf_counter()
        self.stopped: float | None = None
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.1f} samples/s"),
            TextColumn("accept {task.fields[acceptance]:.0%}"),
            TextColumn("{task.fields[rejected]} rej"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            disable=not enabled,
            transient=False,
        )
        self._task: Any = None

    @property
    def elapsed(self) -> float:
        return (self.stopped or time.perf_counter()) - self.started

    @property
    def samples_per_s(self) -> float:
        return self.generated / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def acceptance(self) -> float:
        return self.kept / self.generated if self.generated else 0.0

    def __enter__(self) -> DistillProgress:
        self._bar.__enter__()
        self._task = self._bar.add_task(
            "distill", total=self.total, completed=self.done_before, rate=0.0, acceptance=0.0, rejected=0
        )
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped = time.perf_counter()
        self._bar.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, *, problems: int, generated: int, kept: int, rejected: int = 0) -> None:
        self.problems += problems
        self.generated += generated
        self.kept += kept
        self.rejected += rejected
        if self._task is not None:
            self._bar.update(self._task, advance=problems, rate=self.samples_per_s, acceptance=self.acceptance,
                             rejected=self.rejected)

"""What curation did, step by step: `curation.json` and the terminal table.

Every step records rows and problems before and after, and why things went, so a user can
see that 40% of the data went to `incorrect` before wondering why the SFT split is small.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StepRecord:
    step: str
    rows_in: int
    rows_out: int
    problems_in: int
    problems_out: int
    unit: str  # what `dropped` counts: "rows" or "problems"
    dropped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["seconds"] = round(self.seconds, 3)
        return out


@dataclass
class CurationReport:
    input: str
    output: str
    config: dict[str, Any]
    steps: list[StepRecord] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    contamination: list[dict[str, Any]] = field(default_factory=list)
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    pass_rate_from: str = "responses"
    unassigned: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": self.input,
            "output": self.output,
            "config": self.config,
            "pass_rate_from": self.pass_rate_from,
            "steps": [s.to_dict() for s in self.steps],
            "splits": self.splits,
            "unassigned_problems": self.unassigned,
            "duplicates": self.duplicates,
            "contamination": self.contamination,
        }

    def write(self, out_dir: str | os.PathLike) -> Path:
        from vrd.outputs import write_text_atomic

        return write_text_atomic(Path(out_dir) / "curation.json", json.dumps(self.to_dict(), indent=2, default=str))


def render(report: CurationReport | dict[str, Any], console: Any = None) -> None:
    """Print the steps table and per-split source / difficulty counts with rich."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    data = report.to_dict() if isinstance(report, CurationReport) else report
    console = console or Console()
    steps = Table(title="curation steps", title_justify="left")
    for col in ("step", "rows in", "rows out", "problems in", "problems out", "dropped (reason: count)"):
        steps.add_column(col, justify="left" if col in ("step", "dropped (reason: count)") else "right")
    for s in data["steps"]:
        reasons = "; ".join(f"{k}: {v} {s['unit']}" for k, v in s["dropped"].items() if v) or "-"
        steps.add_row(s["step"], str(s["rows_in"]), str(s["rows_out"]), str(s["problems_in"]),
                      str(s["problems_out"]), reasons)
    console.print(steps)
    for title, key in (("per source", "by_source"), ("per difficulty", "by_difficulty")):
        names = sorted({k for sp in data["splits"].values() for k in sp[key]})
        if not names:
            continue
        table = Table(title=f"split sizes {title}", title_justify="left")
        table.add_column(key.removeprefix("by_"))
        for split in data["splits"]:
            table.add_column(split, justify="right")
        for name in names:
            table.add_row(name, *(str(sp[key].get(name, 0)) for sp in data["splits"].values()))
        # Styled Text, not markup: the console prints user text (source names) with markup off.
        table.add_row(Text("total", style="bold"),
                      *(Text(str(sp["problems"]), style="bold") for sp in data["splits"].values()))
        console.print(table)
    hits = data["contamination"]
    if hits:
        table = Table(title=f"benchmark contamination ({len(hits)} hits)", title_justify="left")
        for col in ("id", "benchmark", "benchmark id", "kind", "match"):
            table.add_column(col)
        for h in hits[:50]:
            table.add_row(h["id"], h["benchmark"], h["benchmark_id"], h["kind"], h["match"])
        if len(hits) > 50:
            table.add_row(f"... {len(hits) - 50} more in curation.json", "", "", "", "")
        console.print(table)

"""`vrd shift-report` settings: light to import, so the CLI can build its flags without numpy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vrd.config import Config, seed_setting, setting
from vrd.errors import ConfigError

FORMAT_WEIGHT = 0.1  # EasyR1's math reward: 0.9 * accuracy + 0.1 * format


@dataclass
class ShiftConfig(Config):
    """What the shift report measures and the rule its recommendation follows."""

    base_model: str = setting(help="Alias, hub id or local dir of the base model.")
    out_dir: Path | None = setting(None, cli=False, help="Output dir for report.html and metrics.json (the call's "
                                                         "`out`).")
    base_samples: Path | None = setting(None, help="The base model's own `--keep all` rollouts on the same problems.")
    embedder: str | None = setting(None, help="sentence-transformers dir or hub id (default: bundled "
                                              "all-MiniLM-L6-v2).")
    max_samples: int | None = setting(1000, help="Rows scored per dataset (seeded sample); 0 = all.")
    batch_size: int = setting(8, help="Rows per NLL forward pass (length-sorted).")
    # format template; None = from each dataset's manifest, else "math"
    template: str | None = setting(None, help="Format template for compliance (math | r1v | ...); default: from "
                                              "each manifest.")
    seed: int = seed_setting("Seed for sampling rows and permutation tests.")
    n_permutations: int = setting(200, help="Permutations of the MMD test.", cli=False, at_least=1)
    device: str = setting("auto", help="auto | cpu | cuda[:N].")
    group_size: int = setting(10, help="Planned GRPO group size for the recommendation.")
    max_all_wrong: float = setting(0.5, help="Rule: SFT first above this all-wrong fraction.")
    min_pass_rate: float = setting(0.1, help="Rule: SFT first below this mean pass rate.")
    max_zero_advantage: float = setting(0.5, help="Rule: note above this zero-advantage fraction.", cli=False)
    # problems RL trains on: signal is computed on these ids only
    rl_split: Path | None = setting(None, help="Problems RL will train on (e.g. the curated rl split): signal is "
                                               "computed on these ids of the base samples only.")
    format_weight: float = setting(FORMAT_WEIGHT, help="w in the RL reward (1-w)*acc + w*format.")

    def __post_init__(self) -> None:
        from vrd.models.loading import DEVICE_RE

        if not self.base_model.strip():
            raise ConfigError("--base-model: give an alias, hub id or local folder")
        if not DEVICE_RE.match(self.device):  # whether it exists here is checked when the model loads
            raise ConfigError(f"--device must be auto, cpu, cuda, cuda:N or mps, got {self.device!r}")
        for name in ("out_dir", "base_samples", "rl_split"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                setattr(self, name, Path(value))
        if self.max_samples == 0:
            self.max_samples = None  # 0 = every row
        if self.max_samples is not None and self.max_samples < 0:
            raise ConfigError(f"--max-samples {self.max_samples}: must be >= 0 (0 = all)")
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size {self.batch_size}: must be at least 1")
        if not 0.0 <= self.format_weight <= 1.0:
            raise ConfigError(f"--format-weight {self.format_weight}: must be in [0, 1]")
        if self.template is not None:
            from vrd.prompts import get_template

            get_template(self.template)  # an unknown template fails before the model loads
        if self.group_size < 2:
            raise ConfigError(f"--group-size {self.group_size}: must be >= 2 (GRPO compares rollouts within a group)")
        for name in ("max_all_wrong", "min_pass_rate", "max_zero_advantage"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")

    def rule_settings(self) -> dict[str, Any]:
        """Keyword arguments of `vrd.analysis.signal.SignalRule` (built there, so this module stays light)."""
        return {"group_size": self.group_size, "max_all_wrong": self.max_all_wrong,
                "min_mean_pass_rate": self.min_pass_rate, "max_zero_advantage": self.max_zero_advantage}

"""Settings of `vrd demo` and its tiny teacher: light to import, so the CLI can build its flags
without loading the demo."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vrd.config import Config, seed_setting, setting
from vrd.errors import ConfigError, unknown_name


@dataclass(frozen=True)
class TeacherConfig:
    """What the demo teacher is; every field is part of the cache key."""

    seed: int = 0
    hidden_size: int = 128
    num_layers: int = 4
    n_train: int = 1200
    synth_seed: int = 1000
    base_steps: int = 100
    teacher_steps: int = 400
    batch_size: int = 16
    lr: float = 3e-3
    template: str = "math"
    # The problem families the demo uses. A CPU-sized model learns the format quickly but not
    # multi-step arithmetic, so the demo keeps to the one-step families it can partly solve.
    families: str = "parallel,pythagorean,rectangle"
    tiers: str = "1"


@dataclass
class DemoConfig(Config):
    """Sizes of the demo run; the defaults finish in minutes on a laptop CPU."""

    n_problems: int = setting(96, flags=("--problems",), help="Synth problems to distill.")
    n_heldout: int = setting(40, help="Held-out synth problems for the eval stage.", cli=False)
    samples: int = setting(4, help="Teacher samples per problem.", cli=False)
    keep: int = setting(2, help="Correct samples kept per problem.", cli=False)
    max_new_tokens: int = setting(96, help="Completion tokens in distill, RL and eval.", cli=False)
    sft_steps: int = setting(5, help="SFT optimizer steps.", cli=False)
    rl_steps: int = setting(4, help="GRPO optimizer steps.", cli=False)
    rl_generations: int = setting(4, help="GRPO group size.", cli=False)
    seed: int = seed_setting("Seed of every stage.")
    teacher: TeacherConfig = setting(default_factory=TeacherConfig, cli=False,
                                     help="The demo teacher (a mapping of TeacherConfig fields in YAML).")

    def __post_init__(self) -> None:
        if isinstance(self.teacher, dict):
            known = [f.name for f in dataclasses.fields(TeacherConfig)]
            for key in self.teacher:
                if key not in known:
                    raise ConfigError(f"teacher: {unknown_name('setting', str(key), known)}")
            self.teacher = TeacherConfig(**self.teacher)
        if not isinstance(self.teacher, TeacherConfig):
            raise ConfigError(f"teacher: expected a mapping of TeacherConfig fields, got {type(self.teacher).__name__}")
        for name in ("n_problems", "samples", "keep", "max_new_tokens", "rl_generations"):
            if getattr(self, name) < 1:
                raise ConfigError(f"demo: {name} must be at least 1, got {getattr(self, name)}")
        if self.rl_generations < 2:
            raise ConfigError("demo: rl_generations must be >= 2 (GRPO compares rollouts within a group)")

"""`vrd verify` settings (what to check, how long to try)."""

from __future__ import annotations

from dataclasses import dataclass

from vrd.config import Config, setting
from vrd.errors import ConfigError


@dataclass
class VerifyConfig(Config):
    """How `vrd verify` grades a JSONL file of responses."""

    template: str = setting("math", help="Template whose format to check: math | r1v | easyr1-math | easyr1-r1v | "
                                         "none | PATH.jinja.")
    reward: str | None = setting(None, help="Also write a `reward` column: easyr1 | vrd.")
    workers: int = setting(0, help="Worker processes for LaTeX grading (0 = all cores).")
    timeout: float = setting(5.0, help="Seconds allowed per item before it counts as wrong.")

    def __post_init__(self) -> None:
        from vrd.prompts import get_template

        get_template(self.template)
        if self.reward is not None:
            from vrd.verify.reward import check_reward

            check_reward(self.reward)
        from vrd.verify.pool import check_timeout

        check_timeout(self.timeout)  # nan, inf and 1e12 too, not just <= 0
        if self.workers < 0:
            raise ConfigError(f"--workers must be >= 0 (0 = all cores), got {self.workers}")

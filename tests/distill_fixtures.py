"""Shared pieces of the distill tests: problem rows and a scripted engine whose outputs are fixed."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

from PIL import Image

from vrd.distill.config import DistillConfig
from vrd.engines.base import Completion, Engine

RIGHT = "<think>adding the angles</think> The answer is \\boxed{{{answer}}}."
WRONG = "<think>guessing</think> \\boxed{{999}}"


def make_problem(name: str, answer: str = "42", *, image: object | None = None) -> dict:
    img = image if image is not None else Image.new("RGB", (16, 16), (255, 255, 255))
    return {"id": f"t/train/{name}", "source": "t", "split": "train", "images": [img],
            "question": f"<image> Problem {name}: find x.", "choices": [], "answer": answer,
            "answer_type": "number", "meta": "{}"}


class ScriptedEngine(Engine):
    """Call k for a problem returns script[name][k] ("R" = right, "W" = wrong, "E" = error result).

    A problem named in `explode` makes any call that contains it raise, as a failing request would:
    `error` when given (e.g. a server's HTTP 401, or a dead server's one message), else a RuntimeError
    naming the problems. `attempts` counts every call, raised or not.
    """

    name = "scripted"

    def __init__(self, script: dict[str, list[str]], explode: set[str] | None = None,
                 error: Exception | None = None) -> None:
        super().__init__("scripted")
        self.script = script
        self.explode = set(explode or ())
        self.error = error
        self.attempts = 0
        self.calls: dict[str, int] = defaultdict(int)
        self.seeds: list[tuple[tuple[str, ...], int | None]] = []

    @staticmethod
    def name_of(prompt: str) -> str:
        return re.search(r"Problem (\w+):", prompt).group(1)

    def generate(self, requests, params):
        names = [self.name_of(r.prompt) for r in requests]
        self.attempts += 1
        if self.explode & set(names):
            if self.error is not None:
                raise self.error
            raise RuntimeError(f"server refused {sorted(self.explode & set(names))}")
        self.seeds.append((tuple(names), params.seed))
        out = []
        for name in names:
            plan = self.script[name][self.calls[name]]
            self.calls[name] += 1
            comps = []
            for mark in plan[: params.n]:
                if mark == "E":
                    comps.append(Completion("backend said 500", 0, "error"))
                else:
                    text = RIGHT.format(answer="42") if mark == "R" else WRONG.format()
                    comps.append(Completion(text, len(text) // 4, "stop"))
            out.append(comps)
        return out


def config_for(tmp_path: Path, **kw) -> DistillConfig:
    base = dict(teacher="scripted", data=str(tmp_path / "in"), out=str(tmp_path / "out"), samples=4, keep=2,
                rounds=1, batch_size=8, progress=False)
    base.update(kw)
    return DistillConfig(**base)

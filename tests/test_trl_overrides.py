"""VrdGRPOTrainer overrides private GRPOTrainer methods; check them against the installed TRL.

A TRL release that adds or renames an argument of one of these methods would otherwise make
every RL step raise a TypeError on the first GPU run (as TRL 1.0-1.9 vs 1.16 did for
`_generate_single_turn`).
"""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from vrd.trainers.rl import VrdGRPOTrainer

trl = pytest.importorskip("trl")


def _overrides() -> list[str]:
    return [name for name, fn in vars(VrdGRPOTrainer).items()
            if callable(fn) and name != "__init__" and hasattr(trl.GRPOTrainer, name)]


def test_the_overridden_methods_are_the_known_ones() -> None:
    assert set(_overrides()) == {"_calculate_rewards", "_generate_and_score_completions", "_generate_single_turn",
                                  "_get_train_sampler", "training_step"}


@pytest.mark.parametrize("name", _overrides())
def test_override_binds_every_call_the_parent_accepts(name: str) -> None:
    check_override(name, getattr(trl.GRPOTrainer, name), getattr(VrdGRPOTrainer, name))


def test_the_check_catches_a_fixed_signature_from_an_older_trl() -> None:
    def old(self, prompt_ids, images, multimodal_fields): ...  # TRL 1.0-1.9's override shape

    with pytest.raises(AssertionError):
        check_override("_generate_single_turn", trl.GRPOTrainer._generate_single_turn, old)


def check_override(name: str, parent_fn: object, child_fn: object) -> None:
    parent = inspect.signature(parent_fn)
    child = inspect.signature(child_fn)
    kinds = {p.kind for p in child.parameters.values()}
    assert inspect.Parameter.VAR_POSITIONAL in kinds and inspect.Parameter.VAR_KEYWORD in kinds, (
        f"{name}{child}: take *args, **kwargs so arguments TRL adds pass through")
    p_pos = [p.name for p in parent.parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    c_named = [p.name for p in child.parameters.values()
               if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    # The arguments the override reads by name sit where the parent has them.
    assert c_named == p_pos[:len(c_named)], f"{name}: parent {parent}, override {child}"
    # Every positional and keyword form the parent accepts binds on the override too.
    args = [object()] * len(p_pos)
    child.bind(*args)
    child.bind(args[0], **{n: object() for n in p_pos[1:]})


def test_installed_trl_is_inside_the_pinned_range() -> None:
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    spec = re.search(r'^\s*"trl([^"]*)",', text, re.M).group(1)
    assert Version(version("trl")) in SpecifierSet(spec), (spec, version("trl"))


def test_colocated_vllm_gets_image_only_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    import trl.generation.vllm_generation as generation

    from vrd.trainers.rl import colocated_vllm_limits

    source = inspect.getsource(generation.VLLMGeneration)
    assert "= LLM(" in source and "limit_mm_per_prompt" not in source  # TRL builds it without limits
    seen: list[dict] = []
    monkeypatch.setattr(generation, "LLM", lambda **kw: seen.append(kw), raising=False)  # returns None: no generate
    recorder = generation.LLM
    with colocated_vllm_limits(2):
        generation.LLM(model="m", max_model_len=100)
    assert seen == [{"model": "m", "max_model_len": 100, "limit_mm_per_prompt": {"image": 2, "video": 0}}]
    assert generation.LLM is recorder


def test_colocated_rollouts_that_vllm_aborted_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """TRL takes only token ids from colocated vLLM and would train on an aborted request as a
    truncated answer; vrd wraps the engine TRL builds and refuses such a batch by name."""
    from types import SimpleNamespace

    import trl.generation.vllm_generation as generation

    from vrd.errors import VrdError
    from vrd.trainers.rl import colocated_vllm_limits

    class RecordingLLM:
        """Stands in for vllm.LLM: returns RequestOutput-shaped objects with the scripted reasons."""

        def __init__(self, **kwargs: object) -> None:
            self.reasons: list[str | None] = []

        def generate(self, prompts: list, sampling_params: object = None, use_tqdm: bool = False) -> list:
            return [SimpleNamespace(prompt_token_ids=p["prompt_token_ids"],
                                    outputs=[SimpleNamespace(token_ids=[1, 2], finish_reason=r)])
                    for p, r in zip(prompts, self.reasons, strict=True)]

    monkeypatch.setattr(generation, "LLM", RecordingLLM, raising=False)
    with colocated_vllm_limits():
        llm = generation.LLM(model="m")
    prompts = [{"prompt_token_ids": [5]}, {"prompt_token_ids": [6]}]
    llm.reasons = ["stop", "length"]
    assert [o.outputs[0].finish_reason for o in llm.generate(prompts, use_tqdm=False)] == ["stop", "length"]
    for bad in ("abort", None):
        llm.reasons = ["stop", bad]
        with pytest.raises(VrdError, match=r"did not finish 1 of 2 rollouts"):
            llm.generate(prompts, use_tqdm=False)

"""`vrd merge`: the methods on hand-made tensors, and real merges of two tiny Qwen2.5-VL models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from vrd.models.merge import (
    MergeError,
    MergeSpec,
    drop_and_rescale,
    linear,
    merge_models,
    task_vector_merge,
    trim_magnitude,
)


def test_linear_is_the_weighted_mean() -> None:
    a, b = torch.tensor([1.0, 2.0]), torch.tensor([3.0, -2.0])
    assert torch.allclose(linear([a, b], [0.25, 0.75]), 0.25 * a + 0.75 * b)
    assert torch.allclose(linear([a, b], [1.0, 3.0]), 0.25 * a + 0.75 * b)  # weights are normalized
    with pytest.raises(MergeError, match="sum to zero"):
        linear([a, b], [1.0, -1.0])


def test_ties_trims_elects_sign_and_averages_the_agreeing() -> None:
    base = torch.zeros(4)
    a = torch.tensor([1.0, -2.0, 3.0, 0.1])
    b = torch.tensor([-3.0, 1.0, 1.0, 0.2])
    assert trim_magnitude(a, 0.75).tolist() == pytest.approx([1.0, -2.0, 3.0, 0.0])
    # Worked by hand: trimmed deltas A=[1,-2,3,0], B=[-3,1,1,0]; elected signs of the sums [-2,-1,4,0]
    # are [-,-,+,+]; each entry averages the deltas of that sign: [-3, -2, (3+1)/2, 0].
    out = task_vector_merge(base, [a, b], [1.0, 1.0], method="ties", density=0.75)
    assert out.tolist() == pytest.approx([-3.0, -2.0, 2.0, 0.0])
    # Weights (0.75, 0.25): weighted sums [0, -1.25, 2.5, 0]; entry 0 ties at 0 and elects +, so
    # only A agrees and its weighted delta 0.75 is divided by its weight: 1.0.
    out = task_vector_merge(base + 1.0, [a + 1.0, b + 1.0], [0.75, 0.25], method="ties", density=0.75)
    assert out.tolist() == pytest.approx([2.0, -1.0, 3.5, 1.0])


def test_dare_drops_with_p_and_rescales_so_the_delta_is_unbiased() -> None:
    gen = torch.Generator().manual_seed(0)
    delta = torch.full((200_000,), 2.0)
    kept = drop_and_rescale(delta, 0.3, gen)
    survivors = kept[kept != 0]
    assert survivors.unique().tolist() == pytest.approx([2.0 / 0.3])  # rescaled by 1 / (1 - p)
    assert (kept != 0).float().mean().item() == pytest.approx(0.3, abs=0.005)
    assert kept.mean().item() == pytest.approx(2.0, rel=0.02)  # E[kept] = delta
    base = torch.zeros(3)
    same = task_vector_merge(base, [torch.ones(3), torch.ones(3) * 3], [0.5, 0.5], method="dare", density=1.0)
    assert same.tolist() == pytest.approx([2.0, 2.0, 2.0])  # density 1: plain weighted task-vector sum


def _state(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    out: dict[str, torch.Tensor] = {}
    for f in sorted(folder.glob("*.safetensors")):
        out.update(load_file(str(f)))
    return out


def test_linear_merge_of_tiny_vlms_is_exact_and_loads(tiny_model_dir: Path, tiny_model_dir_b: Path,
                                                      tmp_path: Path) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    alpha = 0.3
    out = merge_models(MergeSpec.from_alpha([str(tiny_model_dir), str(tiny_model_dir_b)], alpha), tmp_path / "m",
                       shard_bytes=200_000)  # small shards: exercises the index file too
    a, m = _state(tiny_model_dir), _state(out)
    assert set(m) == set(a)
    assert any(k.startswith("visual.") for k in m)  # the vision tower is merged like the rest
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(a) and len(set(index["weight_map"].values())) > 1
    # Weight by weight, as the Auto classes load them (their names differ from the files' keys).
    model = AutoModelForImageTextToText.from_pretrained(out)
    sa = AutoModelForImageTextToText.from_pretrained(tiny_model_dir).state_dict()
    sb = AutoModelForImageTextToText.from_pretrained(tiny_model_dir_b).state_dict()
    merged = model.state_dict()
    assert set(merged) == set(sa)
    assert any(".visual." in k for k in merged)
    for key, value in merged.items():
        if value.is_floating_point():
            assert torch.allclose(value, alpha * sa[key] + (1 - alpha) * sb[key], atol=1e-6), key
    assert not torch.allclose(merged["model.visual.blocks.0.attn.qkv.weight"], sa["model.visual.blocks.0.attn.qkv.weight"])
    processor = AutoProcessor.from_pretrained(out)
    assert processor.tokenizer.chat_template or processor.chat_template
    record = json.loads((out / "vrd_merge.json").read_text())
    assert record["weights"] == [alpha, 1 - alpha] and "tokenizer_config.json" in record["carried_from_first"]


def test_vision_first_keeps_the_first_tower_and_mismatches_fail(tiny_model_dir: Path, tiny_model_dir_b: Path,
                                                                 tmp_path: Path) -> None:
    spec = MergeSpec.from_alpha([str(tiny_model_dir), str(tiny_model_dir_b)], 0.5, vision="first")
    a, b, m = _state(tiny_model_dir), _state(tiny_model_dir_b), _state(merge_models(spec, tmp_path / "v"))
    vis, lm = "visual.blocks.0.attn.qkv.weight", "model.layers.0.mlp.up_proj.weight"
    assert m[vis].equal(a[vis]) and not m[vis].equal(b[vis])
    assert torch.allclose(m[lm], (a[lm] + b[lm]) / 2, atol=1e-6)
    with pytest.raises(MergeError, match="already exists"):
        merge_models(spec, tmp_path / "v")
    with pytest.raises(MergeError, match="give --base"):
        MergeSpec(models=[str(tiny_model_dir), str(tiny_model_dir_b)], method="ties").validate()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    from safetensors.torch import save_file

    save_file({k: v for k, v in a.items() if k != lm}, str(broken / "model.safetensors"))
    with pytest.raises(MergeError, match="has no tensor 'model.layers.0.mlp.up_proj.weight'"):
        merge_models(MergeSpec.from_alpha([str(tiny_model_dir), str(broken)], 0.5), tmp_path / "x")


def test_ties_merge_relative_to_base_on_tiny_models(tiny_model_dir: Path, tiny_model_dir_b: Path,
                                                    tmp_path: Path) -> None:
    # Base = model A: A's task vector is zero, so TIES at density 1 gives base + B's delta
    # wherever B's delta is nonzero (only B agrees with the elected sign there).
    spec = MergeSpec(models=[str(tiny_model_dir), str(tiny_model_dir_b)], method="ties", base=str(tiny_model_dir),
                     weights=[0.5, 0.5], density=1.0)
    m, b = _state(merge_models(spec, tmp_path / "t")), _state(tiny_model_dir_b)
    name = "model.layers.0.mlp.up_proj.weight"
    assert torch.allclose(m[name], b[name], atol=1e-6)


def test_cli_alpha_sweep_merges_and_evaluates_each_point(tiny_model_dir: Path, tiny_model_dir_b: Path,
                                                         synth_problems_dir: Path, tmp_path: Path) -> None:
    from vrd.cli.main import app

    out = tmp_path / "sweep"
    args = ["merge", str(tiny_model_dir), str(tiny_model_dir_b), "--out", str(out), "--alpha", "0,1",
            "--eval", str(synth_problems_dir), "--eval-limit", "2", "--max-new-tokens", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "sweep.json").read_text())
    assert [p["alpha"] for p in summary["points"]] == [0.0, 1.0]
    for p in summary["points"]:
        assert (Path(p["eval"]) / "results.json").is_file() and p["mean_accuracy"] is not None
    # alpha = 1 is model A weight for weight
    a, m1 = _state(tiny_model_dir), _state(out / "models" / "alpha-1")
    assert all(m1[k].equal(a[k]) for k in a)
    bad = CliRunner().invoke(app, ["merge", str(tiny_model_dir), "--out", str(tmp_path / "one")])
    assert bad.exit_code == 2 and "at least two models" in bad.output

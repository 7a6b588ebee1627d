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
    rescale_survivors,
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
    kept = drop_and_rescale(delta, 0.3, gen, rescale="inverse")
    survivors = kept[kept != 0]
    assert survivors.unique().tolist() == pytest.approx([2.0 / 0.3])  # rescaled by 1 / (1 - p)
    assert (kept != 0).float().mean().item() == pytest.approx(0.3, abs=0.005)
    assert kept.mean().item() == pytest.approx(2.0, rel=0.02)  # E[kept] = delta
    # mergekit's default (rescale: true): the survivors keep the delta's L1 norm exactly.
    mixed = torch.randn(10_000, generator=gen)
    kept = drop_and_rescale(mixed, 0.3, gen)
    assert kept.abs().sum().item() == pytest.approx(mixed.abs().sum().item(), rel=1e-5)
    assert (kept != 0).float().mean().item() == pytest.approx(0.3, abs=0.02)
    assert drop_and_rescale(mixed, 0.3, torch.Generator().manual_seed(1), rescale="none").abs().max() <= \
        mixed.abs().max()
    base = torch.zeros(3)
    same = task_vector_merge(base, [torch.ones(3), torch.ones(3) * 3], [0.5, 0.5], method="dare", density=1.0)
    assert same.tolist() == pytest.approx([2.0, 2.0, 2.0])  # density 1: plain weighted task-vector sum


# Recorded from mergekit 0.1.5 (pip install mergekit==0.1.5 in a scratch venv) by calling its own
# code on the tensors below: `mergekit.merge_methods.registry.get(M).merge_group(TensorGroup.from_tensors(
# [BASE, A, B], base_index=0), weight=..., density=..., normalize=..., int8_mask=..., rescale=..., lambda=...)`
# (merge_methods/generalized_task_arithmetic.py) and `mergekit.sparsify.rescaled_masked_tensor(A - BASE,
# MASK, RescaleNorm.l1)`. On whole tiny Qwen2.5-VL checkpoints `mergekit-yaml` and `vrd merge` agree on all
# 57 tensors for linear, ties (normalize on/off, int8_mask, lambda, density 0.01) and DARE at density 1.
MK_BASE = torch.tensor([[0.5, -1.0, 2.0, 0.0, 1.5], [-0.25, 0.75, -2.0, 1.0, 0.1]])
MK_A = MK_BASE + torch.tensor([[0.3, -0.2, 0.05, 0.4, -0.6], [0.1, -0.7, 0.2, -0.05, 0.9]])
MK_B = MK_BASE + torch.tensor([[-0.5, 0.1, 0.25, -0.1, 0.35], [0.6, 0.15, -0.3, 0.02, -0.4]])
MK_BIAS = (torch.tensor([1.0, -1.0, 0.5]), torch.tensor([1.2, -1.3, 0.6]), torch.tensor([0.6, -0.95, 0.8]))
MK_MASK = torch.tensor([[1, 0, 1, 1, 0], [0, 1, 1, 0, 1]], dtype=torch.float32)
MERGEKIT = {
    'ties_w.6_.4_d.5': [[0.0, -1.0, 2.0, 0.4000000059604645, 0.8999999761581421], [0.3500000238418579, 0.050000011920928955, -2.299999952316284, 1.0, 1.0]],
    'ties_w1_1_d.3_lambda.8_int8': [[0.09999999403953552, -1.0, 2.0, 0.0, 1.0199999809265137], [0.23000001907348633, 0.1899999976158142, -2.0, 1.0, 0.8199999928474426]],
    'ties_nonormalize_w.5_.5_d.7': [[0.25, -1.100000023841858, 2.125, 0.20000000298023224, 1.2000000476837158], [0.050000011920928955, 0.4000000059604645, -2.1500000953674316, 1.0, 0.550000011920929]],
    'ties_bias_d.1_keeps_one': [0.6000000238418579, -1.2999999523162842, 0.5],
    'dare_linear_d1_w.5_.5': [[0.4000000059604645, -1.0499999523162842, 2.1500000953674316, 0.15000000596046448, 1.375], [0.10000002384185791, 0.4749999940395355, -2.049999952316284, 0.9850000143051147, 0.3499999940395355]],
    'dare_linear_d1_normalize_w2_1': [[0.5333333611488342, -1.100000023841858, 2.116666555404663, 0.23333333432674408, 1.2166666984558105], [0.016666680574417114, 0.3333333432674408, -1.966666579246521, 0.9733332991600037, 0.5666666626930237]],
    'l1_rescale_of_delta_a': [[0.4117647409439087, -0.0, 0.06862738728523254, 0.5490196347236633, -0.0], [0.0, -0.9607843160629272, 0.27450987696647644, -0.0, 1.2352941036224365]],
}
# mergekit case -> (vrd method, weights, density, lambda, normalize)
MK_CASES = {
    "ties_w.6_.4_d.5": ("ties", [0.6, 0.4], 0.5, 1.0, True),
    "ties_w1_1_d.3_lambda.8_int8": ("ties", [1.0, 1.0], 0.3, 0.8, True),  # int8_mask: the same numbers
    "ties_nonormalize_w.5_.5_d.7": ("ties", [0.5, 0.5], 0.7, 1.0, False),
    "dare_linear_d1_w.5_.5": ("dare", [0.5, 0.5], 1.0, 1.0, None),  # mergekit's dare_linear, nothing dropped
    "dare_linear_d1_normalize_w2_1": ("dare", [2.0, 1.0], 1.0, 1.0, True),
}


@pytest.mark.parametrize("case", sorted(MK_CASES))
def test_task_vector_merges_match_numbers_recorded_from_mergekit(case: str) -> None:
    method, weights, density, lambda_, normalize = MK_CASES[case]
    out = task_vector_merge(MK_BASE, [MK_A, MK_B], weights, method=method, density=density, lambda_=lambda_,
                            normalize=normalize)
    assert torch.allclose(out, torch.tensor(MERGEKIT[case]), atol=1e-6)


def test_ties_keeps_at_least_one_entry_and_l1_rescale_match_mergekit() -> None:
    # density 0.1 of 3 entries: int(0.3) = 0, but mergekit keeps the largest one (sparsify.magnitude).
    base, a, b = MK_BIAS
    out = task_vector_merge(base, [a, b], [0.5, 0.5], method="ties", density=0.1)
    assert torch.allclose(out, torch.tensor(MERGEKIT["ties_bias_d.1_keeps_one"]), atol=1e-6)
    rescaled = rescale_survivors(MK_A - MK_BASE, MK_MASK.bool(), 0.5, "l1")
    assert torch.allclose(rescaled, torch.tensor(MERGEKIT["l1_rescale_of_delta_a"]), atol=1e-6)


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

"""End-to-end `vrd shift-report` on tiny local models: the falsifiable ranking test.

Dataset A is sampled from the base model itself, dataset B from a different tiny model
(other weights, other tokenizer). The report must put A closer by NLL and by embedding
distance, and the order must flip when B's model is the base.

Random tiny models are nearly uniform over their ~830 tokens (per-token NLL ≈ log V), so
"their own distribution" is barely distinct and per-byte NLL then mostly measures how many
bytes each sampled token happens to carry. Real base models are far from uniform; to give
the tiny ones distinct preferences of their own, the test scales each one's LM head by
SHARPEN (a softmax temperature of 1/SHARPEN) before sampling and scoring.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

SHARPEN = 20.0
N_PROMPTS, N_SAMPLES, MAX_NEW_TOKENS = 24, 2, 24
XSS = "<script>alert(1)</script>"


def _sharpened(src: Path, out: Path) -> Path:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(src)
    with torch.no_grad():
        model.lm_head.weight.mul_(SHARPEN)
    model.save_pretrained(out)
    AutoProcessor.from_pretrained(src).save_pretrained(out)
    return out


def _problems() -> list[dict]:
    from PIL import Image

    from vrd.schema import image_to_bytes

    rows = []
    for i in range(N_PROMPTS):
        images = [image_to_bytes(Image.new("RGB", (56, 56), (9 * i % 255, 80, 160)))] if i % 4 == 0 else []
        question = f"<image> Find the angle {i}." if images else f"What is {i} plus {i + 3}?"
        rows.append({"id": f"toy/test/{i}", "source": "toy-img" if images else "toy-text", "split": "test",
                     "images": images, "question": question, "choices": [], "answer": str(2 * i + 3),
                     "answer_type": "number", "meta": "{}"})
    return rows


def _response_row(problem: dict, sample: int, text: str, model: str, correct: bool, n: int) -> dict:
    return {**problem, "model": model, "round": 1, "sample": sample, "prompt": problem["question"], "response": text,
            "pred": None, "correct": correct, "format_ok": False, "n_tokens": 0, "finish_reason": "length",
            "n_samples": n, "n_correct": 0, "pass_rate": 0.0, "n_samples_r1": n, "n_correct_r1": 0,
            "pass_rate_r1": 0.0}


def _sample(model_dir: Path, out: Path, seed: int) -> Path:
    """N_SAMPLES sampled responses per problem from `model_dir`, written as a vrd response dataset."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vrd.analysis.likelihood import render_prompt_text
    from vrd.schema import load_image, write_dataset

    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval()
    processor = AutoProcessor.from_pretrained(model_dir)
    processor.tokenizer.padding_side = "left"
    problems = _problems()
    texts, images, owners = [], [], []
    for p in problems:
        ims = [load_image(v) for v in p["images"]]
        for s in range(N_SAMPLES):
            texts.append(render_prompt_text(processor, p["question"], ims))
            images.extend(ims)
            owners.append((p, s))
    enc = processor(text=texts, images=images, return_tensors="pt", padding=True)
    torch.manual_seed(seed)
    with torch.no_grad():
        out_ids = model.generate(**enc, do_sample=True, temperature=1.0, top_p=1.0, max_new_tokens=MAX_NEW_TOKENS)
    decoded = processor.tokenizer.batch_decode(out_ids[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
    rows = []
    for (p, s), text in zip(owners, decoded, strict=True):
        idx = int(p["id"].rsplit("/", 1)[1])
        # A known pass-rate pattern for the signal block: problems 0,3,6.. solved by sample 0 only.
        rows.append(_response_row(p, s, text, str(model_dir), idx % 3 == 0 and s == 0, N_SAMPLES))
    return write_dataset(rows, out, kind="responses")


@pytest.fixture(scope="module")
def samples(tiny_model_dir: Path, tiny_model_dir_b: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("shift")
    model_a = _sharpened(tiny_model_dir, root / "model_a")
    model_b = _sharpened(tiny_model_dir_b, root / "model_b")
    data = {
        "model_a": model_a,
        "model_b": model_b,
        "A": _sample(model_a, root / "A", seed=1),
        "base_a": _sample(model_a, root / "base_a", seed=2),
        "B": _sample(model_b, root / "B", seed=3),
        "base_b": _sample(model_b, root / "base_b", seed=4),
    }
    from vrd.schema import write_dataset

    problem = _problems()[1]
    problem["question"] = "Is <b>bold</b> safe? " + problem["question"]
    xss_rows = [_response_row(problem, s, f"<think> {XSS} x </think> \\boxed{{{s}}}", "evil", False, 3)
                for s in range(3)]
    data["xss"] = write_dataset(xss_rows, root / "xss", kind="responses")
    return data


@pytest.fixture(scope="module")
def report_base_a(samples: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str, Path]:
    """The base-A run goes through the real CLI (terminal table included)."""
    from typer.testing import CliRunner

    from vrd.cli.main import app

    out = tmp_path_factory.mktemp("report_a")
    result = CliRunner().invoke(app, [
        "shift-report", str(samples["A"]), str(samples["B"]), str(samples["xss"]),
        "--base-model", str(samples["model_a"]), "--base-samples", str(samples["base_a"]), "--out", str(out),
        "--batch-size", "16", "--group-size", "2",
    ])
    assert result.exit_code == 0, result.output
    return json.loads((out / "metrics.json").read_text()), result.output, out


def _order(ranking_names: list[str]) -> list[str]:
    return [n for n in ranking_names if n in ("A", "B")]


def test_own_samples_rank_closer(report_base_a: tuple[dict, str, Path]) -> None:
    from vrd.analysis.report import rank_datasets

    metrics, output, _ = report_base_a
    a, b = metrics["datasets"]["A"], metrics["datasets"]["B"]
    assert a["likelihood"]["nll_per_byte_mean"] < b["likelihood"]["nll_per_byte_mean"]
    assert a["likelihood"]["nll_per_token_mean"] < b["likelihood"]["nll_per_token_mean"]
    assert a["embedding"]["mmd2"] < b["embedding"]["mmd2"]
    assert a["embedding"]["classifier_auc"] < b["embedding"]["classifier_auc"]
    assert b["embedding"]["mmd2_p_value"] < 0.05  # the foreign set is detectably different
    assert _order([r["name"] for r in rank_datasets(metrics["datasets"])]) == ["A", "B"]
    # The terminal table lists A above B and states the ranking rule.
    rows = [line.split()[:2] for line in output.splitlines() if re.match(r"^\s*\d+\s+\S", line)]
    assert _order([name for _, name in rows]) == ["A", "B"]
    assert "per-byte NLL" in output


def test_ranking_flips_when_b_is_the_base(samples: dict[str, Path], tmp_path: Path) -> None:
    from vrd.analysis.report import ShiftConfig, shift_report

    cfg = ShiftConfig(base_model=str(samples["model_b"]), out_dir=tmp_path, base_samples=samples["base_b"],
                      batch_size=16)
    rep = shift_report([samples["A"], samples["B"]], cfg)
    a, b = rep.metrics["datasets"]["A"], rep.metrics["datasets"]["B"]
    assert b["likelihood"]["nll_per_byte_mean"] < a["likelihood"]["nll_per_byte_mean"]
    assert b["embedding"]["mmd2"] < a["embedding"]["mmd2"]
    assert b["embedding"]["classifier_auc"] < a["embedding"]["classifier_auc"]
    assert _order([r["name"] for r in rep.ranking]) == ["B", "A"]


def test_metrics_json_shape(report_base_a: tuple[dict, str, Path], samples: dict[str, Path]) -> None:
    from vrd.analysis.signal import SignalRule, signal_report
    from vrd.schema import read_rows

    metrics, _, out = report_base_a
    assert set(metrics) == {"base_model", "datasets", "signal"}
    assert set(metrics["datasets"]) == {"A", "B", "xss"}
    for entry in metrics["datasets"].values():
        assert {"likelihood", "embedding", "length", "style"} <= set(entry)
        assert {"nll_per_token_mean", "nll_per_byte_mean", "nll_per_byte_quantiles", "by_source"} <= set(
            entry["likelihood"])
    assert set(metrics["datasets"]["A"]["likelihood"]["by_source"]) == {"toy-img", "toy-text"}
    assert metrics["datasets"]["A"]["likelihood"]["n_scored"] == N_PROMPTS * N_SAMPLES
    assert metrics["datasets"]["xss"]["style"]["format_rate"] == 1.0
    # Signal block = signal_report on the base rollouts: 8 of 24 problems solved once in 2 tries.
    expected = signal_report(read_rows(samples["base_a"]), SignalRule(group_size=2))
    assert metrics["signal"]["mean_pass_rate"] == pytest.approx(expected["mean_pass_rate"]) == pytest.approx(8 / 48)
    assert metrics["signal"]["pass_rate_histogram"]["L5"] == 16  # 0 of 2 (synergy level L5)
    assert metrics["signal"]["at_group_size"]["all_wrong"] == pytest.approx(16 / 24)
    lo, hi = metrics["signal"]["at_group_size"]["all_wrong_ci95"]
    assert lo <= 16 / 24 <= hi
    assert metrics["signal"]["recommendation"] == "SFT first"
    assert metrics["signal"]["verdict_line"].startswith("SFT first: all-wrong 0.67 [")
    # every headline distance carries an interval; tests and folds respect problems
    emb = metrics["datasets"]["A"]["embedding"]
    assert emb["resampling_unit"] == "problem" and emb["classifier_grouped"] is True
    for key in ("mmd2_ci95", "classifier_auc_ci95", "frechet_ci95"):
        assert len(emb[key]) == 2, key
    assert len(metrics["datasets"]["A"]["likelihood"]["nll_per_byte_mean_ci95"]) == 2
    json.loads((out / "metrics.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


def test_report_html_escapes_model_text(report_base_a: tuple[dict, str, Path]) -> None:
    _, _, out = report_base_a
    page = (out / "report.html").read_text(encoding="utf-8")
    assert XSS not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower()
    assert "&lt;b&gt;bold&lt;/b&gt;" in page  # prompts are escaped too
    # Self-contained: charts inline, nothing fetched from elsewhere.
    assert page.count("data:image/png;base64,") >= 4
    assert "http://" not in page and "https://" not in page


def test_without_base_samples(samples: dict[str, Path], tmp_path: Path) -> None:
    from vrd.analysis.report import ShiftConfig, shift_report

    rep = shift_report([samples["A"]], ShiftConfig(base_model=str(samples["model_a"]), out_dir=tmp_path,
                                                   max_samples=10))
    assert rep.metrics["signal"]["available"] is False
    assert rep.metrics["datasets"]["A"]["embedding"]["available"] is False
    assert rep.metrics["datasets"]["A"]["likelihood"]["n_scored"] == 10
    assert (tmp_path / "report.html").exists()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from vrd.cli.main import app

    result = CliRunner().invoke(app, ["shift-report", str(tmp_path / "missing"), "--base-model", "x",
                                      "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no such dataset directory" in " ".join(result.output.split())

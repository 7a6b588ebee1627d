"""Every writing command killed (SIGKILL, SIGINT, SIGTERM) at a known point, then rerun with the same arguments.

After the rerun the output must equal an uninterrupted run's, byte for byte where the command is
deterministic; while killed, the output folder shows the earlier output or the new one, whole,
never a mix; nothing of the dead writer (staging folders, temporary files) may survive the
rerun; and Ctrl-C exits 130 with one line and no traceback. The commands covered elsewhere
(distill, eval: test_kill_resume.py, test_distill_e2e.py; training: test_train_resume*.py;
synth, merge, shift-report swaps: test_kill_resume.py) are not repeated here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from curate_fixtures import write_responses
from eval_fixtures import write_math500
from kill_fixtures import leftovers, run_vrd, snapshot
from train_fixtures import curate_output
from typer.testing import CliRunner

from vrd.cli.main import app

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _baseline(args: list, out: Path) -> dict:
    """What an uninterrupted run writes to `out` (the same path, so recorded paths agree); `out` is then removed."""
    _ok([*args, "--out", out])
    expected = snapshot(out)
    shutil.rmtree(out)
    return expected


def _interrupted(proc) -> str:  # noqa: ANN001 - a CompletedProcess
    """Exit 130, no traceback, one line saying what was kept (returned). A progress bar that
    the interpreter closes on its way out may still draw itself after it."""
    assert proc.returncode == 130, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    said = [line for line in proc.stderr.splitlines() if line.startswith("interrupted")]
    assert len(said) == 1, proc.stderr[-3000:]
    return said[0]


def _killed(proc, code: int = -9) -> None:  # noqa: ANN001
    assert proc.returncode == code, (proc.returncode, proc.stderr[-3000:])


# -- curate: several split folders + curation.json + manifest, replaced whole ---------------------


def test_curate_killed_early_mid_write_at_the_swap_and_interrupted(tmp_path: Path) -> None:
    """A new plan replacing an old one: until the swap the old curation stays, whole; not one new
    split appears beside the old plan."""
    rows = write_responses(tmp_path / "responses")
    old_args = ["curate", rows, "--split", "sft=rest", "--dedup", "exact"]
    args = ["curate", rows, "--split", "sft=50%,rl=rest", "--dedup", "exact"]
    out = tmp_path / "cur"
    expected = _baseline(args, out)
    assert {"sft", "rl", "curation.json", "manifest.json"} <= {k.split("/")[0] for k in expected}
    _ok([*old_args, "--out", out])
    old = snapshot(out)

    # Early: the lock is held, nothing is written yet.
    _killed(run_vrd(tmp_path, [*args, "--out", out], at="vrd.outputs.FileLock.take", mode="kill-after"))
    assert snapshot(out) == old
    # Mid-write: every split staged, not yet swapped in.
    _killed(run_vrd(tmp_path, [*args, "--out", out], at="vrd.outputs.fsync_tree", mode="kill-before"))
    assert snapshot(out) == old and leftovers(tmp_path) != []
    # Ctrl-C while staging: exit 130, the staging folder goes, the lock is released.
    _interrupted(run_vrd(tmp_path, [*args, "--out", out], at="vrd.outputs.fsync_tree", mode="int-before"))
    assert snapshot(out) == old
    # SIGTERM (a scheduler's stop) right after the swap: the new curation is there, whole.
    _killed(run_vrd(tmp_path, [*args, "--out", out], at="vrd.outputs.exchange_paths", mode="term-after"), -15)
    assert snapshot(out) == expected
    # Rerun: the uninterrupted run's output; no dead writer's folder left.
    _ok([*args, "--out", out])
    assert snapshot(out) == expected
    assert leftovers(tmp_path) == []


# -- export: every format ---------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "at", "mode"), [
    ("llamafactory", "vrd.outputs.fsync_tree", "kill-before"),
    ("easyr1", "vrd.outputs.exchange_paths", "kill-after"),  # keeps no .locks folder in OUT
    ("trl", "vrd.outputs.fsync_tree", "int-before"),
    ("hf", "vrd.outputs.fsync_tree", "kill-before"),
])
def test_export_killed_mid_write_then_rerun_equals_an_uninterrupted_export(tmp_path: Path, fmt: str, at: str,
                                                                           mode: str) -> None:
    cur = curate_output(tmp_path / "cur", n_sft=3, n_rl=3, n_val=1)
    args = ["export", cur, "--format", fmt]
    out = tmp_path / "exp"
    expected = _baseline(args, out)
    proc = run_vrd(tmp_path, [*args, "--out", out], at=at, mode=mode)
    if mode.startswith("int"):
        _interrupted(proc)
    else:
        _killed(proc)
    seen = snapshot(out)
    assert seen in ({}, expected), sorted(seen)  # nothing, or the whole export
    _ok([*args, "--out", out])
    assert snapshot(out) == expected
    assert leftovers(tmp_path) == []
    if fmt == "easyr1":
        assert not (out / ".locks").exists()


# -- data prepare -------------------------------------------------------------------------------


def test_prepare_killed_mid_write_then_rerun(tmp_path: Path) -> None:
    bench = write_math500(tmp_path / "raw")
    args = ["data", "prepare", "math500", "--path", bench]
    out = tmp_path / "prep"
    expected = _baseline(args, out)
    _killed(run_vrd(tmp_path, [*args, "--out", out], at="vrd.schema.write_jsonl", mode="kill-after"))
    assert snapshot(out) == {}  # rejects.jsonl written, but only in the staging folder
    _ok([*args, "--out", out])
    assert snapshot(out) == expected
    assert leftovers(tmp_path) == []


# -- verify: one JSONL file ---------------------------------------------------------------------


def test_verify_killed_while_writing_leaves_no_partial_file_and_the_rerun_no_litter(tmp_path: Path) -> None:
    rows = tmp_path / "in.jsonl"
    rows.write_text("".join(json.dumps({"answer": str(i), "response": f"\\boxed{{{i % 2}}}"}) + "\n"
                            for i in range(6)))
    args = ["verify", rows, "--workers", "1"]
    _ok([*args, "--out", tmp_path / "whole.jsonl"])
    out = tmp_path / "out" / "graded.jsonl"
    _killed(run_vrd(tmp_path, [*args, "--out", out], at="vrd.outputs.fsync_path@atomic_path", mode="kill-before"))
    assert not out.exists() and leftovers(tmp_path) != []  # the whole file, under its temporary name
    _ok([*args, "--out", out])
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert leftovers(tmp_path) == []


# -- models tiny: weights and processor, swapped in together --------------------------------------


@pytest.mark.slow  # builds or trains a model in subprocesses
def test_models_tiny_killed_between_weights_and_processor_shows_no_half_model(tmp_path: Path,
                                                                             tiny_model_dir: Path) -> None:
    out = tmp_path / "tiny"
    killed = run_vrd(tmp_path, ["models", "tiny", "--out", out, "--seed", "0"],
                     at="transformers.Qwen2_5_VLProcessor.save_pretrained", mode="kill-before")
    _killed(killed)
    assert snapshot(out) == {}  # weights without a tokenizer would pass for a model
    _ok(["models", "tiny", "--out", out, "--seed", "0"])
    assert snapshot(out) == snapshot(tiny_model_dir)
    assert leftovers(tmp_path) == []
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    refused = runner.invoke(app, ["models", "tiny", "--out", str(tmp_path / "notes")])
    assert refused.exit_code == 2 and "is not a model folder" in refused.output, refused.output
    assert (tmp_path / "notes" / "todo.txt").read_text() == "mine"


# -- reward-audit: two files beside a run -------------------------------------------------------


def _rl_log(run: Path) -> Path:
    run.mkdir(parents=True)
    lines = []
    for s in range(1, 61):
        lines.append({"step": s, "kind": "train", "loss": 0.1, "reward": 0.2 + 0.01 * s})
        if s % 5 == 0:
            lines.append({"step": s, "kind": "eval", "eval_accuracy": 0.1 + 0.004 * min(s, 30) - 0.002 * max(0, s - 30)})
    (run / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return run


def test_reward_audit_killed_while_drawing_then_rerun(tmp_path: Path) -> None:
    run = _rl_log(tmp_path / "run")
    before = snapshot(run)
    _ok(["reward-audit", run])
    expected = snapshot(run)
    assert set(expected) == {*before, "reward_audit.json", "reward_audit.png"}
    (run / "reward_audit.json").unlink()
    (run / "reward_audit.png").unlink()
    _killed(run_vrd(tmp_path, ["reward-audit", run], at="matplotlib.figure.Figure.savefig", mode="kill-after"))
    assert "reward_audit.png" not in snapshot(run)  # drawn under a temporary name only
    _interrupted(run_vrd(tmp_path, ["reward-audit", run], at="matplotlib.figure.Figure.savefig", mode="int-before"))
    _ok(["reward-audit", run])
    assert snapshot(run) == expected
    assert leftovers(tmp_path) == []


# -- eval compare: --out FILE and the --plot folder ---------------------------------------------


def test_eval_compare_killed_between_figures_never_shows_a_partial_set(tmp_path: Path) -> None:
    from test_compare_behavior import _run as eval_run

    base = eval_run(tmp_path / "base", [(10, True, "Wait. 3", "stop"), (20, False, "4", "length")], [(100, True)])
    sft = eval_run(tmp_path / "sft", [(30, True, "3", "stop"), (40, True, "wait 2", "stop")], [(50, False)])
    md, figs = tmp_path / "cmp" / "table.md", tmp_path / "figs"
    args = ["eval", "compare", base, sft, "--out", md, "--plot", figs]
    _ok(args)
    expected, table = snapshot(figs), md.read_bytes()
    assert len(expected) == 3
    shutil.rmtree(figs)
    md.unlink()
    _killed(run_vrd(tmp_path, args, at="vrd.eval.behavior._save", mode="kill-after", n=2))
    assert snapshot(figs) == {}  # two of three figures drawn, none shown
    _interrupted(run_vrd(tmp_path, args, at="vrd.eval.behavior._save", mode="int-after", n=1))
    assert snapshot(figs) == {} and md.read_bytes() == table  # the table is written whole before the figures
    _ok(args)
    assert snapshot(figs) == expected and md.read_bytes() == table
    assert leftovers(tmp_path) == []


# -- merge --alpha sweep: one model folder per alpha, resumable -----------------------------------


def test_merge_sweep_killed_in_the_second_merge_keeps_the_first_and_finishes(tmp_path: Path, tiny_model_dir: Path,
                                                                             tiny_model_dir_b: Path) -> None:
    out = tmp_path / "sweep"
    args = ["merge", tiny_model_dir, tiny_model_dir_b, "--alpha", "0.25,0.75"]
    expected = _baseline(args, out)
    assert {"sweep.json", "models/alpha-0.25/model.safetensors", "models/alpha-0.75/model.safetensors"} <= set(expected)
    _killed(run_vrd(tmp_path, [*args, "--out", out], at="vrd.outputs.fsync_tree", mode="kill-before", n=2))
    seen = snapshot(out)
    assert all(not k.startswith("models/alpha-0.75/") for k in seen) and "sweep.json" not in seen
    resumed = _ok([*args, "--out", out])
    assert "alpha-0.25: merged model already on disk, kept" in resumed
    assert snapshot(out) == expected
    assert leftovers(tmp_path) == []


# -- train: the final save into a folder that holds an earlier run's model ------------------------


@pytest.mark.slow  # builds or trains a model in subprocesses
def test_train_killed_in_the_final_save_leaves_the_earlier_model_whole_and_unmarked(tiny_model_dir: Path,
                                                                                   tmp_path: Path) -> None:
    from safetensors.torch import load_file

    cur = curate_output(tmp_path / "cur", n_sft=2, n_rl=1, n_val=1)
    out, straight = tmp_path / "run", tmp_path / "straight"
    common = ["train", "sft", "--model", tiny_model_dir, "--data", cur, "--global-batch", "2", "--batch-size", "2",
              "--lr", "1e-2"]
    _ok([*common, "--max-steps", "2", "--out", straight])
    _ok([*common, "--max-steps", "1", "--out", out])  # a finished run; the same run with more steps follows
    one_step = (out / "model.safetensors").read_bytes()
    killed = run_vrd(tmp_path, [*common, "--max-steps", "2", "--out", out],
                     at="transformers.Qwen2_5_VLProcessor.save_pretrained@save_final", mode="kill-before")
    _killed(killed)
    # The new weights were saved, the processor not yet: OUT still holds the earlier model, whole,
    # and no record says a run finished there.
    assert (out / "model.safetensors").read_bytes() == one_step
    assert not (out / "vrd_train_config.json").exists()
    _ok([*common, "--max-steps", "2", "--out", out])
    assert json.loads((out / "vrd_train_config.json").read_text())["run"]["global_step"] == 2
    final, reference = load_file(str(out / "model.safetensors")), load_file(str(straight / "model.safetensors"))
    assert final.keys() == reference.keys()
    assert max((final[k].float() - reference[k].float()).abs().max().item() for k in final) < 1e-5
    assert (out / "model.safetensors").read_bytes() != one_step
    assert not (out / ".final-staging").exists()


# -- distill under SIGTERM (a scheduler's stop): the same clean stop as Ctrl-C -------------------


def test_distill_sigterm_stops_cleanly_and_the_rerun_says_what_it_resumed(tmp_path: Path) -> None:
    from vrd.distill.store import check_unique
    from vrd.schema import read_rows

    problems = tmp_path / "problems"
    _ok(["data", "synth", "--n", "6", "--out", problems])
    out = tmp_path / "run"
    args = ["distill", "--data", problems, "--out", out, "--teacher", "fixed", "--backend", "openai", "--samples", "2",
            "--keep", "all", "--batch-size", "2", "--no-progress"]

    def rows() -> list:
        return sorted((r["id"], r["sample"], r["response"]) for r in read_rows(out, kind="responses"))

    assert run_vrd(tmp_path, args, fixed_engine=True).returncode == 0
    expected = rows()
    shutil.rmtree(out)
    stopped = run_vrd(tmp_path, args, at="vrd.distill.store.write_shard", mode="term-after", n=2, fixed_engine=True)
    assert _interrupted(stopped).startswith(f"interrupted: 4 problem(s) are saved in {out}")
    assert len(rows()) == 8  # two batches of two problems, two samples each
    again = run_vrd(tmp_path, args, fixed_engine=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "(+4 done before)" in again.stdout, again.stdout
    assert rows() == expected and check_unique(out) == len(expected)
    assert leftovers(tmp_path) == []


@pytest.mark.slow  # builds or trains a model in subprocesses
def test_train_ctrl_c_names_the_checkpoint_kept_and_the_rerun_says_it_resumes(tiny_model_dir: Path,
                                                                              tmp_path: Path) -> None:
    cur = curate_output(tmp_path / "cur", n_sft=2, n_rl=1, n_val=1)
    out = tmp_path / "run"
    args = ["train", "sft", "--model", tiny_model_dir, "--data", cur, "--global-batch", "2", "--batch-size", "2",
            "--lr", "1e-2", "--max-steps", "2", "--save-steps", "1", "--out", out]
    stopped = run_vrd(tmp_path, args, at="transformers.Trainer.training_step", mode="int-after", n=2)
    assert _interrupted(stopped) == (f"interrupted: {out / 'checkpoint-1'} is saved; rerun the same command to "
                                     "resume from it")
    again = run_vrd(tmp_path, args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"vrd train | resuming from {out / 'checkpoint-1'}" in again.stderr
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert sorted(set(steps)) == [1, 2] and steps.count(1) == 1
    assert (out / "vrd_train_config.json").exists()

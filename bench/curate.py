"""Benchmark `vrd curate` at 100K and 1M text-only response rows, and vectorized vs looped near dedup.

    python bench/curate.py                      # 100K and 1M rows
    python bench/curate.py --sizes 20000,200000 --loop-problems 5000

Each size runs in its own process (so peak RSS is that size's alone) through the real
pipeline: correctness + pass-rate filter + exact and near dedup + select + split, outputs
written. It prints wall time and peak RSS per size and the large/small ratios (linear
scaling gives a time ratio close to the size ratio). Then, on the same questions, it times
near dedup as the pipeline runs it (datasketch sketches computed as arrays, LSH bands as
polars group-bys) against the same datasketch MinHash + MinHashLSH driven by a per-document
Python loop, and checks that both drop the same problems.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

K = 4  # responses per problem
SHARD_ROWS = 50_000


def synthesize(out: Path, n_rows: int, seed: int = 0) -> None:
    """Response rows (no images) with ~5% exact and ~5% near-duplicate problems planted."""
    import polars as pl

    rng = np.random.default_rng(seed)
    n_problems = n_rows // K
    vocab = np.array([f"w{i}" for i in range(20_000)])
    words = rng.choice(vocab, size=(n_problems, 24))
    questions = [" ".join(w) for w in words]
    dup = rng.random(n_problems)
    for i in range(1, n_problems):
        if dup[i] < 0.05:
            questions[i] = questions[i - 1].upper()  # exact after normalization
        elif dup[i] < 0.10:
            questions[i] = questions[i - 1].rsplit(" ", 1)[0] + " changed"  # near
    ids = [f"synthbench/train/{i:08d}" for i in range(n_problems)]
    n_correct = rng.integers(0, K + 1, n_problems)
    pid = np.repeat(np.arange(n_problems), K)
    sample = np.tile(np.arange(K), n_problems)
    correct = sample < n_correct[pid]
    frame = pl.DataFrame({
        "id": np.array(ids)[pid], "source": np.where(pid % 3 == 0, "srcA", "srcB"), "split": "train",
        "question": np.array(questions)[pid], "answer": "42", "answer_type": "number", "meta": "{}",
        "model": "teacher", "round": 1, "sample": sample, "prompt": np.array(questions)[pid],
        "response": np.char.add("<think>reasoning</think> answer ", sample.astype(str)),
        "pred": "42", "correct": correct, "format_ok": True,
        "n_tokens": rng.integers(50, 2000, len(pid)), "finish_reason": "stop",
        "n_samples": K, "n_correct": n_correct[pid], "pass_rate": n_correct[pid] / K,
        "n_samples_r1": K, "n_correct_r1": n_correct[pid], "pass_rate_r1": n_correct[pid] / K,
    }).with_columns(
        pl.lit([], dtype=pl.List(pl.Struct({"bytes": pl.Binary, "path": pl.String}))).alias("images"),
        pl.lit([], dtype=pl.List(pl.String)).alias("choices"),
    )
    out.mkdir(parents=True, exist_ok=True)
    for s, start in enumerate(range(0, frame.height, SHARD_ROWS)):
        frame.slice(start, SHARD_ROWS).write_parquet(out / f"data-{s:05d}.parquet")


def run_one(in_dir: str, out_dir: str) -> dict:
    """Child process: the real pipeline on one synthesized dataset."""
    from vrd.curate.config import CurateConfig
    from vrd.curate.frames import open_shards
    from vrd.curate.pipeline import curate

    n = open_shards(in_dir).n_rows  # splits scale with the input: 1% SFT, 0.1% val, the rest RL
    t0 = time.perf_counter()
    report = curate(in_dir, out_dir, CurateConfig(
        pass_rate=(0.25, 1.0), dedup=("exact", "near"), select="shortest",
        split=f"sft={n // 100},val={n // 1000},rl=rest"))
    wall = time.perf_counter() - t0
    n_rows, n_problems = report.steps[0].rows_in, report.steps[0].problems_in
    return {"rows": n_rows, "problems": n_problems, "wall_s": wall,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "steps": {s.step: round(s.seconds, 2) for s in report.steps},
            "dropped": {s.step: s.dropped for s in report.steps if s.dropped}}


def near_compare(in_dir: str, n_problems: int) -> dict:
    """Child process: vectorized vs per-document-loop MinHash LSH on the same questions."""
    import polars as pl

    from vrd.curate import minhash
    from vrd.curate.frames import open_shards, scan

    shards = open_shards(in_dir)
    questions = (scan(shards, ["id", "question"]).group_by("id").agg(pl.col("question").first()).sort("id")
                 .head(n_problems).collect()["question"])
    t0 = time.perf_counter()
    grams = minhash.shingle_hashes(questions, 3)
    sig = minhash.signatures(grams["doc"].to_numpy(), grams["h"].to_numpy(), len(questions))
    fast = {(m.dropped, m.kept) for m in minhash.near_duplicates(sig, 0.8)}
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = {(m.dropped, m.kept) for m in minhash.near_duplicates_loop(list(questions), 0.8, 3)}
    t_loop = time.perf_counter() - t0
    return {"problems": len(questions), "vectorized_s": t_fast, "loop_s": t_loop, "found_fast": len(fast),
            "found_loop": len(loop), "same_drops": {d for d, _ in fast} == {d for d, _ in loop}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="two row counts, small,large")
    parser.add_argument("--loop-problems", type=int, default=25_000,
                        help="problems for the vectorized-vs-loop near-dedup comparison")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "IN", "ARG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, in_dir, arg = args.child
        result = run_one(in_dir, arg) if mode == "curate" else near_compare(in_dir, int(arg))
        print(json.dumps(result, default=str))
        return

    sizes = [int(s) for s in args.sizes.split(",")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    results = {}
    with tempfile.TemporaryDirectory(prefix="vrd-bench-curate-") as tmp:
        for n in sizes:
            data = Path(tmp) / f"in-{n}"
            t0 = time.perf_counter()
            synthesize(data, n)
            print(f"synthesized {n:,} rows in {time.perf_counter() - t0:.1f}s", flush=True)
            proc = subprocess.run([sys.executable, __file__, "--child", "curate", str(data), str(Path(tmp) / f"out-{n}")],
                                  capture_output=True, text=True, env=env)
            if proc.returncode:
                sys.exit(proc.stderr)
            results[n] = json.loads(proc.stdout.strip().splitlines()[-1])
            r = results[n]
            print(f"{n:>9,} rows ({r['problems']:,} problems): wall {r['wall_s']:.1f}s, peak RSS "
                  f"{r['peak_rss_mib']:.0f} MiB; steps {r['steps']}", flush=True)
            print(f"          dropped: {r['dropped']}", flush=True)
        small, large = sizes[0], sizes[-1]
        if small != large:
            rs, rl = results[small], results[large]
            print(f"ratio {large:,}/{small:,} rows = {large / small:.1f}x: wall {rl['wall_s'] / rs['wall_s']:.1f}x, "
                  f"peak RSS {rl['peak_rss_mib'] / rs['peak_rss_mib']:.1f}x")
        proc = subprocess.run([sys.executable, __file__, "--child", "near", str(Path(tmp) / f"in-{small}"),
                               str(args.loop_problems)], capture_output=True, text=True, env=env)
        if proc.returncode:
            sys.exit(proc.stderr)
        c = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"near dedup on {c['problems']:,} questions: vectorized {c['vectorized_s']:.2f}s vs datasketch "
              f"per-document loop {c['loop_s']:.2f}s = {c['loop_s'] / c['vectorized_s']:.1f}x faster; "
              f"dups found {c['found_fast']} vs {c['found_loop']}, same drops: {c['same_drops']}")


if __name__ == "__main__":
    main()

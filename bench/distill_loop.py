"""What the distill loop costs on top of generation, each figure against a baseline from the same run.

(a) `run_distill` with the hf engine on the tiny Qwen2.5-VL (render, image decode, generate,
    verify, select, commit shards + done-markers) vs the same engine's bare `generate` on the
    same prompts, in the same batches, with the same sampling settings: seconds per sample and
    their ratio (the loop's overhead; goal <= 1.10).
(b) the loop alone, with a free scripted engine, over many problems: rows/s committed and the
    share of time spent verifying, so the bookkeeping is seen never to be the bottleneck.

    python bench/distill_loop.py --problems 16 --samples 4 --max-new-tokens 32
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def bench_hf(tmp: Path, args: argparse.Namespace) -> None:
    from vrd.distill.config import DistillConfig
    from vrd.distill.loop import _prepare, call_seed
    from vrd.distill.runner import run_distill
    from vrd.engines import get_engine
    from vrd.engines.base import SamplingParams
    from vrd.models.tiny import build_tiny_model
    from vrd.schema import read_rows
    from vrd.sources.prepare import synth

    model = build_tiny_model(tmp / "tiny", seed=0)
    synth(args.problems, 0, tmp / "synth", progress=False)
    problems = read_rows(tmp / "synth")
    engine = get_engine("hf", str(model), batch_size=args.engine_batch)

    def config(out: str) -> DistillConfig:
        return DistillConfig(teacher=str(model), data=str(tmp / "synth"), out=out, samples=args.samples, keep=None,
                             max_new_tokens=args.max_new_tokens, batch_size=args.batch_size, progress=False)

    base = config("unused")
    requests = [_prepare(p, base).request for p in problems]
    ids = [str(p["id"]) for p in problems]
    engine.generate(requests[:2], SamplingParams(n=1, max_new_tokens=4, seed=0))  # warm-up

    raw_times, loop_times = [], []
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        for start in range(0, len(requests), args.batch_size):
            params = SamplingParams(n=args.samples, temperature=1.0, top_p=1.0, max_new_tokens=args.max_new_tokens,
                                    seed=call_seed(0, 1, ids[start:start + args.batch_size]))
            engine.generate(requests[start:start + args.batch_size], params)
        raw_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        summary = run_distill(config(str(tmp / f"out-{rep}")), engine=engine)
        loop_times.append(time.perf_counter() - t0)
        assert summary.generated == len(problems) * args.samples
    n = len(problems) * args.samples
    raw, loop = statistics.median(raw_times), statistics.median(loop_times)
    print(f"(a) hf engine, {len(problems)} problems x {args.samples} samples, {args.max_new_tokens} new tokens, "
          f"median of {args.repeats}")
    print(f"    bare engine.generate : {raw / n * 1000:8.2f} ms/sample  ({n / raw:6.2f} samples/s)")
    print(f"    run_distill (full)   : {loop / n * 1000:8.2f} ms/sample  ({n / loop:6.2f} samples/s)")
    print(f"    overhead ratio       : {loop / raw:8.3f}x  (goal <= 1.10)")


def bench_loop(tmp: Path, args: argparse.Namespace) -> None:
    from PIL import Image

    from vrd.distill.config import DistillConfig
    from vrd.distill.runner import run_distill
    from vrd.engines.base import Completion, Engine

    class Free(Engine):
        name = "free"

        def generate(self, requests, params):
            text = "<think>the angles sum to 180</think> so x = \\boxed{42}"
            return [[Completion(text, 12, "stop")] * params.n for _ in requests]

    from vrd.schema import image_to_bytes

    image = image_to_bytes(Image.new("RGB", (112, 112), "white"))  # stored form, as read from a dataset
    problems = [{"id": f"b/train/{i}", "source": "b", "split": "train", "images": [image],
                 "question": f"<image> Problem {i}: find x.", "choices": [], "answer": "42" if i % 2 else "41",
                 "answer_type": "number", "meta": "{}"} for i in range(args.loop_problems)]
    cfg = DistillConfig(teacher="free", data="mem", out=str(tmp / "loop"), samples=args.samples, keep=None,
                        batch_size=64, progress=False)
    import vrd.distill.loop as loop_module

    spent = {"verify": 0.0}
    real_verify = loop_module._verify

    def timed_verify(items):
        t = time.perf_counter()
        try:
            return real_verify(items)
        finally:
            spent["verify"] += time.perf_counter() - t

    loop_module._verify = timed_verify
    try:
        run_distill(DistillConfig(teacher="free", data="mem", out=str(tmp / "warm"), samples=1, progress=False),
                    engine=Free("free"), problems=problems[:2])  # imports and verify pool start, not timed
        t0 = time.perf_counter()
        summary = run_distill(cfg, engine=Free("free"), problems=problems)
        wall = time.perf_counter() - t0
    finally:
        loop_module._verify = real_verify
    print(f"(b) loop alone (free engine), {len(problems)} problems x {args.samples} samples: "
          f"{summary.kept / wall:8.0f} rows/s committed, {summary.generated / wall:8.0f} samples/s; "
          f"verify share {spent['verify'] / wall:.1%}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8, help="problems per committed batch")
    ap.add_argument("--engine-batch", type=int, default=8, help="prompts per model.generate call")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--loop-problems", type=int, default=2000)
    ap.add_argument("--skip-hf", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vrd-bench-distill-loop-") as tmp:
        if not args.skip_hf:
            bench_hf(Path(tmp), args)
        bench_loop(Path(tmp), args)


if __name__ == "__main__":
    main()

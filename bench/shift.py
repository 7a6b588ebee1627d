"""Benchmark NLL scoring (`vrd.analysis.likelihood.score_nll`): length-sorted vs unsorted batches.

    python bench/shift.py                   # 96 rows, 25% long, batch 8, tiny model
    python bench/shift.py --rows 32 --repeats 1
    python bench/shift.py --model DIR --device cuda --rows 512 --batch-size 16

Distill output mixes short answers with long reasoning traces. In an unsorted batch every
row is padded to the longest one, so a single long trace makes the whole batch pay for it;
sorting by length first groups similar rows. Both runs score the same rows with the same
batch size on the same loaded model (tiny random Qwen2.5-VL unless --model is given). It
prints real (non-pad) tokens per second for each, the ratio, the padding share each
batching plan implies, and checks that both give the same scores.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_rows(n: int, long_frac: float, seed: int = 0) -> list[dict]:
    """Short (5-20 words) and long (150-300 words) responses, shuffled; every 4th has an image."""
    from PIL import Image

    from vrd.schema import image_to_bytes

    rng = random.Random(seed)
    words = "the angle is so we find x then sum of sides equals half times wait check verify".split()
    image = image_to_bytes(Image.new("RGB", (56, 56), (200, 100, 50)))
    rows = []
    for i in range(n):
        k = rng.randint(150, 300) if rng.random() < long_frac else rng.randint(5, 20)
        text = "<think> " + " ".join(rng.choice(words) for _ in range(k)) + f" </think> \\boxed{{{i}}}"
        with_image = i % 4 == 0
        rows.append({"prompt": ("<image> " if with_image else "") + f"Question {i}: what is the angle?",
                     "images": [image] if with_image else [], "response": text, "finish_reason": "stop"})
    return rows


def padding_share(lengths: list[int], batch_size: int, sort: bool) -> float:
    from vrd.analysis.likelihood import plan_batches

    batches = plan_batches(lengths, batch_size, sort)
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    return 1.0 - sum(lengths) / padded


def timed(model_and_processor: tuple, rows: list[dict], batch_size: int, sort: bool, repeats: int) -> tuple[float, list]:
    from vrd.analysis.likelihood import score_nll

    best, scores = float("inf"), []
    for _ in range(repeats):
        t0 = time.perf_counter()
        scores = score_nll(model_and_processor, rows, batch_size=batch_size, sort_by_length=sort)
        best = min(best, time.perf_counter() - t0)
    return best, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=96, help="rows to score (size flag)")
    parser.add_argument("--long-frac", type=float, default=0.25, help="share of long responses")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per mode; the best is kept")
    parser.add_argument("--model", default=None, help="model dir/id (default: a tiny random Qwen2.5-VL)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (fixed for stable timings)")
    args = parser.parse_args()

    import torch

    from vrd.analysis.likelihood import _sort_keys, encode_row, end_of_turn_text
    from vrd.models.loading import load_model_and_processor

    if args.device == "cpu":
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        model_path = args.model
        if model_path is None:
            from vrd.models.tiny import build_tiny_model

            model_path = str(build_tiny_model(Path(tmp) / "tiny", seed=0))
        pair = load_model_and_processor(model_path, device=args.device)
        rows = make_rows(args.rows, args.long_frac)
        end = end_of_turn_text(pair[1])
        real_lengths = [len(encode_row(pair[1], r, end).input_ids) for r in rows]
        total_tokens = sum(real_lengths)
        timed(pair, rows[: args.batch_size * 2], args.batch_size, True, 1)  # warm-up

        t_unsorted, s_unsorted = timed(pair, rows, args.batch_size, False, args.repeats)
        t_sorted, s_sorted = timed(pair, rows, args.batch_size, True, args.repeats)
    worst = max(abs(a["nll_sum"] - b["nll_sum"]) / max(abs(b["nll_sum"]), 1e-9) for a, b in zip(s_sorted, s_unsorted, strict=True))
    key_lengths = _sort_keys(pair[1].tokenizer if hasattr(pair[1], "tokenizer") else pair[1], rows)
    print(f"model {model_path if args.model else 'tiny random Qwen2.5-VL'} on {args.device}; {args.rows} rows "
          f"({args.long_frac:.0%} long), batch {args.batch_size}, {total_tokens:,} real tokens, best of {args.repeats}")
    print(f"  unsorted batches: {total_tokens / t_unsorted:10,.0f} tokens/s  ({t_unsorted:.2f} s, "
          f"padding {padding_share(real_lengths, args.batch_size, False):.0%})")
    print(f"  length-sorted   : {total_tokens / t_sorted:10,.0f} tokens/s  ({t_sorted:.2f} s, "
          f"padding {padding_share(real_lengths, args.batch_size, True):.0%})")
    print(f"  ratio sorted/unsorted: {t_unsorted / t_sorted:.2f}x")
    print(f"  max relative score difference between the two: {worst:.1e}; "
          f"sort key (text tokens) vs real length rank agreement: "
          f"{_rank_agreement(key_lengths, real_lengths):.2f}")


def _rank_agreement(a: list[int], b: list[int]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


if __name__ == "__main__":
    main()

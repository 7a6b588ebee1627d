"""Generation-engine overheads for distillation, each against a baseline measured in the same run.

(a) vrd's hf engine vs raw `model.generate` on the same prompts, images and sampling settings
    (same model object, same batch size): seconds per sample and their ratio (goal <= 1.10).
(b) the openai engine (concurrent, with n made up by parallel requests) vs plain sequential
    HTTP requests, both against one real `transformers serve` on 127.0.0.1 serving the same
    tiny model: samples/s and their ratio.

Runs on the tiny random Qwen2.5-VL built into a temp dir; sizes come from flags, e.g.
    python bench/distill.py --requests 16 --n 4 --max-new-tokens 32
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def make_requests(count: int, seed: int = 0) -> list[Any]:
    """Prompts of varied length with 0-2 geometry-ish images of varied sizes."""
    import random

    from PIL import Image, ImageDraw

    from vrd.engines.base import GenerationRequest

    rng = random.Random(seed)
    words = "triangle angle parallel lines transversal find x degrees area rectangle circle arc chord".split()
    out = []
    for i in range(count):
        k = i % 3
        imgs = []
        for _ in range(k):
            w, h = rng.randint(40, 160), rng.randint(40, 160)
            img = Image.new("RGB", (w, h), "white")
            ImageDraw.Draw(img).polygon([(2, h - 2), (w - 2, h - 2), (w // 2, 2)], outline=(200, 0, 0), width=2)
            imgs.append(img)
        text = " ".join(rng.choice(words) for _ in range(rng.randint(5, 60)))
        out.append(GenerationRequest(" ".join(["<image>"] * k) + " " + text + "?", imgs))
    return out


def raw_generate(engine: Any, requests: list[Any], params: Any, batch_size: int) -> int:
    """Baseline: the plain transformers recipe on the engine's own model and processor."""
    import torch

    model, processor, tok = engine.hf_model, engine.processor, engine.tokenizer
    if params.seed is not None:
        torch.manual_seed(params.seed)
    n_tokens = 0
    for start in range(0, len(requests), batch_size):
        batch = requests[start:start + batch_size]
        texts = [processor.apply_chat_template(r.messages(), tokenize=False, add_generation_prompt=True) for r in batch]
        images = [img for r in batch for img in r.images]
        inputs = processor(text=texts, images=images or None, padding=True, return_tensors="pt").to(model.device)
        with torch.inference_mode():
            out = model.generate(
                **inputs, do_sample=True, temperature=params.temperature, top_p=params.top_p, top_k=0,
                max_new_tokens=params.max_new_tokens, num_return_sequences=params.n,
                pad_token_id=tok.pad_token_id, eos_token_id=sorted(engine.eos_ids),
            )
        gen = out[:, inputs["input_ids"].shape[1]:]
        tok.batch_decode(gen, skip_special_tokens=True)
        n_tokens += int((gen != tok.pad_token_id).sum())
    return n_tokens


def bench_hf(model_dir: Path, args: argparse.Namespace) -> None:
    import torch

    from vrd.engines import HFEngine
    from vrd.engines.base import SamplingParams

    requests = make_requests(args.requests)
    params = SamplingParams(n=args.n, temperature=1.0, top_p=1.0, max_new_tokens=args.max_new_tokens, seed=0)
    engine = HFEngine(str(model_dir), batch_size=args.batch_size)
    raw_generate(engine, requests[: args.batch_size], params, args.batch_size)  # warm-up both paths
    engine.generate(requests[: args.batch_size], params)
    from vrd.engines.hf import _length_key

    # The engine length-sorts within a call; this baseline gets the same batches, so the ratio
    # against it is the engine's pure overhead (the ratio against input order includes the sort's gain).
    sorted_reqs = sorted(requests, key=lambda r: -_length_key(engine.render(r), r))
    t_raw, t_sorted, t_eng, tok_raw, tok_sorted, tok_eng = [], [], [], 0, 0, 0
    for _ in range(args.repeats):  # interleaved so load on a shared machine hits all alike
        t = time.perf_counter()
        tok_raw = raw_generate(engine, requests, params, args.batch_size)
        t_raw.append(time.perf_counter() - t)
        t = time.perf_counter()
        tok_sorted = raw_generate(engine, sorted_reqs, params, args.batch_size)
        t_sorted.append(time.perf_counter() - t)
        t = time.perf_counter()
        out = engine.generate(requests, params)
        t_eng.append(time.perf_counter() - t)
        tok_eng = sum(c.n_tokens for cs in out for c in cs)
    samples = args.requests * args.n
    # Fastest of the interleaved repeats: on a shared machine, the run least disturbed by others.
    raw_s, eng_s, sorted_s = (min(t) / samples for t in (t_raw, t_eng, t_sorted))
    med = statistics.median
    print(f"(a) hf engine vs raw model.generate  [{args.requests} requests x n={args.n}, "
          f"max_new_tokens={args.max_new_tokens}, batch {args.batch_size}, best of {args.repeats}, "
          f"{torch.get_num_threads()} torch threads]")
    print(f"    raw model.generate : {raw_s * 1000:8.2f} ms/sample  ({tok_raw} tokens generated)")
    print(f"    raw, sorted batches: {sorted_s * 1000:8.2f} ms/sample  ({tok_sorted} tokens generated)")
    print(f"    vrd hf engine      : {eng_s * 1000:8.2f} ms/sample  ({tok_eng} tokens generated)")
    print(f"    ratio vs raw (input order)   : {eng_s / raw_s:6.3f}x  (goal <= 1.10)")
    print(f"    ratio vs raw (sorted batches): {eng_s / sorted_s:6.3f}x  (pure engine overhead)")
    print(f"    medians instead of best: {med(t_eng) / med(t_raw):.3f}x / {med(t_eng) / med(t_sorted):.3f}x")
    engine.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_dir: Path, log_path: Path) -> tuple[subprocess.Popen, str]:
    import httpx

    port = free_port()
    cmd = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(model_dir), "--host", "127.0.0.1",
           "--port", str(port), "--device", "cpu", "--dtype", "float32", "--log-level", "warning"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"transformers serve exited:\n{log_path.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc, f"http://127.0.0.1:{port}/v1"
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("transformers serve did not become ready in 180 s")


def bench_openai(model_dir: Path, args: argparse.Namespace, tmp: Path) -> None:
    import httpx

    from vrd.engines import OpenAIEngine
    from vrd.engines.base import SamplingParams

    requests = make_requests(args.http_requests, seed=1)
    params = SamplingParams(n=args.n, temperature=1.0, top_p=1.0, max_new_tokens=args.max_new_tokens, seed=0)
    proc, url = start_server(model_dir, tmp / "serve.log")
    try:
        engine = OpenAIEngine(str(model_dir), base_url=url, concurrency=args.concurrency,
                              send_generation_config=True)
        engine.generate(requests[:2], SamplingParams(n=1, max_new_tokens=4))  # warm-up
        # Baseline: the same request bodies, one HTTP call per sample, one at a time.
        t = time.perf_counter()
        seq_tokens = 0
        with httpx.Client(base_url=url, timeout=600) as client:
            for r in requests:
                messages = engine.build_messages(r)
                for j in range(args.n):
                    body = {"model": str(model_dir), "messages": messages, "max_tokens": params.max_new_tokens,
                            "temperature": 1.0, "top_p": 1.0, "seed": j,
                            "generation_config": '{"do_sample": true, "temperature": 1.0, "top_p": 1.0, "top_k": 0}'}
                    resp = client.post("/chat/completions", json=body)
                    resp.raise_for_status()
                    seq_tokens += resp.json()["usage"]["completion_tokens"]
        t_seq = time.perf_counter() - t
        t = time.perf_counter()
        out = engine.generate(requests, params)
        t_con = time.perf_counter() - t
        con_tokens = sum(c.n_tokens for cs in out for c in cs)
        samples = args.http_requests * args.n
        assert all(len(cs) == args.n for cs in out)
        print(f"(b) openai engine vs sequential HTTP  [transformers serve, {args.http_requests} requests x n={args.n}"
              f" (server ignores n: engine made up {engine.stats['ok'] - 2 - args.http_requests} extra calls in "
              f"parallel), max_new_tokens={args.max_new_tokens}, concurrency {args.concurrency}]")
        print(f"    sequential requests: {samples / t_seq:8.2f} samples/s  ({seq_tokens} tokens)")
        print(f"    vrd openai engine  : {samples / t_con:8.2f} samples/s  ({con_tokens} tokens)")
        print(f"    throughput ratio   : {t_seq / t_con:8.3f}x")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=32, help="prompts for (a)")
    ap.add_argument("--http-requests", type=int, default=16, help="prompts for (b)")
    ap.add_argument("--n", type=int, default=4, help="samples per prompt")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads for (a); 0 = torch's default")
    ap.add_argument("--skip-hf", action="store_true")
    ap.add_argument("--skip-openai", action="store_true")
    args = ap.parse_args()

    from vrd.models.tiny import build_tiny_model

    with tempfile.TemporaryDirectory(prefix="vrd-bench-distill-") as d:
        tmp = Path(d)
        model_dir = build_tiny_model(tmp / "tiny", seed=0)
        if not args.skip_hf:
            if args.threads:
                import torch

                torch.set_num_threads(args.threads)
            bench_hf(model_dir, args)
        if not args.skip_openai:
            bench_openai(model_dir, args, tmp)


if __name__ == "__main__":
    main()

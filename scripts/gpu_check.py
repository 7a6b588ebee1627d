"""The device check that `scripts/gpu-check.sh` runs: the GPU-only paths of vrd, with figures.

1. SFT: one bf16-autocast step (two optimizer updates) on a random Qwen2.5-VL-shaped model of
   about 1B parameters, loaded by vrd's trainer code; the weights must be fp32 masters and
   most trainable weights (norm weights included) must move at lr 1e-6.
2. GRPO: one step of VrdGRPOTrainer (transformers rollouts) on the same model, same check. A
   random model never answers correctly, so a reward that differs between samples (distinct
   characters, mod 7) is added to vrd's own; without it every advantage, and so every
   gradient, would be zero.
3. The hf engine on the device against raw `generate` one prompt at a time: tokens per second
   of each and their ratio, and whether greedy output of a batch of one matches raw `generate`.

`--tiny` runs the same steps on the tiny test model (CPU is fine): a dry run of everything but
the sizes. Exit status 1 if a check fails; the table is also written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # train_fixtures: the curate-shaped data the trainer tests use

# ~1.0B parameters: a 20-layer 2048-wide language model (16 heads of 128, 2 KV heads) and an
# 8-block 1024-wide vision tower (16 heads), with Qwen2.5-VL's real classes and processor.
ONE_B = {
    "hidden_size": 2048, "num_layers": 20, "vision_depth": 8, "vision_hidden": 1024,
    "max_pixels": 448 * 448, "min_pixels": 56 * 56,
    "text_config": {"num_attention_heads": 16, "num_key_value_heads": 2, "intermediate_size": 5632,
                    "rope_parameters": {"rope_type": "default", "rope_theta": 1e6, "mrope_section": [16, 24, 24]}},
    "vision_config": {"num_heads": 16, "intermediate_size": 2752, "fullatt_block_indexes": [3, 7]},
}
MOVED_MIN = 0.9  # share of trainable weights that must change after the updates


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "accelerate", "peft", "trl", "datasets", "math-verify", "pyarrow",
                 "fsspec", "huggingface-hub", "tokenizers", "regex"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "missing"
    return out


def moved(before: dict[str, Any], model: Any) -> tuple[float, float]:
    """(share of trainable weights that changed, smallest such share over norm weights)."""
    changed = total = 0
    norm_min = 1.0
    for name, p in model.named_parameters():
        if name not in before or "embed_tokens" in name or "lm_head" in name:
            continue  # token rows a batch never uses get no gradient in any precision
        diff = p.detach() != before[name]
        changed += int(diff.sum())
        total += diff.numel()
        if "norm" in name and name.endswith("weight"):
            norm_min = min(norm_min, float(diff.float().mean()))
    return changed / max(1, total), norm_min


def snapshot(model: Any) -> dict[str, Any]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


def sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, check: str, value: Any, ok: bool | None = None, note: str = "") -> None:
        self.rows.append({"check": check, "value": value, "ok": ok, "note": note})
        mark = "" if ok is None else ("PASS" if ok else "FAIL")
        print(f"[gpu-check] {check}: {value} {mark} {note}".rstrip(), flush=True)

    def failed(self) -> bool:
        return any(r["ok"] is False for r in self.rows)

    def render(self) -> str:
        width = max(len(r["check"]) for r in self.rows)
        lines = [f"{'check':<{width}}  {'value':<28} result"]
        for r in self.rows:
            mark = "" if r["ok"] is None else ("PASS" if r["ok"] else "FAIL")
            value = r["value"] if isinstance(r["value"], str) else json.dumps(r["value"])
            lines.append(f"{r['check']:<{width}}  {value:<28} {mark} {r['note']}".rstrip())
        return "\n".join(lines)


def step_sft(model_dir: Path, data: Path, work: Path, table: Table, tiny: bool) -> None:
    import torch

    from vrd.trainers.config import VrdSFTConfig
    from vrd.trainers.sft import build_sft_trainer

    cfg = VrdSFTConfig.load(None, {
        "model": str(model_dir), "data": str(data), "out": str(work / "sft"), "max_steps": 2, "lr": 1e-6,
        "scheduler": "constant", "warmup_ratio": 0.0, "global_batch": 4, "batch_size": 4, "bf16": True,
        "save_steps": 10**6, "max_length": 1024,
    })
    trainer, _ = build_sft_trainer(cfg)
    dtypes = {str(p.dtype) for p in trainer.model.parameters()}
    table.add("sft: master weights", ",".join(sorted(dtypes)), dtypes == {"torch.float32"})
    table.add("sft: autocast", trainer.accelerator.mixed_precision, trainer.accelerator.mixed_precision == "bf16")
    before = snapshot(trainer.model)
    sync()
    t0 = time.perf_counter()
    trainer.train()
    sync()
    seconds = time.perf_counter() - t0
    share, norm_min = moved(before, trainer.model)
    loss = next((r["loss"] for r in trainer.state.log_history if "loss" in r), float("nan"))
    table.add("sft: 2 updates, s", round(seconds, 2), None, f"loss {loss:.4f}")
    table.add("sft: weights moved at lr 1e-6", round(share, 4), share >= MOVED_MIN)
    table.add("sft: norm weights moved (min)", round(norm_min, 4), norm_min >= MOVED_MIN)
    if torch.cuda.is_available():
        table.add("sft: peak GPU memory, GiB", round(torch.cuda.max_memory_allocated() / 2**30, 1))
    del trainer
    free()


def spread_reward(completions: list[Any], **_: Any) -> list[float]:
    """Differs between samples of one prompt, so GRPO's advantages (and gradients) are not zero."""
    return [(len(set(str(c))) % 7) / 7 for c in completions]


def step_grpo(model_dir: Path, data: Path, work: Path, table: Table, tiny: bool) -> None:
    import torch

    import vrd.trainers.rewards as rewards
    from vrd.trainers.config import VrdRLConfig
    from vrd.trainers.rl import build_rl_trainer

    original = rewards.reward_functions

    def with_spread(*args: Any, **kwargs: Any) -> tuple[list[Any], list[float]]:
        funcs, weights = original(*args, **kwargs)
        return [*funcs, spread_reward], [*weights, 1.0]

    rewards.reward_functions = with_spread
    try:
        cfg = VrdRLConfig.load(None, {
            "model": str(model_dir), "data": str(data), "out": str(work / "rl"), "max_steps": 1, "lr": 1e-6,
            "scheduler": "constant", "warmup_ratio": 0.0, "num_generations": 4, "global_batch": 8,
            "batch_size": 8, "max_new_tokens": 16 if tiny else 64, "bf16": True, "save_steps": 10**6,
        })
        trainer, _ = build_rl_trainer(cfg)
    finally:
        rewards.reward_functions = original
    dtypes = {str(p.dtype) for p in trainer.model.parameters()}
    table.add("grpo: master weights", ",".join(sorted(dtypes)), dtypes == {"torch.float32"})
    before = snapshot(trainer.model)
    sync()
    t0 = time.perf_counter()
    trainer.train()
    sync()
    seconds = time.perf_counter() - t0
    share, norm_min = moved(before, trainer.model)
    log = next((r for r in trainer.state.log_history if "loss" in r), {})
    table.add("grpo: 1 step, s", round(seconds, 2), None,
              f"loss {log.get('loss', float('nan')):.4f}, reward {log.get('reward', float('nan')):.3f}")
    table.add("grpo: weights moved at lr 1e-6", round(share, 4), share >= MOVED_MIN)
    table.add("grpo: norm weights moved (min)", round(norm_min, 4), norm_min >= MOVED_MIN)
    if torch.cuda.is_available():
        table.add("grpo: peak GPU memory, GiB", round(torch.cuda.max_memory_allocated() / 2**30, 1))
    del trainer
    free()


def step_engine(model_dir: Path, table: Table, tiny: bool) -> None:
    import torch
    from train_fixtures import figure

    from vrd.engines.base import GenerationRequest, SamplingParams
    from vrd.engines.hf import HFEngine

    new_tokens = 16 if tiny else 128
    eng = HFEngine(str(model_dir), batch_size=16)
    table.add("engine: device / dtype", f"{eng.describe()['device']} / {eng.describe()['dtype']}",
              (not torch.cuda.is_available()) or (eng.describe()["device"].startswith("cuda")
                                                  and eng.describe()["dtype"] == "bfloat16"))
    reqs = [GenerationRequest(f"<image> Two angles of the triangle are {30 + i} and 60 degrees. Find the third.",
                              [figure(i, (224, 224))]) if i % 2 else
            GenerationRequest(f"What is {i} + {2 * i}? Think step by step.") for i in range(16)]
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=new_tokens)
    eng.generate(reqs[:2], params)  # warm-up: kernels, allocator
    sync()
    t0 = time.perf_counter()
    out = eng.generate(reqs, params)
    sync()
    t_engine = time.perf_counter() - t0
    engine_tokens = sum(c.n_tokens for cs in out for c in cs)

    eos = sorted(eng.eos_ids)
    raw_tokens = 0
    first_raw: list[int] = []
    sync()
    t0 = time.perf_counter()
    for i, r in enumerate(reqs):
        inputs = eng.prepare_inputs([eng.render(r)], [r])
        with torch.inference_mode():
            ids = eng.hf_model.generate(**inputs, do_sample=False, max_new_tokens=new_tokens, eos_token_id=eos,
                                        pad_token_id=eng.pad_id)
        row = ids[0, inputs["input_ids"].shape[1]:].tolist()
        end = next((k for k, t in enumerate(row) if t in eos), None)
        raw_tokens += len(row) if end is None else end + 1
        if i == 0:
            first_raw = row if end is None else row[:end]
    sync()
    t_raw = time.perf_counter() - t0
    engine_tps, raw_tps = engine_tokens / t_engine, raw_tokens / t_raw
    table.add("engine: tokens/s (16 prompts, batch 16)", round(engine_tps, 1), None, f"{engine_tokens} tokens")
    table.add("raw generate: tokens/s (one at a time)", round(raw_tps, 1), None, f"{raw_tokens} tokens")
    table.add("engine / raw throughput", round(engine_tps / raw_tps, 2), engine_tps / raw_tps > 1.0)
    alone = eng.generate(reqs[:1], params)[0][0].text
    same = alone == eng.tokenizer.decode(first_raw, skip_special_tokens=True)
    table.add("engine greedy == raw greedy (batch of 1)", same, same)
    eng.close()
    free()


def free() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="the tiny test model (a dry run; CPU is fine)")
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu-check-out", help="where the JSON goes")
    parser.add_argument("--only", default="sft,grpo,engine", help="comma list of steps to run")
    args = parser.parse_args()

    import torch
    from train_fixtures import curate_output

    from vrd.models.tiny import build_tiny_model

    table = Table()
    table.add("versions", versions())
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    table.add("device", device, torch.cuda.is_available() or args.tiny)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="vrd-gpu-check-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        model_dir = build_tiny_model(work / "model", seed=0, **({} if args.tiny else ONE_B))
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(model_dir)
        n_params = sum(f.stat().st_size for f in model_dir.glob("*.safetensors")) / 4  # saved in fp32
        table.add("model: parameters (B)", round(n_params / 1e9, 3), None,
                  f"{type(config).__name__}, built in {time.perf_counter() - t0:.0f}s")
        try:
            data = curate_output(work / "data", n_sft=8, n_rl=8)
        except Exception as exc:  # noqa: BLE001 - the engine step needs no data; report and go on
            traceback.print_exc()
            table.add("data: written", f"{type(exc).__name__}: {exc}"[:200], False)
            data = None
        steps = {"sft": lambda: step_sft(model_dir, data, work, table, args.tiny),
                 "grpo": lambda: step_grpo(model_dir, data, work, table, args.tiny),
                 "engine": lambda: step_engine(model_dir, table, args.tiny)}
        for name in args.only.split(","):
            if data is None and name.strip() != "engine":
                continue
            try:
                steps[name.strip()]()
            except Exception as exc:  # noqa: BLE001 - one failed step must not hide the others' figures
                traceback.print_exc()
                table.add(f"{name}: ran", f"{type(exc).__name__}: {exc}"[:200], False)
                free()
    table.add("total, s", round(time.perf_counter() - started, 1))
    print("\n" + table.render(), flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "gpu-check.json").write_text(json.dumps(table.rows, indent=2, default=str))
    return 1 if table.failed() else 0


if __name__ == "__main__":
    sys.exit(main())

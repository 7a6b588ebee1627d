"""The reward-accuracy monitor: held-out greedy accuracy logged beside the train reward.

RL reward can keep rising while real accuracy stalls or falls (the policy learns the
format, or the grader's blind spots). The only way to see it is to score held-out problems
with the same verifier, greedily, during training, and keep both series in one file:
`OUT/metrics.jsonl`, one JSON object per line, `kind` = "train" (TRL's logs: loss, reward,
rewards/accuracy/mean, ...) or "eval" (eval_accuracy, eval_format, eval_n). `vrd reward-audit`
reads it. Eval points are also appended to `state.log_history`, so TRL's
`trainer_state.json` in each checkpoint carries them too.

A run killed after checkpoint N has already logged steps past N (and may have left a torn last
line); the resumed run logs them again. So when training begins, the file is cut back to what
checkpoint N had seen (`cut_run_log`): one record per step and kind, in step order, whatever
the kills.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

METRICS_FILE = "metrics.jsonl"
# Keys of the summary record the Trainer logs once when `train()` returns (not a step's metrics).
SUMMARY_KEYS = ("train_runtime", "train_loss")

log = logging.getLogger(__name__)


def read_run_log(path: Path) -> list[dict[str, Any]]:
    """The records of a JSONL run log; a torn line (the writer was killed mid-line) is skipped, said once."""
    records: list[dict[str, Any]] = []
    torn = 0
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                torn += 1
                continue
            if isinstance(value, dict) and isinstance(value.get("step"), (int, float)):
                records.append(value)
            else:
                torn += 1
    if torn:
        log.warning("%s: skipped %d unreadable line(s) (a run killed while writing)", path, torn)
    return records


def cut_run_log(path: Path, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Rewrite a run log with only the records `keep` accepts (staged and swapped); returns them."""
    if not path.is_file():
        return []
    from vrd.outputs import write_text_atomic

    kept = [r for r in read_run_log(path) if keep(r)]
    write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in kept))
    return kept


def seen_by(step: int, scored: bool = True) -> Callable[[dict[str, Any]], bool]:
    """Records a checkpoint at `step` had seen: earlier steps, and `step`'s own records except the
    end-of-train summary (a rerun of a finished run logs it again) and, unless the checkpoint holds
    it (`scored`), the eval at `step` (the end-of-train eval runs after the last save, and runs again).
    A fresh run (step 0) keeps none."""
    def keep(record: dict[str, Any]) -> bool:
        # `step` counts vrd steps; when one holds several optimizer updates, `update` is the Trainer's step.
        s = record.get("update", record["step"])
        if step <= 0 or s > step:
            return False
        if s < step:
            return True
        if record.get("kind") == "eval":
            return scored
        return not any(k in record for k in SUMMARY_KEYS)
    return keep


def _numeric(logs: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in logs.items():
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)) and math.isfinite(float(v)):
            out[k] = float(v)
    return out


def generate_greedy(model: Any, processor: Any, rows: list[dict[str, Any]], max_new_tokens: int) -> list[str]:
    """Greedy completions for problem rows (`prompt` messages with image placeholders + `images`)."""
    import torch
    from trl.data_utils import prepare_multimodal_messages

    messages = [prepare_multimodal_messages(r["prompt"], images=list(r["images"] or [])) for r in rows]
    texts = [processor.apply_chat_template(m, tokenize=False, add_generation_prompt=True) for m in messages]
    images = [list(r["images"] or []) for r in rows]
    kwargs: dict[str, Any] = {"text": texts, "padding": True, "padding_side": "left", "return_tensors": "pt"}
    if any(images):
        kwargs["images"] = [im for ims in images for im in ims]
    inputs = processor(**kwargs)
    device = next(model.parameters()).device
    inputs = {k: v.to(device) if hasattr(v, "to") else v for k, v in inputs.items()}
    tokenizer = getattr(processor, "tokenizer", processor)
    with torch.no_grad():
        out = model.generate(**inputs, do_sample=False, max_new_tokens=max_new_tokens, use_cache=True,
                             pad_token_id=tokenizer.pad_token_id)
    return tokenizer.batch_decode(out[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)


def progress(state: Any, trainer: Any) -> dict[str, float]:
    """Where an eval point sits in training besides the step: epoch and samples (completions) seen,
    so an onset can be read in data, not only in optimizer steps."""
    out: dict[str, float] = {}
    if getattr(state, "epoch", None) is not None:
        out["epoch"] = float(state.epoch)
    args = getattr(trainer, "args", None)
    if args is not None:
        per_step = (getattr(args, "per_device_train_batch_size", 0) or 0) * \
            (getattr(args, "gradient_accumulation_steps", 1) or 1) * (getattr(args, "world_size", 1) or 1)
        if per_step:
            out["samples_seen"] = float(state.global_step * per_step)
    return out


def eval_token_budget(cfg: Any) -> int:
    """The monitor's completion budget: as set, else the training one (RL max_new_tokens; for SFT
    its max_length), so an answer the policy is allowed to finish is not cut off and scored wrong."""
    explicit = getattr(cfg, "eval_max_new_tokens", None)
    if explicit:
        return int(explicit)
    for name in ("max_new_tokens", "max_completion_length", "max_length"):
        value = getattr(cfg, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 1024


class RewardAccuracyMonitor(TrainerCallback):
    """Writes TRL's logs to metrics.jsonl and scores held-out problems every `eval_every` steps."""

    def __init__(self, out_dir: str | Path, eval_rows: Any = None, *, eval_every: int = 0,
                 max_new_tokens: int = 1024, batch_size: int = 8, template: str = "math",
                 eval_at_start: bool = True, updates_per_step: int = 1) -> None:
        self.path = Path(out_dir) / METRICS_FILE
        self.eval_rows = eval_rows
        self.eval_every = eval_every
        self.max_new_tokens = max_new_tokens
        self.batch_size = max(1, batch_size)
        self.template = template
        self.eval_at_start = eval_at_start
        # A vrd RL step is one generation round (EasyR1's step); TRL's global_step counts optimizer
        # updates, several per round under `--recipe paper`. `--eval-every` and the "step" written to
        # metrics.jsonl count rounds, so a run reads the same in vrd and in EasyR1.
        self.updates_per_step = max(1, int(updates_per_step))
        self.trainer: Any = None
        self._last_eval_step: int | None = None

    @classmethod
    def from_config(cls, cfg: Any) -> RewardAccuracyMonitor:
        """The monitor a run's config asks for; without --eval-data it only writes metrics.jsonl."""
        from vrd.errors import VrdError
        from vrd.trainers.data import load_eval_problems, locate

        eval_rows = None
        if cfg.eval_data and cfg.eval_every:
            try:
                train_files = locate(cfg.data, cfg.data_split()) if cfg.data else None
            except VrdError:  # the training loader reports a bad --data itself, with its own message
                train_files = None
            eval_rows = load_eval_problems(cfg.eval_data, template=cfg.template, limit=cfg.eval_limit,
                                           split=getattr(cfg, "eval_split", None), seed=cfg.seed,
                                           train_files=train_files)
        return cls(cfg.out, eval_rows, eval_every=cfg.eval_every, max_new_tokens=eval_token_budget(cfg),
                   batch_size=cfg.eval_batch_size, template=cfg.template,
                   updates_per_step=cfg.batch_plan().updates_per_step)

    def bind(self, trainer: Any) -> RewardAccuracyMonitor:
        """The trainer gives the accelerator (for sharded eval) and the processor."""
        self.trainer = trainer
        return self

    # -- writing ---------------------------------------------------------------------------------

    def step_of(self, global_step: int) -> dict[str, float | int]:
        """The record's position: the vrd step, plus the optimizer update when a step holds several."""
        if self.updates_per_step == 1:
            return {"step": global_step}
        step, rest = divmod(global_step, self.updates_per_step)
        return {"step": step if rest == 0 else global_step / self.updates_per_step, "update": global_step}

    def _write(self, record: dict[str, Any]) -> None:
        """One whole line per `write` (O_APPEND): a kill leaves the line written or not, never half."""
        from vrd.outputs import append_line

        self.path.parent.mkdir(parents=True, exist_ok=True)
        append_line(self.path, json.dumps(record, sort_keys=True))

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        values = _numeric(logs)
        if any(k.startswith("eval_accuracy") for k in values):
            return  # our own eval record, already written
        self._write({**self.step_of(state.global_step), "kind": "train", "time": time.time(), **values})

    # -- evaluating ------------------------------------------------------------------------------

    def _enabled(self) -> bool:
        return self.trainer is not None and self.eval_rows is not None and self.eval_every > 0 and len(self.eval_rows) > 0

    def evaluate(self, model: Any, step: int) -> dict[str, float]:
        """Greedy accuracy on the held-out rows, split across processes and summed."""
        import torch
        from trl.models.utils import unwrap_model_for_generation

        from vrd.verify import verify_batch

        accelerator = self.trainer.accelerator
        world, rank = accelerator.num_processes, accelerator.process_index
        n = len(self.eval_rows)
        mine = list(range(rank, n, world))
        # Every process must run the same number of generate calls (sharded params are gathered
        # collectively under FSDP / ZeRO-3), so short shards repeat their first row as padding.
        per_rank = math.ceil(n / world)
        padded = mine + [mine[0] if mine else 0] * (per_rank - len(mine))
        processor = self.trainer.processing_class
        was_training = model.training
        model.eval()
        correct = fmt = 0.0
        with unwrap_model_for_generation(self.trainer.model_wrapped, accelerator) as unwrapped:
            for start in range(0, per_rank, self.batch_size):
                idx = padded[start:start + self.batch_size]
                real = sum(1 for j in range(start, start + len(idx)) if j < len(mine))
                rows = [self.eval_rows[i] for i in idx]
                texts = generate_greedy(unwrapped, processor, rows, self.max_new_tokens)
                results = verify_batch(
                    [{"response": t, "answer": r["answer"], "choices": list(r.get("choices") or []) or None,
                      "answer_type": r.get("answer_type")} for t, r in zip(texts[:real], rows[:real], strict=True)],
                    template=self.template,
                )
                correct += sum(r.correct for r in results)
                fmt += sum(r.format_ok for r in results)
        if was_training:
            model.train()
        totals = torch.tensor([correct, fmt, float(len(mine))], device=accelerator.device)
        totals = accelerator.reduce(totals, reduction="sum").tolist()
        total_n = max(1.0, totals[2])
        return {"eval_accuracy": totals[0] / total_n, "eval_format": totals[1] / total_n, "eval_n": totals[2]}

    def _run(self, state: Any, model: Any) -> None:
        step = state.global_step
        if self._last_eval_step == step:
            return
        self._last_eval_step = step
        metrics = self.evaluate(model, step)
        metrics.update(progress(state, self.trainer))
        state.log_history.append({"step": step, **metrics})
        if state.is_world_process_zero:
            self._write({**self.step_of(step), "kind": "eval", "time": time.time(), **metrics})

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        # Resumed where the checkpoint's step was already scored: every process reads that from the
        # restored log history, so all of them skip the (collective) eval alike.
        scored = bool(state.global_step) and any(h.get("step") == state.global_step and "eval_accuracy" in h
                                                 for h in state.log_history)
        if state.is_world_process_zero:
            cut_run_log(self.path, seen_by(state.global_step, scored))
        if scored:
            self._last_eval_step = state.global_step
        if self._enabled() and self.eval_at_start and state.global_step == 0:
            self._run(state, model)

    def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self._enabled() and state.global_step % (self.eval_every * self.updates_per_step) == 0:
            self._run(state, model)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self._enabled():
            self._run(state, model)

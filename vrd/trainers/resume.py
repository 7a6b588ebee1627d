"""Checkpoints that survive a kill, and a resume that restores every weight of the run that wrote them.

Three things go wrong with a plain `Trainer` resume in an output folder, and each is fixed here:

- transformers 5 saves checkpoints in the hub's key layout (`save_pretrained` reverts the
  model's weight conversion: `model.language_model.*` is written as `model.*`, `model.visual.*`
  as `visual.*` for Qwen2.5-VL), but `Trainer._load_from_checkpoint` feeds that file to
  `load_state_dict` as it is, so every renamed tensor is "missing" and silently stays at the
  base model (huggingface/transformers#43701, still open). `CheckpointMixin` loads the file
  through the same renaming and refuses a checkpoint that does not cover the model.
- a kill during a save leaves `checkpoint-N` half written, and `get_last_checkpoint` picks it;
  a checkpoint counts only once `vrd_checkpoint.json` is written into it, after everything
  else is on disk, and older checkpoints are rotated away only after that.
- `--out` may hold checkpoints of another run; each checkpoint records the identity of its run
  (the settings that shape the trajectory), and only a checkpoint of this run is resumed.

And no credential reaches a checkpoint: the Trainer pickles its whole TrainingArguments into
`training_args.bin` of every checkpoint and of the final folder, so a `hub_token` or a token in
the YAML's `trl:` mapping (`model_init_kwargs: {token: ...}`) would sit on disk in every one.
`CheckpointMixin` writes that file from a scrubbed copy of the arguments (`fields_scrubbed`),
moves `hub_token` into the process's `HF_TOKEN` (where huggingface_hub finds it for a push),
and the run identity is computed from redacted settings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Any

from vrd.errors import MissingInputError, VrdError
from vrd.outputs import fsync_path, write_text_atomic

log = logging.getLogger(__name__)

CHECKPOINT_MARK = "vrd_checkpoint.json"
# Written into checkpoint-N before the Trainer saves anything there, removed once the mark is: a
# folder holding it is one of vrd's saves that a kill interrupted (possibly after trainer_state.json,
# while the files were being made durable), not a checkpoint some other tool left in --out.
PENDING_MARK = "vrd_checkpoint.pending"
RUN_FILE = "vrd_run.json"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
# Settings that may change between a run and its resumption without making it another run:
# where it writes, how long it goes on, how often it saves/logs/monitors, how it is launched.
NOT_IDENTITY = frozenset({
    "out", "resume", "max_steps", "epochs", "save_steps", "save_total_limit", "logging_steps", "report_to",
    "eval_data", "eval_every", "eval_max_new_tokens", "eval_limit", "eval_batch_size", "eval_split", "num_processes",
    "accelerate_config",
})


class CheckpointError(VrdError):
    """A checkpoint cannot be resumed: another run's, incomplete, or not covering the model."""


def run_identity(cfg: Any) -> dict[str, Any]:
    """The settings that define a run, plus a hash of them; the trainer kind is part of it."""
    from vrd.redact import redact
    from vrd.trainers.config import to_dict

    # Redacted: a credential is not what makes a run, and the settings are written into every checkpoint.
    settings = redact({k: v for k, v in to_dict(cfg).items() if k not in NOT_IDENTITY})
    settings["trainer"] = type(cfg).__name__
    settings = json.loads(json.dumps(settings, sort_keys=True, default=str))
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    return {"hash": digest, "settings": settings}


def write_json_durable(path: Path, value: Any) -> None:
    """tmp + fsync + rename + fsync(dir): the file is whole or absent, even after a power cut."""
    write_text_atomic(path, json.dumps(value, indent=2, sort_keys=True, default=str))
    fsync_path(path.parent)


def mark_complete(folder: Path, identity: dict[str, Any], step: int) -> None:
    """Make every file of a saved checkpoint durable, then write the mark that says it is whole."""
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            fsync_path(f)
    write_json_durable(folder / CHECKPOINT_MARK, {"run": identity["hash"], "step": step,
                                                  "settings": identity["settings"]})


def read_mark(folder: Path) -> dict[str, Any] | None:
    try:
        value = json.loads((folder / CHECKPOINT_MARK).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "; ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys[:6]) or "settings differ"


def find_checkpoint(out: Path, identity: dict[str, Any]) -> Path | None:
    """The newest complete checkpoint of this run in `out`, or None to start fresh.

    Incomplete checkpoints (killed mid-save) are skipped with a warning. If `out` holds
    checkpoints but none of this run, resuming would silently continue someone else's
    training, and starting over would interleave two runs' checkpoints: refuse.
    """
    if not out.is_dir():
        return None
    found = sorted(((int(m.group(1)), p) for p in out.iterdir()
                    if p.is_dir() and (m := CHECKPOINT_RE.match(p.name))), reverse=True)
    foreign: list[tuple[Path, dict[str, Any]]] = []
    unmarked: list[Path] = []
    for _step, path in found:
        mark = read_mark(path)
        if mark is None:
            unmarked.append(path)
            continue
        if mark.get("run") == identity["hash"]:
            for skipped in unmarked:
                log.warning("skipping %s: incomplete (the run was stopped while saving it)", skipped)
            return path
        foreign.append((path, mark))
    if foreign:
        path, mark = foreign[0]
        raise CheckpointError(
            f"{out} holds checkpoints of another run ({path.name}: {_diff(mark.get('settings') or {}, identity['settings'])}); "
            "use another --out, or --resume never to start this run over in it")
    if unmarked:
        complete = [p for p in unmarked if (p / "trainer_state.json").exists() and not (p / PENDING_MARK).exists()]
        if complete:
            raise CheckpointError(
                f"{out} holds checkpoints that vrd did not mark as this run's ({complete[0].name}); "
                f"pass --resume {complete[0]} to resume one explicitly, or use another --out")
        for skipped in unmarked:
            log.warning("skipping %s: incomplete (the run was stopped while saving it)", skipped)
    return None


def check_explicit(path: Path, identity: dict[str, Any]) -> None:
    """An explicit --resume PATH: it must be a whole checkpoint; another run's is allowed but said."""
    if not path.exists():
        raise MissingInputError(f"{path}: no such checkpoint to resume from")
    if not path.is_dir():
        raise CheckpointError(f"{path}: not a checkpoint directory")
    if not (path / "trainer_state.json").exists():
        raise CheckpointError(f"{path}: not a complete checkpoint (no trainer_state.json; "
                              "was the run stopped while saving it?)")
    mark = read_mark(path)
    if mark is not None and mark.get("run") != identity["hash"]:
        log.warning("resuming %s, written by another run (%s)", path,
                    _diff(mark.get("settings") or {}, identity["settings"]))


def check_whole(path: Path) -> None:
    """A checkpoint to resume holds the Trainer's RNG state, so it also holds the optimizer and scheduler.

    transformers writes `rng_state*.pth` beside the optimizer and scheduler state on every backend and
    leaves all three out under `save_only_model`; resuming such a checkpoint starts a fresh optimizer
    and schedule without a word, and the run no longer ends on the uninterrupted run's weights.
    """
    if not any(path.glob("rng_state*.pth")):
        raise CheckpointError(
            f"{path}: a model-only checkpoint (no optimizer, scheduler or RNG state, as `save_only_model` "
            f"writes); resuming it would not continue the run. Start a new run from its weights with "
            f"--model {path} (and --resume never), or resume a whole checkpoint")


# -- loading weights through the model's key conversion ----------------------------------------


def _checkpoint_state(folder: Path) -> dict[str, Any] | None:
    """Every tensor of a (possibly sharded) safetensors checkpoint, or None if it has none."""
    from safetensors.torch import load_file

    index = folder / "model.safetensors.index.json"
    single = folder / "model.safetensors"
    if index.exists():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    elif single.exists():
        files = [single.name]
    else:
        return None
    state: dict[str, Any] = {}
    for name in files:
        state.update(load_file(str(folder / name), device="cpu"))
    return state


def load_converted(model: Any, state: dict[str, Any], where: Path) -> None:
    """Load a state dict saved in the hub layout into `model`, whose keys may be renamed.

    The saved name of each model tensor is found by running the model's own save-time
    conversion on its state dict (renames keep the tensor object), so the mapping is exactly
    the inverse of what `save_pretrained` did. Tied weights are saved once and may be absent.
    """
    import torch
    from transformers.core_model_loading import revert_weight_conversion

    own = model.state_dict()
    by_id = {id(t): k for k, t in own.items()}
    saved_names = revert_weight_conversion(model, dict(own))
    to_model: dict[str, str] = {}
    for saved, tensor in saved_names.items():
        key = by_id.get(id(tensor))
        if key is None:  # a fusing/splitting conversion: not a rename, cannot be inverted here
            raise CheckpointError(f"{where}: this architecture's checkpoint layout is not a plain renaming; "
                                  "cannot restore it safely")
        to_model[saved] = key
    converted = {}
    for name, tensor in state.items():
        converted[to_model.get(name, name)] = tensor
    unexpected = sorted(k for k in converted if k not in own)
    tied = set(getattr(model, "_tied_weights_keys", None) or {}) if getattr(
        getattr(model, "config", None), "tie_word_embeddings", False) else set()
    missing = sorted(k for k in own if k not in converted and k not in tied)
    if missing or unexpected:
        shown = ", ".join((missing or unexpected)[:4])
        raise CheckpointError(f"{where}: the checkpoint does not match the model "
                              f"({len(missing)} missing, {len(unexpected)} unexpected tensors, e.g. {shown})")
    with torch.no_grad():
        model.load_state_dict(converted, strict=False)


def check_adapter_restored(model: Any, folder: Path) -> None:
    """Every LoRA tensor of the model equals the checkpoint's, or the resume stops.

    transformers restores adapters through peft's `load_adapter`, which only warns about keys it
    could not place; a resume that went on with freshly initialised adapters would train a
    different run while reporting the checkpoint's step.
    """
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import load_file

    path = folder / "adapter_model.safetensors"
    if not path.is_file():
        raise CheckpointError(f"{folder}: a LoRA run's checkpoint without adapter_model.safetensors")
    saved = load_file(str(path))
    current = get_peft_model_state_dict(model)
    missing = sorted(k for k in current if k not in saved)
    differ = sorted(k for k in current if k in saved
                    and not torch.equal(saved[k], current[k].detach().to("cpu", saved[k].dtype)))
    if missing or differ:
        shown = ", ".join((missing or differ)[:3])
        raise CheckpointError(f"{folder}: the adapter was not restored ({len(missing)} tensors missing from the "
                              f"checkpoint, {len(differ)} not loaded, e.g. {shown})")


def keep_secrets_in_memory(args: Any) -> None:
    """Once the trainer is built, take credentials out of its arguments for the rest of the run.

    `hub_token` goes to the process's `HF_TOKEN`, which huggingface_hub reads for every later
    push. Everything else that carries one was read while the trainer was built (the reference
    model's `model_init_kwargs`, the vLLM server URL), so it is redacted in place: integrations
    log the arguments at train begin (TensorBoard, W&B), and `TrainingArguments.to_dict` masks
    only top-level `*_token` fields.
    """
    from vrd.redact import scrubbed_value

    token = getattr(args, "hub_token", None)
    if isinstance(token, str) and token:
        os.environ["HF_TOKEN"] = token
    for name, value in list(vars(args).items()):
        clean = scrubbed_value(name, value)
        if clean is not value and clean != value:
            setattr(args, name, clean)


class CheckpointMixin:
    """Mixed into vrd's Trainer subclasses (before the TRL class): whole checkpoints, full restores."""

    vrd_identity: dict[str, Any] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        keep_secrets_in_memory(self.args)  # type: ignore[attr-defined]

    def _save(self, *args: Any, **kwargs: Any) -> None:
        from vrd.redact import fields_scrubbed

        with fields_scrubbed(self.args):  # type: ignore[attr-defined]
            super()._save(*args, **kwargs)  # type: ignore[misc]

    def _push_from_checkpoint(self, *args: Any, **kwargs: Any) -> None:
        from vrd.redact import fields_scrubbed

        with fields_scrubbed(self.args):  # type: ignore[attr-defined]
            super()._push_from_checkpoint(*args, **kwargs)  # type: ignore[misc]

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, rotate_checkpoints

        args = self.args  # type: ignore[attr-defined]
        run_dir = Path(self._get_output_dir(trial=trial))  # type: ignore[attr-defined]
        step = self.state.global_step  # type: ignore[attr-defined]
        folder = run_dir / f"{PREFIX_CHECKPOINT_DIR}-{step}"
        if args.should_save and self.vrd_identity is not None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / CHECKPOINT_MARK).unlink(missing_ok=True)  # a folder being rewritten is not whole
            write_json_durable(folder / PENDING_MARK, {"run": self.vrd_identity["hash"], "step": step})
        limit = args.save_total_limit
        args.save_total_limit = None  # rotate only once the new checkpoint is marked whole
        try:
            super()._save_checkpoint(model, trial)  # type: ignore[misc]
        finally:
            args.save_total_limit = limit
        if not args.should_save:
            return
        if self.vrd_identity is not None:
            mark_complete(folder, self.vrd_identity, step)
            (folder / PENDING_MARK).unlink(missing_ok=True)
        rotate_checkpoints(output_dir=str(run_dir), save_total_limit=limit,
                           best_model_checkpoint=self.state.best_model_checkpoint,  # type: ignore[attr-defined]
                           use_mtime=True)

    def _load_from_checkpoint(self, resume_from_checkpoint: str, model: Any = None) -> None:
        from transformers.trainer import _is_peft_model

        target = model if model is not None else self.model  # type: ignore[attr-defined]
        folder = Path(resume_from_checkpoint)
        special = (_is_peft_model(target) or getattr(self, "is_fsdp_enabled", False)
                   or getattr(self, "is_deepspeed_enabled", False))
        state = None if special else _checkpoint_state(folder)
        if state is None:  # adapters, FSDP/ZeRO shards: transformers' own path handles their layout
            super()._load_from_checkpoint(resume_from_checkpoint, model)  # type: ignore[misc]
            if _is_peft_model(target) and not (getattr(self, "is_fsdp_enabled", False)
                                               or getattr(self, "is_deepspeed_enabled", False)):
                check_adapter_restored(target, folder)
            return
        log.info("restoring every weight from %s", folder)
        load_converted(target, state, folder)

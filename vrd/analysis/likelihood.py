"""Negative log-likelihood of responses under a model, conditioned on their prompt and images.

This is the "how surprised is the base model by this data" number. Only response tokens
count (the prompt and images are context, not data), and the per-byte figure divides by the
UTF-8 size of the response so that teachers with different tokenizers stay comparable.

Batches are formed over rows sorted by token length and results are put back in input
order: with mixed short and long responses, unsorted batches waste most of their compute
on padding (bench/shift.py measures how much). Padding is on the left, so every row's
response ends at the last position and the LM head only runs on the last
``max(response length) + 1`` positions (``logits_to_keep``) instead of the whole sequence:
with a 150K vocabulary the full logits would dwarf the model's own activations.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vrd.errors import ConfigError

_SENTINEL = "\u2063VRD-RESPONSE\u2063"


@dataclass
class _Encoded:
    """One row ready for the model: prompt ids (images expanded) followed by scored ids."""

    input_ids: list[int]
    n_scored: int
    mm_token_type_ids: list[int] | None = None
    pixel_values: Any = None
    image_grid_thw: Any = None
    extra: dict[str, Any] = field(default_factory=dict)


def _tokenizer_of(processor: Any) -> Any:
    return getattr(processor, "tokenizer", processor)


def _assistant_message(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"type": "text", "text": text}]}


def end_of_turn_text(processor: Any) -> str:
    """What the chat template writes after an assistant reply (Qwen: ``<|im_end|>``).

    The model must predict it to stop, so it is part of the response's likelihood. Found
    once from a dummy conversation rather than hard-coded so any chat template works.
    """
    user = [{"role": "user", "content": [{"type": "text", "text": "q"}]}]
    try:
        full = processor.apply_chat_template(user + [_assistant_message(_SENTINEL)], tokenize=False)
    except Exception:  # noqa: BLE001 - templates that reject list content fall back to the eos token
        full = ""
    if isinstance(full, list):
        full = full[0]
    if _SENTINEL in full:
        tail = full.split(_SENTINEL, 1)[1].strip()
        if tail:
            return tail
    return _tokenizer_of(processor).eos_token or ""


def render_prompt_text(processor: Any, prompt: str, images: Sequence[Any]) -> str:
    """The exact text a generation call would have fed: chat template + generation prompt."""
    from vrd.engines.base import GenerationRequest

    messages = GenerationRequest(prompt, list(images)).messages()
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text[0] if isinstance(text, list) else text


def _decode_images(row: Mapping[str, Any]) -> list[Any]:
    from vrd.schema import load_image

    return [load_image(v) for v in (row.get("images") or [])]


def context_length(model: Any, default: int = 32768) -> int:
    """The longest sequence the model was built for (its text config's position limit)."""
    config = getattr(model, "config", None)
    for holder in (getattr(config, "text_config", None), config):
        value = getattr(holder, "max_position_embeddings", None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def encode_row(processor: Any, row: Mapping[str, Any], end_text: str, *, count_end: bool = True,
               max_length: int | None = None) -> _Encoded:
    """Prompt through the processor (expands image tokens), response through the tokenizer.

    Tokenizing the two apart keeps the prompt/response boundary exact: the chat template's
    generation prompt ends in a newline, which Qwen-style pre-tokenizers never merge across,
    so the ids equal those of the joint string while the mask needs no guessing.
    """
    tokenizer = _tokenizer_of(processor)
    images = _decode_images(row)
    prompt_text = render_prompt_text(processor, row["prompt"], images)
    kwargs: dict[str, Any] = {"text": [prompt_text], "return_tensors": "pt"}
    if images:
        kwargs["images"] = images
    if processor is tokenizer:  # text-only model: the chat template already wrote any BOS
        enc = tokenizer(prompt_text, return_tensors="pt", add_special_tokens=False)
    else:
        enc = processor(**kwargs)
    prompt_ids = enc["input_ids"][0].tolist()
    stop = count_end and row.get("finish_reason") != "length"
    response_text = (row.get("response") or "") + (end_text if stop else "")
    response_ids = tokenizer(response_text, add_special_tokens=False)["input_ids"]
    truncated = False
    if max_length is not None and len(prompt_ids) + len(response_ids) > max_length:
        # A response past the model's context would need a logits tensor of that length
        # (a 1 MB response asked for ~945 GB): score its first part and say so.
        room = max_length - len(prompt_ids)
        if room < 1:
            raise ValueError(f"the prompt alone is {len(prompt_ids)} tokens, over the model's context of "
                             f"{max_length}")
        response_ids, truncated = list(response_ids)[:room], True
    mm = enc.get("mm_token_type_ids")
    return _Encoded(
        input_ids=prompt_ids + list(response_ids),
        n_scored=len(response_ids),
        mm_token_type_ids=(mm[0].tolist() + [0] * len(response_ids)) if mm is not None else None,
        pixel_values=enc.get("pixel_values"),
        image_grid_thw=enc.get("image_grid_thw"),
        extra={"truncated": truncated} if truncated else {},
    )


def _collate(batch: list[_Encoded], pad_id: int, device: str) -> tuple[dict[str, Any], Any, int]:
    """Left-pad a batch; returns (model inputs, target ids [B, K], K = longest scored span)."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    keep = max(e.n_scored for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    mm = torch.zeros((len(batch), width), dtype=torch.long)
    targets = torch.full((len(batch), keep), -100, dtype=torch.long)
    for i, e in enumerate(batch):
        n = len(e.input_ids)
        ids[i, width - n:] = torch.tensor(e.input_ids)
        attn[i, width - n:] = 1
        if e.mm_token_type_ids is not None:
            mm[i, width - n:] = torch.tensor(e.mm_token_type_ids)
        if e.n_scored:
            targets[i, keep - e.n_scored:] = torch.tensor(e.input_ids[n - e.n_scored:])
    inputs: dict[str, Any] = {"input_ids": ids.to(device), "attention_mask": attn.to(device)}
    if any(e.mm_token_type_ids is not None for e in batch):
        inputs["mm_token_type_ids"] = mm.to(device)
    pixels = [e.pixel_values for e in batch if e.pixel_values is not None]
    if pixels:
        inputs["pixel_values"] = torch.cat(pixels).to(device)
        inputs["image_grid_thw"] = torch.cat([e.image_grid_thw for e in batch if e.image_grid_thw is not None]).to(device)
    return inputs, targets.to(device), keep


def _forward_nll(model: Any, inputs: dict[str, Any], targets: Any, keep: int) -> list[float]:
    """Summed NLL of each row's scored span, from the last `keep + 1` positions' logits only."""
    import torch

    if keep == 0:
        return [0.0] * targets.shape[0]
    if "pixel_values" in inputs:
        inputs["pixel_values"] = inputs["pixel_values"].to(model.dtype)
    with torch.inference_mode():
        out = model(**inputs, logits_to_keep=keep + 1, use_cache=False)
    logits = out.logits[:, -(keep + 1):-1, :]  # position t predicts token t+1
    sums = []
    for i in range(targets.shape[0]):  # per row, in fp32, over that row's span only: no padded fp32 copy
        n = int((targets[i] != -100).sum())
        if n == 0:
            sums.append(0.0)
            continue
        nll = torch.nn.functional.cross_entropy(logits[i, keep - n:].float(), targets[i, keep - n:], reduction="sum")
        sums.append(float(nll))
    return sums


def _sort_keys(tokenizer: Any, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Token count of prompt + response text: cheap (no image decoding) and what padding depends on."""
    texts = [f"{r.get('prompt') or ''}{r.get('response') or ''}" for r in rows]
    if not texts:
        return []
    return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]


def plan_batches(lengths: Sequence[int], batch_size: int, sort_by_length: bool) -> list[list[int]]:
    """Row indices per batch: longest first when sorted (an out-of-memory shows up at once)."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i]) if sort_by_length else list(range(len(lengths)))
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _load(model_spec: Any, device: str) -> tuple[Any, Any]:
    if isinstance(model_spec, tuple):
        return model_spec
    from vrd.models.loading import load_model_and_processor

    return load_model_and_processor(model_spec, device=device)


def _result(nll_sum: float, n_tokens: int, response: str) -> dict[str, Any]:
    n_bytes = len(response.encode("utf-8"))
    return {
        "nll_sum": nll_sum,
        "n_tokens": n_tokens,
        "n_bytes": n_bytes,
        "nll_per_token": nll_sum / n_tokens if n_tokens else math.nan,
        "nll_per_byte": nll_sum / n_bytes if n_bytes else math.nan,
    }


def _failed(response: str, reason: str) -> dict[str, Any]:
    out = _result(math.nan, 0, response)
    out["error"] = reason
    return out


def score_nll(
    model: str | os.PathLike | tuple[Any, Any],
    rows: Sequence[Mapping[str, Any]],
    *,
    batch_size: int = 8,
    sort_by_length: bool = True,
    max_samples: int | None = None,
    device: str = "auto",
    progress: bool = False,
    count_end: bool = True,
    on_batch: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Per-row NLL of `response` given `prompt` + `images`, in input order.

    `model` is a name/path (loaded via vrd.models.loading) or a ``(model, processor)`` pair.
    Each result has nll_sum (nats), n_tokens (scored tokens: the response plus the
    end-of-turn token when the row stopped on its own), n_bytes (UTF-8 bytes of the
    response), nll_per_token and nll_per_byte. Only ``rows[:max_samples]`` are scored when
    `max_samples` is set. A row that cannot be encoded (e.g. a corrupt image) gets NaN and
    an ``error`` reason instead of stopping the run. `on_batch(done, total)` reports progress.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    rows = list(rows[:max_samples] if max_samples is not None else rows)
    if not rows:
        return []
    model_obj, processor = _load(model, device)
    tokenizer = _tokenizer_of(processor)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
    run_device = str(next(model_obj.parameters()).device)
    end_text = end_of_turn_text(processor)
    max_length = context_length(model_obj)
    batches = plan_batches(_sort_keys(tokenizer, rows), batch_size, sort_by_length)
    results: list[dict[str, Any] | None] = [None] * len(rows)

    bar = None
    if progress:
        from rich.progress import Progress

        bar = Progress(transient=True)
        bar.start()
        task = bar.add_task("scoring NLL", total=len(rows))
    try:
        for done, batch in enumerate(batches, start=1):
            encoded: list[tuple[int, _Encoded]] = []
            for i in batch:
                try:
                    encoded.append((i, encode_row(processor, rows[i], end_text, count_end=count_end,
                                                  max_length=max_length)))
                except (OSError, ValueError, TypeError, KeyError) as exc:  # bad data, not a bug: set aside
                    results[i] = _failed(rows[i].get("response") or "", f"{type(exc).__name__}: {exc}")
            if encoded:
                inputs, targets, keep = _collate([e for _, e in encoded], pad_id, run_device)
                sums = _forward_nll(model_obj, inputs, targets, keep)
                for (i, e), s in zip(encoded, sums, strict=True):
                    scored_text = rows[i].get("response") or ""
                    if e.extra.get("truncated"):  # per-byte figures over the part that was scored
                        scored_text = tokenizer.decode(e.input_ids[len(e.input_ids) - e.n_scored:])
                    results[i] = _result(float(s), e.n_scored, scored_text)
                    if e.extra.get("truncated"):
                        results[i]["truncated"] = True
            if bar is not None:
                bar.advance(task, len(batch))
            if on_batch is not None:
                on_batch(done, len(batches))
    finally:
        if bar is not None:
            bar.stop()
    return [r for r in results if r is not None]

"""Tiny random Qwen2.5-VL checkpoints for tests, benches and trying a pipeline on a CPU.

They use the real model, tokenizer and processor classes, saved with `save_pretrained` and
reloaded through the Auto classes, so every code path (chat template, image tokens, M-RoPE,
generation, training) is the one a real Qwen2.5-VL takes, at CPU speed. The tokenizer is a
byte-level BPE trained here on a small built-in corpus, so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vrd.config import Config, seed_setting


@dataclass
class TinyModelConfig(Config):
    """`vrd models tiny`: the seed is the whole recipe (sizes are fixed so tests stay fast)."""

    seed: int = seed_setting("Same seed, same weights and tokenizer.")


# Qwen's special tokens, in Qwen's order, so image/video ids line up with what the processor expects.
SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]
# Reasoning-format tags are ordinary text for Qwen; single tokens make them learnable by a tiny model.
FORMAT_TOKENS = ["<think>", "</think>", "<answer>", "</answer>", "\\boxed{"]

# Qwen2-VL-style chat template. `{% generation %}` marks assistant text so trainers can mask
# the loss to completions (`return_assistant_tokens_mask`).
CHAT_TEMPLATE = (
    "{% set nl = '\\n' %}"
    "{% if messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system' + nl + 'You are a helpful assistant.<|im_end|>' + nl }}"
    "{% endif %}"
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + nl }}"
    "{% if message['content'] is string %}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}"
    "{% elif message['role'] == 'assistant' %}{% generation %}"
    "{% for part in message['content'] %}{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}"
    "{{ '<|im_end|>' }}{% endgeneration %}"
    "{% else %}"
    "{% for part in message['content'] %}"
    "{% if part['type'] in ('image', 'image_url') or 'image' in part %}"
    "{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}"
    "{% endfor %}{{ '<|im_end|>' }}"
    "{% endif %}"
    "{{ nl }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant' + nl }}{% endif %}"
)

_WORDS = (
    "the a an of in on to and is are be by for with from that this it as at or if then so we find "
    "angle angles triangle triangles line lines parallel transversal circle inscribed central arc "
    "chord radius diameter rectangle square area perimeter length width height side sides hypotenuse "
    "leg legs right acute obtuse degree degrees sum equal equals measure what value given figure shown "
    "below above point points segment segments corresponding alternate interior exterior vertical "
    "supplementary complementary theorem pythagorean half twice times plus minus divided product "
    "answer options option choose correct step steps think final result therefore because since "
    "so question solve work through problem write letter reason about give only tags inside after "
    "Let Now First Next Finally Wait check verify alternatively compute total each other known unknown "
    "cm m units square of x y z"
).split()
_LATEX = [
    "\\frac{1}{2}", "\\sqrt{2}", "\\pi", "^\\circ", "\\times", "\\cdot", "\\angle", "\\triangle",
    "\\boxed{", "}", "{", "^{2}", "x^2", "a^2 + b^2 = c^2", "180^\\circ", "90^\\circ", "=", "+", "-",
]


def _corpus(seed: int) -> list[str]:
    """Deterministic text covering prompts, reasoning and math so the BPE learns useful merges."""
    rng = random.Random(seed)
    lines: list[str] = []
    for n in range(0, 400):
        lines.append(f"{n} {n}^\\circ {n} cm \\boxed{{{n}}} ({chr(65 + n % 4)}) {n}.{n % 10}")
    for _ in range(3000):
        k = rng.randint(4, 18)
        words = [rng.choice(_WORDS) if rng.random() < 0.8 else rng.choice(_LATEX) for _ in range(k)]
        num = rng.randint(0, 360)
        lines.append(" ".join(words) + f" {num}.")
        lines.append(f"<think> {' '.join(words)} = {num} </think> \\boxed{{{num}}}")
        lines.append(f"<think> {' '.join(words)} </think> <answer> {num} </answer>")
    return lines


def build_tokenizer(seed: int = 0, vocab_size: int = 1024) -> Any:
    """A Qwen2Tokenizer (byte-level BPE, Qwen pre-tokenizer) trained on the built-in corpus."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import AddedToken, Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(_corpus(seed), trainer=trainer)
    state = json.loads(bpe.to_str())
    vocab: dict[str, int] = state["model"]["vocab"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["model"]["merges"]]
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    tokenizer.add_special_tokens(
        {"additional_special_tokens": [AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS[1:]]}
    )
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in FORMAT_TOKENS])
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.model_max_length = 4096
    return tokenizer


def build_tiny_model(
    out_dir: str | os.PathLike,
    seed: int = 0,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    vision_depth: int = 2,
    vision_hidden: int = 32,
    vocab_size: int = 1024,
    max_pixels: int = 112 * 112,
    min_pixels: int = 56 * 56,
    **overrides: Any,
) -> Path:
    """Write a random tiny Qwen2.5-VL (model + processor) to `out_dir`; same seed, same bytes.

    The model is built in a staging folder beside `out_dir` and swapped in whole: a kill leaves
    the earlier folder or the new model, never weights without their tokenizer (which loaders
    would take for a model). An existing `out_dir` must be empty or hold a model (it is replaced).
    """
    from vrd.outputs import OutputError, output_lock, require_out_dir, staging_beside

    out = Path(os.path.abspath(require_out_dir(out_dir)))  # `--out .` has a name to stage beside
    with output_lock(out, "models tiny"):
        other = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
        if other and not (out / "config.json").is_file():
            raise OutputError(f"{out}: exists and is not a model folder (it holds {other[0]}); "
                              "choose a new or empty --out")
        with staging_beside(out) as staging:
            _build_tiny(staging.path, seed, hidden_size=hidden_size, num_layers=num_layers,
                        vision_depth=vision_depth, vision_hidden=vision_hidden, vocab_size=vocab_size,
                        max_pixels=max_pixels, min_pixels=min_pixels, **overrides)
            staging.swap_in(out, "models tiny")
    return Path(out_dir)


def _build_tiny(out_dir: str | os.PathLike, seed: int, *, hidden_size: int, num_layers: int, vision_depth: int,
                vision_hidden: int, vocab_size: int, max_pixels: int, min_pixels: int, **overrides: Any) -> Path:
    import torch
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
        Qwen2VLImageProcessor,
        Qwen2VLVideoProcessor,
    )

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(seed, vocab_size)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    n_heads = 4
    head_dim = hidden_size // n_heads
    half = head_dim // 2
    mrope = [half - 2 * (half // 3), half // 3, half // 3]  # temporal, height, width; sums to head_dim/2
    padded_vocab = ((len(tokenizer) + 63) // 64) * 64
    text_config = {
        "vocab_size": padded_vocab,
        "hidden_size": hidden_size,
        "intermediate_size": hidden_size * 2,
        "num_hidden_layers": num_layers,
        "num_attention_heads": n_heads,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope},
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        "tie_word_embeddings": False,
    }
    vision_config = {
        "depth": vision_depth,
        "hidden_size": vision_hidden,
        "intermediate_size": vision_hidden * 2,
        "num_heads": 2,
        "out_hidden_size": hidden_size,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [vision_depth - 1],
    }
    text_config.update(overrides.pop("text_config", {}))
    vision_config.update(overrides.pop("vision_config", {}))
    config = Qwen2_5_VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=False,
        **overrides,
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config)
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.generation_config.do_sample = False
    model.save_pretrained(out)
    image_processor = Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels)
    video_processor = Qwen2VLVideoProcessor(min_pixels=min_pixels, max_pixels=max_pixels)
    processor = Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                    video_processor=video_processor, chat_template=CHAT_TEMPLATE)
    processor.save_pretrained(out)
    return out

"""The tiny checkpoint factory: real classes, loadable by the Auto classes, deterministic."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vrd.cli.main import app


def _digest(path: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(path.iterdir()) if p.is_file()}


def test_tiny_loads_and_generates_from_image(tiny_model_dir: Path) -> None:
    from PIL import Image

    from vrd.engines.base import GenerationRequest
    from vrd.models.loading import load_model_and_processor

    model, processor = load_model_and_processor(tiny_model_dir, device="cpu")
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    image = Image.new("RGB", (112, 84), "white")
    request = GenerationRequest("<image>What is the angle?", [image])
    text = processor.apply_chat_template(request.messages(), tokenize=False, add_generation_prompt=True)
    assert "<|vision_start|><|image_pad|><|vision_end|>What is the angle?" in text
    assert text.endswith("<|im_start|>assistant\n")
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    n_image_tokens = int((inputs["input_ids"] == model.config.image_token_id).sum())
    assert n_image_tokens == int(inputs["image_grid_thw"].prod()) // 4
    out = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    assert out.shape[1] > inputs["input_ids"].shape[1]


def test_assistant_mask_covers_only_the_answer(tiny_model_dir: Path) -> None:
    from vrd.models.loading import load_processor

    processor = load_processor(tiny_model_dir)
    messages = [
        {"role": "user", "content": [{"type": "text", "text": "2+2?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "<think> 2+2=4 </think> \\boxed{4}"}]},
    ]
    enc = processor.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    ids, mask = enc["input_ids"], enc["assistant_masks"]
    ids = ids[0] if isinstance(ids[0], list) else ids
    mask = mask[0] if isinstance(mask[0], list) else mask
    answer = processor.tokenizer.decode([i for i, m in zip(ids, mask, strict=True) if m])
    assert answer == "<think> 2+2=4 </think> \\boxed{4}<|im_end|>"


def test_same_seed_same_bytes_and_cli(tmp_path: Path, tiny_model_dir: Path) -> None:
    result = CliRunner().invoke(app, ["models", "tiny", "--out", str(tmp_path / "again"), "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert _digest(tmp_path / "again") == _digest(tiny_model_dir)


def test_different_seed_differs(tiny_model_dir: Path, tiny_model_dir_b: Path) -> None:
    a, b = _digest(tiny_model_dir), _digest(tiny_model_dir_b)
    assert a["model.safetensors"] != b["model.safetensors"]


def test_missing_model_error_says_what_to_do(tmp_path: Path) -> None:
    from vrd.errors import ModelNotFoundError, UnknownNameError
    from vrd.models.loading import load_model_and_processor, resolve_model

    with pytest.raises(ModelNotFoundError, match="not a loadable model directory"):
        load_model_and_processor(tmp_path)
    with pytest.raises(ModelNotFoundError, match="--local-dir|local DIR"):
        load_model_and_processor("nobody-here/no-such-model")
    with pytest.raises(UnknownNameError, match="qwen2.5-vl-32b"):
        resolve_model("qwen2.5-vl-32")
    assert resolve_model("qwen2.5-vl-32b") == "Qwen/Qwen2.5-VL-32B-Instruct"


def test_one_pixel_budget_for_generation_and_training(tiny_model_dir: Path) -> None:
    """The engine and the trainers bound image pixels through the same helper, with the same result."""
    from PIL import Image

    from vrd.engines.hf import HFEngine
    from vrd.models.loading import load_processor
    from vrd.trainers.common import load_processor as trainer_processor
    from vrd.trainers.config import VrdSFTConfig

    budget = 56 * 56
    engine = HFEngine(str(tiny_model_dir), max_pixels=budget, device="cpu")
    cfg = VrdSFTConfig(model=str(tiny_model_dir), data="unused", out="unused", max_pixels=budget)
    trained = trainer_processor(cfg)
    plain = load_processor(tiny_model_dir, max_pixels=budget)
    default = load_processor(tiny_model_dir)
    assert engine.max_pixels == budget
    sizes = [p.image_processor.size for p in (engine.processor, trained, plain)]
    assert sizes[0] == sizes[1] == sizes[2] and sizes[0]["longest_edge"] == budget
    assert sizes[0]["shortest_edge"] <= budget  # the default min was above this max: raised to it
    assert default.image_processor.size["longest_edge"] > budget
    image = Image.new("RGB", (640, 480), "white")
    grids = [p.image_processor(images=[image], return_tensors="pt")["image_grid_thw"].tolist()
             for p in (engine.processor, trained)]
    t, h, w = grids[0][0]
    assert grids[0] == grids[1] and h * w * 14 * 14 <= budget  # patches of 14 px: the image fits the budget


def test_models_list_shows_every_alias_with_its_hub_id_and_gpus() -> None:
    from vrd.models.teachers import TEACHERS, resolve_teacher

    result = CliRunner().invoke(app, ["models", "list"])
    assert result.exit_code == 0, result.output
    rows = {}
    for line in result.output.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 4 and cells[0] in TEACHERS:
            rows[cells[0]] = cells[1:]
    assert set(rows) == set(TEACHERS)
    for alias, (hub_id, family, gpus) in rows.items():
        # What the table says is what `--teacher ALIAS` resolves to.
        assert resolve_teacher(alias)[0] == hub_id
        assert (family, int(gpus)) == (TEACHERS[alias].family, TEACHERS[alias].min_gpus)

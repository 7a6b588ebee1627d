"""`vrd export`: each format loaded back the way its consumer loads it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import curate_fixtures as S
import datasets
import pytest

from vrd.curate import export
from vrd.curate.config import CurateConfig
from vrd.curate.pipeline import curate


@pytest.fixture(scope="module")
def curated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    responses = S.write_responses(root / "responses")
    out = root / "curated"
    curate(responses, out, CurateConfig(split="sft=6,rl=rest,val=2", seed=0))
    return out


def _ids(split_dir: Path) -> set[str]:
    from vrd.schema import read_dataset

    return set(read_dataset(split_dir)["id"])


def test_llamafactory_sharegpt_json(curated: Path, tmp_path: Path) -> None:
    out = tmp_path / "lf"
    result = export(curated, "llamafactory", out)
    info = json.loads((out / "dataset_info.json").read_text())
    assert set(info) == {"vrd_sft", "vrd_rl", "vrd_val"}
    assert info["vrd_sft"] == {
        "file_name": "sft.json", "formatting": "sharegpt", "columns": {"messages": "messages", "images": "images"},
        "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant"}}
    ds = datasets.load_dataset("json", data_files=str(out / "sft.json"), split="train")
    assert ds.num_rows == 6 == result.splits["sft"] and set(ds["id"]) == _ids(curated / "sft")
    n_with_images = 0
    for row in ds:
        user, assistant = row["messages"]
        assert (user["role"], assistant["role"]) == ("user", "assistant")
        assert user["content"].count("<image>") == len(row["images"])
        assert "\\boxed" in assistant["content"]
        for rel in row["images"]:
            assert not os.path.isabs(rel) and (out / rel).is_file()
        n_with_images += bool(row["images"])
    assert n_with_images
    rl = datasets.load_dataset("json", data_files=str(out / "rl.json"), split="train")
    assert set(rl["id"]) == _ids(curated / "rl")


def test_easyr1_parquet_loads_as_path_at_split(curated: Path, tmp_path: Path) -> None:
    out = tmp_path / "easyr1"
    export(curated, "easyr1", out, splits=["rl", "val"])
    # EasyR1's RLHFDataset: the type of the directory's first file, then data_dir + split.
    file_type = os.path.splitext(os.listdir(out)[0])[-1][1:]
    assert file_type == "parquet"
    train = datasets.load_dataset(file_type, data_dir=str(out), split="train")
    val = datasets.load_dataset(file_type, data_dir=str(out), split="validation")
    assert set(train["id"]) == _ids(curated / "rl") and set(val["id"]) == _ids(curated / "val")
    assert {"problem", "answer", "images"} <= set(train.column_names)
    for row in train:
        assert row["problem"].count("<image>") == len(row["images"])
        assert "\\boxed" not in row["problem"]  # template 'none': EasyR1 adds its own format prompt
        for img in row["images"]:
            assert img.size == (64, 64)
    answers = {r["id"]: r["answer"] for r in S.problems()}
    assert all(answers[r["id"]] == r["answer"] for r in train)


def test_hf_save_to_disk(curated: Path, tmp_path: Path) -> None:
    out = tmp_path / "hf"
    export(curated, "hf", out)
    dd = datasets.load_from_disk(str(out))
    assert set(dd) == {"sft", "rl", "val"}
    assert "response" in dd["sft"].column_names and "difficulty" in dd["rl"].column_names
    assert set(dd["rl"]["id"]) == _ids(curated / "rl")
    with pytest.raises(Exception, match="only supported with --format hf"):
        export(curated, "trl", tmp_path / "t", push_to_hub="me/repo")


def test_trl_formats_prepare_and_train_one_step(curated: Path, tmp_path: Path, tiny_model_dir: Path) -> None:
    from trl import SFTConfig, SFTTrainer
    from trl.data_utils import prepare_multimodal_messages

    from vrd.models.loading import load_model_and_processor

    out = tmp_path / "trl"
    export(curated, "trl", out)
    sft = datasets.load_dataset("parquet", data_files=str(out / "sft.parquet"), split="train")
    rl = datasets.load_dataset("parquet", data_files=str(out / "rl.parquet"), split="train")
    assert set(sft.column_names) >= {"messages", "images"} and set(rl.column_names) >= {"prompt", "images", "answer"}
    assert set(rl["id"]) == _ids(curated / "rl")

    model, processor = load_model_and_processor(str(tiny_model_dir), device="cpu")
    # GRPO: what GRPOTrainer does with a conversational prompt and its images.
    row = next(r for r in rl if r["images"])
    prompt = prepare_multimodal_messages(row["prompt"], images=row["images"])
    enc = processor.apply_chat_template([prompt], add_generation_prompt=True, tokenize=True, return_dict=True,
                                        return_tensors="pt")
    assert "pixel_values" in enc and enc["image_grid_thw"].shape[0] == len(row["images"])

    # SFT: the trainer's own dataset handling and collator, then one optimizer step.
    args = SFTConfig(output_dir=str(tmp_path / "run"), max_steps=1, per_device_train_batch_size=2,
                     report_to="none", save_strategy="no", use_cpu=True, max_length=None, logging_steps=1,
                     dataloader_num_workers=0)
    trainer = SFTTrainer(model=model, args=args, train_dataset=sft, processing_class=processor)
    batch = trainer.data_collator([dict(sft[i]) for i in range(2)])
    n_images = sum(len(sft[i]["images"]) for i in range(2))
    assert batch["image_grid_thw"].shape[0] == n_images and batch["labels"].shape == batch["input_ids"].shape
    image_token = model.config.image_token_id
    merge = processor.image_processor.merge_size ** 2
    assert int((batch["input_ids"] == image_token).sum()) == int(batch["image_grid_thw"].prod(-1).sum()) // merge
    state = trainer.train()
    assert trainer.state.global_step == 1 and state.training_loss > 0

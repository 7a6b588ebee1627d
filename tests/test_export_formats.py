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
    # EasyR1's RLHFDataset (verl/utils/dataset.py:136 at b44b311): the file type is that of
    # os.listdir(dir)[0], hidden entries included, in whatever order the filesystem lists them. Every
    # entry must therefore be named .parquet, vrd's mark included, and no `.locks` folder may stay
    # (splitext('.locks') has no extension: `load_dataset("")` raises IndexError).
    for entry in os.listdir(out):
        assert os.path.splitext(entry)[-1][1:] == "parquet", entry
    file_type = "parquet"
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
    # The file form, `data.val_files=OUT/validation.parquet`: data_files=path, split "train" (dataset.py:138-140).
    val_file = datasets.load_dataset("parquet", data_files=str(out / "validation.parquet"), split="train")
    assert set(val_file["id"]) == _ids(curated / "val")
    # A second export into the same folder reads the .parquet-named mark as vrd's (no refusal), and
    # leaves the folder as clean.
    export(curated, "easyr1", out, splits=["rl"])
    assert all(os.path.splitext(e)[-1] == ".parquet" for e in os.listdir(out))
    with pytest.raises(Exception, match="holds a `easyr1` export"):
        export(curated, "trl", out)


def _lf_placeholders(messages: list[dict]) -> dict[str, int]:
    """LLaMA-Factory 0.9.5 data/mm_plugin.py:189-216 (MMPluginMixin._validate_messages): placeholders are
    counted over every user and assistant turn, and any count != the row's media stops the run."""
    return {m: sum(msg["content"].count(m) for msg in messages) for m in ("<image>", "<video>", "<audio>")}


def test_llamafactory_sets_aside_rows_whose_text_holds_its_placeholders(tmp_path: Path) -> None:
    from vrd.schema import write_dataset

    rows = S.responses()[:9]
    rows[0]["response"] = "<think>the <image> shows a line</think> \\boxed{110}"  # a reply quoting the token
    rows[1]["prompt"] = "<image>What does the <video> clip show?"
    rows[2]["response"] = "<think>an <audio> cue</think> \\boxed{1}"
    rows[3]["prompt"] = "Look: <image><image> twice?"  # one image, two marks: user_text keeps one
    rows[4]["system"] = "Each <image> is a figure."  # the system prompt is not counted (converter.py: _system)
    write_dataset(rows, tmp_path / "responses", kind="responses")
    out = tmp_path / "lf"
    result = export(tmp_path / "responses", "llamafactory", out)
    reasons = [r["reason"] for r in result.set_aside["responses"]]
    assert len(reasons) == 3 and result.splits["responses"] == 6
    assert any("response holds <image>" in r for r in reasons) and any("question holds <video>" in r for r in reasons)
    records = json.loads((out / "responses.json").read_text())
    for rec in records:
        counts = _lf_placeholders(rec["messages"])
        assert counts == {"<image>": len(rec["images"]), "<video>": 0, "<audio>": 0}, rec["messages"]
        # converter.py:43-75 (_find_medias): a relative path is joined to media_dir (= dataset_dir).
        assert all(os.path.isfile(os.path.join(out, p)) for p in rec["images"])
    assert any(rec.get("system") == "Each <image> is a figure." for rec in records)
    mark = json.loads((out / ".vrd-export.json").read_text())
    assert len(mark["set_aside"]["responses"]) == 3


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

"""TRL 1.16's own VLM collators on a vrd trl export (vrd venv). Usage: trl_run.py EXPORT MODEL"""
import sys

import datasets
from transformers import AutoProcessor
from trl.data_utils import prepare_multimodal_messages
from trl.trainer.sft_trainer import DataCollatorForVisionLanguageModeling

out, model = sys.argv[1], sys.argv[2]
proc = AutoProcessor.from_pretrained(model)
for name in sys.argv[3:]:
    ds = datasets.load_dataset("parquet", data_files={"train": f"{out}/{name}.parquet"}, split="train")
    key = "messages" if "messages" in ds.column_names else "prompt"
    rows = [ds[i] for i in range(len(ds))]
    for r in rows:
        prepare_multimodal_messages(r[key], images=r["images"])  # raises on a count mismatch
    col = DataCollatorForVisionLanguageModeling(proc) if key == "messages" else None
    if col is not None:
        batch = col([{"messages": r["messages"], "images": r["images"]} for r in rows])
        print(name, "SFT batch", {k: tuple(v.shape) for k, v in batch.items() if hasattr(v, "shape")})
    else:
        texts = [proc.apply_chat_template(prepare_multimodal_messages(r["prompt"], images=r["images"]),
                                          add_generation_prompt=True, tokenize=False) for r in rows]
        print(name, "GRPO prompts ok", len(texts))

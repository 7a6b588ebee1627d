"""Run EasyR1's own RLHFDataset (verl/utils/dataset.py at b44b311) on a vrd easyr1 export.
Usage: EASYR1_SRC=/path/to/EasyR1 er_run.py DATA_PATH MODEL_DIR [format_prompt.jinja]
(MODEL_DIR: make_exports.py's model-tf4, which transformers 4.57 can load.)"""
import os
import sys

SRC = os.environ["EASYR1_SRC"]
sys.path.insert(0, SRC)
from verl.utils.dataset import RLHFDataset, collate_fn  # noqa: E402 - from EASYR1_SRC
from verl.utils.tokenizer import get_processor, get_tokenizer  # noqa: E402

data_path, model = sys.argv[1], sys.argv[2]
fmt = sys.argv[3] if len(sys.argv) > 3 else f"{SRC}/examples/format_prompt/math.jinja"
tok = get_tokenizer(model)
proc = get_processor(model)
print("processor", type(proc).__name__, type(proc.image_processor).__name__)
ds = RLHFDataset(data_path=data_path, tokenizer=tok, processor=proc, prompt_key="problem", answer_key="answer",
                 image_key="images", max_prompt_length=2048, truncation="error", format_prompt=fmt,
                 min_pixels=56 * 56, max_pixels=112 * 112, filter_overlong_prompts=True,
                 filter_overlong_prompts_workers=1)
print("ROWS", len(ds))
vs = tok.convert_tokens_to_ids("<|vision_start|>")
n_images = 0
for i in range(len(ds)):
    ex = ds[i]
    imgs = ex.get("multi_modal_data", {}).get("images") or []
    starts = int((ex["input_ids"] == vs).sum())
    assert starts == len(imgs), (i, starts, len(imgs))
    n_images += len(imgs)
batch = collate_fn([ds[i] for i in range(min(4, len(ds)))])
print("IMAGES", n_images, "KEYS", sorted(ds[0].keys()), "GT", [ds[i]["ground_truth"] for i in range(len(ds))])
print("PROMPT", tok.decode(ds[0]["raw_prompt_ids"]).replace("<|image_pad|>", "")[:500])

"""Run LLaMA-Factory's own data pipeline (parser -> loader -> converter -> mm_plugin -> supervised processor)
on a vrd llamafactory export. Usage: lf_run.py EXPORT_DIR MODEL_DIR DATASETS [stage] [cwd]"""
import os
import sys

os.environ["DISABLE_VERSION_CHECK"] = "1"
export_dir, model_dir, datasets_ = sys.argv[1], sys.argv[2], sys.argv[3]
stage = sys.argv[4] if len(sys.argv) > 4 else "sft"
import trl  # noqa: E402

trl.AutoModelForCausalLMWithValueHead = object  # removed in TRL 1.x; only LF's load_model (value heads) uses it
from llamafactory.data import get_dataset, get_template_and_fix_tokenizer  # noqa: E402
from llamafactory.hparams import get_train_args  # noqa: E402
from llamafactory.model import load_tokenizer  # noqa: E402

model_args, data_args, training_args, finetuning_args, _ = get_train_args(dict(
    model_name_or_path=model_dir, trust_remote_code=True, stage=stage, do_train=True, finetuning_type="lora",
    dataset=datasets_, dataset_dir=export_dir, template="qwen2_vl", cutoff_len=4096, overwrite_cache=True,
    preprocessing_num_workers=1, output_dir=os.path.join(export_dir, ".lf_out"), report_to="none",
    image_max_pixels=112 * 112, image_min_pixels=28 * 28,
))
tm = load_tokenizer(model_args)
template = get_template_and_fix_tokenizer(tm["tokenizer"], data_args)
dm = get_dataset(template, model_args, data_args, training_args, stage=stage, **tm)
ds = dm["train_dataset"]
print("ROWS", len(ds), "COLUMNS", ds.column_names)
tok = tm["tokenizer"]
pad = tok.convert_tokens_to_ids("<|image_pad|>")
n_img = sum(sum(1 for t in r["input_ids"] if t == tok.convert_tokens_to_ids("<|vision_start|>")) for r in ds)
print("VISION_STARTS", n_img)
print("FIRST", tok.decode(ds[0]["input_ids"])[:400].replace("<|image_pad|>", ""))

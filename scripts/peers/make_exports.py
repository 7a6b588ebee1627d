"""The data the peer checks load: a curated vrd dataset exported to every format, hostile and
text-only response sets exported directly, and a tiny Qwen2.5-VL (plus a copy transformers 4.x
loads, for EasyR1). Run with vrd's venv: PYTHONPATH=. .venv/bin/python scripts/peers/make_exports.py ROOT"""

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
import curate_fixtures as S  # noqa: E402

from vrd.curate import export  # noqa: E402
from vrd.curate.config import CurateConfig  # noqa: E402
from vrd.curate.pipeline import curate  # noqa: E402
from vrd.models.tiny import build_tiny_model  # noqa: E402
from vrd.schema import write_dataset  # noqa: E402

FORMATS = ("llamafactory", "easyr1", "trl")
root = Path(sys.argv[1])
root.mkdir(parents=True, exist_ok=True)

# 1. curated: system prompts on some rows, a question with two figures
rows = S.responses()
for i, r in enumerate(rows):
    if i % 4 == 0:
        r["system"] = "You are a careful geometry tutor."
    if r["id"].endswith("p10"):
        r["images"] = r["images"] + [{"bytes": S.png(S.figure(200)), "path": None}]
        r["question"] = "Compare <image> with the first figure. " + r["question"]
        r["prompt"] = r["question"] + "\nAnswer in \\boxed{}."
write_dataset(rows, root / "responses", kind="responses", shard_rows=10)
curate(root / "responses", root / "curated", CurateConfig(split="sft=6,rl=rest,val=2", seed=0))
for fmt in FORMATS:
    print("curated", fmt, export(root / "curated", fmt, root / "curated-export" / fmt).splits)

# 2. hostile: placeholders quoted in replies and questions, marks that do not match the images
rows = S.responses()[:12]
rows[0]["response"] = "<think>the <image> shows a line</think> \\boxed{110}"
rows[1]["prompt"] = "<image>What does the <video> clip show? Answer in \\boxed{}."
rows[2]["system"] = "Each <image> is a figure."
rows[3]["prompt"] = "Look: <image><image> twice?"
rows[4]["response"] = "<think>an <audio> cue</think> \\boxed{1}"
write_dataset(rows, root / "hostile", kind="responses")
# 3. text only
write_dataset([r for r in S.responses() if not r["images"]], root / "textonly", kind="responses")
for name in ("hostile", "textonly"):
    for fmt in FORMATS:
        res = export(root / name, fmt, root / f"{name}-export" / fmt)
        print(name, fmt, res.splits, {k: len(v) for k, v in res.set_aside.items()})

model = root / "model"
if not model.exists():
    build_tiny_model(model, seed=0)
tf4 = root / "model-tf4"  # transformers 4.x reads extra_special_tokens as a dict; v5 writes a list
shutil.rmtree(tf4, ignore_errors=True)
shutil.copytree(model, tf4)
cfg = json.loads((tf4 / "tokenizer_config.json").read_text())
cfg.pop("extra_special_tokens", None)
(tf4 / "tokenizer_config.json").write_text(json.dumps(cfg))

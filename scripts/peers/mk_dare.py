"""Usage: mk_dare.py WORKDIR. DARE in distribution: mergekit-yaml vs vrd merge (different RNGs), per-tensor L1 of the merged delta."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from vrd.models.merge import MergeSpec, merge_models

work = Path(sys.argv[1])  # mk_compare.py's WORKDIR
base = work / "base"
B = load_file(str(base / "model.safetensors"))
for method, vm in (("dare_linear", "dare"), ("dare_ties", "dare_ties")):
    conf = {"merge_method": method, "dtype": "float32", "out_dtype": "float32", "base_model": str(base),
            "models": [{"model": str(work / m), "parameters": {"weight": 0.5, "density": 0.5}} for m in "ab"]}
    (work / f"{method}.yml").write_text(json.dumps(conf))
    out = work / f"mk-{method}"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([str(Path(sys.executable).parent / "mergekit-yaml"), str(work / f"{method}.yml"), str(out),
                    "--allow-crimes", "--no-copy-tokenizer", "--random-seed", "0"], check=True, capture_output=True)
    mk = load_file(str(out / "model.safetensors"))
    spec = MergeSpec(models=[str(work / "a"), str(work / "b")], method=vm, weights=[0.5, 0.5], base=str(base), density=0.5)
    merge_models(spec, work / f"vrd-{method}", overwrite=True)
    vr = load_file(str(work / f"vrd-{method}" / "model.safetensors"))
    ratios, kept_mk, kept_vr = [], [], []
    for k in B:
        if not B[k].is_floating_point() or B[k].numel() < 1000:
            continue
        dm, dv = (mk[k] - B[k]).abs(), (vr[k] - B[k]).abs()
        ratios.append((dv.sum() / dm.sum()).item())
        kept_mk.append((dm > 0).float().mean().item())
        kept_vr.append((dv > 0).float().mean().item())
    r = torch.tensor(ratios)
    print(method, f"tensors {len(ratios)}: L1(vrd delta)/L1(mergekit delta) median {r.median():.3f} range [{r.min():.3f}, {r.max():.3f}];",
          f"share changed mergekit {sum(kept_mk)/len(kept_mk):.3f} vrd {sum(kept_vr)/len(kept_vr):.3f}")

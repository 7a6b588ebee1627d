"""Run mergekit-yaml and `vrd merge` on the same tiny Qwen2.5-VL checkpoints; compare tensor by tensor.
Run with the scratch mergekit venv and PYTHONPATH=<vrd worktree>. Usage: mk_compare.py WORKDIR"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from vrd.models.merge import MergeSpec, merge_models
from vrd.models.tiny import build_tiny_model

work = Path(sys.argv[1])
work.mkdir(parents=True, exist_ok=True)
base = work / "base"
if not base.exists():
    build_tiny_model(base, seed=0)
sd = {k: v.float() for k, v in load_file(str(base / "model.safetensors")).items()}
save_file(sd, str(base / "model.safetensors"), metadata={"format": "pt"})
cfg = json.loads((base / "config.json").read_text())
cfg["dtype"] = cfg["torch_dtype"] = "float32"
(base / "config.json").write_text(json.dumps(cfg))
for name, seed in (("a", 1), ("b", 2)):
    d = work / name
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(base, d)
    g = torch.Generator().manual_seed(seed)
    save_file({k: (v + 0.02 * torch.randn(v.shape, generator=g)) if v.is_floating_point() else v for k, v in sd.items()},
              str(d / "model.safetensors"), metadata={"format": "pt"})

CASES = {
    "linear": ("linear", {"normalize": True}, {"a": {"weight": 0.7}, "b": {"weight": 0.3}}, {}),
    "linear_unnorm_w": ("linear", {"normalize": True}, {"a": {"weight": 2.0}, "b": {"weight": 1.0}}, {}),
    "ties": ("ties", {"normalize": True, "int8_mask": False}, {"a": {"weight": 0.6, "density": 0.5},
                                                                "b": {"weight": 0.4, "density": 0.5}}, {}),
    "ties_int8_lambda": ("ties", {"normalize": True, "int8_mask": True, "lambda": 0.8},
                         {"a": {"weight": 1.0, "density": 0.3}, "b": {"weight": 1.0, "density": 0.3}}, {}),
    "ties_nonorm": ("ties", {"normalize": False}, {"a": {"weight": 0.5, "density": 0.7},
                                                   "b": {"weight": 0.5, "density": 0.7}}, {}),
    "ties_density_1pct": ("ties", {"normalize": True}, {"a": {"weight": 0.5, "density": 0.01},
                                                        "b": {"weight": 0.5, "density": 0.01}}, {}),
    # DARE with density 1 drops nothing: both reduce to task arithmetic, deterministic
    "dare_linear_d1": ("dare_linear", {}, {"a": {"weight": 0.5, "density": 1.0}, "b": {"weight": 0.5, "density": 1.0}}, {}),
    "dare_ties_d1": ("dare_ties", {}, {"a": {"weight": 0.5, "density": 1.0}, "b": {"weight": 0.5, "density": 1.0}}, {}),
}
VRD_METHOD = {"linear": "linear", "ties": "ties", "dare_linear": "dare", "dare_ties": "dare_ties"}
report = {}
for case, (method, params, per_model, _) in CASES.items():
    if len(sys.argv) > 2 and case not in sys.argv[2:]:
        continue
    conf = {"merge_method": method, "dtype": "float32", "out_dtype": "float32", "parameters": params,
            "models": [{"model": str(work / m), "parameters": p} for m, p in per_model.items()]}
    if method != "linear":
        conf["base_model"] = str(base)
    yml = work / f"{case}.yml"
    yml.write_text(json.dumps(conf))
    mk_out = work / f"mk-{case}"
    shutil.rmtree(mk_out, ignore_errors=True)
    r = subprocess.run([str(Path(sys.executable).parent / "mergekit-yaml"), str(yml), str(mk_out), "--lazy-unpickle",
                        "--allow-crimes", "--no-copy-tokenizer"], capture_output=True, text=True)
    if r.returncode:
        print(case, "MERGEKIT FAILED", r.stderr[-2000:])
        continue
    mk = {}
    for f in mk_out.glob("*.safetensors"):
        mk.update(load_file(str(f)))
    spec = MergeSpec(models=[str(work / m) for m in per_model], method=VRD_METHOD[method],
                     weights=[p["weight"] for p in per_model.values()], base=str(base) if method != "linear" else None,
                     density=list(per_model.values())[0].get("density", 1.0), lambda_=params.get("lambda", 1.0))
    if "normalize" in params and hasattr(spec, "normalize"):
        spec.normalize = params["normalize"]
    v_out = work / f"vrd-{case}"
    merge_models(spec, v_out, overwrite=True)
    vr = load_file(str(v_out / "model.safetensors"))
    only_mk, only_vrd = sorted(set(mk) - set(vr)), sorted(set(vr) - set(mk))
    diffs = {k: (mk[k].float() - vr[k].float()).abs().max().item() for k in set(mk) & set(vr)}
    exact = sum(d <= 1e-6 for d in diffs.values())
    worst = max(diffs, key=diffs.get)
    report[case] = {"shared": len(diffs), "agree_1e-6": exact, "max_abs_diff": diffs[worst], "worst": worst,
                    "only_mergekit": only_mk[:3], "only_vrd": only_vrd[:3]}
    print(case, json.dumps(report[case]))
(work / "report.json").write_text(json.dumps(report, indent=1))

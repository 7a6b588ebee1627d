"""`vrd merge`: weight-space merging of fine-tuned VLMs (linear, TIES, DARE), vision tower included.

The Synergy Dilemma paper merges an SFT and an RL model of the same base to trade SFT's gains on
hard questions against RL's shorter answers. The merge works tensor by tensor over the
safetensors files, so any architecture whose checkpoints share one key set merges the same way:
the language model, Qwen2.5-VL's vision tower and its merger projector alike (`vision="first"`
keeps the first model's tower instead). The processor, tokenizer, chat template and config come
from the first model, so the output loads through the Auto classes like any `save_pretrained`
folder.

Why not mergekit: it installs here without touching torch/transformers, but its Qwen2.5-VL
architecture file names the tensors it merges and copies only `preprocessor_config.json` and
`vocab.json` along, so the chat template and tokenizer would still need copying and any key
layout it does not list would need a definition. Merging every floating tensor of the shared
key set needs neither. The task-vector methods follow mergekit's `merge_methods/generalized_task_arithmetic.py` and
`sparsify.py` (checked tensor by tensor against mergekit 0.1.5's `mergekit-yaml` on tiny Qwen2.5-VL
checkpoints; tests/test_merge.py holds numbers recorded from it):
- TIES (Yadav et al. 2023): per model, keep the top `density` fraction of the delta to the base
  by magnitude (at least one entry); elect each entry's sign as the sign of the weighted delta
  sum; sum the weighted deltas that agree with it and divide by the weights that agree
  (`normalize`, on by default for ties as in mergekit).
- DARE (Yu et al. 2023): per model, drop each delta entry with probability p = 1 - density and
  rescale the survivors: `rescale="l1"` (mergekit's default) scales them so the delta keeps its
  L1 norm, `"inverse"` by the paper's 1 / (1 - p), `"none"` not at all. Then sum the weighted
  deltas (`dare`, mergekit's `dare_linear`) or combine them with TIES's sign election
  (`dare_ties`); neither normalizes unless asked, as in mergekit.
mergekit parameter -> vrd: `weight` -> weights (or --alpha), `density` -> density (one value for
all models), `lambda` -> lambda_, `normalize` -> normalize (None = the method's mergekit
default), `rescale: true` -> rescale "l1"; `int8_mask` only changes the dtype of mergekit's 0/1
mask, not the result, so vrd has no such setting. DARE's random masks come from vrd's own seeded
generator, so a DARE merge equals mergekit's only in distribution (at density 1, exactly).
Non-floating tensors (integer buffers) are copied from the first model.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vrd.config import Config, check_number, seed_setting, setting
from vrd.errors import ConfigError, ModelNotFoundError, VrdError, unknown_name

METHODS = ("linear", "ties", "dare", "dare_ties")
RESCALES = ("l1", "inverse", "none")
# mergekit's `normalize` default per method (merge_methods/registry.py).
NORMALIZE_DEFAULT = {"linear": True, "ties": True, "dare": False, "dare_ties": False}
VISION = ("merge", "first")
MAX_LAMBDA = 100.0
VISION_PREFIXES = ("visual.", "model.visual.", "vision_tower.", "model.vision_tower.")
# Copied from the first model: config, generation settings, processor, tokenizer, chat template.
CARRY_SUFFIXES = (".json", ".txt", ".jinja", ".model", ".tiktoken")
NOT_CARRIED = {"model.safetensors.index.json", "pytorch_model.bin.index.json", "trainer_state.json",
               "vrd_train_config.json", "adapter_config.json", "vrd_merge.json"}
SHARD_BYTES = 4 * 1024**3
MERGE_RECORD = "vrd_merge.json"


class MergeError(VrdError):
    """The models cannot be merged as asked (missing tensor, shape mismatch, bad weights)."""


# ---- the methods, on plain tensors -------------------------------------------------------------


def linear(tensors: Sequence[Any], weights: Sequence[float]) -> Any:
    """Weighted mean sum(w_i t_i) / sum(w_i); with weights (a, 1 - a) exactly a*A + (1 - a)*B."""
    total = float(sum(weights))
    if abs(total) < 1e-12:
        raise MergeError(f"linear merge weights {list(weights)} sum to zero")
    out = tensors[0] * float(weights[0])
    for t, w in zip(tensors[1:], weights[1:], strict=True):
        out = out + t * float(w)
    return out / total


def trim_magnitude(delta: Any, density: float) -> Any:
    """TIES trim: keep the `density` fraction of entries largest in magnitude, zero the rest."""
    import torch

    if density >= 1.0:
        return delta
    if density <= 0.0 or delta.numel() == 0:
        return torch.zeros_like(delta)
    k = max(1, int(density * delta.numel()))  # mergekit keeps at least one entry of a non-empty tensor
    flat = delta.abs().reshape(-1).float()
    keep = torch.zeros_like(flat, dtype=torch.bool)
    keep[torch.argsort(flat, descending=True, stable=True)[:k]] = True
    return delta * keep.reshape(delta.shape)


def drop_and_rescale(delta: Any, density: float, generator: Any, rescale: str = "l1") -> Any:
    """DARE: drop each entry with p = 1 - density, then rescale the survivors (see the module docstring)."""
    import torch

    if density >= 1.0:
        return delta
    if density <= 0.0:
        return torch.zeros_like(delta)
    keep = torch.rand(delta.shape, generator=generator, dtype=torch.float32) < density
    return rescale_survivors(delta, keep, density, rescale)


def rescale_survivors(delta: Any, keep: Any, density: float, rescale: str = "l1") -> Any:
    """DARE's masked delta, rescaled: `l1` as mergekit's `rescaled_masked_tensor` (same L1 norm as
    the whole delta, unless either norm is ~0), `inverse` by 1 / density, `none` as is."""
    kept = delta * keep
    if rescale == "inverse":
        return kept / density
    if rescale == "l1":
        before, after = delta.abs().sum(), kept.abs().sum()
        if before < 1e-7 or after < 1e-7:
            return kept
        return kept * (before / after)
    return kept


def elect_and_mix(deltas: Any, weights: Any, *, normalize: bool) -> Any:
    """TIES sign election over stacked deltas [n, ...]: mean (or sum) of the weighted deltas that agree."""
    import torch

    w = weights.reshape(-1, *([1] * (deltas.dim() - 1)))
    weighted = deltas * w
    elected = torch.where(weighted.sum(dim=0) >= 0, 1.0, -1.0)
    agree = (weighted.sign() == elected).to(deltas.dtype)
    mixed = (weighted * agree).sum(dim=0)
    if not normalize:
        return mixed
    divisor = (w * agree).sum(dim=0)
    divisor[divisor == 0] = 1.0
    return mixed / divisor


def task_vector_merge(base: Any, tensors: Sequence[Any], weights: Sequence[float], *, method: str,
                      density: float, lambda_: float = 1.0, generator: Any = None, normalize: bool | None = None,
                      rescale: str = "l1") -> Any:
    """TIES / DARE / DARE-TIES: base + lambda * combine(sparsify(t_i - base))."""
    import torch

    deltas = []
    for t in tensors:
        delta = t - base
        if method == "ties":
            delta = trim_magnitude(delta, density)
        else:
            delta = drop_and_rescale(delta, density, generator, rescale)
        deltas.append(delta)
    stacked = torch.stack(deltas)
    w = torch.tensor([float(x) for x in weights], dtype=stacked.dtype)
    if normalize is None:
        normalize = NORMALIZE_DEFAULT[method]
    if method in ("ties", "dare_ties"):
        mixed = elect_and_mix(stacked, w, normalize=normalize)
    else:
        mixed = (stacked * w.reshape(-1, *([1] * (stacked.dim() - 1)))).sum(dim=0)
        total = float(w.sum())
        if normalize and abs(total) >= 1e-8:  # mergekit leaves a ~zero weight sum undivided
            mixed = mixed / total
    return base + lambda_ * mixed


# ---- the recipe and the files -------------------------------------------------------------------


@dataclass
class MergeSpec:
    """One merge: the models (the first gives config and processor), their weights and the method."""

    models: list[str]
    method: str = "linear"
    weights: list[float] = field(default_factory=list)  # one per model; [] = equal weights
    base: str | None = None  # the common ancestor, needed by ties / dare / dare_ties
    density: float = 0.5  # ties: fraction kept by magnitude; dare: keep probability (1 - p)
    lambda_: float = 1.0  # scale of the merged task vector
    vision: str = "merge"  # merge the vision tower too, or take it from the first model
    seed: int = 0  # DARE's drop mask
    normalize: bool | None = None  # ties / dare: divide by the (agreeing) weights; None = mergekit's default
    rescale: str = "l1"  # dare / dare_ties: how survivors are rescaled (l1 | inverse | none)

    def validate(self) -> MergeSpec:
        if len(self.models) < 2:
            raise MergeError("merge needs at least two models")
        if self.method not in METHODS:
            raise unknown_name("merge method", self.method, METHODS)
        if self.vision not in VISION:
            raise unknown_name("vision option", self.vision, VISION)
        if not self.weights:
            self.weights = [1.0 / len(self.models)] * len(self.models)
        if len(self.weights) != len(self.models):
            raise MergeError(f"{len(self.weights)} weight(s) for {len(self.models)} models: give one per model")
        if self.method != "linear" and not self.base:
            raise MergeError(f"--method {self.method} merges task vectors relative to a base model: give --base")
        if not 0.0 < self.density <= 1.0:
            raise MergeError(f"--density {self.density}: must be in (0, 1]")
        if self.rescale not in RESCALES:
            raise unknown_name("rescale", self.rescale, RESCALES)
        if self.method == "linear" and self.normalize is False:
            raise MergeError("linear merges always divide by the weight sum; --no-normalize applies to "
                             "ties / dare / dare_ties")
        return self

    @classmethod
    def from_alpha(cls, models: Sequence[str], alpha: float, **kw: Any) -> MergeSpec:
        """Two models at alpha: weights (alpha, 1 - alpha), so alpha = 1 is the first model."""
        if len(models) != 2:
            raise MergeError(f"--alpha mixes exactly two models ({len(models)} given); use --weights for more")
        if not 0.0 <= alpha <= 1.0:
            raise MergeError(f"--alpha {alpha}: must be in [0, 1]")
        return cls(models=list(models), weights=[alpha, 1.0 - alpha], **kw)


def model_dir(name_or_path: str) -> Path:
    """A local folder holding the model's safetensors (a cached hub snapshot is accepted)."""
    from vrd.models.loading import resolve_model

    target = resolve_model(name_or_path)
    local = Path(target).expanduser()
    if local.is_dir():
        return local
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(target, local_files_only=True))
    except Exception as exc:  # noqa: BLE001 - not cached / bad id: same advice
        raise ModelNotFoundError(f"merge needs local weights; '{target}' is not a folder and not in the hub cache "
                                 f"({type(exc).__name__}). Download it (`hf download {target} --local-dir DIR`) "
                                 "and pass DIR.") from exc


class Weights:
    """Lazy access to a checkpoint's tensors across its safetensors shards."""

    def __init__(self, folder: Path) -> None:
        from safetensors import safe_open

        files = sorted(folder.glob("*.safetensors"))
        files = [f for f in files if not f.name.startswith("adapter_")]
        if not files:
            raise MergeError(f"{folder}: no *.safetensors weights (merge reads safetensors checkpoints only)")
        self.folder = folder
        self._handles = [safe_open(str(f), framework="pt") for f in files]
        self.where: dict[str, Any] = {}
        for h in self._handles:
            for key in h.keys():
                self.where[key] = h

    def keys(self) -> list[str]:
        return list(self.where)

    def get(self, key: str) -> Any:
        handle = self.where.get(key)
        if handle is None:
            raise MergeError(f"{self.folder}: has no tensor '{key}' (the models do not share one architecture)")
        return handle.get_tensor(key)


def _config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    if not path.is_file():
        raise MergeError(f"{folder}: no config.json (not a save_pretrained model folder)")
    return json.loads(path.read_text())


def _check_compatible(folders: Sequence[Path]) -> None:
    types = {str(f): _config(f).get("model_type") for f in folders}
    if len(set(types.values())) > 1:
        raise MergeError(f"models of different types cannot be merged: {types}")


def is_vision(key: str) -> bool:
    return key.startswith(VISION_PREFIXES)


def merged_tensors(spec: MergeSpec) -> Iterator[tuple[str, Any]]:
    """(name, merged tensor) in the first model's key order, computed in fp32, stored in its dtype."""
    import torch

    spec.validate()
    folders = [model_dir(m) for m in spec.models]
    base_folder = model_dir(spec.base) if spec.base else None
    _check_compatible(folders + ([base_folder] if base_folder else []))
    sources = [Weights(f) for f in folders]
    base = Weights(base_folder) if base_folder else None
    first = sources[0]
    keys = first.keys()
    for src in sources[1:]:
        extra = sorted(set(src.keys()) - set(keys))
        if extra:
            raise MergeError(f"{src.folder}: has tensor '{extra[0]}' that {first.folder} lacks "
                             "(the models do not share one architecture)")
    generator = torch.Generator().manual_seed(spec.seed)
    for key in keys:
        tensors = [s.get(key) for s in sources]
        ref = tensors[0]
        for src, t in zip(sources[1:], tensors[1:], strict=True):
            if t.shape != ref.shape:
                raise MergeError(f"{src.folder}: tensor '{key}' has shape {tuple(t.shape)}, "
                                 f"{first.folder} has {tuple(ref.shape)}")
        if not ref.is_floating_point() or (spec.vision == "first" and is_vision(key)):
            yield key, ref
            continue
        f32 = [t.to(torch.float32) for t in tensors]
        if spec.method == "linear":
            out = linear(f32, spec.weights)
        else:
            b = base.get(key)
            if b.shape != ref.shape:
                raise MergeError(f"{base.folder}: tensor '{key}' has shape {tuple(b.shape)}, "
                                 f"{first.folder} has {tuple(ref.shape)}")
            out = task_vector_merge(b.to(torch.float32), f32, spec.weights, method=spec.method,
                                    density=spec.density, lambda_=spec.lambda_, generator=generator,
                                    normalize=spec.normalize, rescale=spec.rescale)
        yield key, out.to(ref.dtype).contiguous()


def _write_shards(items: Iterator[tuple[str, Any]], folder: Path, shard_bytes: int) -> tuple[dict[str, str], int]:
    """Write safetensors shards of at most `shard_bytes`; returns (tensor name -> file, total bytes)."""
    from safetensors.torch import save_file

    shards: list[dict[str, Any]] = [{}]
    size = 0
    total_bytes = 0
    written: list[str] = []
    index: dict[str, str] = {}

    def flush() -> None:
        nonlocal size
        if not shards[-1]:
            return
        tmp_name = f"part-{len(written):05d}.safetensors"
        save_file(shards[-1], str(folder / tmp_name), metadata={"format": "pt"})
        for name in shards[-1]:
            index[name] = tmp_name
        written.append(tmp_name)
        shards[-1] = {}
        size = 0

    for name, tensor in items:
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > shard_bytes:
            flush()
        shards[-1][name] = tensor
        size += nbytes
        total_bytes += nbytes
    flush()
    if len(written) == 1:
        os.replace(folder / written[0], folder / "model.safetensors")
        return {n: "model.safetensors" for n in index}, total_bytes
    total = len(written)
    names = {old: f"model-{i + 1:05d}-of-{total:05d}.safetensors" for i, old in enumerate(written)}
    for old, new in names.items():
        os.replace(folder / old, folder / new)
    return {n: names[f] for n, f in index.items()}, total_bytes


def _carry_files(src: Path, dst: Path) -> list[str]:
    copied = []
    for f in sorted(src.iterdir()):
        if f.is_file() and f.suffix in CARRY_SUFFIXES and f.name not in NOT_CARRIED:
            shutil.copy2(f, dst / f.name)
            copied.append(f.name)
    return copied


def merge_models(spec: MergeSpec, out: str | os.PathLike, *, overwrite: bool = False,
                 shard_bytes: int = SHARD_BYTES, progress: Callable[[str], None] | None = None) -> Path:
    """Merge into `out` (staged in a sibling folder and swapped in), loadable by the Auto classes."""
    from vrd.outputs import output_lock

    spec.validate()
    out = Path(out)
    with output_lock(out, "merge"):
        return _merge_locked(spec, out, overwrite=overwrite, shard_bytes=shard_bytes, progress=progress)


def _merge_locked(spec: MergeSpec, out: Path, *, overwrite: bool, shard_bytes: int,
                  progress: Callable[[str], None] | None) -> Path:
    from vrd.outputs import LOCK_DIR, staging_beside

    if any(p.name != LOCK_DIR for p in out.iterdir()) and not overwrite:
        raise MergeError(f"{out}: already exists and is not empty (pass --overwrite to replace it)")
    # Staging also removes the staging folders (whole model copies) of merges that were killed.
    with staging_beside(out) as staging:
        stage = staging.path
        index, total = _write_shards(merged_tensors(spec), stage, shard_bytes)
        files = sorted(set(index.values()))
        if len(files) > 1:
            (stage / "model.safetensors.index.json").write_text(json.dumps(
                {"metadata": {"total_size": total}, "weight_map": index}, indent=2))
        carried = _carry_files(model_dir(spec.models[0]), stage)
        record = {**asdict(spec), "files": files, "carried_from_first": carried}
        (stage / MERGE_RECORD).write_text(json.dumps(record, indent=2))
        if progress:
            progress(f"merged {len(index)} tensors ({spec.method}, weights {spec.weights})")
        # One atomic swap: a kill leaves the earlier model or the new one, never a half-deleted one.
        staging.swap_in(out, "merge")
    return out


def parse_floats(text: str | None, what: str) -> list[float]:
    """'0,0.25,0.5' -> [0.0, 0.25, 0.5], with the option named on a bad value."""
    values = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise VrdError(f"{what} {text!r}: '{part}' is not a number") from None
    return values


@dataclass
class MergeConfig(Config):
    """Settings of `vrd merge` (the models and --out are its arguments)."""

    method: str = setting("linear", help="linear | ties | dare | dare_ties.")
    alpha: list[float] = setting(default_factory=list, cli_type=str,
                                 help="Two models: weight of the first (A*alpha + B*(1-alpha)); a comma list "
                                      "sweeps, e.g. 0,0.25,0.5,0.75,1.")
    weights: list[float] = setting(default_factory=list, cli_type=str,
                                   help="One weight per model, comma-separated (default equal); instead of --alpha.")
    base: str | None = setting(None, help="Common base model (ties / dare task vectors).")
    density: float = setting(0.5, help="ties: fraction kept by magnitude; dare: keep probability 1-p.", above=0,
                             at_most=1)
    # a negative scale subtracts the task vector (task arithmetic's negation); far past +-100 the
    # merged weights overflow bf16 / fp16 and the model is garbage
    lambda_: float = setting(1.0, flags=("--lambda",), help="Scale of the merged task vector (ties / dare).",
                             at_least=-MAX_LAMBDA, at_most=MAX_LAMBDA)
    vision: str = setting("merge", help="merge the vision tower too, or keep the first's.")
    seed: int = seed_setting("Seed of DARE's drop mask.")
    normalize: bool | None = setting(None, help="ties / dare: divide by the (agreeing) weights; default as "
                                                "mergekit (on for ties, off for dare and dare_ties).")
    rescale: str = setting("l1", help="dare: rescale survivors to keep the delta's L1 norm (l1, mergekit's), "
                                      "by 1/density (inverse, the paper's) or not (none).")
    overwrite: bool = setting(False, help="Replace an existing --out / merged points.")
    eval_benchmarks: list[str] = setting(default_factory=list, flags=("--eval",), cli_type=str,
                                         help="Benchmarks to evaluate each merged model on (as `vrd eval "
                                              "--benchmarks`).")
    eval_limit: int | None = setting(None, help="First N problems of each benchmark.", at_least=1)
    max_new_tokens: int = setting(2048, help="Eval generation length.", at_least=1)
    template: str = setting("math", help="Eval prompt template.")
    paths: dict[str, str] = setting(default_factory=dict, flags=("--path",), cli_type=list[str],
                                    help="NAME=DIR local benchmark copy (repeatable).")

    def __post_init__(self) -> None:
        for name, flag in (("alpha", "--alpha"), ("weights", "--weights")):
            value = getattr(self, name)
            setattr(self, name, parse_floats(value, flag) if isinstance(value, str) else [float(v) for v in value])
        if isinstance(self.eval_benchmarks, str):
            self.eval_benchmarks = [b.strip() for b in self.eval_benchmarks.split(",") if b.strip()]
        if isinstance(self.paths, list | tuple):
            from vrd.eval.data import parse_paths

            self.paths = parse_paths([str(p) for p in self.paths])
        if self.alpha and self.weights:
            raise ConfigError("give --alpha (two models) or --weights (one per model), not both")
        if self.method not in METHODS:
            raise unknown_name("merge method", self.method, METHODS)
        if self.vision not in VISION:
            raise unknown_name("vision option", self.vision, VISION)
        if self.rescale not in RESCALES:
            raise unknown_name("rescale", self.rescale, RESCALES)
        # A sweep merges and evaluates point after point: a bad value at the end must not cost the others.
        for name, flag in (("alpha", "--alpha"), ("weights", "--weights")):
            for value in getattr(self, name):
                check_number(flag, value)
        for alpha in self.alpha:
            if not 0.0 <= alpha <= 1.0:
                raise ConfigError(f"--alpha {alpha:g}: must be in [0, 1]")
        from vrd.prompts import get_template

        get_template(self.template)
        if self.eval_benchmarks:
            from vrd.eval.data import check_benchmark_names

            check_benchmark_names(self.eval_benchmarks, self.paths)

    def spec_kw(self) -> dict[str, Any]:
        return {"method": self.method, "base": self.base, "density": self.density, "lambda_": self.lambda_,
                "vision": self.vision, "seed": self.seed, "normalize": self.normalize, "rescale": self.rescale}


def alpha_label(alpha: float) -> str:
    return f"alpha-{alpha:g}"


def _same_recipe(folder: Path, spec: MergeSpec) -> bool:
    record = folder / MERGE_RECORD
    if not record.is_file():
        return False
    done = json.loads(record.read_text())
    return all(done.get(k) == v for k, v in asdict(spec).items())


def sweep(models: Sequence[str], alphas: Sequence[float], out: str | os.PathLike, *,
          eval_config: Any | None = None, overwrite: bool = False,
          progress: Callable[[str], None] | None = None, **spec_kw: Any) -> dict[str, Any]:
    """Merge two models at each alpha into OUT/models/alpha-A and, given an EvalConfig, evaluate each
    into OUT/eval/alpha-A with vrd's eval runner; rerunning skips merges already on disk with the
    same recipe and problems already answered. Writes OUT/sweep.json (alpha -> accuracies)."""

    from vrd.outputs import output_lock

    if not alphas:
        raise MergeError("--alpha: give at least one value")
    out = Path(out)
    with output_lock(out, "merge"):
        return _sweep_locked(models, alphas, out, eval_config=eval_config, overwrite=overwrite, progress=progress,
                             **spec_kw)


def _sweep_locked(models: Sequence[str], alphas: Sequence[float], out: Path, *, eval_config: Any | None,
                  overwrite: bool, progress: Callable[[str], None] | None, **spec_kw: Any) -> dict[str, Any]:
    from dataclasses import replace

    points = []
    for alpha in alphas:
        spec = MergeSpec.from_alpha(models, alpha, **spec_kw).validate()
        folder = out / "models" / alpha_label(alpha)
        if overwrite or not _same_recipe(folder, spec):
            merge_models(spec, folder, overwrite=True, progress=progress)
        elif progress:
            progress(f"{alpha_label(alpha)}: merged model already on disk, kept")
        point: dict[str, Any] = {"alpha": alpha, "model": str(folder)}
        if eval_config is not None:
            from vrd.eval.runner import run_eval

            run_dir = out / "eval" / alpha_label(alpha)
            results = run_eval(replace(eval_config, model=str(folder)), run_dir)
            point["eval"] = str(run_dir)
            point["mean_accuracy"] = results.get("mean_accuracy")
            point["accuracy"] = {name: b.get("accuracy") for name, b in results["benchmarks"].items()}
            if progress:
                progress(f"{alpha_label(alpha)}: mean accuracy {point['mean_accuracy']}")
        points.append(point)
    summary = {"models": list(models), "method": spec_kw.get("method", "linear"), "points": points}
    from vrd.outputs import write_text_atomic

    write_text_atomic(out / "sweep.json", json.dumps(summary, indent=2))
    return summary

"""vLLM offline engine: the fast path on GPUs.

vLLM is imported only when this engine is built, so the package stays importable (and the
CLI fast) on machines without it. Requests go through `LLM.chat` with OpenAI-style parts,
PIL images passed as `image_pil` parts, so vLLM applies the model's own chat template and
multimodal processor exactly as `vllm serve` would.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vrd.contract import IMAGE_MARK
from vrd.engines.base import Completion, Engine, GenerationRequest, SamplingParams
from vrd.errors import ConfigError, EnvironmentNotReadyError, unknown_name
from vrd.models.teachers import resolve_teacher

log = logging.getLogger(__name__)

ALTERNATIVES = (
    "use `--backend hf` (transformers, works on CPU and GPU), or start `vllm serve MODEL` on a GPU host "
    "and use `--backend openai --base-url http://HOST:8000/v1`"
)


def vllm_unavailable_reason() -> str | None:
    """Why the offline vLLM engine cannot run here, or None if it can."""
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        return "vllm is not installed (`pip install 'vrd[vllm]'`, needs a CUDA GPU)"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "no CUDA GPU is visible (vllm's offline engine needs one)"
    return None


def visible_gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _import_vllm() -> Any:
    """The vllm module (one seam, so tests can hand in a stand-in that enforces vLLM's rules)."""
    import vllm

    return vllm


# Headroom inside vLLM's memory share for the KV cache and activations: weights may take at most
# this fraction of `gpu_memory_utilization x GPU memory` on each GPU.
WEIGHT_SHARE = 0.7


@dataclass
class ParallelPlan:
    tensor_parallel_size: int
    replicas: int  # how many copies the visible GPUs could hold (run them with --executor ray or --shard)
    warning: str | None = None


def plan_tensor_parallel(head_counts: list[int], weight_bytes: float | None, gpu_bytes: float | None,
                         n_gpus: int, gpu_memory_utilization: float = 0.9) -> ParallelPlan:
    """The smallest tensor-parallel size that divides every attention-head count and fits the weights.

    vLLM shards attention heads (the language model's and the vision encoder's) evenly, so a
    size that does not divide them fails at start-up; and a small teacher sharded over every
    GPU runs slower than one copy per GPU. The GPUs left over hold replicas.
    """
    n_gpus = max(1, n_gpus)
    divisors = [d for d in range(1, n_gpus + 1) if all(h % d == 0 for h in head_counts if h)]
    if not weight_bytes or not gpu_bytes:
        tp = divisors[0]
        return ParallelPlan(tp, n_gpus // tp)
    budget = gpu_bytes * gpu_memory_utilization * WEIGHT_SHARE
    for d in divisors:
        if weight_bytes / d <= budget:
            return ParallelPlan(d, n_gpus // d)
    tp = divisors[-1]
    gib = 1024**3
    return ParallelPlan(tp, n_gpus // tp, (
        f"the weights ({weight_bytes / gib:.0f} GiB) need more than {n_gpus} visible GPU(s) of "
        f"{gpu_bytes / gib:.0f} GiB hold at gpu_memory_utilization={gpu_memory_utilization} "
        f"(tensor parallel {tp}, the largest size dividing the head counts {sorted(set(head_counts))}); "
        "expect an out-of-memory error at start-up: use more GPUs or a smaller teacher"))


def model_shape(target: str, spec: Any) -> tuple[list[int], float | None]:
    """(attention-head counts of the text and vision towers, weight bytes) from a local checkpoint,
    else from the teacher registry's parameter count (bf16); unknown parts are empty / None."""
    heads: list[int] = []
    weight_bytes: float | None = None
    path = Path(target)
    config_file = path / "config.json"
    if not config_file.is_file() and not path.exists():
        try:  # a hub id already in the local cache; never a download
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(target, "config.json")
            if isinstance(cached, str):
                config_file = Path(cached)
        except Exception:  # noqa: BLE001 - the registry's figures are the fallback
            pass
    if config_file.is_file():
        try:
            config = json.loads(config_file.read_text())
        except ValueError:
            config = {}
        for section in (config, config.get("text_config") or {}, config.get("vision_config") or {}):
            for key in ("num_attention_heads", "num_heads"):
                if isinstance(section.get(key), int):
                    heads.append(section[key])
        folder = config_file.parent
        sizes = [f.stat().st_size for f in folder.glob("*.safetensors")] or [f.stat().st_size for f in folder.glob("*.bin")]
        weight_bytes = float(sum(sizes)) or None
    if weight_bytes is None and spec is not None and spec.params_b:
        weight_bytes = spec.params_b * 1e9 * 2
    if not heads and spec is not None:
        heads = list(spec.extra.get("head_counts", ()))
    return heads, weight_bytes


def gpu_memory_bytes() -> float | None:
    try:
        import torch

        if torch.cuda.is_available():
            return float(torch.cuda.get_device_properties(0).total_memory)
    except Exception:  # noqa: BLE001 - no GPU, no figure
        pass
    return None


# Options this engine reads itself; every other option goes to `vllm.LLM` (checked against EngineArgs).
OWN_OPTIONS = ("llm_kwargs", "limit_images")


def finish_reason(reason: str | None) -> str:
    """vLLM's reason in vrd's terms: an aborted or unfinished output is an error, not a clean stop."""
    if reason in ("stop", "length"):
        return reason
    return "error"


def _check_llm_options(vllm: Any, options: dict[str, Any]) -> None:
    """Refuse an option vLLM would not take, naming it, instead of dropping it or failing deep inside."""
    engine_args = getattr(vllm, "EngineArgs", None)
    if engine_args is None or not dataclasses.is_dataclass(engine_args) or not options:
        return
    known = {f.name for f in dataclasses.fields(engine_args)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise unknown_name("vllm engine option", unknown[0], sorted(known | set(OWN_OPTIONS)))


def to_vllm_messages(request: GenerationRequest) -> list[dict[str, Any]]:
    """OpenAI-style chat with PIL images as `image_pil` parts, in `<image>` order."""
    msgs: list[dict[str, Any]] = []
    for m in request.messages():
        parts = []
        for part in m["content"]:
            if part["type"] == "image":
                parts.append({"type": "image_pil", "image_pil": part["image"].convert("RGB")})
            else:
                parts.append({"type": "text", "text": part["text"]})
        msgs.append({"role": m["role"], "content": parts})
    return msgs


class VLLMEngine(Engine):
    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int | None = None,
        max_images: int | None = None,
        max_model_len: int | None = 8192,
        max_pixels: int | None = None,
        min_pixels: int | None = None,
        gpu_memory_utilization: float = 0.9,
        dtype: str = "auto",
        seed: int = 0,
        **options: Any,
    ) -> None:
        super().__init__(model, **options)
        reason = vllm_unavailable_reason()
        if reason is not None:
            raise EnvironmentNotReadyError(f"the vllm engine cannot run here: {reason}. Instead, {ALTERNATIVES}.")
        vllm = _import_vllm()

        target, spec = resolve_teacher(str(model))
        if max_pixels is None and spec is not None:
            max_pixels = spec.max_pixels
        if min_pixels is None and spec is not None:
            min_pixels = spec.min_pixels
        self.target = target
        heads, weight_bytes = model_shape(target, spec)
        plan = plan_tensor_parallel(heads, weight_bytes, gpu_memory_bytes(), visible_gpu_count(),
                                    gpu_memory_utilization)
        if tensor_parallel_size:
            bad = [h for h in heads if h % int(tensor_parallel_size)]
            if bad:
                raise ConfigError(
                    f"tensor_parallel_size={tensor_parallel_size} does not divide the attention-head counts "
                    f"{sorted(set(heads))} of {model}; vLLM shards heads evenly. Use one of "
                    f"{[d for d in range(1, 65) if all(h % d == 0 for h in heads)][:8]}")
            self.tensor_parallel_size = int(tensor_parallel_size)
        else:
            self.tensor_parallel_size = plan.tensor_parallel_size
            if plan.warning:
                log.warning("%s: %s", model, plan.warning)
            if plan.replicas > 1:
                log.info("%s fits on %d GPU(s); %d visible GPUs could hold %d copies: run them with "
                         "`--executor ray` or one `--shard I/N` per copy (CUDA_VISIBLE_DEVICES)",
                         model, plan.tensor_parallel_size, visible_gpu_count(), plan.replicas)
        self.replicas = plan.replicas if not tensor_parallel_size else None
        self.max_images = max_images or int(options.pop("limit_images", 4))
        self.max_model_len = max_model_len
        self.max_pixels, self.min_pixels = max_pixels, min_pixels
        mm_kwargs = {k: v for k, v in (("max_pixels", max_pixels), ("min_pixels", min_pixels)) if v}
        llm_kwargs: dict[str, Any] = {
            "model": target,
            "tensor_parallel_size": self.tensor_parallel_size,
            # No video inputs: vLLM would otherwise reserve encoder memory for a video per prompt.
            "limit_mm_per_prompt": {"image": self.max_images, "video": 0},
            "gpu_memory_utilization": gpu_memory_utilization,
            "dtype": dtype,
            "seed": seed,
        }
        if max_model_len:
            llm_kwargs["max_model_len"] = max_model_len
        if mm_kwargs:
            llm_kwargs["mm_processor_kwargs"] = mm_kwargs
        passthrough = {k: v for k, v in options.items() if k not in OWN_OPTIONS}
        _check_llm_options(vllm, passthrough)
        llm_kwargs.update(passthrough)  # enforce_eager, max_num_seqs, enable_prefix_caching, ...
        llm_kwargs.update(options.get("llm_kwargs") or {})
        self.llm_kwargs = {k: v for k, v in llm_kwargs.items() if k != "model"}
        self.llm = vllm.LLM(**llm_kwargs)

    def sampling_kwargs(self, params: SamplingParams) -> dict[str, Any]:
        """vLLM SamplingParams fields: every knob explicit, greedy asked once (vLLM refuses n>1 greedy)."""
        greedy = params.greedy
        return {
            "n": 1 if greedy else int(params.n),
            "temperature": 0.0 if greedy else float(params.temperature),
            "top_p": 1.0 if greedy else float(params.top_p),
            "top_k": 0 if greedy else int(params.top_k),
            "repetition_penalty": float(params.repetition_penalty),
            "max_tokens": int(params.max_new_tokens),
            "seed": params.seed,
        }

    def generate(self, requests: list[GenerationRequest], params: SamplingParams) -> list[list[Completion]]:
        if not requests:
            return []
        params.validate()
        vllm = _import_vllm()
        for i, r in enumerate(requests):
            if len(r.images) > self.max_images:
                raise ConfigError(
                    f"request {i} has {len(r.images)} images (prompt marks: {r.prompt.count(IMAGE_MARK)}); "
                    f"the vllm engine was built with max_images={self.max_images}"
                )
        if self.max_model_len and params.max_new_tokens >= self.max_model_len:
            raise ConfigError(
                f"max_new_tokens {params.max_new_tokens} leaves no room for the prompt in the vllm engine's "
                f"max_model_len {self.max_model_len}; raise it with --engine-option max_model_len=N")
        sampling = vllm.SamplingParams(**self.sampling_kwargs(params))
        outputs = self.llm.chat([to_vllm_messages(r) for r in requests], sampling, use_tqdm=False)
        results: list[list[Completion]] = []
        for out in outputs:
            comps = [Completion(text=o.text, n_tokens=len(o.token_ids), finish_reason=finish_reason(o.finish_reason))
                     for o in out.outputs]
            if params.greedy and comps:
                comps = [comps[0]] + [copy.copy(comps[0]) for _ in range(params.n - 1)]
            results.append(comps)
        return results

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": str(self.model),
            "resolved": self.target,
            "tensor_parallel_size": self.tensor_parallel_size,
            "max_images": self.max_images,
            "max_model_len": self.max_model_len,
            "max_pixels": self.max_pixels,
            "min_pixels": self.min_pixels,
            "replicas_possible": self.replicas,
            "llm_kwargs": {k: v for k, v in self.llm_kwargs.items() if isinstance(v, (str, int, float, bool, dict))},
        }

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        self.llm = None
        del llm
        import gc

        gc.collect()
        try:
            import torch

            torch.cuda.empty_cache()
        except Exception:  # noqa: BLE001 - best effort on shutdown
            pass

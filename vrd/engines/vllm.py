"""vLLM offline engine: the fast path on GPUs.

vLLM is imported only when this engine is built, so the package stays importable (and the
CLI fast) on machines without it. Requests go through `LLM.chat` with OpenAI-style parts,
PIL images passed as `image_pil` parts, so vLLM applies the model's own chat template and
multimodal processor exactly as `vllm serve` would.
"""

from __future__ import annotations

import logging
from typing import Any

from vrd.contract import IMAGE_MARK
from vrd.engines.base import Completion, Engine, GenerationRequest, SamplingParams
from vrd.engines.teachers import resolve_teacher
from vrd.errors import EnvironmentNotReadyError, VrdError

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
        import vllm

        target, spec = resolve_teacher(str(model))
        if max_pixels is None and spec is not None:
            max_pixels = spec.max_pixels
        if min_pixels is None and spec is not None:
            min_pixels = spec.min_pixels
        self.target = target
        self.tensor_parallel_size = tensor_parallel_size or max(1, visible_gpu_count())
        if spec is not None and self.tensor_parallel_size < spec.min_gpus:
            log.warning("%s usually needs %d GPUs; %d visible", model, spec.min_gpus, self.tensor_parallel_size)
        self.max_images = max_images or int(options.pop("limit_images", 4))
        self.max_model_len = max_model_len
        self.max_pixels, self.min_pixels = max_pixels, min_pixels
        mm_kwargs = {k: v for k, v in (("max_pixels", max_pixels), ("min_pixels", min_pixels)) if v}
        llm_kwargs: dict[str, Any] = {
            "model": target,
            "tensor_parallel_size": self.tensor_parallel_size,
            "limit_mm_per_prompt": {"image": self.max_images},
            "gpu_memory_utilization": gpu_memory_utilization,
            "dtype": dtype,
            "seed": seed,
        }
        if max_model_len:
            llm_kwargs["max_model_len"] = max_model_len
        if mm_kwargs:
            llm_kwargs["mm_processor_kwargs"] = mm_kwargs
        llm_kwargs.update(options.get("llm_kwargs") or {})
        self.llm = vllm.LLM(**llm_kwargs)

    def generate(self, requests: list[GenerationRequest], params: SamplingParams) -> list[list[Completion]]:
        if not requests:
            return []
        from vllm import SamplingParams as VSamplingParams

        for i, r in enumerate(requests):
            if len(r.images) > self.max_images:
                raise VrdError(
                    f"request {i} has {len(r.images)} images (prompt marks: {r.prompt.count(IMAGE_MARK)}); "
                    f"the vllm engine was built with max_images={self.max_images}"
                )
        sampling = VSamplingParams(
            n=params.n,
            temperature=max(0.0, float(params.temperature)),
            top_p=1.0 if params.greedy else float(params.top_p),
            max_tokens=int(params.max_new_tokens),
            seed=params.seed,
        )
        outputs = self.llm.chat([to_vllm_messages(r) for r in requests], sampling, use_tqdm=False)
        results: list[list[Completion]] = []
        for out in outputs:
            comps = []
            for o in out.outputs:
                finish = "length" if o.finish_reason == "length" else "stop"
                comps.append(Completion(text=o.text, n_tokens=len(o.token_ids), finish_reason=finish))
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

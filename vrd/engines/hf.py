"""transformers in-process: the engine that works everywhere, CPU included.

It batches prompts (left-padded so every row's last token is its own) and asks
`generate` for `n` sequences per prompt in one call; prompts are length-sorted inside a
call so a batch holds similar lengths and pads little.
"""

from __future__ import annotations

import copy
from typing import Any

from vrd.engines.base import Completion, Engine, GenerationRequest, SamplingParams
from vrd.engines.failures import RequestRefused
from vrd.errors import unknown_name
from vrd.models.loading import load_model_and_processor, set_pixel_budget
from vrd.models.teachers import resolve_teacher

HF_OPTIONS = ["batch_size", "max_pixels", "min_pixels", "device", "dtype", "device_map", "attn_implementation"]


class HFEngine(Engine):
    name = "hf"

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 8,
        max_pixels: int | None = None,
        min_pixels: int | None = None,
        device: str = "auto",
        dtype: str = "auto",
        device_map: str | dict[str, Any] | None = None,
        attn_implementation: str | None = None,
        **options: Any,
    ) -> None:
        if options:
            raise unknown_name("hf engine option", sorted(options)[0], HF_OPTIONS)
        super().__init__(model, batch_size=batch_size, max_pixels=max_pixels, min_pixels=min_pixels,
                         device=device, dtype=dtype, device_map=device_map, attn_implementation=attn_implementation)
        target, spec = resolve_teacher(str(model))
        if max_pixels is None and spec is not None:
            max_pixels = spec.max_pixels
        if min_pixels is None and spec is not None:
            min_pixels = spec.min_pixels
        self.target = target
        self.batch_size = max(1, int(batch_size))
        # device_map="auto" shards a teacher too big for one GPU across all visible ones (accelerate's
        # big-model inference); attn_implementation picks e.g. "flash_attention_2" or "sdpa".
        model_kwargs = {k: v for k, v in (("device_map", device_map), ("attn_implementation", attn_implementation))
                        if v is not None}
        self.hf_model, self.processor = load_model_and_processor(target, device=device, dtype=dtype, **model_kwargs)
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        self.tokenizer.padding_side = "left"
        self.max_pixels, self.min_pixels = set_pixel_budget(self.processor, max_pixels, min_pixels)
        self.eos_ids = _eos_ids(self.hf_model, self.tokenizer)
        self.pad_id = self.tokenizer.pad_token_id

    # -- public --------------------------------------------------------------------------

    def generate(self, requests: list[GenerationRequest], params: SamplingParams) -> list[list[Completion]]:
        import torch

        if not requests:
            return []
        params.validate()
        texts = [self.render(r) for r in requests]
        # Longest first: the biggest batch runs (and fails on memory, if it will) first.
        order = sorted(range(len(requests)), key=lambda i: -_length_key(texts[i], requests[i]))
        if params.seed is not None:
            torch.manual_seed(params.seed)
        results: list[list[Completion] | None] = [None] * len(requests)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch = self._generate_split_on_oom([texts[i] for i in idx], [requests[i] for i in idx], params)
            for i, comps in zip(idx, batch, strict=True):
                results[i] = comps
        return [r or [] for r in results]

    def render(self, request: GenerationRequest) -> str:
        """The chat-templated prompt text, with the model's own image placeholders."""
        return self.processor.apply_chat_template(request.messages(), tokenize=False, add_generation_prompt=True)

    def describe(self) -> dict[str, Any]:
        return {
            "engine": self.name,
            "model": str(self.model),
            "resolved": self.target,
            "batch_size": self.batch_size,
            "max_pixels": self.max_pixels,
            "min_pixels": self.min_pixels,
            "device": str(self.hf_model.device),
            "dtype": str(self.hf_model.dtype).replace("torch.", ""),
            "device_map": self.options.get("device_map"),
            "attn_implementation": getattr(self.hf_model.config, "_attn_implementation", None),
        }

    def close(self) -> None:
        model = getattr(self, "hf_model", None)
        if model is None:
            return
        self.hf_model = None
        import gc

        import torch

        del model
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # -- internals -----------------------------------------------------------------------

    def prepare_inputs(self, texts: list[str], requests: list[GenerationRequest]) -> Any:
        images = [img.convert("RGB") for r in requests for img in r.images]
        inputs = self.processor(text=texts, images=images or None, padding=True, return_tensors="pt")
        return inputs.to(self.hf_model.device)

    def generation_kwargs(self, params: SamplingParams) -> dict[str, Any]:
        config = copy.deepcopy(self.hf_model.generation_config)
        config.max_new_tokens = int(params.max_new_tokens)
        # Greedy copies are identical: decode once and repeat (transformers refuses n>1 without sampling).
        config.num_return_sequences = 1 if params.greedy else int(params.n)
        config.pad_token_id = self.pad_id
        config.eos_token_id = list(self.eos_ids)
        # Every knob is set, so a checkpoint's generation config (Qwen: repetition_penalty 1.05, some
        # top_k 1) cannot change the distribution: the same request samples the same way on every backend.
        config.repetition_penalty = float(params.repetition_penalty)
        for neutral in ("min_p", "typical_p", "epsilon_cutoff", "eta_cutoff", "no_repeat_ngram_size"):
            if getattr(config, neutral, None) is not None:
                setattr(config, neutral, None)
        if params.greedy:
            config.do_sample = False
            config.temperature = None
            config.top_p = None
            config.top_k = None
        else:
            config.do_sample = True
            config.temperature = float(params.temperature)
            config.top_p = float(params.top_p)
            config.top_k = int(params.top_k)  # 0 = no top-k cut
        return {"generation_config": config}

    def _generate_split_on_oom(
        self, texts: list[str], requests: list[GenerationRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        """A batch that does not fit on the GPU is halved (recursively) instead of failing the run.

        The retry runs after the `except` block has ended: inside it, the exception's traceback
        keeps the failed batch's frames, and so its activations, alive while the halves run.
        """
        import torch

        try:
            return self._generate_batch(texts, requests, params)
        except torch.cuda.OutOfMemoryError:
            if len(requests) == 1:
                raise
        _free_accelerator_memory()
        half = len(requests) // 2
        return (self._generate_split_on_oom(texts[:half], requests[:half], params)
                + self._generate_split_on_oom(texts[half:], requests[half:], params))

    def _generate_batch(
        self, texts: list[str], requests: list[GenerationRequest], params: SamplingParams
    ) -> list[list[Completion]]:
        import torch

        inputs = self.prepare_inputs(texts, requests)
        self._refuse_over_context(inputs)
        with torch.inference_mode():
            out = self.hf_model.generate(**inputs, **self.generation_kwargs(params))
        new = out[:, inputs["input_ids"].shape[1]:].tolist()
        completions = [self._completion(row, params.max_new_tokens) for row in new]
        if params.greedy:
            return [[completions[i]] + [copy.copy(completions[i]) for _ in range(params.n - 1)]
                    for i in range(len(requests))]
        n = params.n
        return [completions[i * n:(i + 1) * n] for i in range(len(requests))]

    def _refuse_over_context(self, inputs: Any) -> None:
        """A prompt that fills the model's context leaves no room for one token: refuse it, as vLLM does.

        Generating anyway runs past the positions the model was trained on (garbage graded as an answer)
        or, with learned position embeddings, indexes past the table (a device-side assert that breaks
        every later request). The refusal (`RequestRefused`) costs only its problem: a failed batch is
        retried one request at a time, and the longest prompts come first, so little work is lost.
        """
        limit = self.context_length
        if not limit:
            return
        lengths = inputs["attention_mask"].sum(dim=1).tolist()
        longest = int(max(lengths))
        if longest >= limit:
            raise RequestRefused(f"prompt of {longest} tokens (images included) fills the model's context of {limit} "
                                 "tokens (max_position_embeddings): no room to generate")

    @property
    def context_length(self) -> int | None:
        """The text model's max_position_embeddings; None when the config does not say."""
        config = self.hf_model.config
        text = config.get_text_config() if hasattr(config, "get_text_config") else getattr(config, "text_config", config)
        value = getattr(text, "max_position_embeddings", None) or getattr(config, "max_position_embeddings", None)
        return int(value) if isinstance(value, int) and value > 0 else None

    def _completion(self, row: list[int], max_new_tokens: int) -> Completion:
        """Cut at the first eos (kept in the count); rows with no eos ran out of budget."""
        end = next((k for k, t in enumerate(row) if t in self.eos_ids), None)
        if end is None:
            tokens = row
            # A row without eos only stops early if everything else stopped; then it is padding-free.
            finish = "length" if len(row) >= max_new_tokens else "stop"
            n_tokens = len(row)
        else:
            tokens = row[:end]
            finish = "stop"
            n_tokens = end + 1
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        return Completion(text=text, n_tokens=n_tokens, finish_reason=finish)


def _free_accelerator_memory() -> None:
    import gc

    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    eos = model.generation_config.eos_token_id
    if isinstance(eos, int):
        ids.add(eos)
    elif eos:
        ids.update(int(e) for e in eos)
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return ids


def _length_key(text: str, request: GenerationRequest) -> int:
    # Characters stand in for tokens; each image adds roughly its pixel count / (28*28) tokens.
    return len(text) + sum((img.size[0] * img.size[1]) // 784 for img in request.images)

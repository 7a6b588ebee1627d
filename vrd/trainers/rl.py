"""`vrd train rl`: TRL's GRPOTrainer on a VLM, as GRPO, DAPO or Dr. GRPO.

`VrdGRPOTrainer` is GRPOTrainer with these additions, each an override of one method:
- `_calculate_rewards`: keeps the gathered per-function rewards so the accuracy column can
  be read per group;
- `_generate_and_score_completions`: logs the fraction of zero-advantage groups (all-correct,
  all-wrong) and, with `dynamic_sampling`, drops those groups from the loss (see
  `vrd/trainers/dynamic_sampling.py` for exactly how);
- `_generate_single_turn`: the vLLM image-token workaround below;
- `_get_train_sampler` and `training_step`: a run resumed from a checkpoint draws the prompts,
  and regenerates at the micro-steps, that the uninterrupted run would have (see `EpochSampler`).
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trl import GRPOTrainer

from vrd.errors import EnvironmentNotReadyError, VrdError
from vrd.trainers.config import VrdRLConfig
from vrd.trainers.resume import CheckpointMixin, run_identity

log = logging.getLogger(__name__)


def collapse_image_runs(ids: list[int], image_token_id: int) -> list[int]:
    """Replace each run of image-pad tokens with a single one.

    Workaround for huggingface/trl#6294 (fix PRs #6718/#6719 still open in TRL 1.16): in vLLM
    colocate mode GRPOTrainer passes prompt ids that the HF processor has already expanded
    (one `<|image_pad|>` per visual token) together with the raw images, and vLLM expands each
    placeholder again, so the prompt vLLM sees is corrupted and rollouts are garbage. vLLM
    expects one placeholder per image, which is what this restores. The training forward pass
    keeps TRL's expanded ids; only the ids sent to vLLM are collapsed.
    """
    out: list[int] = []
    for tok in ids:
        if tok == image_token_id and out and out[-1] == image_token_id:
            continue
        out.append(tok)
    return out


# Images a rollout prompt may carry in colocated vLLM (the vllm engine's default too).
COLOCATED_MAX_IMAGES = 4


def check_rollouts(outputs: Any) -> Any:
    """vLLM's outputs, refused if any rollout was aborted or left unfinished.

    TRL reads only the token ids of colocated rollouts and calls a completion without EOS
    truncated, so an aborted request would be trained on as a cut-off answer (and, without
    `mask_truncated_completions`, rewarded). vrd's own vLLM engine treats abort as an error
    (`vrd.engines.vllm.finish_reason`); RL does the same, and the run resumes from its last
    checkpoint instead of learning from outputs the engine dropped.
    """
    from vrd.engines.vllm import finish_reason

    reasons = [getattr(c, "finish_reason", None) for out in outputs for c in getattr(out, "outputs", ())]
    bad = [r for r in reasons if finish_reason(r) == "error"]
    if bad:
        raise VrdError(
            f"vLLM did not finish {len(bad)} of {len(reasons)} rollouts (finish reason {sorted(set(map(str, bad)))}); "
            "these would be trained on as truncated answers. Check the vLLM log (an engine error, or prompts over "
            "vllm_max_model_length), then rerun the same command to resume from the last checkpoint")
    return outputs


@contextlib.contextmanager
def colocated_vllm_limits(max_images: int = COLOCATED_MAX_IMAGES) -> Iterator[None]:
    """While TRL builds its colocated `vllm.LLM`, give it multimodal limits (images only, no video)
    and check every rollout's finish reason (`check_rollouts`).

    TRL 1.16 passes no `limit_mm_per_prompt`, so vLLM budgets encoder memory and profiling for
    video inputs a math RL run never sends. TRL looks `LLM` up in its own module when it builds
    the engine, so it is wrapped there for the duration of `GRPOTrainer.__init__`.
    """
    import trl.generation.vllm_generation as generation

    original = getattr(generation, "LLM", None)
    if original is None:  # vllm is not installed; TRL will not build an engine
        yield
        return

    def build(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("limit_mm_per_prompt", {"image": max_images, "video": 0})
        llm = original(*args, **kwargs)
        generate = getattr(llm, "generate", None)
        if callable(generate):
            def checked(*a: Any, **k: Any) -> Any:
                return check_rollouts(generate(*a, **k))

            llm.generate = checked
        return llm

    generation.LLM = build
    try:
        yield
    finally:
        generation.LLM = original


class EpochSampler:
    """TRL's RepeatSampler, whose order in epoch e is the one an uninterrupted run draws in epoch e.

    RepeatSampler draws each epoch's permutation from one generator seeded once, so epoch e's
    order depends on the e draws before it; a run resumed in epoch e > 0 starts with a fresh
    generator and would draw epoch 0's order again (a different prompt sequence than the
    uninterrupted run). The Trainer calls `set_epoch(e)` before every epoch, resumed or not:
    the generator is reseeded and the e earlier draws replayed, so an uninterrupted run is
    unchanged and a resumed one sees the same prompts.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __iter__(self) -> Iterator[int]:
        return iter(self.inner)

    def __len__(self) -> int:
        return len(self.inner)

    @property
    def generator(self) -> Any:
        """Accelerate keeps a sampler's generator in step across processes; this is the one that draws."""
        return getattr(self.inner, "generator", None)

    def set_epoch(self, epoch: int) -> None:
        import torch

        generator = getattr(self.inner, "generator", None)
        seed = getattr(self.inner, "seed", None)
        if not getattr(self.inner, "shuffle", False) or generator is None or seed is None:
            return
        generator.manual_seed(seed)
        for _ in range(epoch):
            torch.randperm(self.inner.num_samples, generator=generator)


class VrdGRPOTrainer(CheckpointMixin, GRPOTrainer):
    """GRPOTrainer + zero-advantage-group logging, optional dynamic sampling, VLM vLLM fix."""

    def __init__(self, *args: Any, dynamic_sampling: bool = False, accuracy_reward_index: int = 0,
                 **kwargs: Any) -> None:
        with colocated_vllm_limits():
            super().__init__(*args, **kwargs)
        self.dynamic_sampling = dynamic_sampling
        self.accuracy_reward_index = accuracy_reward_index
        self._last_rewards_per_func: Any = None
        self._step_synced_at: int | None = None

    # The overrides take `*args, **kwargs` and pass them on untouched: these are TRL's private methods,
    # and an argument added in a TRL release must reach the parent instead of raising a TypeError
    # (tests/test_trl_overrides.py compares them with the installed TRL's signatures).

    def _get_train_sampler(self, *args: Any, **kwargs: Any) -> Any:
        return EpochSampler(super()._get_train_sampler(*args, **kwargs))

    def training_step(self, *args: Any, **kwargs: Any) -> Any:
        # TRL's micro-step counter decides when to generate and which slice of a generation batch
        # a micro-step trains on; it starts at 0 in every process, so a resumed run sets it to
        # where the uninterrupted run would be (checkpoints fall on optimizer-step boundaries).
        if self._step_synced_at is None:
            self._step_synced_at = self.state.global_step
            if self.state.global_step:
                self._step = self.state.global_step * self.args.gradient_accumulation_steps
        return super().training_step(*args, **kwargs)

    def _calculate_rewards(self, *args: Any, **kwargs: Any) -> Any:
        rewards_per_func = super()._calculate_rewards(*args, **kwargs)
        self._last_rewards_per_func = rewards_per_func  # gathered over processes, groups contiguous
        return rewards_per_func

    def _generate_and_score_completions(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        from vrd.trainers.dynamic_sampling import drop_rows, group_stats, keep_rows

        output = super()._generate_and_score_completions(*args, **kwargs)
        rewards = self._last_rewards_per_func
        if rewards is None:
            return output
        mode = "train" if self.model.training else "eval"
        g = self.num_generations if mode == "train" else self.num_generations_eval
        correct = rewards[:, self.accuracy_reward_index]
        for name, value in group_stats(correct, g).items():
            self._metrics[mode][name].append(value)
        for name, value in self._signal(rewards, correct, g, output, *args, **kwargs).items():
            self._metrics[mode][name].append(value)
        if self.dynamic_sampling and mode == "train":
            keep = keep_rows(correct, g)
            n_local = output["completion_ids"].size(0)
            start = self.accelerator.process_index * n_local
            output = drop_rows(output, keep[start:start + n_local], self.accelerator.gather)
            self._metrics[mode]["dynamic_sampling/kept_frac"].append(keep.float().mean().item())
        return output

    def _signal(self, rewards: Any, correct: Any, g: int, output: dict[str, Any], *args: Any, **kwargs: Any
                ) -> dict[str, float]:
        """Advantage quantiles and zero-advantage / format-only group shares (`vrd/trainers/rl_signal.py`)."""
        from accelerate.utils import gather_object

        from vrd.trainers.rl_signal import step_signal

        total = (rewards * self.reward_weights.to(rewards.device).unsqueeze(0)).nansum(dim=1)
        inputs = args[0] if args else kwargs.get("inputs", [])
        rates = gather_object([row.get("pass_rate") if isinstance(row, dict) else None for row in inputs])
        advantages = output.get("advantages")
        advantages = self.accelerator.gather(advantages) if advantages is not None else None
        return step_signal(total, correct, g, advantages=advantages, pass_rates=rates)

    def _generate_single_turn(self, prompt_ids: Any, images: Any, *args: Any, **kwargs: Any) -> Any:
        image_token_id = getattr(getattr(self.model, "config", None), "image_token_id", None)
        if (self.use_vllm and images is not None and image_token_id is not None
                and getattr(self.args, "vllm_mode", "colocate") == "colocate"):
            # trl#6294: see collapse_image_runs. Server mode relocates features by the expanded
            # runs itself (`VLLMGeneration._place_features`), so it is left alone.
            prompt_ids = [collapse_image_runs(list(ids), image_token_id) for ids in prompt_ids]
        return super()._generate_single_turn(prompt_ids, images, *args, **kwargs)


def rl_image_size(cfg: VrdRLConfig, processor: Any) -> int:
    """One square size for all RL images (trl#6401 workaround, see data.resize_images).

    The largest multiple of 28 (patch 14 x merge 2) whose square fits `--max-pixels`, or the
    processor's own max pixels, capped at 448 so rollouts stay cheap.
    """
    if cfg.image_size:
        return int(cfg.image_size)
    image_processor = getattr(processor, "image_processor", None)
    max_pixels = cfg.max_pixels
    if not max_pixels and image_processor is not None:
        size = getattr(image_processor, "size", None) or {}
        max_pixels = size.get("longest_edge") or getattr(image_processor, "max_pixels", None)
    side = int(math.isqrt(int(max_pixels))) if max_pixels else 448
    return max(28, min(448, side - side % 28))


def grpo_args(cfg: VrdRLConfig) -> dict[str, Any]:
    """GRPOConfig fields for the chosen algorithm."""
    from vrd.trainers.common import common_args

    args = common_args(cfg)
    plan = cfg.batch_plan()
    loss = cfg.loss_settings()
    if plan.updates_per_step > 1:
        # A vrd step is one generation round (EasyR1's step); TRL counts optimizer updates.
        if cfg.max_steps > 0:
            args["max_steps"] = cfg.max_steps * plan.updates_per_step
        args["save_steps"] = cfg.save_steps * plan.updates_per_step
        # TRL averages its metrics over the logging interval: one record per round, as EasyR1 logs.
        args["logging_steps"] = cfg.logging_steps * plan.updates_per_step
    if cfg.use_vllm:
        # Without it vLLM sizes its context (and KV cache) from the model config (128k for Qwen2.5-VL).
        args["vllm_max_model_length"] = cfg.max_prompt_tokens + cfg.max_new_tokens
    args.update(
        generation_batch_size=plan.generation_batch,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_new_tokens,
        temperature=cfg.temperature,
        loss_type=loss["loss_type"],
        beta=loss["beta"],
        epsilon=cfg.epsilon,
        epsilon_high=loss["epsilon_high"],
        scale_rewards=loss["scale_rewards"],
        mask_truncated_completions=cfg.mask_truncated_completions,
        use_vllm=cfg.use_vllm,
        vllm_mode=cfg.vllm_mode,
        vllm_gpu_memory_utilization=cfg.vllm_gpu_memory_utilization,
        log_completions=False,
    )
    return args


def align_saves_to_generations(args: Any, updates_per_step: int) -> None:
    """Checkpoint only where a generation round ends, so a resume loses no buffered rollouts.

    One round of rollouts feeds `updates_per_step x num_iterations` optimizer steps (TRL reuses it
    `num_iterations` times, settable through the `trl:` mapping). A checkpoint inside a round
    cannot hold the buffered completions and their old log-probs, so the resumed run would
    generate new ones where the uninterrupted run reused them; save_steps is rounded up instead.
    """
    span = max(1, int(updates_per_step)) * max(1, int(getattr(args, "num_iterations", 1) or 1))
    steps = getattr(args, "save_steps", None)
    if span == 1 or not isinstance(steps, (int, float)) or steps < 1 or steps % span == 0:
        return
    aligned = int(math.ceil(steps / span) * span)
    log.warning("save_steps %s -> %d: a checkpoint must fall where a round of rollouts (%d optimizer steps) "
                "ends, or a resumed run would not continue the same rollouts", steps, aligned, span)
    args.save_steps = aligned


def build_rl_trainer(cfg: VrdRLConfig, callbacks: list[Any] | None = None, *,
                     trainer_cls: type[VrdGRPOTrainer] | None = None,
                     trainer_kwargs: Any = None) -> tuple[Any, Any]:
    """(VrdGRPOTrainer, processor), ready to `.train()`.

    `trainer_cls` / `trainer_kwargs(processor, args) -> dict` let a subclass (the SFT+RL
    strategies in `vrd.trainers.strategies`) reuse this whole setup.
    """
    from trl import GRPOConfig
    from trl.rewards import get_soft_overlong_punishment

    from vrd.trainers.callbacks import RewardAccuracyMonitor
    from vrd.trainers.common import (
        effective_settings,
        load_processor,
        lora_config,
        prepare_model,
        print_effective_settings,
    )
    from vrd.trainers.data import load_rl_dataset
    from vrd.trainers.rewards import reward_functions
    from vrd.trainers.trl_keys import trainer_args

    cfg.require_io()
    if cfg.use_vllm:
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            raise EnvironmentNotReadyError("--vllm needs the vllm package and a GPU (`pip install 'vrd[vllm]'`); "
                           "drop --vllm to generate rollouts with transformers")
    processor = load_processor(cfg)
    tokenizer = getattr(processor, "tokenizer", processor)
    tokenizer.padding_side = "left"
    dataset = load_rl_dataset(cfg.data, cfg.data_split(), template=cfg.template,
                              image_size=rl_image_size(cfg, processor), limit=cfg.limit)
    funcs, weights = reward_functions(cfg.template, cfg.format_weight, cfg.reward)
    if cfg.algo == "dapo":
        funcs.append(get_soft_overlong_punishment(cfg.max_new_tokens, cfg.overlong_cache()))
        weights.append(1.0)
    # Built before the model: under ZeRO-3 the arguments install the DeepSpeed config that makes
    # `from_pretrained` load the model sharded (`zero3_init_flag`) instead of whole on every rank.
    args = trainer_args(GRPOConfig, {**grpo_args(cfg), "reward_weights": weights}, cfg.trl, "rl")
    plan = cfg.batch_plan()
    align_saves_to_generations(args, plan.updates_per_step)
    print_effective_settings(effective_settings(cfg, args, {
        "step": f"{plan.generation_batch // cfg.num_generations} prompts x {cfg.num_generations} completions = "
                f"{plan.updates_per_step} optimizer update(s) of {plan.global_batch // cfg.num_generations} prompts",
        **({"eval": f"every {cfg.eval_every} step(s) = {cfg.eval_every * plan.updates_per_step} optimizer updates"}
           if cfg.eval_every and plan.updates_per_step > 1 else {}),
        "loss": f"{args.loss_type}, beta {args.beta:g}, clip {args.epsilon:g}/{args.epsilon_high:g}, "
                f"{cfg.max_new_tokens} completion tokens",
    }))
    # TRL's sampler drops an incomplete generation batch, so a split smaller than one step's
    # prompts would train for zero steps and still "succeed"; say so instead.
    prompts_per_step = args.generation_batch_size // args.num_generations
    if len(dataset) < prompts_per_step:
        raise VrdError(
            f"{cfg.data}: the '{cfg.data_split()}' split has {len(dataset)} prompt(s) but one step needs "
            f"{prompts_per_step} ({args.generation_batch_size} completions / {cfg.num_generations} generations "
            f"per prompt); pass a smaller --rollout-batch / --global-batch or curate more problems into the split"
        )
    model = prepare_model(cfg)
    monitor = RewardAccuracyMonitor.from_config(cfg)
    extra = trainer_kwargs(processor, args) if trainer_kwargs else {}
    trainer = (trainer_cls or VrdGRPOTrainer)(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=lora_config(cfg),
        callbacks=[monitor, *(callbacks or [])],
        dynamic_sampling=cfg.dynamic_sampling,
        accuracy_reward_index=0,
        **extra,
    )
    monitor.bind(trainer)
    trainer.vrd_identity = run_identity(cfg)
    return trainer, processor


def train_rl(cfg: VrdRLConfig, callbacks: list[Any] | None = None) -> Path:
    """Train, then save model + processor to `cfg.out`; resumes from the last checkpoint by default."""
    from vrd.outputs import require_out_dir
    from vrd.trainers.common import resume_checkpoint, save_final, say_what_is_kept
    from vrd.trainers.data import check_eval_data
    from vrd.trainers.launch import train_lock

    check_eval_data(cfg)
    require_out_dir(cfg.out)
    with train_lock(cfg.out, "train rl"):
        checkpoint = resume_checkpoint(cfg)  # refuse another run's checkpoints before loading anything
        trainer, processor = build_rl_trainer(cfg, callbacks)
        with say_what_is_kept(cfg):
            trainer.train(resume_from_checkpoint=checkpoint)
        return save_final(trainer, processor, cfg)

"""Zero-advantage groups: measuring them, and (DAPO's dynamic sampling) dropping them.

A GRPO group whose completions are all correct or all wrong carries no accuracy signal:
its advantages are ~0, yet under token-level losses (dapo, bnpo) its tokens still count in
the normalizer and under grpo/dapo with beta > 0 they still pull toward the reference, so
they dilute the update. DAPO re-samples until the batch holds only informative groups. TRL
has no such filter; vrd implements the drop half of it in `VrdGRPOTrainer`
(`vrd/trainers/rl.py`), which overrides `_generate_and_score_completions`: after TRL has
generated and scored a generation batch, groups that are degenerate *by accuracy* get
advantage 0 and an all-zero completion mask (so they leave the loss, its token count and
the KL term), and `num_items_in_batch` is recomputed. The batch is not refilled: the step
trains on fewer groups, which keeps TRL's sampler, accumulation and vLLM paths untouched.

Groups are degenerate by *accuracy*, not by total reward: a group that is all-correct but
mixed in format still has a (small) format advantage, but DAPO's criterion is accuracy.
"""

from __future__ import annotations

from typing import Any


def group_view(values: Any, num_generations: int) -> Any:
    """(n_groups, G) view of a flat per-completion tensor; TRL keeps each group contiguous."""
    if values.numel() % num_generations:
        raise ValueError(f"{values.numel()} completions do not split into groups of {num_generations}")
    return values.reshape(-1, num_generations)


def degenerate_groups(correct: Any, num_generations: int) -> Any:
    """Bool per group: all completions correct, or all wrong (accuracy in {0, 1})."""
    import torch

    grouped = group_view(correct.float(), num_generations)
    valid = ~torch.isnan(grouped)
    ones = ((grouped > 0.5) | ~valid).all(dim=1)
    zeros = ((grouped <= 0.5) | ~valid).all(dim=1)
    return ones | zeros


def group_stats(correct: Any, num_generations: int) -> dict[str, float]:
    """Fractions of groups that are all-correct, all-wrong, and either (zero advantage)."""
    grouped = group_view(correct.float(), num_generations) > 0.5
    n = max(1, grouped.size(0))
    all_correct = grouped.all(dim=1).float().sum().item() / n
    all_wrong = (~grouped).all(dim=1).float().sum().item() / n
    return {
        "groups/all_correct_frac": all_correct,
        "groups/all_wrong_frac": all_wrong,
        "groups/zero_adv_frac": all_correct + all_wrong,
    }


def keep_rows(correct: Any, num_generations: int) -> Any:
    """Bool per completion: True where its group is informative (kept by dynamic sampling)."""
    return (~degenerate_groups(correct, num_generations)).repeat_interleave(num_generations)


def drop_rows(output: dict[str, Any], keep_local: Any, gather: Any) -> dict[str, Any]:
    """Remove the completions with `keep_local == False` from the loss of one generation batch.

    `output` is what `GRPOTrainer._generate_and_score_completions` returns for this process;
    `gather` sums a tensor over processes (accelerator.gather). The completion mask doubles as
    the attention mask for the completion part, exactly as TRL's own `mask_truncated_completions`.
    """
    keep = keep_local.to(output["completion_mask"].device)
    output["advantages"] = output["advantages"] * keep.to(output["advantages"].dtype)
    output["completion_mask"] = output["completion_mask"] * keep.unsqueeze(1).to(output["completion_mask"].dtype)
    loss_mask = output["completion_mask"]
    if output.get("tool_mask") is not None:
        loss_mask = loss_mask * output["tool_mask"]
    output["num_items_in_batch"] = gather(loss_mask.sum()).sum()
    return output

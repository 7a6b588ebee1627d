"""Bundled trainers on TRL: SFT and GRPO/DAPO/Dr. GRPO for VLMs, the verify-based reward, the
reward-accuracy monitor and the reward audit.

Entry points (import the submodules; torch/TRL load only when a trainer is built):
- `vrd.trainers.sft.train_sft(VrdSFTConfig)` / `vrd.trainers.rl.train_rl(VrdRLConfig)`;
- `VrdSFTConfig.load(yaml_path, overrides)` (see `vrd.config`);
- `vrd.trainers.rewards.reward_functions()` / `vrd_reward` (TRL reward-func signature);
- `vrd.trainers.audit.audit(run_dir)`;
- `vrd.trainers.launch.relaunch(argv, n)` for `--num-processes`.
"""

from vrd.trainers.config import VrdRLConfig, VrdSFTConfig

__all__ = ["VrdRLConfig", "VrdSFTConfig"]

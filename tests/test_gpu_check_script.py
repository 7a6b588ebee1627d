"""scripts/gpu-check.sh cannot run here in full; check what can be checked without a GPU.

(`scripts/gpu-check.sh --tiny` runs every step on the tiny model, about 2 minutes on CPU.)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_shell_script_parses() -> None:
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "gpu-check.sh")], check=True)


def test_the_device_model_is_about_one_billion_parameters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Built on the meta device (no memory): the Qwen2.5-VL config the check trains must be valid and ~1B."""
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    monkeypatch.syspath_prepend(str(ROOT / "scripts"))
    from gpu_check import ONE_B

    from vrd.models.tiny import build_tiny_model

    built: dict[str, object] = {}

    class Stop(Exception):
        pass

    def capture(self: object, *args: object, **kwargs: object) -> None:
        built["model"] = self
        raise Stop

    monkeypatch.setattr(Qwen2_5_VLForConditionalGeneration, "save_pretrained", capture)
    with torch.device("meta"), pytest.raises(Stop):
        build_tiny_model(tmp_path, **ONE_B)
    model = built["model"]
    n = sum(p.numel() for p in model.parameters())
    assert 0.9e9 < n < 1.2e9, n
    text = model.config.text_config
    assert text.hidden_size // text.num_attention_heads == 2 * sum(text.rope_parameters["mrope_section"])
    assert sys.modules["gpu_check"].MOVED_MIN >= 0.9

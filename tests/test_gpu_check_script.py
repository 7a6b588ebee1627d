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


@pytest.mark.parametrize(("arrow", "picked"), [("26", "datasets-5.2.0"), ("22", "datasets-4.8.0"), ("19", None)])
def test_datasets_wheel_matches_the_images_pyarrow(tmp_path: Path, arrow: str, picked: str | None) -> None:
    """pyarrow is not carried (too big for the transfer), so the script installs the datasets
    release the device's own pyarrow can run: 5.2 needs >= 24, 4.8 needs >= 21, older is refused."""
    wheels = tmp_path / "whl"
    (wheels / "datasets").mkdir(parents=True)
    (wheels / "trl-1.16.0-py3-none-any.whl").write_bytes(b"")
    for name in ("datasets-5.2.0-py3-none-any.whl", "datasets-4.8.0-py3-none-any.whl"):
        (wheels / "datasets" / name).write_bytes(b"")
    log = tmp_path / "calls.log"
    shim = tmp_path / "python"  # answers the pyarrow probe, records pip and the check's own run
    shim.write_text(f'#!/usr/bin/env bash\nif [[ "$1" == "-c" ]]; then echo {arrow}; exit 0; fi\n'
                    f'echo "$@" >> {log}\n')
    shim.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "PYTHON": str(shim), "VRD_WHEELS": str(wheels), "VRD_SITE": str(tmp_path / "site")}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu-check.sh"), "--tiny"], env=env,
                          capture_output=True, text=True)
    if picked is None:
        assert done.returncode == 2 and "pyarrow" in done.stderr
        return
    assert done.returncode == 0, done.stderr
    install = log.read_text().splitlines()[0]
    assert "trl-1.16.0" in install and picked in install and install.count("datasets-") == 1

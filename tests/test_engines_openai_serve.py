"""The openai engine against a real `transformers serve` on 127.0.0.1 serving the tiny VLM dir.

The server is started once per module with the tiny model dir as its forced model (loaded
before the port opens, so /health answering means ready) and stopped at the end.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from vrd.engines import HFEngine, OpenAIEngine
from vrd.engines.base import GenerationRequest, SamplingParams

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_command(model_dir: Path, port: int) -> list[str]:
    """How vrd's tests (and bench/distill.py) start the server."""
    return [
        sys.executable, "-m", "transformers.cli.transformers", "serve", str(model_dir),
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--dtype", "float32",
        "--log-level", "warning",
    ]


@pytest.fixture(scope="module")
def served(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(serve_command(tiny_model_dir, port), stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"transformers serve exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve not ready in 120 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _requests() -> list[GenerationRequest]:
    a = Image.new("RGB", (100, 80), (255, 255, 255))
    ImageDraw.Draw(a).line([(0, 0), (100, 80)], fill=(255, 0, 0), width=4)
    b = Image.new("RGB", (60, 90), (0, 0, 255))
    return [
        GenerationRequest("<image> In the figure, what is the angle?", [a]),
        GenerationRequest("<image> Same question, different figure.", [b]),
        GenerationRequest("Compare <image> and <image>.", [a, b]),
        GenerationRequest("What is the area of a 3 by 5 rectangle?"),
    ]


def test_greedy_matches_in_process_engine(served: str, tiny_model_dir: Path) -> None:
    """Same text and token counts as the hf engine: images travel as data URLs and are used."""
    reqs = _requests()
    params = SamplingParams(n=1, temperature=0.0, max_new_tokens=12)
    remote = OpenAIEngine(str(tiny_model_dir), base_url=served, concurrency=4).generate(reqs, params)
    local = HFEngine(str(tiny_model_dir), batch_size=4).generate(reqs, params)
    for r, lc in zip(remote, local, strict=True):
        # the server strips surrounding whitespace from message content
        assert (r[0].text, r[0].n_tokens, r[0].finish_reason) == (lc[0].text.strip(), lc[0].n_tokens, lc[0].finish_reason)
    # the image changes the answer, so it was not dropped on the way
    assert remote[0][0].text != remote[1][0].text


def test_server_ignores_n_engine_makes_up(served: str, tiny_model_dir: Path) -> None:
    reqs = _requests()[:2]
    eng = OpenAIEngine(str(tiny_model_dir), base_url=served, concurrency=4, send_generation_config=True)
    out = eng.generate(reqs, SamplingParams(n=3, temperature=1.0, max_new_tokens=10, seed=7))
    assert [len(c) for c in out] == [3, 3]
    assert eng.honors_n is False  # transformers serve returns one choice whatever n says
    assert eng.stats["ok"] == 6
    for comps in out:
        assert len({c.text for c in comps}) == 3  # distinct seeds per made-up request: real samples
        for c in comps:
            assert 1 <= c.n_tokens <= 10
            assert c.finish_reason == ("length" if c.n_tokens == 10 else "stop")

"""An optional LLM judge that reads the final answer out of free-form text.

Rule-based extraction finds what models write in the formats they were asked for; it gives up
on prose such as "so the two angles together make seventy degrees". Only those responses (no
answer found at all) go to the judge, which *extracts* an answer; grading stays rule-based
(`vrd.verify.grading`), so the judge cannot mark a wrong answer right by being lenient. Any
OpenAI-compatible chat endpoint works (vLLM, `transformers serve`, a hosted API).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from vrd.contract import IMAGE_MARK, LETTERS
from vrd.errors import VrdError

MAX_RESPONSE_CHARS = 6000
NO_ANSWER = "NONE"

PROMPT = """You extract the final answer from a model's solution to a problem. Do not solve the problem \
yourself and do not judge whether the answer is right.

Problem:
{question}
{options}
Model's solution (possibly truncated at the start):
{response}

Reply with only the final answer the solution commits to{letter_hint}, with no explanation. \
If the solution commits to no answer, reply {none}."""


def chat_url(base_url: str) -> str:
    """`http://host:8000/v1` or a full `.../chat/completions` URL -> the chat completions URL."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base_url)  # the path goes before a query (`?api-version=...`), not after it
    path = parts.path.rstrip("/")
    path = path if path.endswith("/chat/completions") else f"{path}/chat/completions"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


@dataclass
class Judge:
    """Extract answers with a chat model behind `url` (OpenAI-compatible)."""

    url: str
    model: str
    api_key: str | None = None
    timeout: float = 60.0
    max_retries: int = 2
    concurrency: int = 8

    def __post_init__(self) -> None:
        if not self.url or not self.model:
            raise VrdError("the LLM judge needs both --judge-url and --judge-model")
        if self.api_key is None:
            self.api_key = os.environ.get("VRD_JUDGE_API_KEY") or os.environ.get("OPENAI_API_KEY")
        from vrd.redact import remember_secret, remember_url_secrets

        remember_secret(self.api_key)
        remember_url_secrets(self.url)

    def describe(self) -> dict[str, Any]:
        from vrd.redact import redact_url

        return {"url": redact_url(self.url), "model": self.model}

    def prompt(self, question: str, response: str, choices: Sequence[str] | None) -> str:
        options = ""
        if choices:
            options = "Options:\n" + "\n".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(choices)) + "\n"
        return PROMPT.format(
            question=question.replace(IMAGE_MARK, "[image]").strip(),
            options=options,
            response=response[-MAX_RESPONSE_CHARS:],
            letter_hint=" (the option letter)" if choices else "",
            none=NO_ANSWER,
        )

    def extract(self, question: str, response: str, choices: Sequence[str] | None = None) -> str | None:
        """The answer the judge reads from `response`, or None when it finds none."""
        import httpx

        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": self.prompt(question, response, choices)}],
            "temperature": 0.0,
            "max_tokens": 64,
        }
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        last: Exception | None = None
        for attempt in range(self.max_retries + 1):
            try:
                reply = httpx.post(chat_url(self.url), json=body, headers=headers, timeout=self.timeout)
                reply.raise_for_status()
                text = reply.json()["choices"][0]["message"]["content"] or ""
                return clean_judgement(text)
            except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
                last = exc
                time.sleep(min(2.0, 0.25 * 2**attempt))
        from vrd.redact import redact_message, redact_url

        raise VrdError(redact_message(f"LLM judge at {redact_url(self.url)} failed after {self.max_retries + 1} "
                                      f"tries: {last}"))

    def extract_many(self, items: Sequence[tuple[str, str, Sequence[str] | None]]) -> list[str | None]:
        """`extract` over (question, response, choices) items, a few requests in flight at once."""
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(items)))) as pool:
            return list(pool.map(lambda item: self.extract(*item), items))


def clean_judgement(text: str) -> str | None:
    """The judge's reply as an answer span: reasoning tags, quotes and a leading 'Answer:' dropped."""
    text = re.sub(r"<think>.*?</think>", "", text or "", flags=re.S).strip()
    text = re.sub(r"^(?:final\s+)?answer\s*[:：]\s*", "", text, flags=re.I).strip().strip("`\"' ").strip()
    if not text or text.upper().rstrip(".") == NO_ANSWER:
        return None
    return text.splitlines()[0].strip()[:300] or None

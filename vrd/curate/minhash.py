"""MinHash LSH near-duplicate search, vectorized over a whole corpus.

The sketches are exactly datasketch's (`MinHash`, default "affine32" scheme: the shingle's
32-bit hash is mixed with the MurmurHash3 finalizer, then permuted by a*h+b mod 2^32 with
datasketch's own permutation parameters), and the band/row split is datasketch's
`MinHashLSH` optimum for the threshold. What differs is only how it is driven: shingles
are hashed by polars and the permutations, minima and band buckets are numpy/polars array
operations instead of one Python call per document, which is what makes a million rows fit
in seconds. `near_duplicates_loop` is the per-document datasketch loop, kept as the
reference that tests and the benchmark compare against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl

from vrd.curate.text import ngrams

_M1, _M2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)
_EMPTY = np.uint32(0xFFFFFFFF)
_CHUNK = 1 << 18  # shingles per numpy block: bounds memory at CHUNK * num_perm * 4 bytes


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, the pre-mix datasketch applies before permuting."""
    h = h.astype(np.uint32, copy=True)
    h ^= h >> np.uint32(16)
    h *= _M1
    h ^= h >> np.uint32(13)
    h *= _M2
    h ^= h >> np.uint32(16)
    return h


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed).permutations
    return np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)


@lru_cache(maxsize=8)
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's (bands, rows) for this threshold."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def shingle_hashes(texts: Sequence[str] | pl.Series, n: int) -> pl.DataFrame:
    """(doc, h): the 32-bit hashes of each text's word n-grams, doc = position in `texts`."""
    frame = pl.DataFrame({"doc": pl.int_range(0, len(texts), eager=True, dtype=pl.Int64), "text": texts})
    # Repeated shingles are kept: a minimum does not change when a value repeats, and dropping
    # them would cost a string-keyed unique over the whole corpus.
    grams = ngrams(frame, "doc", "text", n)
    return grams.select("doc", (pl.col("gram").hash(seed=0) & 0xFFFFFFFF).cast(pl.UInt32).alias("h")).sort(
        "doc", maintain_order=True)


def signatures(doc: np.ndarray, h: np.ndarray, n_docs: int, num_perm: int = 128, seed: int = 1) -> np.ndarray:
    """(n_docs, num_perm) uint32 MinHash values; rows of docs without shingles stay at the empty value.

    `doc` must be sorted. Equal, value for value, to datasketch's `MinHash.update_batch`
    fed the same 32-bit hashes (tested).
    """
    a, b = permutations(num_perm, seed)
    sig = np.full((n_docs, num_perm), _EMPTY, dtype=np.uint32)
    if len(doc) == 0:
        return sig
    mixed = fmix32(np.asarray(h, dtype=np.uint32))
    doc = np.asarray(doc, dtype=np.int64)
    step = max(1, _CHUNK // max(1, num_perm // 64))
    start = 0
    while start < len(doc):
        end = min(len(doc), start + step)
        # Never split a doc across blocks, so each block's minima are final.
        while end < len(doc) and doc[end] == doc[end - 1]:
            end += 1
        d, hv = doc[start:end], mixed[start:end]
        phv = np.multiply(hv[:, None], a[None, :])
        phv += b[None, :]
        bounds = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
        sig[d[bounds]] = np.minimum.reduceat(phv, bounds, axis=0)
        start = end
    return sig


@dataclass
class NearMatch:
    dropped: int
    kept: int
    similarity: float


def near_duplicates(sig: np.ndarray, threshold: float, *, groups: np.ndarray | None = None,
                    bands: tuple[int, int] | None = None) -> list[NearMatch]:
    """Docs to drop: each is linked (estimated Jaccard >= threshold, same group) to a lower-numbered doc.

    Candidates are docs sharing one LSH band bucket (buckets also keyed by `groups`, e.g. the
    image content, so equal text over different figures never meets); each candidate is
    checked against its bucket's first doc by the sketch's Jaccard estimate, then linked
    components keep their lowest-numbered doc. Empty sketches never match.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_docs, num_perm = sig.shape
    b, r = bands or lsh_params(threshold, num_perm)
    live = ~(sig == _EMPTY).all(axis=1)
    idx = np.flatnonzero(live)
    if len(idx) < 2:
        return []
    grp = np.zeros(n_docs, dtype=np.int64) if groups is None else np.asarray(groups, dtype=np.int64)
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    for band in range(b):
        cols = {f"c{j}": sig[idx, band * r + j] for j in range(r)}
        frame = pl.DataFrame({"doc": idx, "g": grp[idx], **cols})
        key = frame.select(pl.struct(["g", *cols]).hash(seed=band)).to_series()
        first = (
            pl.DataFrame({"doc": idx, "key": key})
            .with_columns(pl.col("doc").min().over("key").alias("first"))
            .filter(pl.col("doc") != pl.col("first"))
        )
        if first.height:
            d = first["doc"].to_numpy()
            f = first["first"].to_numpy()
            sim = (sig[d] == sig[f]).mean(axis=1)
            ok = (sim >= threshold) & (grp[d] == grp[f])
            src.append(d[ok])
            dst.append(f[ok])
    if not src or not sum(len(s) for s in src):
        return []
    s, d = np.concatenate(src), np.concatenate(dst)
    graph = coo_matrix((np.ones(len(s), dtype=np.int8), (s, d)), shape=(n_docs, n_docs))
    _, labels = connected_components(graph, directed=False)
    # Lowest doc number per component is the keeper.
    order = np.argsort(labels, kind="stable")
    lab_sorted = labels[order]
    head = np.flatnonzero(np.r_[True, lab_sorted[1:] != lab_sorted[:-1]])
    keeper_of_label = dict(zip(lab_sorted[head].tolist(), order[head].tolist(), strict=True))
    members = np.unique(np.concatenate([s, d]))
    out = []
    for m in members.tolist():
        keep = keeper_of_label[int(labels[m])]
        if keep != m:
            out.append(NearMatch(m, keep, float((sig[m] == sig[keep]).mean())))
    return out


def near_duplicates_loop(texts: Sequence[str], threshold: float, n: int, *, groups: Sequence[int] | None = None,
                         num_perm: int = 128, seed: int = 1) -> list[NearMatch]:
    """The same search driven the usual way: one datasketch MinHash and one LSH query per document.

    Documents are visited in order; one whose verified LSH candidates include an earlier
    kept document is dropped (linked to the first such), otherwise it is inserted.
    """
    from datasketch import MinHash, MinHashLSH

    grams = shingle_hashes(list(texts), n)
    per_doc: dict[int, list[int]] = {}
    for d, h in zip(grams["doc"].to_list(), grams["h"].to_list(), strict=True):
        per_doc.setdefault(d, []).append(h)
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sketches: dict[int, MinHash] = {}
    out: list[NearMatch] = []
    for d in range(len(texts)):
        hs = per_doc.get(d)
        if not hs:
            continue
        m = MinHash(num_perm=num_perm, seed=seed, hashfunc=int)
        m.update_batch(hs)
        match = None
        for cand in sorted(lsh.query(m)):
            if (groups is None or groups[cand] == groups[d]) and sketches[cand].jaccard(m) >= threshold:
                match = cand
                break
        if match is None:
            lsh.insert(d, m)
            sketches[d] = m
        else:
            out.append(NearMatch(d, match, sketches[match].jaccard(m)))
    return out

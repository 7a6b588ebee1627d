"""Problem-level deduplication: exact, near (MinHash LSH) and image (perceptual hash).

Within every duplicate group the problem with the smallest id is kept, so the result
does not depend on shard order. How the three methods relate:

- `exact`: same normalized question and byte-identical images.
- `near`: question word n-grams with estimated Jaccard >= threshold, *and* identical images
  (or both text-only) -- "Find x." over two different diagrams is two problems.
- `image`: every image within `phash_distance` bits of the other problem's, and (with
  `image_match="answer"`, the default) the same gold answer. This is what catches a
  reworded question over the same figure; requiring the same answer keeps the common case
  of several genuinely different questions asked about one diagram. `image_match="any"`
  drops every problem that reuses a figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from vrd.curate import minhash
from vrd.curate.images import close_pairs
from vrd.curate.text import normalized


@dataclass
class DupHit:
    method: str
    dropped: str
    kept: str
    similarity: float | None = None

    def to_dict(self) -> dict:
        out = {"method": self.method, "dropped": self.dropped, "kept": self.kept}
        if self.similarity is not None:
            out["similarity"] = round(self.similarity, 4)
        return out


def _keepers(n: int, pairs: np.ndarray) -> dict[int, int]:
    """dropped index -> kept index (the smallest index of each linked group)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if len(pairs) == 0:
        return {}
    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    members = np.unique(pairs.ravel())
    first: dict[int, int] = {}
    for m in sorted(members.tolist()):
        first.setdefault(int(labels[m]), m)
    return {m: first[int(labels[m])] for m in members.tolist() if first[int(labels[m])] != m}


def exact(problems: pl.DataFrame) -> list[DupHit]:
    """`problems` sorted by id, with `question` and `image_key`."""
    keyed = problems.select(
        "id", pl.concat_str([normalized(pl.col("question")), pl.col("image_key")], separator="\x1f").alias("k")
    ).with_columns(pl.col("id").first().over("k").alias("kept"))
    dups = keyed.filter(pl.col("id") != pl.col("kept"))
    return [DupHit("exact", d, k) for d, k in zip(dups["id"].to_list(), dups["kept"].to_list(), strict=True)]


def near(problems: pl.DataFrame, *, threshold: float, n: int, num_perm: int = 128, seed: int = 1) -> list[DupHit]:
    """`problems` sorted by id, with `question` and `image_key`."""
    if problems.height < 2:
        return []
    grams = minhash.shingle_hashes(problems["question"], n)
    sig = minhash.signatures(grams["doc"].to_numpy(), grams["h"].to_numpy(), problems.height, num_perm, seed)
    groups = problems.select(pl.col("image_key").rank("dense")).to_series().to_numpy()
    ids = problems["id"].to_list()
    return [DupHit("near", ids[m.dropped], ids[m.kept], m.similarity)
            for m in minhash.near_duplicates(sig, threshold, groups=groups)]


def image(problems: pl.DataFrame, *, max_distance: int, match: str = "answer") -> list[DupHit]:
    """`problems` sorted by id, with `answer` and `phashes` (problems without images never match)."""
    with_img = problems.filter(pl.col("phashes").list.len() > 0)
    if with_img.height < 2:
        return []
    group_cols = [pl.col("phashes").list.len().cast(pl.String)]
    if match == "answer":
        group_cols.append(normalized(pl.col("answer")))
    groups = with_img.select(pl.concat_str(group_cols, separator="\x1f").rank("dense")).to_series().to_numpy()
    hashes = with_img["phashes"].to_list()
    first = np.array([h[0] for h in hashes], dtype=np.uint64)
    pairs = close_pairs(first, None, max_distance, left_group=groups)
    # Multi-image problems: every image must match, in order.
    ok = [all(bin(x ^ y).count("1") <= max_distance for x, y in zip(hashes[i], hashes[j], strict=True))
          for i, j in pairs.tolist()]
    pairs = pairs[np.asarray(ok, dtype=bool)] if len(pairs) else pairs
    ids = with_img["id"].to_list()
    return [DupHit("image", ids[d], ids[k]) for d, k in sorted(_keepers(with_img.height, pairs).items())]

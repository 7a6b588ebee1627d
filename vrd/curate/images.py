"""Image fingerprints (content hash, perceptual hash) and fast Hamming-distance matching.

Images are read once per problem, not once per response: exact dedup needs only the
content hash of the stored bytes; the perceptual hash (which decodes) is computed only
when image dedup or image decontamination asks for it.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

from vrd.curate.frames import Shards, iter_images


def phash(data: bytes) -> int:
    """64-bit DCT perceptual hash: survives re-encoding, resizing and small edits."""
    import imagehash

    from vrd.images import decode_image

    return int(str(imagehash.phash(decode_image(data))), 16)  # the guarded decoder: formats, pixel budget


def content_hash(images: list[bytes]) -> str:
    """One key for the exact image content of a problem (order matters, as in the question)."""
    return ",".join(hashlib.sha1(b).hexdigest()[:20] for b in images)


def fingerprints(shards: Shards, problems: pl.DataFrame, *, perceptual: bool) -> pl.DataFrame:
    """(id, image_key, phashes) for each problem, read from its first row's images."""
    ids = problems["id"].to_list()
    rows = problems["_first_row"].to_numpy()
    keys = [""] * len(ids)
    hashes: list[list[int]] = [[] for _ in ids]
    for pos, images in iter_images(shards, rows):
        keys[pos] = content_hash(images)
        if perceptual:
            hashes[pos] = [phash(b) for b in images]
    return pl.DataFrame(
        {"id": ids, "image_key": keys, "phashes": hashes},
        schema={"id": pl.String, "image_key": pl.String, "phashes": pl.List(pl.UInt64)},
    )


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(np.asarray(a, dtype=np.uint64), np.asarray(b, dtype=np.uint64)))


def _blocks(hashes: np.ndarray, n_blocks: int) -> list[np.ndarray]:
    width = 64 // n_blocks
    out = []
    for k in range(n_blocks):
        lo = k * width
        bits = 64 - lo if k == n_blocks - 1 else width
        out.append((hashes >> np.uint64(lo)) & np.uint64((1 << bits) - 1))
    return out


def close_pairs(left: np.ndarray, right: np.ndarray | None, max_distance: int, *,
                left_group: np.ndarray | None = None, right_group: np.ndarray | None = None) -> np.ndarray:
    """(i, j) index pairs with Hamming(left[i], right[j]) <= max_distance (and equal groups).

    Pigeonhole: split the 64 bits into max_distance+1 blocks; two hashes that close agree
    exactly on at least one block, so an equi-join per block finds every candidate and the
    exact distance filters them. With `right=None` it is a self-join returning i < j.
    """
    self_join = right is None
    left = np.asarray(left, dtype=np.uint64)
    right = left if self_join else np.asarray(right, dtype=np.uint64)
    lg = np.zeros(len(left), dtype=np.int64) if left_group is None else np.asarray(left_group, dtype=np.int64)
    rg = lg if self_join else (np.zeros(len(right), dtype=np.int64) if right_group is None
                               else np.asarray(right_group, dtype=np.int64))
    if len(left) == 0 or len(right) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    n_blocks = max_distance + 1
    found = []
    for lb, rb in zip(_blocks(left, n_blocks), _blocks(right, n_blocks), strict=True):
        lf = pl.DataFrame({"i": np.arange(len(left)), "blk": lb, "g": lg})
        rf = pl.DataFrame({"j": np.arange(len(right)), "blk": rb, "g": rg})
        pairs = lf.join(rf, on=["blk", "g"], how="inner")
        if self_join:
            pairs = pairs.filter(pl.col("i") < pl.col("j"))
        found.append(pairs.select("i", "j"))
    pairs = pl.concat(found).unique()
    i, j = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    keep = hamming(left[i], right[j]) <= max_distance
    out = np.stack([i[keep], j[keep]], axis=1) if keep.any() else np.zeros((0, 2), dtype=np.int64)
    return out[np.lexsort((out[:, 1], out[:, 0]))] if len(out) else out

"""Question normalization and word n-grams as polars expressions, shared by dedup and decontamination.

Normalization must keep math symbols: "x+2=5" and "x-2=5" are different problems, so
only case, Unicode form, whitespace, `<image>` marks and trailing punctuation are folded.
"""

from __future__ import annotations

import polars as pl

from vrd.contract import IMAGE_MARK

TOKEN_PATTERN = r"\w+|[^\w\s]"


def normalized(expr: pl.Expr) -> pl.Expr:
    """Question text as compared for exact duplicates."""
    return (
        expr.fill_null("")
        .str.normalize("NFKC")
        .str.to_lowercase()
        .str.replace_all(IMAGE_MARK, " ", literal=True)
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
        .str.strip_chars_end(".?!。 ")
    )


def tokens(expr: pl.Expr) -> pl.Expr:
    """Word tokens (runs of word characters, or single symbols) of the normalized text."""
    return normalized(expr).str.extract_all(TOKEN_PATTERN)


def ngrams(frame: pl.DataFrame, key: str, text: str, n: int) -> pl.DataFrame:
    """One row per (key, word n-gram) of `text`, with `short` set when the text has fewer than n words.

    A text shorter than n words contributes its whole token sequence as one gram, so short
    questions still take part (callers decide how much to trust such a match).
    """
    toks = frame.select(pl.col(key), tokens(pl.col(text)).alias("_tok"))
    toks = toks.with_columns(pl.col("_tok").list.len().alias("_len"))
    long = toks.filter(pl.col("_len") >= n).select(key, "_tok").explode("_tok")
    if n > 1:
        long = long.with_columns(
            pl.concat_str([pl.col("_tok")] + [pl.col("_tok").shift(-i) for i in range(1, n)], separator=" ")
            .alias("gram"),
            (pl.col(key).shift(-(n - 1)) == pl.col(key)).alias("_ok"),
        ).filter(pl.col("_ok"))
    else:
        long = long.with_columns(pl.col("_tok").alias("gram"))
    long = long.select(key, "gram", pl.lit(False).alias("short"))
    short = toks.filter((pl.col("_len") < n) & (pl.col("_len") > 0)).select(
        key, pl.col("_tok").list.join(" ").alias("gram"), pl.lit(True).alias("short")
    )
    return pl.concat([long, short], how="vertical")

"""Each curation step on fixtures with planted cases: every plant caught, nothing else dropped."""

from __future__ import annotations

from pathlib import Path

import curate_fixtures as S
import numpy as np
import polars as pl
import pytest

from vrd.curate import decontam, dedup, difficulty, filters, minhash, splits
from vrd.curate.config import REST, CurateConfig, parse_pass_rate, parse_splits
from vrd.curate.frames import open_shards, take_rows
from vrd.curate.images import close_pairs, fingerprints
from vrd.curate.pipeline import load
from vrd.curate.select import select
from vrd.errors import VrdError


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("curate-steps")
    return {"responses": S.write_responses(root / "responses"), "bench": S.write_benchmark(root / "bench")}


@pytest.fixture(scope="module")
def problems(data: dict[str, Path]) -> pl.DataFrame:
    """One row per problem with image fingerprints, as the dedup/decontam steps see them."""
    _, probs, shards = load(data["responses"])
    return probs.join(fingerprints(shards, probs, perceptual=True), on="id").sort("id")


def test_load_reads_text_only_and_one_row_per_problem(data: dict[str, Path]) -> None:
    rows, probs, shards = load(data["responses"])
    assert len(shards.files) > 1  # row bookkeeping crosses shards
    assert rows.height == len(S.responses()) and probs.height == len(S.problems())
    assert "images" not in rows.columns and "response" not in rows.columns
    assert set(probs["id"]) == S.all_ids()
    # _row numbers point back at the right rows across shards.
    picked = rows.filter(pl.col("id") == S.NEAR).sort("_row")
    table = take_rows(shards, picked["_row"].to_numpy(), ["id", "sample"])
    assert table.column("id").to_pylist() == [S.NEAR] * picked.height
    assert table.column("sample").to_pylist() == picked["sample"].to_list()


def test_exact_dedup_catches_recased_question_only(problems: pl.DataFrame) -> None:
    hits = dedup.exact(problems)
    assert {(h.dropped, h.kept) for h in hits} == {(S.EXACT, S.pid("p01"))}


def test_near_dedup_catches_one_word_edit_only(problems: pl.DataFrame) -> None:
    # Exact dups removed first, as the pipeline does.
    rest = problems.filter(pl.col("id") != S.EXACT)
    hits = dedup.near(rest, threshold=0.8, n=3)
    assert {(h.dropped, h.kept) for h in hits} == {(S.NEAR, S.pid("p02"))}
    assert all(h.similarity >= 0.8 for h in hits)
    # Same text over a different figure is not a near duplicate.
    assert S.SAME_TEXT_OTHER_FIGURE not in {h.dropped for h in hits}


def test_image_dedup_catches_reworded_question_over_same_figure(problems: pl.DataFrame) -> None:
    hits = dedup.image(problems, max_distance=4, match="answer")
    # The re-encoded figure with new wording and the same answer goes; the same figure with a
    # different question and answer stays. EXACT/NEAR reuse their originals' figure and answer too.
    assert {h.dropped for h in hits} == {S.REWORDED, S.EXACT, S.NEAR}
    assert {(h.dropped, h.kept) for h in hits if h.dropped == S.REWORDED} == {(S.REWORDED, S.pid("p04"))}
    any_hits = dedup.image(problems, max_distance=4, match="any")
    assert S.SAME_FIGURE_OTHER_QUESTION in {h.dropped for h in any_hits}


def test_decontamination_names_ngram_and_image_hits(problems: pl.DataFrame, data: dict[str, Path]) -> None:
    bench = decontam.load_benchmarks((), (str(data["bench"]),))
    assert bench.height == 4
    hits = decontam.find_hits(problems, bench, n=8, max_distance=4)
    assert {(h.id, h.benchmark_id, h.kind) for h in hits} == {
        (S.NGRAM_HIT, "bench/test/1", "ngram"),
        (S.IMAGE_HIT, "bench/test/2", "image"),
    }
    ngram = next(h for h in hits if h.kind == "ngram")
    assert len(ngram.match.split()) == 8 and ngram.benchmark == data["bench"].name
    no_img = decontam.find_hits(problems, bench, n=8, max_distance=4, use_images=False)
    assert {h.id for h in no_img} == {S.NGRAM_HIT}


def test_decontaminate_through_source_registry(problems: pl.DataFrame, data: dict[str, Path]) -> None:
    """`--decontaminate NAME=PATH` reads the benchmark through `vrd.sources` (here the generic reader)."""
    shard = next(data["bench"].glob("*.parquet"))
    bench = decontam.load_benchmarks((f"generic={shard}",), ())
    assert bench.height == 4 and set(bench["benchmark"]) == {"generic"}
    hits = decontam.find_hits(problems, bench, n=8, max_distance=4)
    assert {(h.id, h.kind) for h in hits} == {(S.NGRAM_HIT, "ngram"), (S.IMAGE_HIT, "image")}


def test_decontaminate_unknown_source_gives_advice() -> None:
    with pytest.raises(VrdError, match="decontaminate-path"):
        decontam.load_benchmarks(("no-such-benchmark",), ())


def test_row_filters_count_reasons(data: dict[str, Path]) -> None:
    rows, _, _ = load(data["responses"])
    cfg = CurateConfig(require_format=True, min_tokens=105, max_tokens=300)
    kept, dropped = filters.apply(rows, filters.correctness_filters(cfg) + filters.length_filters(cfg))
    assert dropped["incorrect"] == int((~rows["correct"]).sum())
    fmt_only = rows.filter(pl.col("correct") & ~pl.col("format_ok"))
    assert dropped["format check failed"] == fmt_only.height
    assert kept["correct"].all() and kept["format_ok"].all()
    assert kept["n_tokens"].min() >= 105 and kept["n_tokens"].max() <= 300
    assert kept.height + sum(dropped.values()) == rows.height


def test_fixed_difficulty_bins_edges() -> None:
    rates = pl.Series([0.0, 1 / 8, np.float32(1 / 3), 0.375, np.float32(2 / 3), 0.75, 7 / 8, 1.0])
    assert difficulty.bin_labels(rates, "fixed").to_list() == [
        "unsolved", "hard", "hard", "medium", "medium", "easy", "easy", "trivial"]


def test_quantile_bins_keep_unsolved_and_trivial() -> None:
    rates = pl.Series([0.0, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 1.0])
    labels = difficulty.bin_labels(rates, "quantile").to_list()
    assert labels[0] == "unsolved" and labels[-1] == "trivial"
    assert labels[1:7] == ["hard", "hard", "medium", "medium", "easy", "easy"]


def test_rollout_pass_rates_prefer_first_round(tmp_path: Path) -> None:
    from vrd.schema import write_dataset

    rows = S.responses(k=4)
    for r in rows:  # pretend a later round solved more than round 1 did
        r["pass_rate"] = 1.0
    write_dataset(rows, tmp_path / "roll", kind="responses")
    rates = dict(difficulty.rollout_pass_rates(str(tmp_path / "roll")).iter_rows())
    assert rates[S.UNSOLVED] == 0.0
    assert rates[S.pid("p01")] == pytest.approx(S.responses(k=4)[4]["pass_rate_r1"])
    # Rollouts without pass-rate columns: the mean of `correct` in the first round.
    import pyarrow.parquet as pq

    (tmp_path / "roll2").mkdir()
    for f in sorted((tmp_path / "roll").glob("*.parquet")):
        table = pq.read_table(f)
        pq.write_table(table.drop_columns(["pass_rate", "pass_rate_r1"]), tmp_path / "roll2" / f.name)
    rates2 = dict(difficulty.rollout_pass_rates(str(tmp_path / "roll2")).iter_rows())
    assert rates2 == pytest.approx(rates)


@pytest.mark.parametrize("mode", ["shortest", "longest", "first", "random"])
def test_selection_picks_one_response_per_problem(data: dict[str, Path], mode: str) -> None:
    rows, _, _ = load(data["responses"])
    correct = rows.filter(pl.col("correct"))
    chosen = select(correct, mode, seed=3)
    assert chosen["id"].n_unique() == chosen.height == correct["id"].n_unique()
    best = correct.group_by("id").agg(pl.col("n_tokens").min().alias("lo"), pl.col("n_tokens").max().alias("hi"),
                                      pl.col("sample").min().alias("s0"))
    merged = chosen.join(best, on="id")
    if mode == "shortest":
        assert (merged["n_tokens"] == merged["lo"]).all()
    elif mode == "longest":
        assert (merged["n_tokens"] == merged["hi"]).all()
    elif mode == "first":
        assert (merged["sample"] == merged["s0"]).all()
    else:
        assert chosen.equals(select(correct, mode, seed=3))  # deterministic given the seed


def test_random_selection_is_uniform_over_candidates(data: dict[str, Path]) -> None:
    """Over many seeds each candidate of a problem is picked about 1/k of the time: not "first", not "shortest"."""
    rows, _, _ = load(data["responses"])
    correct = rows.filter(pl.col("correct"))
    k = correct.group_by("id").len().filter(pl.col("len") > 1)
    assert k.height >= 2, "the fixture needs problems with several correct responses"
    seeds = range(120)
    picks = pl.concat([select(correct, "random", seed=s).select("id", "_row") for s in seeds])
    counts = picks.join(k, on="id").group_by("id", "_row", "len").len("n")
    # Every candidate of every multi-candidate problem is picked, at a rate near 1/k (binomial, 120 draws).
    per_id = counts.group_by("id").agg(pl.len().alias("seen"), pl.col("len").first())
    assert (per_id["seen"] == per_id["len"]).all()
    share = counts["n"] / len(seeds)
    expected = 1 / counts["len"]
    sd = (expected * (1 - expected) / len(seeds)).sqrt()
    assert ((share - expected).abs() < 4 * sd).all(), counts
    firsts = [select(correct, "first").join(select(correct, "random", seed=s), on=["id", "_row"]).height
              for s in range(10)]
    assert min(firsts) < correct["id"].n_unique()  # some seed picks other than the first response


def test_closest_selection_keeps_lowest_nll(data: dict[str, Path]) -> None:
    rows, _, shards = load(data["responses"])
    correct = rows.filter(pl.col("correct"))
    seen: list[dict] = []

    def scorer(model: str, batch: list[dict], *, batch_size: int = 8) -> list[dict]:
        seen.extend(batch)
        # Prefer the response with the highest sample number (a deterministic stand-in for likelihood).
        return [{"nll_per_token": -float(r["response"].split()[1]), "nll_per_byte": 0.0, "n_tokens": 1}
                for r in batch]

    chosen = select(correct, "closest", shards=shards, base_model="m", scorer=scorer)
    top = correct.group_by("id").agg(pl.col("sample").max().alias("top"))
    assert (chosen.join(top, on="id").select(pl.col("sample") == pl.col("top")).to_series()).all()
    assert seen and all(r["images"] is not None and "prompt" in r for r in seen)
    # Problems with one candidate are not scored.
    singles = correct.group_by("id").len().filter(pl.col("len") == 1)["id"].to_list()
    assert not {r["id"] for r in seen} & set(singles)


def test_closest_selection_with_real_likelihood(data: dict[str, Path], tiny_model_dir: Path) -> None:
    likelihood = pytest.importorskip("vrd.analysis.likelihood")
    rows, _, shards = load(data["responses"])
    correct = rows.filter(pl.col("correct") & pl.col("id").is_in([S.pid("p02"), S.pid("p05")]))
    chosen = select(correct, "closest", shards=shards, base_model=str(tiny_model_dir), batch_size=4)
    table = take_rows(shards, correct["_row"].to_numpy(), ["id", "prompt", "response", "images", "question"])
    scores = likelihood.score_nll(str(tiny_model_dir), table.to_pylist(), batch_size=4)
    nll = correct.with_columns(pl.Series("nll", [s["nll_per_token"] for s in scores]))
    best = nll.sort("nll").unique("id", keep="first")
    assert set(zip(chosen["id"], chosen["_row"], strict=True)) == set(zip(best["id"], best["_row"], strict=True))


def test_splits_disjoint_stratified_deterministic() -> None:
    ids = [f"s{i % 2}/train/{i:04d}" for i in range(400)]
    frame = pl.DataFrame({"id": ids, "source": [f"s{i % 2}" for i in range(400)],
                          "difficulty": [["hard", "easy", "medium", "trivial"][i % 4 // 2 * 2 + (i // 200)]
                                         for i in range(400)]})
    a = splits.assign(frame, {"sft": 100, "rl": 200, "val": 40}, seed=7)
    assert a.height == 340 and a["id"].n_unique() == 340
    assert a.equals(splits.assign(frame, {"sft": 100, "rl": 200, "val": 40}, seed=7))
    assert not a.equals(splits.assign(frame, {"sft": 100, "rl": 200, "val": 40}, seed=8))
    pool = frame.group_by("source", "difficulty").len().with_columns(share=pl.col("len") / 400)
    for name, size in (("sft", 100), ("rl", 200), ("val", 40)):
        got = a.filter(pl.col("split") == name).join(frame, on="id").group_by("source", "difficulty").len()
        share = got.join(pool.select("source", "difficulty", "share"), on=["source", "difficulty"])
        assert ((share["len"] - share["share"] * size).abs() <= 1).all(), name
    rest = splits.assign(frame, {"sft": 10, "rl": REST}, seed=0)
    assert rest.filter(pl.col("split") == "rl").height == 390


def test_split_too_large_names_available_count() -> None:
    frame = pl.DataFrame({"id": ["a", "b", "c"], "source": ["x"] * 3, "difficulty": ["easy"] * 3})
    with pytest.raises(VrdError, match="only 3 are available"):
        splits.assign(frame, {"sft": 2, "rl": 2})


def test_config_parsing_and_yaml_overrides(tmp_path: Path) -> None:
    assert parse_pass_rate("0.1:0.9") == (0.1, 0.9) and parse_pass_rate(":0.5") == (0.0, 0.5)
    assert parse_splits("sft=2000,rl=rest,val=500") == {"sft": 2000, "rl": REST, "val": 500}
    for bad in ("0.9:0.1", "x", "2:3"):
        with pytest.raises(VrdError):
            parse_pass_rate(bad)
    with pytest.raises(VrdError):
        parse_splits("sft=lots")
    cfg_file = tmp_path / "c.yaml"
    cfg_file.write_text("select: longest\npass-rate: '0.2:0.8'\ndedup: exact\nsplit: sft=5,rl=rest\n")
    cfg = CurateConfig.load(cfg_file, {"select": "random", "seed": None})
    assert cfg.select == "random" and cfg.pass_rate == (0.2, 0.8) and cfg.dedup == ("exact",)
    assert cfg.split == {"sft": 5, "rl": REST} and cfg.seed == 0
    cfg_file.write_text("selekt: longest\n")
    with pytest.raises(VrdError, match="selekt"):
        CurateConfig.load(cfg_file)
    with pytest.raises(VrdError, match="base-model"):
        CurateConfig(select="closest")


def test_vectorized_minhash_equals_datasketch() -> None:
    from datasketch import MinHash

    texts = ["the quick brown fox jumps over the lazy dog", "a b", "", "find x in the figure shown below"]
    grams = minhash.shingle_hashes(texts, 3)
    sig = minhash.signatures(grams["doc"].to_numpy(), grams["h"].to_numpy(), len(texts), 64, seed=1)
    for d in range(len(texts)):
        hs = grams.filter(pl.col("doc") == d)["h"].to_list()
        m = MinHash(num_perm=64, seed=1, hashfunc=int)
        m.update_batch(hs)
        assert np.array_equal(sig[d], m.hashvalues), d


def test_vectorized_near_dedup_agrees_with_datasketch_loop() -> None:
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(500)]
    texts = []
    for _ in range(300):
        texts.append(" ".join(rng.choice(vocab, 30)))
    for i in range(0, 300, 10):  # 30 near copies: one word changed at the end
        words = texts[i].split()
        texts.append(" ".join(words[:-1] + ["changed"]))
    grams = minhash.shingle_hashes(texts, 3)
    sig = minhash.signatures(grams["doc"].to_numpy(), grams["h"].to_numpy(), len(texts))
    fast = {(m.dropped, m.kept) for m in minhash.near_duplicates(sig, 0.8)}
    loop = {(m.dropped, m.kept) for m in minhash.near_duplicates_loop(texts, 0.8, 3)}
    assert fast == loop == {(300 + j, 10 * j) for j in range(30)}


def test_close_pairs_finds_all_within_distance() -> None:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**63, 200, dtype=np.uint64)
    flips = np.array([np.uint64(1) << np.uint64(b) for b in rng.integers(0, 64, 200)], dtype=np.uint64)
    near = base ^ flips  # distance exactly 1
    pairs = close_pairs(base, near, 2)
    brute = {(i, j) for i in range(200) for j in range(200)
             if bin(int(base[i]) ^ int(near[j])).count("1") <= 2}
    assert {tuple(p) for p in pairs.tolist()} == brute
    assert all((i, i) in brute for i in range(200))


def test_open_shards_rejects_problem_rows(tmp_path: Path) -> None:
    from vrd.schema import SchemaError, write_dataset

    write_dataset(S.problems()[:2], tmp_path / "p", kind="problems")
    with pytest.raises(SchemaError, match="'correct'"):
        open_shards(tmp_path / "p")


def test_split_shares_are_fractions_of_the_available_pool() -> None:
    import polars as pl

    from vrd.curate.config import REST, parse_splits
    from vrd.curate.splits import assign

    sizes = parse_splits("sft=50%,rl=0.25,val=rest")
    assert sizes == {"sft": 0.5, "rl": 0.25, "val": REST}
    problems = pl.DataFrame({"id": [f"p{i}" for i in range(10)], "source": ["s"] * 10, "difficulty": ["easy"] * 10})
    counts = assign(problems, sizes, seed=0).group_by("split").len().sort("split")
    assert dict(zip(counts["split"].to_list(), counts["len"].to_list(), strict=True)) == {"rl": 2, "sft": 5, "val": 3}

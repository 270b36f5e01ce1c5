"""The pieces of benchmarks/scale.py that shape its figures: pair chunks from value codes,
digit views, the cheap non-match rule and pairwise scores of clusters."""

import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blocking import join_pairs, make_dirty_records

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def scale(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("scale")


def test_pair_chunks_equal_the_joined_pairs(scale):
    records, _ = make_dirty_records(n_entities=200, seed=1)
    rng = np.random.default_rng(0)
    li, ri = rng.integers(0, len(records), 300), rng.integers(0, len(records), 300)
    tables = scale.PairTables(records)
    got = tables.pairs(li, ri, ids=True)
    ids = records["id"].to_numpy()
    want = join_pairs(pd.DataFrame({"ltable_id": ids[li], "rtable_id": ids[ri]}), records)
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got.astype(object), want.astype(object))


def test_digit_views_space_out_digit_codes_only(scale):
    records = pd.DataFrame({"id": ["a", "b", "c"], "postcode": ["2577", "5277", None],
                            "name": ["ann", "bob", "2"]})
    tables = scale.PairTables(records, digit_views=True)
    assert tables.columns == ["postcode", "name", "postcode_digits"]
    pairs = tables.pairs(np.array([0, 2]), np.array([1, 0]))
    assert pairs["left_postcode_digits"].tolist()[0] == "2 5 7 7"
    assert pairs["right_postcode_digits"].tolist()[0] == "5 2 7 7"
    assert pd.isna(pairs["left_postcode_digits"].tolist()[1])


def test_obvious_non_matches_need_enough_non_match_votes_beyond_the_match_votes(scale):
    L = np.array([[0, 0, 0, -1, -1], [0, 0, 0, 1, -1], [0, 0, 0, 1, 1], [0, 0, -1, -1, -1],
                  [-1, -1, -1, -1, -1]])
    assert scale.obvious_non_matches(L, 3).tolist() == [True, True, False, False, False]
    assert not scale.obvious_non_matches(L, 0).any()


def test_cluster_scores_count_every_pair_inside_a_cluster(scale):
    # records 0-1-2 chained by two predicted pairs: the cluster holds 3 pairs, 2 of them true
    li, ri = np.array([0, 1, 3]), np.array([1, 2, 4])
    pred = np.array([True, True, False])
    p, r, f = scale.cluster_scores(5, li, ri, pred, np.array([0, 1, 3]), np.array([1, 2, 4]))
    assert (p, r) == (2 / 3, 2 / 3)
    assert f == pytest.approx(2 / 3)


def test_digit_columns_are_found_without_views(scale):
    records = pd.DataFrame({"id": ["a", "b", "c"], "postcode": ["2577", "5277", None],
                            "name": ["ann", "bob", "2"]})
    tables = scale.PairTables(records)
    assert tables.digit_columns == ["postcode"] and tables.columns == ["postcode", "name"]


def test_pool_holds_every_rare_vote_pattern_and_is_repeatable(scale):
    rng = np.random.default_rng(0)
    L = np.zeros((2000, 3), dtype=np.int8)
    L[:5] = [1, -1, 0]  # a rare pattern: 5 of 2,000 candidates
    L[5:7] = [-1, 1, 1]  # rarer still
    L = L[rng.permutation(len(L))]
    rows = scale.sample_pool(L, 50, 3, seed=1)
    assert len(rows) == 50 and len(set(rows.tolist())) == 50 and (np.diff(rows) > 0).all()
    patterns = [tuple(r) for r in L[rows].tolist()]
    assert patterns.count((1, -1, 0)) >= 3 and patterns.count((-1, 1, 1)) == 2
    assert np.array_equal(rows, scale.sample_pool(L, 50, 3, seed=1))
    plain = scale.sample_pool(L, 50, 0, seed=1)
    assert len(plain) == 50 and len(set(plain.tolist())) == 50


def _random_candidates(scale, records, seed: int):
    """Pair tables, 400 random candidate pairs (li, ri) and their gold labels."""
    records, matches = records
    tables = scale.PairTables(records)
    rng = np.random.default_rng(seed)
    li, ri = np.sort(rng.integers(0, len(records), (2, 400)), axis=0)
    return tables, li, ri, scale.gold_labels(records, matches, li, ri)


def test_scores_in_threads_equal_scores_in_one(scale, records):
    from matchers import SimilarityMatcher

    tables, li, ri, gold = _random_candidates(scale, records, seed=2)
    records = records[0]
    pairs = tables.pairs(li, ri).astype(object)
    y = np.where(gold == 1, 0.9, 0.1)
    matcher = SimilarityMatcher(max_iter=20, featurizer=scale.make_featurizer("lean")).fit(pairs, y)
    skip = np.zeros(len(li), dtype=bool)
    skip[::7] = True
    one = scale.score(matcher, tables, records, li, ri, skip, None, 100, threads=1)
    two = scale.score(matcher, tables, records, li, ri, skip, None, 100, threads=2)
    assert np.array_equal(one, two) and (one[skip] == 0).all()


@pytest.mark.parametrize("kind", ["lean", "minimal", "attributes"])
def test_features_by_value_equal_the_featurizers_own(scale, records, kind):
    records, matches = records
    records = records.copy()
    records.loc[records.index[:7], "suburb"] = "  "  # blank text counts as missing
    records.loc[records.index[7:12], "given_name"] = None
    tables = scale.PairTables(records)
    rng = np.random.default_rng(4)
    li, ri = np.sort(rng.integers(0, len(records), (2, 500)), axis=0)
    li[:20], ri[:20] = np.arange(20), np.arange(20) + 1  # the blank and missing values in pairs
    kinds = {c: "short" for c in tables.digit_columns}
    featurizer = scale.make_featurizer(kind, kinds).fit(tables.pairs(li, ri).astype(object))
    featurizer.set_params(cache=False)
    want = featurizer.transform(tables.pairs(li, ri))
    for threads, part in ((1, 250_000), (2, 37)):
        got = scale.features_by_value(featurizer, tables, li, ri, threads, part)
        assert list(got.columns) == list(want.columns)
        np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())  # NaN where NaN


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux's fork")
def test_features_beside_in_a_forked_child_equal_those_computed_here(scale, records):
    tables, li, ri, _ = _random_candidates(scale, records, seed=6)
    featurizer = scale.make_featurizer("lean").fit(tables.pairs(li, ri).astype(object))
    want = scale.features_by_value(featurizer, tables, li, ri, 1, 50)
    distinct, cpu, private_mb = scale.features_beside(featurizer, tables, li, ri, 50).result()
    got = scale.ValueFeatures(featurizer, tables, li, ri, distinct)
    assert len(got) == len(li) and cpu > 0 and private_mb >= 0
    np.testing.assert_array_equal(got.rows(slice(None)).to_numpy(), want.to_numpy())
    # compact: per distinct value pair, not per pair and column
    stored = sum(inv.nbytes + values.nbytes for _, inv, values in distinct["attributes"].values())
    assert stored < want.to_numpy().nbytes


def test_value_features_in_parts_equal_the_whole_table(scale, records):
    tables, li, ri, _ = _random_candidates(scale, records, seed=7)
    featurizer = scale.make_featurizer("lean").fit(tables.pairs(li, ri).astype(object))
    features = scale.ValueFeatures(featurizer, tables, li, ri, scale.distinct_value_features(
        featurizer, tables, li, ri, 2, 30))
    whole = features.rows(slice(None)).to_numpy()
    parts = [features.rows(c).to_numpy() for c in scale._chunks(len(li), 33)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_a_failing_forked_child_is_an_error_here(scale):
    def fail():
        raise ValueError("no")

    with pytest.raises(RuntimeError, match="exited with code 1"):
        scale.ForkedCall(fail).result()


def test_features_by_value_refuse_whole_record_features(scale, records):
    tables, li, ri, _ = _random_candidates(scale, records, seed=3)
    featurizer = scale.make_featurizer("full").fit(tables.pairs(li, ri).astype(object))
    with pytest.raises(ValueError, match="whole-record"):
        scale.features_by_value(featurizer, tables, li, ri)


@pytest.mark.parametrize("interactions", ["all", "attribute", "none"])
def test_scores_by_value_equal_scores_chunk_by_chunk(scale, records, interactions):
    from matchers import SimilarityMatcher

    tables, li, ri, gold = _random_candidates(scale, records, seed=3)
    records = records[0]
    matcher = SimilarityMatcher(max_iter=20, featurizer=scale.make_featurizer("lean"),
                                interactions=interactions).fit(
        tables.pairs(li, ri).astype(object), np.where(gold == 1, 0.9, 0.1))
    skip = np.zeros(len(li), dtype=bool)
    skip[::5] = True
    got = scale.score(matcher, tables, records, li, ri, skip, None, 100, 2, by_value=True)
    want = scale.score(matcher, tables, records, li, ri, skip, None, 100, threads=1)
    # an additive matcher's terms are summed per distinct value pair: equal up to rounding
    np.testing.assert_allclose(got, want, rtol=0, atol=0 if interactions == "all" else 1e-12)
    assert (got[skip] == 0).all() and len(np.unique(got[~skip])) > 5


def test_pair_tables_reuse_the_blockers_codes_unchanged(scale, records):
    from blocking import large_person_blocker, shared_codes

    records, _ = records
    alone = scale.PairTables(records)
    with shared_codes():
        large_person_blocker().block_positions(records)
        shared = scale.PairTables(records)
    for column in alone.columns:
        assert np.array_equal(alone.codes[column], shared.codes[column])
        assert alone.categories[column].equals(shared.categories[column])


def test_repeat_table_shows_each_run_the_medians_and_the_median_ratio(scale):
    def run(ours: float, theirs: float) -> dict:
        return {"seconds": ours, "cpu": ours, "peak_mb": 1024.0, "f1": 0.9,
                "splink": {"large": {"seconds": theirs, "cpu": theirs, "peak_mb": 2048.0,
                                     "f1": 0.8}}}

    text = scale.repeat_table(None, [run(30.0, 20.0), run(20.0, 40.0), run(26.0, 26.0)])
    lines = text.splitlines()
    assert any(line.startswith("| 2 | 20.0 |") and line.endswith("| 0.50 |") for line in lines)
    median = next(line for line in lines if line.startswith("| **median**"))
    # ours 26.0, Splink 26.0; per-run ratios 1.5, 0.5, 1.0: median 1.00
    assert median.split(" | ")[1] == "26.0" and median.split(" | ")[5] == "26.0"
    assert median.endswith("| 1.00 |") and "Ratio of the medians: 1.00" in text


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux's fork")
@pytest.mark.filterwarnings("ignore:apply_lfs")  # random pairs: some LFs never fire
def test_lf_votes_with_a_forked_half_equal_those_in_one_process(scale, records):
    from labeling_functions import load_lfs

    tables, li, ri, _ = _random_candidates(scale, records, seed=8)
    lfs = load_lfs(str(BENCHMARKS.parent / "active" / "demo_lfs.py"))
    want, none = scale.label(lfs, tables, records[0], li, ri, None, 70)
    got, (cpu, private_mb) = scale.label(lfs, tables, records[0], li, ri, None, 70, jobs=2)
    assert none is None and cpu > 0 and private_mb >= 0
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.int8 and got.shape == (len(li), len(lfs))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_mmap_threshold_is_set_in_a_fresh_process():
    code = ("import sys; sys.path[:0] = sys.argv[1:]; import scale; "
            "print(scale.fix_mmap_threshold(4 * scale.MB))")
    out = subprocess.run([sys.executable, "-c", code, str(BENCHMARKS), str(BENCHMARKS.parent)],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_errors_file_holds_the_false_the_missed_and_the_lost_pairs(scale, tmp_path):
    records = pd.DataFrame({"id": list("abcde"), "name": ["ann", "anne", "bob", "rob", "cy"]})
    li, ri = np.array([0, 0, 2]), np.array([1, 4, 3])  # a-b true, a-e false, c-d true
    true_l, true_r = np.array([0, 2, 3]), np.array([1, 3, 4])  # d-e: lost by the blocker
    proba = np.array([0.9, 0.8, 0.1])
    gold = np.array([1, 0, 1], dtype=np.int8)
    L = np.array([[1, -1], [0, 1], [-1, 0]], dtype=np.int8)
    path = tmp_path / "errors.pkl"
    scale.write_errors(str(path), records, li, ri, proba, proba >= 0.5, gold, L,
                       np.array([False, False, True]), true_l, true_r)
    errors = pd.read_pickle(path)
    assert errors["false"][["left_id", "right_id", "proba", "lf0", "lf1"]].values.tolist() == [
        ["a", "e", 0.8, 0, 1]]
    assert errors["missed"][["left_id", "right_id", "dropped"]].values.tolist() == [
        ["c", "d", True]]
    assert errors["lost"][["left_name", "right_name"]].values.tolist() == [["rob", "cy"]]


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux's fork")
def test_blocking_with_half_the_keys_in_a_forked_child_equals_blocking_here(scale, records):
    from blocking import shared_codes

    records = records[0]
    with shared_codes():
        (want_l, want_r), none = scale.block(records, None)
    with shared_codes():
        (got_l, got_r), (cpu, private_mb) = scale.block(records, None, fork=True)
        tables = scale.PairTables(records)  # reads the codes computed before the fork
    assert none is None and cpu > 0 and private_mb >= 0 and len(want_l) > 100
    np.testing.assert_array_equal(got_l, want_l)
    np.testing.assert_array_equal(got_r, want_r)
    assert got_l.dtype == np.int32 and (got_l < got_r).all()
    pairs = tables.pairs(got_l[:5], got_r[:5])
    pd.testing.assert_series_equal(pairs["left_surname"].astype(object),
                                   records["surname"].iloc[got_l[:5]].reset_index(drop=True),
                                   check_names=False)

"""The pieces of benchmarks/scale.py that shape its figures: pair chunks from value codes,
digit views, the cheap non-match rule and pairwise scores of clusters."""

import importlib
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

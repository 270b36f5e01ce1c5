"""Blocking quality figures on hand-countable examples."""

import pandas as pd
import pytest

from blocking import blocking_quality


def pairs(rows):
    return pd.DataFrame(rows, columns=["ltable_id", "rtable_id"])


def test_dedup_quality_counts_each_unordered_pair_once():
    cands = pairs([(1, 2), (2, 3), (2, 1)])
    matches = pairs([(2, 1), (1, 2), (3, 4)])  # (2, 1) and (1, 2) are one match
    q = blocking_quality(cands, matches, n_left=4)
    assert q["n_candidates"] == 2
    assert q["n_matches"] == 2
    assert q["pair_completeness"] == pytest.approx(0.5)
    assert q["reduction_ratio"] == pytest.approx(1 - 2 / 6)
    assert q["pair_quality"] == pytest.approx(0.5)
    assert "pair completeness   0.5000" in str(q)


def test_linkage_quality_is_ordered():
    cands = pairs([("a", "x"), ("b", "y")])
    matches = pairs([("a", "x"), ("y", "b")])  # the reversed pair is not a linkage match
    q = blocking_quality(cands, matches, n_left=2, n_right=3)
    assert q["pair_completeness"] == pytest.approx(0.5)
    assert q["reduction_ratio"] == pytest.approx(1 - 2 / 6)
    assert q["candidates_per_left"] == pytest.approx(1.0)


def test_quality_rejects_bad_input():
    with pytest.raises(ValueError, match="lacks column"):
        blocking_quality(pd.DataFrame({"a": [1]}), pairs([(1, 2)]), 3)
    with pytest.raises(ValueError, match="n_left must be a positive integer"):
        blocking_quality(pairs([(1, 2)]), pairs([(1, 2)]), 0)

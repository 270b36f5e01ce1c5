"""Clusters from scored pairs: weak chains split at the size the matches support, ties split
into stars, and a one-to-one matching for two tables."""

import numpy as np
import pandas as pd
import pytest

from active.clustering import cluster_records, suggested_max_size


def _pairs(edges):
    left, right, scores = zip(*edges, strict=True)
    return pd.DataFrame({"ltable_id": left, "rtable_id": right}), np.array(scores, dtype=float)



def _groups_of(clusters):
    return {frozenset(ids) for _, ids in clusters.groupby("cluster")["record_id"] if len(ids) > 1}


def test_auto_size_splits_a_weak_chain_that_components_keep():
    # two strong pairs joined by one weak link: each record matches at most 2 others
    pairs, scores = _pairs([("a", "b", 0.95), ("b", "c", 0.55), ("c", "d", 0.9), ("x", "y", 0.2)])
    plain = cluster_records(pairs, scores, 0.5)
    assert _groups_of(plain) == {frozenset("abcd")}
    split = cluster_records(pairs, scores, 0.5, max_size="auto")
    assert _groups_of(split) == {frozenset("ab"), frozenset("cd")}
    assert split.attrs["split"] == {"max_size": 3, "n_split": 1, "largest_component": 4}
    assert set(split["record_id"]) == set("abcdxy")  # unmatched records stay, alone


def test_splitting_keeps_the_strongest_links():
    clique = [(u, v, 0.8) for i, u in enumerate("abcd") for v in "abcd"[i + 1:]]
    pairs, scores = _pairs([*clique, ("d", "e", 0.6)])  # e hangs on by one weaker link
    clusters = cluster_records(pairs, scores, 0.5, max_size=4)
    assert _groups_of(clusters) == {frozenset("abcd")}


def test_ties_are_split_into_stars_no_larger_than_the_limit():
    chain = [(str(i), str(i + 1), 0.9) for i in range(9)]  # 10 records, every link tied
    pairs, scores = _pairs(chain)
    clusters = cluster_records(pairs, scores, 0.5, max_size=3)
    assert clusters["cluster_size"].max() <= 3
    linked = {frozenset((u, v)) for u, v, _ in chain}
    for group in _groups_of(clusters):  # every member is linked to one centre
        assert any(all(frozenset((c, m)) in linked for m in group - {c}) for c in group)


def test_suggested_size_follows_partner_counts():
    a, b = np.array([0, 0, 0, 4]), np.array([1, 2, 3, 5])
    assert suggested_max_size(a, b, np.ones(4, dtype=bool), 6) == 4  # record 0 has 3 partners
    assert suggested_max_size(a, b, np.zeros(4, dtype=bool), 6) == 2


def test_one_to_one_takes_the_best_total_not_the_best_first():
    # greedy best-first would take l1-r1 (0.9) and leave l2 unmatched; the assignment
    # l1-r2 + l2-r1 scores 1.65
    pairs, scores = _pairs([(1, 1, 0.9), (1, 2, 0.85), (2, 1, 0.8), (3, 3, 0.7), (3, 4, 0.1)])
    clusters = cluster_records(pairs, scores, 0.5, dedup=False, one_to_one=True)
    assert _groups_of(clusters) == {frozenset({"l:1", "r:2"}), frozenset({"l:2", "r:1"}),
                                    frozenset({"l:3", "r:3"})}
    assert clusters["cluster_size"].max() == 2


def test_bad_options_are_refused():
    pairs, scores = _pairs([("a", "b", 0.9)])
    with pytest.raises(ValueError, match="one_to_one needs two tables"):
        cluster_records(pairs, scores, one_to_one=True)
    with pytest.raises(ValueError, match="max_size must be an integer or 'auto'"):
        cluster_records(pairs, scores, max_size="big")
    with pytest.raises(ValueError, match="size_quantile must lie in"):
        cluster_records(pairs, scores, max_size="auto", size_quantile=0)
    with pytest.raises(ValueError, match="at least 2"):
        cluster_records(pairs, scores, max_size=1)
    with pytest.raises(ValueError, match="2 scores for 1 pairs"):
        cluster_records(pairs, np.array([0.1, 0.2]))

"""Selectors: never a labelled, skipped or repeated pair; repeatable with a seed; the hybrid
splits its batch between maxKL and risk k-medoids."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from active import PoolState, make_selector
from active.selectors import SELECTOR_NAMES, HybridSelector, k_center_greedy


def _state(n, n_labelled, n_skipped, seed=0):
    rng = np.random.default_rng(seed)
    L = rng.integers(-1, 2, size=(n, 4))
    positions = rng.permutation(n)
    labelled = positions[:n_labelled]
    skipped = positions[n_labelled:n_labelled + n_skipped]
    p = rng.random(n)
    return PoolState(
        L=L, expert_labels={int(i): int(rng.random() < 0.5) for i in labelled}, lm_proba=p,
        lm_proba_initial=p, matcher_proba=rng.random(n), embeddings=rng.normal(size=(n, 3)),
        risk=rng.random(n), skipped={int(i) for i in skipped},
    )


@settings(max_examples=10, deadline=None)
@given(n=st.integers(5, 40), labelled=st.integers(0, 20), skipped=st.integers(0, 10),
       batch=st.integers(1, 12), name=st.sampled_from(SELECTOR_NAMES))
def test_selectors_never_repeat_or_reask(n, labelled, skipped, batch, name):
    labelled, skipped = min(labelled, n - 1), min(skipped, max(n - labelled - 1, 0))
    state = _state(n, labelled, skipped)
    chosen = make_selector(name, seed=0).select(state, batch)
    free = set(state.unlabeled().tolist())
    assert len(set(chosen.tolist())) == len(chosen) == min(batch, len(free))
    assert set(chosen.tolist()) <= free


@pytest.mark.parametrize("name", SELECTOR_NAMES)
def test_same_seed_same_selection(name):
    state = _state(60, 10, 3)
    first = make_selector(name, seed=4).select(state, 8)
    assert np.array_equal(first, make_selector(name, seed=4).select(state, 8))


def test_make_selector_names_and_errors():
    assert make_selector("core-set").name == "coreset"
    assert make_selector("kmedoids").name == "risk_kmedoids"
    with pytest.raises(ValueError, match="unknown selector 'best'.*hybrid"):
        make_selector("best")


def test_hybrid_gives_maxkl_a_share_only_where_buckets_disagree():
    state = _state(80, 12, 0)
    hybrid = HybridSelector(seed=0, kl_threshold=0.0, kl_share=0.4)
    chosen = hybrid.select(state, 10)
    assert hybrid.diagnostics["n_maxkl"] == 4 and hybrid.diagnostics["n_kmedoids"] == 6
    assert len(set(chosen.tolist())) == 10
    calm = HybridSelector(seed=0, kl_threshold=1e9).select(state, 10)
    assert calm.size == 10  # no bucket above the threshold: all from k-medoids
    no_matcher = _state(80, 12, 0)
    no_matcher.embeddings = None
    picks = HybridSelector(seed=0).select(no_matcher, 10)
    assert picks.size == 10  # before a matcher exists the batch is all maxKL


def test_k_center_greedy_takes_the_far_point():
    X = np.array([[0.0], [0.1], [0.2], [10.0]])
    picks, radius = k_center_greedy(X, np.array([0]), np.array([1, 2, 3]), 1,
                                    np.random.default_rng(0))
    assert picks.tolist() == [3] and radius == pytest.approx(0.2)


def test_hybrid_auto_share_follows_the_disagreeing_part_of_the_pool():
    n = 100
    L = np.zeros((n, 1), dtype=int)
    L[:30, 0] = 1  # bucket "1": 30 pairs; bucket "0": 70 pairs
    p = np.where(L[:, 0] == 1, 0.999, 0.001)
    # the expert contradicts the label model in bucket "1" only
    labels = {0: 0, 1: 0, 50: 0, 51: 0}
    rng = np.random.default_rng(1)
    state = PoolState(L=L, expert_labels=labels, lm_proba=p, lm_proba_initial=p,
                      matcher_proba=rng.random(n), embeddings=rng.normal(size=(n, 2)),
                      risk=rng.random(n))
    hybrid = HybridSelector(seed=0)
    chosen = hybrid.select(state, 10)
    d = hybrid.diagnostics
    assert d["hot_buckets"] == 1 and d["hot_share"] == pytest.approx(28 / 96)
    assert d["n_maxkl"] == 1 and d["n_kmedoids"] == 9  # one pair per disagreeing bucket
    assert L[chosen[0], 0] == 1 and len(set(chosen.tolist())) == 10
    agreeing = {**labels, 0: 1, 1: 1}
    hybrid.select(PoolState(**{**state.__dict__, "expert_labels": agreeing}), 10)
    assert hybrid.diagnostics["n_maxkl"] == 0  # the label model agrees: all k-medoids


def test_hybrid_cold_start_without_lfs():
    state = _state(50, 6, 0)
    state.L = np.zeros((50, 0), dtype=int)
    state.lm_proba = state.lm_proba_initial = None
    hybrid = HybridSelector(seed=0)
    assert hybrid.select(state, 5).size == 5 and hybrid.diagnostics["n_kmedoids"] == 5
    state.embeddings = None  # a matcher without embeddings: uncertainty sampling
    chosen = hybrid.select(state, 5)
    entropy = -np.abs(state.matcher_proba - 0.5)
    free = state.unlabeled()
    assert set(chosen.tolist()) == set(free[np.argsort(entropy[free])[-5:]].tolist())
    with pytest.raises(ValueError, match="kl_share"):
        HybridSelector(kl_share="half")

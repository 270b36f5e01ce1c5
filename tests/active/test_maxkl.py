import numpy as np
import pytest

from active.base import PoolState
from active.maxkl import (
    MarginSelector,
    MaxKLSelector,
    RandomBucketSelector,
    bernoulli_kl,
)


def pool():
    # three buckets: rows 0-3 ('1,1,1'), rows 4-7 ('0,0,0'), rows 8-9 ('1,0,1')
    L = np.array([[1, 1, 1]] * 4 + [[0, 0, 0]] * 4 + [[1, 0, 1]] * 2)
    proba = np.array([0.95] * 4 + [0.05] * 4 + [0.6] * 2)
    return L, proba


def test_bernoulli_kl_zero_on_equal_and_positive_otherwise():
    assert bernoulli_kl(np.array([0.3]), np.array([0.3]))[0] == pytest.approx(0.0)
    assert bernoulli_kl(np.array([0.3]), np.array([0.0]))[0] > 1.0  # clipped q, finite
    assert np.isfinite(bernoulli_kl(np.array([1.0]), np.array([0.0]))).all()


def test_maxkl_picks_the_uncertain_bucket_first():
    L, proba = pool()
    sel = MaxKLSelector(seed=0)
    chosen = sel.select(PoolState(L=L, lm_proba=proba, lm_proba_initial=proba), 1)
    assert chosen.tolist()[0] in (8, 9)
    assert sel.diagnostics["buckets"] == ["1,0,1"] and sel.diagnostics["scores"][0] > 0


def test_maxkl_follows_expert_labels_that_contradict_the_model():
    L, proba = pool()
    state = PoolState(L=L, expert_labels={0: 0, 8: 1}, lm_proba=proba, lm_proba_initial=proba)
    sel = MaxKLSelector(seed=0)
    chosen = sel.select(state, 1)
    assert chosen[0] in (1, 2, 3)  # the model says 0.95 where the expert said 0


def test_prior_weight_keeps_a_bucket_with_one_surprising_label_open():
    L, proba = pool()
    # the expert said 1 in bucket '0,0,0' and the model now agrees (0.99): the paper's q = 1
    now = proba.copy()
    now[4:8] = 0.99
    now[8:] = 0.97
    state = PoolState(L=L, expert_labels={4: 1, 0: 1}, lm_proba=now, lm_proba_initial=proba)
    paper = MaxKLSelector(seed=0, prior_weight=0.0)
    smoothed = MaxKLSelector(seed=0, prior_weight=1.0)
    assert paper.select(state, 1)[0] not in (5, 6, 7)
    assert smoothed.select(state, 1)[0] in (5, 6, 7)


def test_batch_spreads_over_buckets_before_repeating():
    L, proba = pool()
    state = PoolState(L=L, lm_proba=proba, lm_proba_initial=proba)
    chosen = MaxKLSelector(seed=1).select(state, 5)
    assert len(set(chosen.tolist())) == 5
    keys = [tuple(L[i]) for i in chosen]
    assert len(set(keys[:3])) == 3  # one from each bucket first
    assert keys[0] == (1, 0, 1)


def test_selectors_never_return_labelled_or_skipped_and_stop_when_empty():
    L, proba = pool()
    labelled = {i: 1 for i in range(8)}
    state = PoolState(L=L, expert_labels=labelled, lm_proba=proba, lm_proba_initial=proba,
                      skipped={8})
    for sel in (MaxKLSelector(seed=0), MarginSelector(seed=0), RandomBucketSelector(seed=0)):
        assert sel.select(state, 4).tolist() == [9]


def test_margin_selector_picks_closest_to_half_and_random_bucket_covers_buckets():
    L, proba = pool()
    state = PoolState(L=L, lm_proba=proba)
    assert set(MarginSelector(seed=0).select(state, 2).tolist()) == {8, 9}
    seen = {tuple(L[i]) for i in RandomBucketSelector(seed=0).select(state, 3)}
    assert len(seen) == 3


def test_seed_makes_selection_repeatable_and_bad_input_is_explained():
    L, proba = pool()
    state = PoolState(L=L, lm_proba=proba, lm_proba_initial=proba)
    a = RandomBucketSelector(seed=4).select(state, 6)
    b = RandomBucketSelector(seed=4).select(state, 6)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="lm_proba"):
        MaxKLSelector().select(PoolState(L=L), 1)
    with pytest.raises(ValueError, match="n must be"):
        MaxKLSelector().select(state, -1)
    with pytest.raises(ValueError, match="shape"):
        MarginSelector().select(PoolState(L=L, lm_proba=proba[:3]), 1)


def test_maxkl_asks_where_no_lf_fires_only_when_nothing_else_is_left():
    L = np.array([[-1, -1, -1]] * 3 + [[1, 1, 0]] * 2)
    proba = np.array([0.5] * 3 + [0.9] * 2)
    state = PoolState(L=L, lm_proba=proba, lm_proba_initial=proba)
    chosen = MaxKLSelector(seed=0).select(state, 3)
    assert set(chosen[:2].tolist()) == {3, 4} and chosen[2] in (0, 1, 2)

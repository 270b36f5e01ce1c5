"""Selectors: never a labelled, skipped or repeated pair; repeatable with a seed; the hybrid
splits its batch between maxKL and risk k-medoids."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from active import PoolState, make_selector
from active.selectors import SELECTOR_NAMES, HybridSelector, k_center_greedy, pair_risk


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
    hybrid = HybridSelector(seed=0, kl_share="auto")
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


def test_pair_risk_is_risk_raised_to_the_matchers_doubt():
    state = _state(6, 0, 0)
    state.matcher_proba = np.array([0.5, 0.9, 0.1, 1.0, 0.0, 0.75])
    state.risk = np.array([0.1, 0.1, 0.9, 0.0, 0.3, 0.5])
    risk, source = pair_risk(state)
    assert source == "risk"
    assert np.allclose(risk, [1.0, 0.2, 0.9, 0.0, 0.3, 0.5])
    state.risk = None
    assert pair_risk(state)[1] == "uncertainty"


def test_hybrid_shortlist_holds_only_the_riskiest_unlabelled_pairs():
    state = _state(200, 30, 10, seed=3)
    hybrid = HybridSelector(seed=0, kl_share=0.0, shortlist=2.0)
    chosen = hybrid.select(state, 10)
    risk, _ = pair_risk(state)
    free = state.unlabeled()
    top = set(free[np.argsort(-risk[free])[:20]].tolist())
    assert hybrid.diagnostics["n_shortlist"] == 20 and set(chosen.tolist()) <= top
    assert hybrid.diagnostics["n_maxkl"] == 0 and len(set(chosen.tolist())) == 10
    greedy = HybridSelector(seed=0, kl_share=0.0, shortlist=1.0).select(state, 10)
    assert set(greedy.tolist()) == set(free[np.argsort(-risk[free])[:10]].tolist())


def test_hybrid_shortlist_spreads_over_the_embedding():
    # twenty risky pairs in two tight clusters: k-medoids takes one from each, not two twins
    X = np.vstack([np.zeros((10, 2)), np.full((10, 2), 5.0), np.full((20, 2), -5.0)])
    X += np.random.default_rng(0).normal(scale=0.01, size=X.shape)
    state = PoolState(L=np.zeros((40, 0), dtype=int), matcher_proba=np.r_[np.full(20, 0.5),
                      np.full(20, 0.99)], embeddings=X)
    chosen = np.sort(HybridSelector(seed=0, shortlist=10.0).select(state, 2))
    assert chosen[0] < 10 <= chosen[1] < 20


def test_hybrid_hot_bucket_gives_its_riskiest_pair():
    n = 60
    L = np.zeros((n, 1), dtype=int)
    L[:20, 0] = 1
    p = np.where(L[:, 0] == 1, 0.999, 0.001)
    labels = {0: 0, 40: 0}  # the expert contradicts bucket "1" only
    matcher = np.full(n, 0.99)
    matcher[7] = 0.5  # the matcher doubts pair 7 most in the hot bucket
    X = np.random.default_rng(0).normal(size=(n, 2))
    state = PoolState(L=L, expert_labels=labels, lm_proba=p, lm_proba_initial=p,
                      matcher_proba=matcher, embeddings=X)
    hybrid = HybridSelector(seed=0, kl_share=0.5)
    chosen = hybrid.select(state, 4)
    assert hybrid.diagnostics["n_maxkl"] == 1 and chosen[0] == 7
    assert 0 not in chosen and 40 not in chosen and len(set(chosen.tolist())) == 4
    calm = HybridSelector(seed=0, kl_share=0.5)
    calm.select(PoolState(**{**state.__dict__, "expert_labels": {0: 1, 40: 0}}), 4)
    assert calm.diagnostics["n_maxkl"] == 0  # no disagreement left: no maxKL pick


def test_hybrid_hot_rule_kl_also_counts_unlabelled_unsure_buckets():
    n = 40
    L = np.zeros((n, 1), dtype=int)
    L[:20, 0] = 1
    p = np.where(L[:, 0] == 1, 0.6, 0.001)  # the label model is unsure of bucket "1"
    state = PoolState(L=L, expert_labels={30: 0, 31: 0}, lm_proba=p, lm_proba_initial=p,
                      matcher_proba=np.full(n, 0.9), embeddings=np.eye(n)[:, :3])
    kl_rule = HybridSelector(seed=0, hot="kl")
    kl_rule.select(state, 5)
    assert kl_rule.diagnostics["hot_buckets"] == 1 and kl_rule.diagnostics["n_maxkl"] == 1
    contradicted = HybridSelector(seed=0)
    contradicted.select(state, 5)
    assert contradicted.diagnostics["hot_buckets"] == 0  # no expert label contradicts it


def test_hybrid_rejects_bad_settings():
    with pytest.raises(ValueError, match="shortlist must be >= 1"):
        HybridSelector(shortlist=0.5)
    with pytest.raises(ValueError, match="hot must be 'contradicted' or 'kl'"):
        HybridSelector(hot="warm")


def _banded_state(p, labelled=(), skipped=()):
    n = len(p)
    return PoolState(L=np.zeros((n, 1), dtype=int), expert_labels={int(i): 0 for i in labelled},
                     matcher_proba=np.asarray(p, dtype=float), skipped=set(skipped))


def test_medium_confidence_skips_the_noise_band_and_the_tails():
    from active.selectors import MediumConfidenceSelector

    # 20 pairs in each of: the noise band, the certain tails, the two medium ranges
    p = np.r_[np.linspace(0.45, 0.55, 20), np.linspace(0.0, 0.02, 10), np.linspace(0.98, 1, 10),
              np.linspace(0.1, 0.3, 20), np.linspace(0.7, 0.9, 20)]
    labelled, skipped = [40, 60], [41, 61]
    selector = MediumConfidenceSelector(seed=3, low=0.6, high=0.95)
    chosen = selector.select(_banded_state(p, labelled, skipped), 10)
    assert len(set(chosen.tolist())) == 10
    assert not set(chosen.tolist()) & set(labelled + skipped)
    confidence = np.maximum(p[chosen], 1 - p[chosen])
    assert ((confidence > 0.6) & (confidence <= 0.95)).all()
    assert (p[chosen] >= 0.5).sum() == 5 and (p[chosen] < 0.5).sum() == 5  # both sides
    assert selector.diagnostics["n_outside"] == 0
    again = MediumConfidenceSelector(seed=3).select(_banded_state(p, labelled, skipped), 10)
    assert np.array_equal(chosen, again)
    other = MediumConfidenceSelector(seed=4).select(_banded_state(p, labelled, skipped), 10)
    assert not np.array_equal(np.sort(chosen), np.sort(other))


def test_medium_confidence_fills_from_the_other_side_then_nearest_the_range():
    from active.selectors import MediumConfidenceSelector

    p = np.r_[np.full(3, 0.8), np.full(20, 0.2), np.full(5, 0.5), np.full(5, 0.999)]
    chosen = MediumConfidenceSelector(seed=0).select(_banded_state(p), 10)
    assert sorted(p[chosen].tolist()) == [0.2] * 7 + [0.8] * 3  # one side short
    selector = MediumConfidenceSelector(seed=0)
    chosen = selector.select(_banded_state(p), 26)
    assert selector.diagnostics["n_outside"] == 3
    # outside the range, nearest first: the 0.999 tail (0.049 above) before the 0.5 band (0.1)
    assert (p[chosen[-3:]] == 0.999).all()


def test_medium_confidence_bad_bands_and_no_scores():
    from active.selectors import MediumConfidenceSelector

    with pytest.raises(ValueError, match="low < high"):
        MediumConfidenceSelector(low=0.9, high=0.7)
    state = _banded_state([0.2, 0.8])
    state.matcher_proba = None
    with pytest.raises(ValueError, match="needs state.matcher_proba"):
        MediumConfidenceSelector().select(state, 1)

"""Audits drawn over several rounds of a loop whose selector keeps labelling pairs: the
estimator must weight each audit pair by its inclusion probability and subtract, once, the
pairs a draw saw unlabelled that were labelled later."""

import numpy as np
import pytest

from evaluation import draw_audit, estimate_f1, f_measure


def _run(labels, scores, predictions, seed, rounds=5, audit=30, chosen=40):
    """One simulated loop: each round an audit is drawn from the unlabelled pairs, then a
    selector labels the unlabelled pairs the scores get most wrong (it finds hidden errors, so
    the residuals of its picks are large and of one sign). Returns the labelled pairs in the
    order answered, their inclusion probabilities and frames."""
    order, prob, frame = [], [], []
    rng = np.random.default_rng(seed)
    for _ in range(rounds):
        drawn, pi = draw_audit(predictions, scores, audit, exclude=order,
                               seed=int(rng.integers(2**31)))
        stamp = len(order)
        order += drawn.tolist()
        prob += pi.tolist()
        frame += [stamp] * drawn.size
        gap = np.abs(labels - scores)
        gap[order] = -1
        picks = np.argsort(-gap, kind="stable")[:chosen]
        order += picks.tolist()
        prob += [1.0] * picks.size
        frame += [0] * picks.size
    return np.array(order), np.array(prob), np.array(frame)


@pytest.fixture(scope="module")
def simulations(make_pool_module):
    labels, scores, predictions = make_pool_module
    return [_run(labels, scores, predictions, seed) for seed in range(100)]


@pytest.fixture(scope="module")
def make_pool_module():
    rng = np.random.default_rng(11)
    n = 4000
    labels = (rng.random(n) < 0.06).astype(np.int8)
    logit = np.where(labels == 1, rng.normal(0.5, 1.8, n), rng.normal(-3.0, 1.5, n))
    scores = 1 / (1 + np.exp(-logit))
    return labels, scores, (scores >= 0.5).astype(np.int8)


def _estimates(pool, simulations, how):
    labels, scores, predictions = pool
    truth = f_measure(labels, predictions)
    errors, hits = [], []
    for order, prob, frame in simulations:
        if how == "ignore probabilities":  # every audit pair as if drawn uniformly
            prob = np.where(prob < 1, np.mean(prob[prob < 1]), 1.0)
        kwargs = {} if how == "one draw at the end" else {"frame": frame}
        if how == "one draw at the end":  # the selector's later picks counted twice
            audit = prob < 1
            order, prob = np.concatenate([order[~audit], order[audit]]), np.sort(prob)[::-1]
        result = estimate_f1(predictions, scores, order, labels[order], prob, **kwargs)
        errors.append(result.estimate - truth)
        hits.append(result.interval[0] <= truth <= result.interval[1])
    return np.mean(errors), np.mean(hits)


def test_audits_of_several_rounds_cover_the_truth(make_pool_module, simulations):
    bias, coverage = _estimates(make_pool_module, simulations, "frames")
    assert abs(bias) < 0.02
    assert 0.88 <= coverage <= 1.0


@pytest.mark.parametrize("how", ["ignore probabilities", "one draw at the end"])
def test_ignoring_probabilities_or_frames_breaks_the_interval(make_pool_module, simulations,
                                                               how):
    bias, coverage = _estimates(make_pool_module, simulations, how)
    assert abs(bias) > 0.03 or coverage < 0.8


def test_frame_is_checked(make_pool_module):
    labels, scores, predictions = make_pool_module
    with pytest.raises(ValueError, match="frame"):
        estimate_f1(predictions, scores, [1, 2], [labels[1], labels[2]], [1.0, 0.1],
                    frame=[0, 2])
    with pytest.raises(ValueError, match="frame"):
        estimate_f1(predictions, scores, [1, 2], [labels[1], labels[2]], [1.0, 0.1],
                    frame=[0])

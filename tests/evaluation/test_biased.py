import numpy as np
import pytest

from evaluation import draw_audit, estimate_f1, f_measure


def _top_uncertain(scores, k):
    return np.argsort(np.abs(scores - 0.5), kind="stable")[:k]


def test_fully_labelled_pool_gives_the_exact_f1(make_pool):
    labels, scores, predictions = make_pool(500, 0.1, seed=1)
    result = estimate_f1(predictions, scores, np.arange(500), labels)
    assert result.estimate == pytest.approx(f_measure(labels, predictions))
    assert result.interval[0] == pytest.approx(result.estimate)
    assert result.interval[1] == pytest.approx(result.estimate)
    estimate, (low, high) = result
    assert (estimate, low, high) == (result.estimate, *result.interval)


def test_audit_corrects_biased_labels_and_the_interval_covers(make_pool):
    labels, scores, predictions = make_pool(20000, 0.02, seed=2)
    # scores that overstate the match rate: a model fitted to them would be biased
    scores = np.clip(scores * 1.8, 0, 1)
    truth = f_measure(labels, predictions)
    chosen = _top_uncertain(scores, 100)
    errors, hits = [], []
    for seed in range(20):
        audit, pi = draw_audit(predictions, scores, 300, exclude=chosen, seed=seed)
        assert np.intersect1d(audit, chosen).size == 0 and audit.size == 300
        assert ((pi > 0) & (pi <= 1)).all()
        idx = np.concatenate([chosen, audit])
        result = estimate_f1(
            predictions, scores, idx, labels[idx], np.concatenate([np.ones(100), pi])
        )
        errors.append(result.estimate - truth)
        hits.append(result.interval[0] <= truth <= result.interval[1])
    assert abs(np.mean(errors)) < 0.03
    assert np.mean(hits) >= 0.8


def test_draw_audit_is_repeatable_and_reaches_the_predicted_matches(make_pool):
    labels, scores, predictions = make_pool(5000, 0.01, seed=3)
    a, pa = draw_audit(predictions, scores, 200, seed=5)
    b, pb = draw_audit(predictions, scores, 200, seed=5)
    assert np.array_equal(a, b) and np.array_equal(pa, pb)
    # half the uniform share goes to the few predicted matches
    assert predictions[a].sum() >= 20
    # nothing left to draw (every pair answered): an empty audit, not an error
    drawn, prob = draw_audit(predictions, scores, 0, exclude=np.arange(predictions.size))
    assert drawn.size == 0 and prob.size == 0


def test_biased_inputs_raise_clear_errors(make_pool):
    labels, scores, predictions = make_pool(300, 0.1, seed=4)
    with pytest.raises(ValueError, match="same length"):
        estimate_f1(predictions, scores, [1, 2], [1])
    with pytest.raises(ValueError, match="twice"):
        estimate_f1(predictions, scores, [1, 1], [1, 1])
    with pytest.raises(ValueError, match="pair positions"):
        estimate_f1(predictions, scores, [400], [1])
    with pytest.raises(ValueError, match="0 or 1"):
        estimate_f1(predictions, scores, [1], [2])
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        estimate_f1(predictions, scores, [1], [1], [0.0])
    with pytest.raises(ValueError, match="between 0 and the 299"):
        draw_audit(predictions, scores, 300, exclude=[0])

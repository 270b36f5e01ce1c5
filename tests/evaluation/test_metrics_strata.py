import numpy as np
import pytest
from sklearn.metrics import f1_score, fbeta_score, precision_score, recall_score

from evaluation import calibrate_scores, f_measure, stratify


def test_f_measure_matches_sklearn(make_pool):
    labels, _, predictions = make_pool(500, 0.2)
    assert f_measure(labels, predictions) == pytest.approx(f1_score(labels, predictions))
    assert f_measure(labels, predictions, 1.0) == pytest.approx(
        precision_score(labels, predictions)
    )
    assert f_measure(labels, predictions, 0.0) == pytest.approx(recall_score(labels, predictions))
    # alpha = 1 / (1 + beta^2)
    assert f_measure(labels, predictions, 0.2) == pytest.approx(
        fbeta_score(labels, predictions, beta=2.0)
    )


def test_f_measure_zero_division_and_bad_input():
    assert f_measure(np.zeros(5), np.zeros(5)) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        f_measure(np.zeros(5), np.zeros(4))
    with pytest.raises(ValueError, match="alpha"):
        f_measure(np.zeros(5), np.zeros(5), alpha=2)


def test_calibration_of_probabilities_margins_and_several_classifiers(make_pool):
    labels, probabilities, predictions = make_pool(400)
    np.testing.assert_allclose(calibrate_scores(probabilities, predictions), probabilities)
    margins = np.log(probabilities / (1 - probabilities)) * 3 + 1
    calibrated = calibrate_scores(margins, (margins > 1).astype(np.int8))
    assert ((calibrated > 0) & (calibrated < 1)).all()
    assert (np.diff(calibrated[np.argsort(margins)]) >= 0).all()  # order kept
    # the decision boundary maps to 0.5
    assert ((calibrated > 0.5) == (margins > 1)).mean() > 0.99
    both = calibrate_scores(np.column_stack([probabilities, 1 - probabilities]), predictions)
    np.testing.assert_allclose(both, 0.5)


@pytest.mark.parametrize("n_strata", ["auto", "fine", "finest", 7])
def test_strata_partition_the_pool_and_are_pure_in_prediction(n_strata, make_pool):
    _, scores, predictions = make_pool(2000)
    strata = stratify(scores, predictions, n_strata)
    assert strata.sizes.sum() == 2000 and (strata.sizes > 0).all()
    assert np.array_equal(np.sort(strata.order), np.arange(2000))
    assert set(strata.mean_prediction) <= {0.0, 1.0}
    for k in range(strata.n_strata):
        members = strata.order[strata.starts[k] : strata.starts[k] + strata.sizes[k]]
        assert (strata.index[members] == k).all()
    assert strata.weights.sum() == pytest.approx(1.0)


def test_equal_size_strata_and_bad_n_strata():
    scores = np.linspace(0, 1, 1000)
    strata = stratify(scores, np.zeros(1000, dtype=np.int8), 10)
    assert list(strata.sizes) == [100] * 10
    assert (np.diff(strata.mean_score) > 0).all()
    for bad in (0, "many", 2.5, "Fine"):
        with pytest.raises(ValueError, match="n_strata"):
            stratify(scores, np.zeros(1000, dtype=np.int8), bad)


def _sharp_pool(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Scores of a sharp matcher on a small pool: near-certain bulks at 0 and 1, 60 pairs
    scattered in between."""
    rng = np.random.default_rng(seed)
    middle = rng.uniform(0.02, 0.98, 60)
    scores = np.concatenate([rng.uniform(0, 1e-6, 1500), middle, 1 - rng.uniform(0, 1e-6, 400)])
    return scores, middle


def test_fine_strata_isolate_the_pairs_between_the_certain_bulks():
    scores, middle = _sharp_pool(0)
    predictions = (scores > 0.5).astype(np.int8)
    fine = stratify(scores, predictions, "fine")
    auto = stratify(scores, predictions, "auto")
    between = np.isin(scores, middle)
    # most uncertain pairs sit alone or in pairs, the near-certain ones in large strata
    assert np.median(fine.sizes[fine.index[between]]) <= 2
    assert np.median(auto.sizes[auto.index[between]]) > 2
    assert fine.sizes[fine.index[:1500]].min() >= 100


def test_fine_strata_with_mostly_tied_scores():
    scores = np.concatenate([np.zeros(900), np.linspace(0.1, 1.0, 100)])
    strata = stratify(scores, (scores > 0.5).astype(np.int8), "fine")
    assert strata.sizes.sum() == 1000 and 1 < strata.n_strata <= 100
    assert np.unique(strata.index[:900]).size == 1  # the tied scores are one bin


def test_finest_strata_are_the_rule_with_more_strata():
    # sharp scores: the fine rule isolates the band between the bulks; squeezed scores (all
    # within 0.4-0.6): it gives a handful of strata, fewer than the auto rule
    sharp, _ = _sharp_pool(1)
    squeezed = np.random.default_rng(2).uniform(0.4, 0.6, 2000)
    for scores, wins in ((sharp, "fine"), (squeezed, "auto")):
        predictions = (scores > 0.5).astype(np.int8)
        counts = {rule: stratify(scores, predictions, rule).n_strata for rule in ("auto", "fine")}
        finest = stratify(scores, predictions, "finest")
        assert max(counts, key=counts.get) == wins
        assert finest.n_strata == counts[wins]

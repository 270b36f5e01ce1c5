"""OASISSampler(unseen_errors=True): the interval allows for errors among the unlabelled
predicted matches beyond the model's, and leaves the estimate alone."""

import numpy as np

from evaluation import OASISSampler, f_measure

V10 = {"off_curve": 0.05, "check_predicted": 0.1}


def _sharp_pool(n, rate, false_positives, seed, blur=1.0):
    """Sharp scores, plus `false_positives` non-matches scored 0.99 (confident errors)."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < rate).astype(np.int8)
    logit = np.where(labels == 1, rng.normal(4.0, blur, n), rng.normal(-6.0, blur, n))
    scores = 1 / (1 + np.exp(-logit))
    scores[rng.choice(np.flatnonzero(labels == 0), false_positives, replace=False)] = 0.99
    return labels, scores, (scores > 0.5).astype(np.int8)


def _run(labels, scores, predictions, seed, budget, **options):
    oracle = labels.__getitem__
    return OASISSampler(predictions, scores, oracle, seed=seed, **V10, **options).sample(budget)


def test_unseen_errors_change_the_interval_not_the_estimate_nor_the_draws():
    labels, scores, predictions = _sharp_pool(5000, 0.03, 5, seed=0)
    plain = _run(labels, scores, predictions, 0, 120)
    wide = _run(labels, scores, predictions, 0, 120, unseen_errors=True)
    np.testing.assert_array_equal(plain.labels, wide.labels)
    np.testing.assert_array_equal(plain.history["estimate"], wide.history["estimate"])
    (low, high), (wide_low, wide_high) = plain.interval(), wide.interval()
    assert wide_low < low <= high <= wide_high or (wide_low < low and high == wide_high == 1.0)


def test_interval_covers_when_a_spike_of_false_positives_is_not_labelled_yet():
    labels, scores, predictions = _sharp_pool(5000, 0.03, 8, seed=1)
    truth = f_measure(labels, predictions)
    covered = {False: [], True: []}
    for seed in range(8):
        for unseen in covered:
            run = _run(labels, scores, predictions, seed, 60, unseen_errors=unseen)
            low, high = run.interval()
            covered[unseen].append(low <= truth <= high)
    # 8 of ~150 predicted matches are non-matches scored 0.99; 60 labels rarely show one
    # (on this pool: 3 of 8 covered without the term, 8 of 8 with it)
    assert np.mean(covered[False]) <= 0.5
    assert np.mean(covered[True]) >= 0.75


def test_errors_the_model_expects_near_the_threshold_are_not_unseen_errors():
    # blurred scores: many errors near 0.5, which the curve expects; none off the curve
    labels, scores, predictions = _sharp_pool(5000, 0.05, 0, seed=2, blur=2.5)
    run = _run(labels, scores, predictions, 0, 300, unseen_errors=True)
    positive = run.strata.mean_prediction == 1
    seen_share = 1 - run.matches[positive].sum() / run.labelled[positive].sum()
    unlabelled = run.unlabelled[positive].sum()
    assert seen_share > 0.05
    # the unseen errors' root mean square is far below the share of errors the labels show
    assert np.sqrt(run._unseen_error_moment()) < 0.3 * seen_share * unlabelled


def test_unseen_errors_shrink_as_the_predicted_matches_are_labelled():
    labels, scores, predictions = _sharp_pool(5000, 0.03, 0, seed=3)
    run = _run(labels, scores, predictions, 0, 50, unseen_errors=True)
    moments = [run._unseen_error_moment()]
    for _ in range(2):
        moments.append(run.sample(100)._unseen_error_moment())
    assert moments[0] > moments[1] > moments[2] > 0


def test_a_pool_of_expected_false_positives_keeps_its_interval():
    # scores shifted up: ~1,970 predicted matches of which ~160 are matches, all as the curve
    # says; eta is barely identified there, but it only acts on the ~160 the model takes for
    # matches, not on all the unlabelled predicted matches
    rng = np.random.default_rng(4)
    labels = (rng.random(5000) < 0.03).astype(np.int8)
    logit = np.where(labels == 1, rng.normal(1.0, 1.5, 5000), rng.normal(-3.0, 1.5, 5000))
    scores = 1 / (1 + np.exp(-(0.8 * logit + 2.0)))
    predictions = (scores > 0.5).astype(np.int8)
    for seed in range(2):
        widths = []
        for unseen in (False, True):
            run = _run(labels, scores, predictions, seed, 200, unseen_errors=unseen)
            low, high = run.interval()
            widths.append(high - low)
        assert widths[0] < widths[1] < 1.3 * widths[0]

"""OASISSampler(check_unseen=True): eta (errors among the predicted matches beyond the model's)
steers the draws, so a spike of non-matches scored 0.99 is labelled sooner."""

import numpy as np

from evaluation import OASISSampler


def _spike_pool(n, rate, false_positives, seed):
    """Sharp scores plus `false_positives` non-matches tied at 0.99 (one stratum)."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < rate).astype(np.int8)
    logit = np.where(labels == 1, rng.normal(4.0, 1.0, n), rng.normal(-6.0, 1.0, n))
    scores = 1 / (1 + np.exp(-logit))
    spike = rng.choice(np.flatnonzero(labels == 0), false_positives, replace=False)
    scores[spike] = 0.99
    return labels, scores, (scores > 0.5).astype(np.int8), spike


def _run(labels, scores, predictions, seed, budget, **options):
    return OASISSampler(
        predictions, scores, labels.__getitem__, seed=seed, off_curve=0.05, **options
    ).sample(budget)


def test_check_unseen_asks_exactly_n_and_labels_the_spike_sooner():
    labels, scores, predictions, spike = _spike_pool(5000, 0.03, 10, seed=0)
    found = {False: [], True: []}
    for seed in range(6):
        for check in found:
            run = _run(labels, scores, predictions, seed, 150, check_unseen=check)
            assert run.n_queries == 150 and np.sum(run.labels >= 0) == 150
            found[check].append(np.sum(run.labels[spike] >= 0) > 0)
    # the curve calls the 0.99 stratum certain: without the check most runs never label it
    # (on this pool: 2 of 6 runs label one of its pairs without the check, 6 of 6 with it)
    assert np.mean(found[False]) <= 0.5
    assert np.all(found[True])


def test_checks_fade_as_the_predicted_matches_keep_agreeing():
    labels, scores, predictions, _ = _spike_pool(5000, 0.03, 0, seed=1)
    run = _run(labels, scores, predictions, 0, 40, check_unseen=True)
    rates = [run.unseen_error_rate[0]]
    positive = run.strata.mean_prediction == 1
    shares = [run.labelled[positive].sum() / 40]
    for _ in range(2):
        before = run.labelled[positive].sum()
        run.sample(200)
        rates.append(run.unseen_error_rate[0])
        shares.append((run.labelled[positive].sum() - before) / 200)
    assert rates[0] > rates[1] > rates[2]
    # a shrinking share of the new draws goes to the predicted matches
    assert shares[0] > shares[2]


def test_check_unseen_is_stored_unchanged_and_default_off():
    labels, scores, predictions, _ = _spike_pool(500, 0.05, 0, seed=2)
    oracle = labels.__getitem__
    assert OASISSampler(predictions, scores, oracle).check_unseen is False
    assert OASISSampler(predictions, scores, oracle, check_unseen=True).check_unseen is True

"""The stratified OASIS estimate: logit strata, empirical-Bayes spread, bias and coverage."""

import numpy as np
import pytest

from evaluation import OASISSampler, f_measure
from evaluation.oasis import _logit_normal_slope, fit_prior_curve


def _logit_pool(n, rate, match, other, seed):
    """Labels, scores and predictions with class-conditional normal logits."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < rate).astype(np.int8)
    logit = np.where(labels == 1, rng.normal(*match, n), rng.normal(*other, n))
    scores = 1 / (1 + np.exp(-logit))
    return labels, scores, (scores > 0.5).astype(np.int8)


def test_strata_separate_scores_that_differ_by_orders_of_magnitude():
    # 98% of the scores lie below 0.01: cut on the scores they would share a stratum or two
    labels, scores, predictions = _logit_pool(20_000, 0.01, (3.0, 1.0), (-9.0, 2.5), seed=0)
    sampler = OASISSampler(predictions, scores, lambda i: int(labels[i]), seed=0)
    low = sampler.strata.mean_score < 0.01
    assert low.sum() >= 20
    assert sampler.strata.mean_score[low].min() < 1e-6


def test_spread_is_larger_when_strata_scatter_around_the_scores():
    rng = np.random.default_rng(1)
    n = 20_000
    scores = rng.uniform(0.02, 0.98, n)
    predictions = (scores > 0.5).astype(np.int8)
    calibrated = (rng.random(n) < scores).astype(np.int8)
    # the same mean rate per score band, but each band of 0.02 gets its own random rate
    band_rate = rng.beta(0.5, 0.5, 50)[np.minimum((scores * 50).astype(int), 49)]
    scattered = (rng.random(n) < band_rate).astype(np.int8)
    spreads = []
    for labels in (calibrated, scattered):
        sampler = OASISSampler(predictions, scores, lambda i, y=labels: int(y[i]), seed=0)
        spreads.append(sampler.sample(600).spread)
    assert spreads[0] < 0.3 < spreads[1]


def test_estimate_is_close_to_unbiased_over_replications():
    labels, scores, predictions = _logit_pool(1000, 0.05, (1.0, 1.5), (-3.5, 1.5), seed=2)
    truth = f_measure(labels, predictions)
    errors = [
        OASISSampler(predictions, scores, lambda i: int(labels[i]), seed=seed).sample(80).estimate
        - truth
        for seed in range(25)
    ]
    # the replications' mean error is small against their spread (no systematic pull)
    assert abs(np.mean(errors)) < 0.4 * np.std(errors) + 0.005


def test_intervals_cover_at_the_nominal_rate_without_being_too_wide():
    labels, scores, predictions = _logit_pool(2500, 0.03, (1.5, 1.5), (-4.5, 1.5), seed=3)
    truth = f_measure(labels, predictions)
    covered, widths = [], []
    for seed in range(20):
        sampler = OASISSampler(predictions, scores, lambda i: int(labels[i]), seed=seed)
        low, high = sampler.sample(150).interval(0.95)
        covered.append(low <= truth <= high)
        widths.append(high - low)
    # errors have a standard deviation of about 0.03 here: a 95% interval is about 0.12 wide
    assert np.mean(covered) >= 0.85
    assert np.mean(widths) < 0.18


def test_curve_learns_that_underconfident_scores_separate_better_than_they_claim():
    # logits shrunk to 0.3x: the scores say 0.2-0.8 where the match rates are ~0 and ~1; the
    # prior curve must steepen well past the identity (slope 1) for the strata far from 0.5
    rng = np.random.default_rng(4)
    n = 20_000
    labels = (rng.random(n) < 0.05).astype(np.int8)
    logit = 0.3 * np.where(labels == 1, rng.normal(2.0, 1.5, n), rng.normal(-4.0, 1.5, n))
    scores = 1 / (1 + np.exp(-logit))
    predictions = (scores > 0.5).astype(np.int8)
    truth = f_measure(labels, predictions)
    slopes, errors = [], []
    for seed in range(4):
        sampler = OASISSampler(predictions, scores, lambda i: int(labels[i]), seed=seed)
        sampler.sample(200)
        slopes.append(sampler.prior_curve[1])
        errors.append(abs(sampler.estimate - truth))
    assert min(slopes) > 5.5
    assert np.mean(errors) < 0.03


def _pool_with_confident_errors(n, rate, errors, seed):
    """A sharp pool plus `errors` matches scored 0.01 and as many non-matches scored 0.99."""
    labels, scores, _ = _logit_pool(n, rate, (4.0, 1.0), (-6.0, 1.0), seed)
    rng = np.random.default_rng(seed + 1)
    matches, others = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    scores[rng.choice(matches, errors, replace=False)] = 0.01
    scores[rng.choice(others, errors, replace=False)] = 0.99
    return labels, scores, (scores > 0.5).astype(np.int8)


def test_on_a_pool_with_confident_errors_only_unseen_false_negatives_escape_the_interval():
    labels, scores, predictions = _pool_with_confident_errors(20_000, 0.01, 6, seed=5)
    truth = f_measure(labels, predictions)
    spike = np.flatnonzero((scores == 0.99) & (labels == 0))
    hidden = np.flatnonzero((scores == 0.01) & (labels == 1))
    found = []
    for seed in range(10):
        sampler = OASISSampler(predictions, scores, lambda i: int(labels[i]), seed=seed)
        low, high = sampler.sample(400).interval(0.95)
        # eta's checks of the predicted matches label the non-matches scored 0.99
        assert (sampler.labels[spike] >= 0).sum() >= 1
        found.append((sampler.labels[hidden] >= 0).any())
        if found[-1]:
            assert low <= truth <= high
        else:
            # the labels are those of a pool without the hidden matches: F1 looks higher
            assert sampler.estimate > truth
    assert any(found)


def test_a_stratum_s_own_labels_overrule_a_confident_curve():
    labels, scores, predictions = _pool_with_confident_errors(20_000, 0.01, 6, seed=5)
    sampler = OASISSampler(predictions, scores, lambda i: int(labels[i]), seed=0)
    sampler.sample(400)
    k = sampler.strata.index[np.flatnonzero(scores == 0.99)[0]]
    seen = 1 - sampler.matches[k] / sampler.labelled[k]
    assert seen > 0.2  # the labels found the non-matches the curve calls impossible
    # its posterior error rate moves a good part of the way to them (an uncapped curve at
    # 1 - 1e-6 would have kept it at ~0)
    assert 1 - sampler.shrunk_rate[k] > 0.25 * seen


def test_labels_off_the_curve_set_their_stratum_without_flattening_the_curve(monkeypatch):
    labels, scores, predictions = _pool_with_confident_errors(20_000, 0.01, 6, seed=5)
    spike = np.flatnonzero((scores == 0.99) & (labels == 0))
    slopes, rates, seen = {}, {}, {}
    for off_curve in (0.05, 0.0):
        # 0.0: no stratum may leave the curve
        monkeypatch.setattr("evaluation.oasis._OFF_CURVE", off_curve)
        oracle = labels.__getitem__
        sampler = OASISSampler(predictions, scores, oracle, seed=1).sample(400)
        k = sampler.strata.index[spike[0]]
        slopes[off_curve] = sampler.prior_curve[1]
        rates[off_curve] = sampler.shrunk_rate[k]
        seen[off_curve] = 1 - sampler.matches[k] / max(sampler.labelled[k], 1)
        if off_curve:
            assert sampler.off_weight[k] > 0.9
            # strata whose labels agree with the curve keep it
            agree = sampler.labelled > 0
            agree[k] = False
            assert np.median(sampler.off_weight[agree]) == 0.0
    assert seen[0.05] > 0.1  # eta's checks found the non-matches scored 0.99
    # the curve alone (1 - 1e-6 there) ignores them; off the curve the stratum's labels count
    assert 1 - rates[0.0] < 0.01 < 0.5 * seen[0.05] < 1 - rates[0.05]
    assert slopes[0.05] >= 0.8 * slopes[0.0]


def test_a_match_found_below_the_threshold_does_not_lift_the_curve_for_the_other_strata():
    # a sharp rare pool with two matches planted among the predicted non-matches scored
    # 0.15-0.45 (where the scores' own curve has almost none): once a run labels one, its
    # stratum is judged against the curve the other strata support, so the curve does not
    # bend to it and the other predicted non-match strata keep (almost) no matches
    rng = np.random.default_rng(6)
    labels, scores, predictions = _logit_pool(20_000, 0.002, (4.0, 1.5), (-7.0, 1.5), seed=6)
    band = np.flatnonzero((scores > 0.15) & (scores < 0.45) & (labels == 0))
    planted = rng.choice(band, 2, replace=False)
    labels[planted] = 1
    extra = []
    for seed in range(12):
        sampler = OASISSampler(predictions, scores, lambda i: int(labels[i]), seed=seed)
        sampler.sample(300)
        if not (sampler.labels[planted] == 1).any():
            continue
        others = sampler.strata.mean_prediction == 0
        others[sampler.strata.index[planted]] = False
        extra.append(sampler.unlabelled[others] @ sampler.shrunk_rate[others])
    assert len(extra) >= 4
    # the pool holds no match in those strata; a curve bent to the planted ones puts one or more
    assert np.median(extra) < 0.5


def _demo_like_pool():
    """A small pool like the demo's: the predicted matches well separated, the false negatives
    spread over scores 0.015-0.06 among non-matches scored as low (about 4% matches there,
    roughly what the scores say); the curve fitted to all labels is steep and puts those
    strata at a few in ten thousand."""
    rng = np.random.default_rng(0)
    logit = np.r_[
        rng.normal(4.0, 1.5, 360),
        rng.uniform(np.log(0.015 / 0.985), np.log(0.06 / 0.94), 40),
        rng.normal(-3.5, 1.2, 2000),
    ]
    labels = np.r_[np.ones(400, np.int8), np.zeros(2000, np.int8)]
    scores = 1 / (1 + np.exp(-logit))
    return labels, scores, (scores > 0.5).astype(np.int8)


def _found_false_negatives(budget: int, **options) -> float:
    """Median over runs on the demo-like pool of the estimated false negatives' share of the
    true ones."""
    labels, scores, predictions = _demo_like_pool()
    missed = int(np.sum((predictions == 0) & (labels == 1)))
    shares = []
    for seed in range(5):
        sampler = OASISSampler(predictions, scores, lambda i: int(labels[i]), seed=seed, **options)
        sampler.sample(budget)
        negative = sampler.strata.mean_prediction == 0
        estimate = sampler.matches + sampler.unlabelled * sampler.shrunk_rate
        shares.append(estimate[negative].sum() / missed)
    return float(np.median(shares))


def test_misfit_lifts_the_strata_near_a_band_whose_labels_beat_the_curve():
    # once the band of hidden false negatives holds labels, the curve's local misfit fitted to
    # them lifts its unlabelled neighbours: the curve alone keeps well under half of them
    curve = _found_false_negatives(1000, misfit=0)
    assert curve < 0.45 < 0.6 < _found_false_negatives(1000)


def test_interval_widens_with_the_misfit_prior():
    labels, scores, predictions = _logit_pool(20_000, 0.02, (2.0, 1.5), (-4.0, 1.5), seed=3)

    def width(**options) -> float:
        sampler = OASISSampler(predictions, scores, lambda i: int(labels[i]), seed=0, **options)
        low, high = sampler.sample(300).interval()
        return high - low

    # the misfit's prior sd sets how far the curve may be off where no label is
    assert width(misfit=0) < width() < width(misfit=3)


def test_logit_normal_slope_matches_its_limits_and_sampling():
    # the misfit's interval term takes the rate's slope in its log-odds averaged over the
    # shift's uncertainty: known limits, and sampling
    slope = _logit_normal_slope(np.array([-12.0, 0.5, 3.0]), np.array([1.0, 2.0, 0.0]))
    at_mean = 1 / (1 + np.exp(-3.0))
    assert slope[2] == pytest.approx(at_mean * (1 - at_mean))
    # far below 1/2 the rate is log-normal, its mean slope exp(mean + variance / 2): 1.65 times
    # the slope at the mean log-odds for a shift of sd 1
    assert slope[0] == pytest.approx(np.exp(-12.0 + 0.5), rel=0.01)
    draws = 0.5 + np.sqrt(2.0) * np.random.default_rng(0).standard_normal(1_000_000)
    draws = 1 / (1 + np.exp(-draws))
    assert slope[1] == pytest.approx((draws * (1 - draws)).mean(), abs=2e-3)


def _band_and_bulk_pool():
    """A small pool like dblp_acm's: a few non-matches among the confident predicted matches,
    a band of low scores about one in five of them matches, and a bulk scored near 1e-7 that
    holds none; the curve fitted to those labels is flat (slope about 0.5)."""
    rng = np.random.default_rng(0)
    logit = np.r_[
        rng.normal(6.0, 1.5, 400),
        rng.uniform(1.0, 7.0, 20),
        rng.uniform(-5.0, -1.0, 40),
        rng.normal(-16.0, 1.5, 2000),
    ]
    band = (np.arange(40) % 5 == 0).astype(np.int8)
    labels = np.r_[np.ones(400, np.int8), np.zeros(20, np.int8), band, np.zeros(2000, np.int8)]
    scores = 1 / (1 + np.exp(-logit))
    return labels, scores, (scores > 0.5).astype(np.int8)


def test_tail_slope_keeps_the_bulk_below_the_last_error_near_its_scores():
    # the flat curve gives each of 2,000 pairs scored 1e-7 the band's rate of about 1e-4:
    # matches that are not there; beyond the lowest labelled match the tail falls with the scores
    labels, scores, predictions = _band_and_bulk_pool()

    def bulk_matches(seed: int, **options) -> float:
        sampler = OASISSampler(
            predictions, scores, lambda i: int(labels[i]), seed=seed, **options
        ).sample(500)
        assert sampler.prior_curve[1] < 0.7
        bulk = (sampler.strata.mean_score < 1e-5) & (sampler.strata.mean_prediction == 0)
        return float((sampler.unlabelled * sampler.shrunk_rate)[bulk].sum())

    for seed in (0, 1):
        assert bulk_matches(seed) < 0.05 < 0.25 < bulk_matches(seed, tail_slope=0.0)


def test_misfit_is_validated():
    labels, scores, predictions = _logit_pool(1_000, 0.1, (2.0, 1.0), (-2.0, 1.0), seed=0)
    for options, name in (
        (dict(misfit=-1), "misfit must be"),
        (dict(misfit=float("nan")), "misfit must be"),
        (dict(misfit_length=0), "misfit_length"),
        (dict(tail_slope=-1.0), "tail_slope"),
        (dict(tail_slope=float("nan")), "tail_slope"),
    ):
        with pytest.raises(ValueError, match=name):
            OASISSampler(predictions, scores, lambda i: int(labels[i]), **options)


def test_hedge_labels_a_score_band_whose_matches_the_curve_rules_out():
    # in the demo-like pool the labels of the band scored 0.015-0.06 soon hold more matches
    # than the steep curve expects: the hedge keeps drawing there, and the estimate follows
    labels, scores, predictions = _demo_like_pool()
    band = (scores > 0.015) & (scores < 0.06)
    truth = f_measure(labels, predictions)

    def run(window):
        """(labels in the band, absolute error) per seed at 400 labels."""
        out = []
        for seed in range(8):
            # the curve alone (misfit=0), so the band's surplus is left to the hedge to find
            sampler = OASISSampler(
                predictions,
                scores,
                lambda i: int(labels[i]),
                seed=seed,
                hedge_window=window,
                misfit=0,
            ).sample(400)
            out.append((band[sampler.labels >= 0].sum(), abs(sampler.estimate - truth)))
        return np.array(out)

    off, on = run(0), run(4)
    # where a seed's band labels find no surplus the draws are the unhedged ones exactly
    assert np.all(on[:, 0] >= off[:, 0])
    assert on[:, 0].sum() > 1.3 * off[:, 0].sum()
    assert on[:, 1].sum() < 0.9 * off[:, 1].sum()


def test_hedge_stays_shut_where_the_curve_is_right():
    # scores whose match log-odds is linear in the logit score: no window should contradict
    # the fitted curve, so the allocation is the unhedged one
    labels, scores, predictions = _logit_pool(20_000, 0.02, (2.0, 1.5), (-4.0, 1.5), seed=3)
    runs = []
    for window in (0, 4):
        sampler = OASISSampler(
            predictions, scores, lambda i: int(labels[i]), seed=0, hedge_window=window
        ).sample(300)
        runs.append(sampler)
    assert runs[1].contradicted.mean() < 0.05
    assert abs(runs[1].estimate - runs[0].estimate) < 0.02


def test_hedge_window_is_validated():
    labels, scores, predictions = _logit_pool(1_000, 0.1, (2.0, 1.0), (-2.0, 1.0), seed=0)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="hedge_window"):
            OASISSampler(predictions, scores, lambda i: int(labels[i]), hedge_window=bad)


def test_two_early_errors_do_not_turn_the_prior_curve_over():
    # the first two labels: non-matches in two predicted-match strata scored 0.7 and 0.85;
    # a falling curve would explain them and then call the 0.999... stratum a non-match
    logit_score = np.array([-16.0, 0.9, 1.7, 16.0])
    prediction = np.array([0.0, 1.0, 1.0, 1.0])
    theta = np.array([0.0, 1.0, 0.0])
    for refit in range(3):
        theta = fit_prior_curve(
            logit_score,
            np.array([0.0, 1.0, 1.0, 0.0]),
            np.zeros(4),
            theta,
            ridge=np.array([0.5, 0.05, 0.5]),
            prediction=prediction,
        )
        assert theta[1] >= 0.0, refit

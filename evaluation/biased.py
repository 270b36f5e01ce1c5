"""A matcher's F-measure on a whole pool from labels that were not drawn at random: the pairs an
active-learning loop chose (known with certainty) plus an optional audit drawn with known
inclusion probabilities, combined by a model-assisted (difference) estimator."""

from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
from scipy.stats import t as student_t

from evaluation.base import _check_inputs, fieller_interval
from evaluation.strata import calibrate_scores

_CLIP = 1e-6


@dataclass(frozen=True)
class F1Estimate:
    """An estimated F-measure with its confidence interval and the pieces behind it."""

    estimate: float
    interval: tuple[float, float]
    precision: float
    recall: float
    matches: float  # estimated matches in the pool
    n_certain: int  # labels counted exactly (inclusion probability 1)
    n_audit: int  # labels drawn at random (inclusion probability < 1)

    def __iter__(self):
        """Unpacks as (estimate, (low, high))."""
        return iter((self.estimate, self.interval))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


def fit_calibration(
    logit_score: np.ndarray, labels: np.ndarray, weights: np.ndarray, ridge: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted logistic curve P(match) = sigmoid(a + b logit(score)) fitted to labels (damped
    Newton, ridge `ridge` towards the identity a = 0, b = 1); returns (a, b) and its covariance."""
    design = np.column_stack([np.ones_like(logit_score), logit_score])
    prior = np.array([0.0, 1.0])

    def objective(theta: np.ndarray) -> float:
        z = design @ theta
        # weighted negative log-likelihood: log(1 + e^z) - y z, computed stably
        loss = np.logaddexp(0.0, z) - labels * z
        return float(weights @ loss + 0.5 * ridge * np.sum((theta - prior) ** 2))

    theta = prior.copy()
    current = objective(theta)
    for _ in range(50):
        rate = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -500, 500)))
        gradient = design.T @ (weights * (labels - rate)) - ridge * (theta - prior)
        hessian = (design * (weights * rate * (1 - rate))[:, None]).T @ design + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        for _ in range(30):  # halve the step until the objective decreases
            trial = objective(theta + step)
            if trial <= current:
                break
            step = step / 2
        theta, improvement, current = theta + step, current - trial, trial
        if improvement < 1e-10 * max(1.0, abs(current)):
            break
    rate = 1.0 / (1.0 + np.exp(-np.clip(design @ theta, -500, 500)))
    hessian = (design * (weights * rate * (1 - rate))[:, None]).T @ design + ridge * np.eye(2)
    return theta, np.linalg.inv(hessian)


def _check_labels(
    n: int, labelled_idx: Any, labels: Any, inclusion_prob: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.asarray(labelled_idx)
    y = np.asarray(labels)
    if idx.ndim != 1 or y.shape != idx.shape:
        raise ValueError(
            f"labelled_idx and labels must be 1-D arrays of the same length, got shapes "
            f"{idx.shape} and {y.shape}"
        )
    if idx.size and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"labelled_idx must hold pair positions in 0..{n - 1}, got {idx[:5]!r}")
    if np.unique(idx).size != idx.size:
        raise ValueError("labelled_idx holds a pair twice; pass each labelled pair once")
    if not np.isin(y, [0, 1]).all():
        raise ValueError("labels must be 0 or 1 (drop the pairs the oracle was unsure about)")
    if inclusion_prob is None:
        pi = np.ones(idx.size)
    else:
        pi = np.asarray(inclusion_prob, dtype=float)
        if pi.shape != idx.shape:
            raise ValueError(
                f"inclusion_prob must have one value per labelled pair ({idx.size}), "
                f"got shape {pi.shape}"
            )
        if not ((pi > 0) & (pi <= 1)).all():
            raise ValueError("inclusion_prob must lie in (0, 1]; 1 = chosen with certainty")
    return idx.astype(np.int64), y.astype(float), pi


def _check_frame(frame: Any, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each labelled pair's rank in time and the rank from which each audit pair's draw saw
    the labelled pairs as unlabelled (inf for the pairs chosen with certainty)."""
    audit = pi < 1.0
    if frame is None:  # one audit, drawn after every pair chosen with certainty
        return audit.astype(float), np.where(audit, 1.0, np.inf)
    frame = np.asarray(frame, dtype=float)
    if frame.shape != pi.shape:
        raise ValueError(
            f"frame must have one value per labelled pair ({pi.size}), got shape {frame.shape}"
        )
    rank = np.arange(pi.size, dtype=float)
    bad = audit & ~((frame >= 0) & (frame <= rank) & (frame == np.round(frame)))
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"frame[{j}] = {frame[j]!r}: an audit pair's frame is the number of labelled pairs "
            f"answered before its audit was drawn, an integer in 0..{j} (labelled_idx must be "
            "in the order answered)"
        )
    return rank, np.where(audit, frame, np.inf)


def estimate_f1(
    predictions: Any,
    scores: Any,
    labelled_idx: Any,
    labels: Any,
    inclusion_prob: Any = None,
    alpha: float = 0.5,
    level: float = 0.95,
    frame: Any = None,
) -> F1Estimate:
    """F_alpha of `predictions` on the whole pool from biased labels plus optional audits.

    `labelled_idx` / `labels`: every labelled pair and its 0/1 label. `inclusion_prob`: the
    probability each of them had of being labelled: 1 (or None for all) for the pairs the
    loop's selectors chose, which count exactly; below 1 for audit pairs drawn at random with
    known probabilities (`draw_audit`). The pairs never labelled are estimated by a working
    model, the matcher's scores recalibrated on the labels (a logistic curve in logit(score),
    every label weighted alike: weighting the audit's by 1 / inclusion_prob let a few pairs
    of tiny probability drag the curve), and the audits correct that model's residuals by
    importance weighting (a difference estimator): unbiased whatever the model if each audit
    was drawn as stated and its labels did not train the matcher being measured.

    Several audits (`frame`): with `labelled_idx` in the order answered, `frame[j]` says how
    many labelled pairs had been answered when audit pair j was drawn (pairs of one draw share
    it; ignored for inclusion_prob 1). Each draw estimates the residual total over the pairs
    unlabelled at its time; the pairs labelled since (its own included) are known exactly and
    subtracted, and the draws are averaged with weights proportional to their sizes. Without
    `frame`, one audit drawn after every pair chosen with certainty.

    The interval is Fieller's for the ratio TP / (alpha predicted + (1 - alpha) matches); with
    an audit, from the design variance of the corrections (each residual's square averaged
    with the model's variance, so an audit that meets no error is not taken as proof of none);
    without one it rests on the model (binomial spread of the unlabelled pairs and the
    curve's parameter uncertainty) and is only as good as the scores' ranking.
    """
    predictions, scores = _check_inputs(predictions, scores)
    if scores.ndim != 1:
        raise ValueError("scores must be one column (the matcher's scores) for estimate_f1")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1] (0.5 = F1), got {alpha}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
    n = predictions.size
    idx, y, pi = _check_labels(n, labelled_idx, labels, inclusion_prob)
    rank, frame = _check_frame(frame, pi)
    audit = pi < 1.0
    # each draw's share of the audit, and each labelled pair's coefficient on its residual:
    # + share / pi in its own draw, - share for every draw that saw it unlabelled
    draws, draw_of, sizes = np.unique(frame[audit], return_inverse=True, return_counts=True)
    share = sizes / max(audit.sum(), 1)
    own = np.zeros(idx.size)
    own[audit] = share[draw_of] / pi[audit]
    seen_unlabelled = np.concatenate([[0.0], np.cumsum(share)])[
        np.searchsorted(draws, rank, side="right")]
    coefficient = own - seen_unlabelled

    pred = predictions.astype(float)
    logit_score = _logit(calibrate_scores(scores, predictions))
    theta, covariance = fit_calibration(logit_score[idx], y, np.ones(idx.size))  # see above
    model = 1.0 / (1.0 + np.exp(-np.clip(theta[0] + theta[1] * logit_score, -500, 500)))

    rest = np.ones(n, dtype=bool)
    rest[idx] = False
    residual = y - model[idx]
    # totals of matches and of true positives: exact + model + audit correction
    matches = y.sum() + model[rest].sum() + coefficient @ residual
    tp = (y * pred[idx]).sum() + (model * pred)[rest].sum() + coefficient @ (residual * pred[idx])
    predicted = pred.sum()
    # the interval is built on the unclipped totals (a correction that overshoots still
    # carries its own uncertainty); the point estimate on totals kept possible
    raw_tp, raw_denominator = tp, alpha * predicted + (1 - alpha) * matches
    matches = max(matches, 0.0)
    tp = min(max(tp, 0.0), matches, predicted)

    # Var(TP - f (alpha P + (1 - alpha) M)) = sum v z^2 with z = pred - f (1 - alpha),
    # as the coefficients of c0 + c1 f + c2 f^2
    if audit.any():
        p = pred[idx][audit]
        # in each prediction class the model's rate is kept 1 / (k + 2) away from certainty,
        # k the class's audit pairs: k pairs without a false positive (or without a missed
        # match) do not rule out an error rate near 1 / k, and each such error moves F1 (the
        # scores near 0 and 1 claim certainty; a missed match among thousands of confident
        # non-matches is what a model-based interval cannot see)
        m = model[idx][audit]
        k = int(p.sum())
        m = np.where(p == 1, np.minimum(m, 1 - 1.0 / (k + 2)),
                     np.maximum(m, 1.0 / (p.size - k + 2)))
        spread = 0.5 * (residual[audit] ** 2 + m * (1 - m))
        v = share[draw_of] ** 2 * (1 - pi[audit]) / pi[audit] ** 2 * spread
    else:
        m = model[rest]
        v = m * (1 - m)
        p = pred[rest]
    coefficients = np.array([v @ p**2, -2 * (1 - alpha) * (v @ p), (1 - alpha) ** 2 * v.sum()])
    if not audit.any():
        # the curve's own uncertainty: gradients of the model totals over the unlabelled pairs
        design = np.column_stack([np.ones(rest.sum()), logit_score[rest]])
        slope = (m * (1 - m))[:, None] * design
        g_tp, g_m = slope.T @ p, slope.sum(axis=0)
        coefficients += np.array(
            [
                g_tp @ covariance @ g_tp,
                -2 * (1 - alpha) * (g_tp @ covariance @ g_m),
                (1 - alpha) ** 2 * (g_m @ covariance @ g_m),
            ]
        )
    if audit.any():
        # a variance estimated from few audit pairs is itself uncertain: Student's t quantile
        # with one degree of freedom fewer than the audit pairs in place of the normal one
        z = NormalDist().inv_cdf(0.5 + level / 2)
        t = student_t.ppf(0.5 + level / 2, max(int(audit.sum()) - 1, 1))
        coefficients *= (t / z) ** 2
    denominator = alpha * predicted + (1 - alpha) * matches
    estimate = tp / denominator if denominator > 0 else 0.0
    low, high = fieller_interval(raw_tp, raw_denominator, coefficients, level)
    return F1Estimate(
        estimate=float(estimate),
        interval=(min(low, estimate), max(high, estimate)),
        precision=float(tp / predicted) if predicted > 0 else 0.0,
        recall=float(tp / matches) if matches > 0 else 0.0,
        matches=float(matches),
        n_certain=int((~audit).sum()),
        n_audit=int(audit.sum()),
    )


def draw_audit(
    predictions: Any,
    scores: Any,
    n: int,
    exclude: Any = (),
    uniform: float = 0.3,
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw an audit of n unlabelled pairs for `estimate_f1`; returns (positions, inclusion
    probabilities).

    Sequential Poisson sampling (exactly n pairs, the n smallest u / lambda): a share
    1 - `uniform` of the draws goes where the matcher is unsure (lambda proportional to the
    standard deviation of a pair's label under the scores, sqrt(s (1 - s))), a share `uniform`
    uniformly within each prediction class (half to the predicted matches, half to the
    rest), so that confident errors (a 0.99-scored non-match) keep a fair chance of being met.
    `exclude`: pairs already labelled, never drawn. `seed`: 0 by default; None draws a fresh one.
    """
    predictions, scores = _check_inputs(predictions, scores)
    if scores.ndim != 1:
        raise ValueError("scores must be one column (the matcher's scores) for draw_audit")
    if not 0.0 <= uniform <= 1.0:
        raise ValueError(f"uniform must lie in [0, 1] (share of uniform draws), got {uniform}")
    candidates = np.setdiff1d(np.arange(predictions.size), np.asarray(exclude, dtype=np.int64))
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 0 <= n <= candidates.size:
        raise ValueError(
            f"n must be an integer between 0 and the {candidates.size} unlabelled pairs, got {n!r}"
        )
    if n == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    s = np.clip(calibrate_scores(scores, predictions)[candidates], 0.0, 1.0)
    unsure = np.sqrt(s * (1 - s))
    unsure = unsure / unsure.sum() if unsure.sum() > 0 else np.full(s.size, 1.0 / s.size)
    positive = predictions[candidates] == 1
    classes = [c for c in (positive, ~positive) if c.any()]
    even = sum(c / c.sum() for c in classes) / len(classes)
    size = (1 - uniform) * unsure + uniform * even
    # probabilities proportional to size, capped at 1 (the capped pairs taken with certainty)
    lam = np.zeros_like(size)
    capped = np.zeros(size.size, dtype=bool)
    for _ in range(size.size):
        lam[~capped] = (n - capped.sum()) * size[~capped] / size[~capped].sum()
        lam[capped] = 1.0
        over = (lam > 1.0) & ~capped
        if not over.any():
            break
        capped |= over
    rng = np.random.default_rng(seed)
    key = rng.random(size.size) / np.maximum(lam, 1e-300)
    chosen = np.argsort(key, kind="stable")[:n]
    return candidates[chosen], np.clip(lam[chosen], 1e-12, 1.0)

"""OASIS (Marchant & Rubinstein, 2017): adaptive importance sampling for the F-measure, and its
static (non-adaptive) importance-sampling baseline."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np

from evaluation.base import _W2, Oracle, Sampler

_IDENTITY = np.array([0.0, 1.0])  # prior curve that takes the calibrated scores as they are
_MIN_RATE = 1e-6  # a recalibrated prior rate never reaches 0 or 1


def _second_moment_terms(
    mean_prediction: np.ndarray, match_rate: np.ndarray, alpha: float
) -> np.ndarray:
    """E[(TP - f (alpha pred + (1 - alpha) true))^2] per stratum under the match-rate model,
    as the coefficients (3, K) of c0 + c1 f + c2 f^2."""
    tp = mean_prediction * match_rate
    c2 = (
        tp
        + mean_prediction * alpha**2 * (1 - match_rate)
        + (1 - mean_prediction) * (1 - alpha) ** 2 * match_rate
    )
    return np.stack([tp, -2 * tp, c2])


def _second_moment(
    mean_prediction: np.ndarray, match_rate: np.ndarray, f: float, alpha: float
) -> np.ndarray:
    """E[(TP - f (alpha pred + (1 - alpha) true))^2] per stratum under the match-rate model."""
    return np.array([1.0, f, f * f]) @ _second_moment_terms(mean_prediction, match_rate, alpha)


def optimal_distribution(
    weights: np.ndarray,
    mean_prediction: np.ndarray,
    match_rate: np.ndarray,
    f: float,
    alpha: float,
    epsilon: float,
) -> np.ndarray:
    """Instrumental distribution over strata minimizing the asymptotic variance of F_alpha,
    mixed with the population distribution with weight epsilon (keeps the estimator consistent).

    The conditional second moment of TP - F (alpha pred + (1 - alpha) true) in stratum k is
    pred_k [(1 - F)^2 pi_k + alpha^2 F^2 (1 - pi_k)] + (1 - pred_k) (1 - alpha)^2 F^2 pi_k;
    the optimal q is proportional to the stratum weight times its square root.
    """
    q = weights * np.sqrt(_second_moment(mean_prediction, match_rate, f, alpha))
    total = q.sum()
    q = q / total if total > 0 else weights
    return epsilon * weights + (1 - epsilon) * q


def _model_f(weights: np.ndarray, pred: np.ndarray, rate: np.ndarray, alpha: float) -> float:
    """F_alpha implied by the stratum model (used before the sample defines an estimate)."""
    tp = np.sum(weights * pred * rate)
    denominator = alpha * np.sum(weights * pred) + (1 - alpha) * np.sum(weights * rate)
    return float(tp / denominator) if denominator > 0 else 0.0


def fit_prior_curve(
    logit_score: np.ndarray,
    labelled: np.ndarray,
    matches: np.ndarray,
    theta: np.ndarray,
    ridge: float = 5.0,
    steps: int = 3,
) -> np.ndarray:
    """Refit the logistic curve rate = sigmoid(a + b logit_score) over the strata to the labels.

    Maximizes the binomial log-likelihood of `matches` out of `labelled` per stratum with a
    ridge penalty `ridge` (a, b - 1)^2 / 2 towards the identity (a, b) = (0, 1), i.e. towards
    trusting the calibrated scores; `steps` Newton steps from `theta` (warm start).
    """
    design = np.column_stack([np.ones_like(logit_score), logit_score])
    for _ in range(steps):
        rate = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (matches - labelled * rate) - ridge * (theta - _IDENTITY)
        hessian = (design * (labelled * rate * (1 - rate))[:, None]).T @ design
        theta = theta + np.linalg.solve(hessian + ridge * np.eye(2), gradient)
    return theta


class _ImportanceBase(Sampler):
    """Common set-up of the importance samplers: epsilon and a Beta-Bernoulli model of each
    stratum's match rate, its prior centred on the calibrated scores."""

    def __init__(
        self,
        predictions: Any,
        scores: Any,
        oracle: Oracle,
        alpha: float = 0.5,
        epsilon: float = 1e-3,
        n_strata: int | str = "auto",
        prior_strength: float | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(predictions, scores, oracle, alpha=alpha, n_strata=n_strata, seed=seed)
        if not 0.0 < epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in (0, 1] (share of uniform draws), got {epsilon}")
        if prior_strength is None:
            prior_strength = 2.0 * self.strata.n_strata
        if not prior_strength > 0:
            raise ValueError(f"prior_strength must be positive, got {prior_strength!r}")
        self.epsilon, self.prior_strength = float(epsilon), float(prior_strength)
        # pseudo-labels per stratum; the prior is kept inside (0, 1) so no stratum is ruled out
        self._pseudo = self.prior_strength / self.strata.n_strata
        self._score = np.clip(self.strata.mean_score, 1e-3, 1 - 1e-3)
        self._logit_score = np.log(self._score / (1 - self._score))
        self.prior_curve = _IDENTITY.copy()

    @property
    def prior(self) -> np.ndarray:
        """Prior match rate of each stratum: sigmoid(a + b logit(mean calibrated score)), with
        (a, b) = `prior_curve`, (0, 1) until labels recalibrate it."""
        logit = self.prior_curve[0] + self.prior_curve[1] * self._logit_score
        return np.clip(1.0 / (1.0 + np.exp(-logit)), _MIN_RATE, 1 - _MIN_RATE)

    @property
    def match_rate(self) -> np.ndarray:
        """Posterior mean match rate of each stratum (prior updated with the distinct labels)."""
        return (self._pseudo * self.prior + self.matches) / (self._pseudo + self.labelled)

    def _ratio_terms(self, alpha: float) -> tuple[float, float, np.ndarray]:
        """The importance-weighted ratio, with each stratum's share of V(f) shrunk towards what
        the Beta match-rate model predicts for the same draws: the model's share is
        pseudo / (pseudo + labels in the stratum), so it fades as the stratum is labelled, and
        a small sample that has seen, say, only true positives does not claim certainty."""
        numerator, denominator, empirical = self._stratum_terms(alpha)
        # the scores' own prior, not the recalibrated one: fitted to the same labels, the curve
        # would take away the caution this term is for
        score_rate = (self._pseudo * self._score + self.matches) / (self._pseudo + self.labelled)
        model = self._sums[_W2] * _second_moment_terms(
            self.strata.mean_prediction, score_rate, alpha
        )
        model_share = self._pseudo / (self._pseudo + self.labelled)
        return (
            float(numerator.sum()),
            float(denominator.sum()),
            empirical @ (1 - model_share) + model @ model_share,
        )

    def _distribution(self) -> np.ndarray:
        """Current instrumental distribution over strata."""
        s, rate = self.strata, self.match_rate
        if self.n_draws:
            f = self._ratio(self.alpha)[0]
        else:
            f = _model_f(s.weights, s.mean_prediction, rate, self.alpha)
        return optimal_distribution(s.weights, s.mean_prediction, rate, f, self.alpha, self.epsilon)

    def _draw_from(self, q: np.ndarray) -> tuple[int, float]:
        k = self._draw_proportional(q)
        return k, float(self.strata.weights[k] / q[k])


class OASISSampler(_ImportanceBase):
    """Optimal asymptotic sequential importance sampling of F_alpha (OASIS).

    Pairs are stratified by (calibrated) score and prediction; a Beta-Bernoulli model of each
    stratum's match rate starts from the calibrated scores (`prior_strength` pseudo-labels in
    all, default 2 per stratum) and learns from every new label. With `recalibrate` (default)
    the prior itself is refitted after every label: a logistic curve in the logit of the
    stratum's mean score, fitted to all labels, so strata share what the labels say about the
    scores (on a rare-match pool a 0.01 score may mean 1 match in 10,000), and the draws stop
    chasing matches the scores promise but the labels do not show; False keeps the scores as
    the prior (the paper's OASIS). The interval's model term keeps the scores' prior either way.
    Each draw picks a stratum from the variance-minimizing instrumental distribution for the
    current F estimate, mixed with the population distribution (share `epsilon`), then a pair
    uniformly within it; the estimate is the importance-weighted ratio
    sum w TP / sum w (alpha pred + (1 - alpha) true), w = p / q, over all draws. Work per draw
    is O(number of strata).
    """

    def __init__(
        self,
        predictions: Any,
        scores: Any,
        oracle: Oracle,
        alpha: float = 0.5,
        epsilon: float = 1e-3,
        n_strata: int | str = "auto",
        prior_strength: float | None = None,
        seed: int | None = None,
        recalibrate: bool = True,
    ) -> None:
        super().__init__(
            predictions,
            scores,
            oracle,
            alpha=alpha,
            epsilon=epsilon,
            n_strata=n_strata,
            prior_strength=prior_strength,
            seed=seed,
        )
        self.recalibrate = bool(recalibrate)

    def _learn(self) -> None:
        """Refit the prior curve to all labels so far: strata share what the labels say about
        how the scores translate into match rates, instead of each stratum unlearning an over-
        or underconfident score on its own."""
        if self.recalibrate:
            self.prior_curve = fit_prior_curve(
                self._logit_score, self.labelled, self.matches, self.prior_curve
            )

    def _draw_stratum(self) -> tuple[int, float]:
        return self._draw_from(self._distribution())


class ImportanceSampler(_ImportanceBase):
    """Static importance sampling: the OASIS instrumental distribution computed once from the
    prior (calibrated scores) and never updated."""

    @cached_property
    def _q(self) -> np.ndarray:
        # computed at the first draw, when nothing is labelled yet: the prior's distribution
        return self._distribution()

    def _draw_stratum(self) -> tuple[int, float]:
        return self._draw_from(self._q)

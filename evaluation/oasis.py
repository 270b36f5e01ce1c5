"""OASIS (Marchant & Rubinstein, 2017): adaptive importance sampling for the F-measure, and its
static (non-adaptive) importance-sampling baseline."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluation.base import Oracle, Sampler


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
    second_moment = (
        mean_prediction * ((1 - f) ** 2 * match_rate + alpha**2 * f**2 * (1 - match_rate))
        + (1 - mean_prediction) * (1 - alpha) ** 2 * f**2 * match_rate
    )
    q = weights * np.sqrt(second_moment)
    total = q.sum()
    q = q / total if total > 0 else weights
    return epsilon * weights + (1 - epsilon) * q


class _BetaStrataModel:
    """Beta-Bernoulli model of each stratum's match rate, the prior centred on the calibrated
    scores with `strength` pseudo-labels per stratum."""

    def __init__(self, prior_mean: np.ndarray, strength: float) -> None:
        self.a = strength * prior_mean
        self.b = strength * (1 - prior_mean)

    def update(self, stratum: int, label: int) -> None:
        self.a[stratum] += label
        self.b[stratum] += 1 - label

    @property
    def mean(self) -> np.ndarray:
        return self.a / (self.a + self.b)


def _model_f(weights: np.ndarray, pred: np.ndarray, rate: np.ndarray, alpha: float) -> float:
    """F_alpha implied by the stratum model (used before the sample defines an estimate)."""
    tp = np.sum(weights * pred * rate)
    denominator = alpha * np.sum(weights * pred) + (1 - alpha) * np.sum(weights * rate)
    return float(tp / denominator) if denominator > 0 else 0.0


class _ImportanceBase(Sampler):
    """Common set-up of the importance samplers: epsilon and the Beta model of the strata."""

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
        estimator: str = "stratified",
    ) -> None:
        super().__init__(predictions, scores, oracle, alpha=alpha, n_strata=n_strata, seed=seed)
        if estimator not in ("stratified", "importance"):
            raise ValueError(f'estimator must be "stratified" or "importance", got {estimator!r}')
        self.estimator = estimator
        if not 0.0 < epsilon <= 1.0:
            raise ValueError(f"epsilon must lie in (0, 1] (share of uniform draws), got {epsilon}")
        if prior_strength is None:
            prior_strength = 2.0 * self.strata.n_strata
        if not prior_strength > 0:
            raise ValueError(f"prior_strength must be positive, got {prior_strength!r}")
        self.epsilon, self.prior_strength = float(epsilon), float(prior_strength)
        # keep the prior strictly inside (0, 1) so that no stratum is ruled out for good
        prior = np.clip(self.strata.mean_score, 1e-3, 1 - 1e-3)
        self.model = _BetaStrataModel(prior, self.prior_strength / self.strata.n_strata)
        self._q: np.ndarray | None = None
        if estimator == "stratified":
            # each stratum's pairs in an order fixed by the seed: taking them in turn samples the
            # stratum without replacement, so every draw is a new label
            key = self._rng.random(self.predictions.size)
            self._queue = np.lexsort((key, self.strata.index))
            self._taken = np.zeros(self.strata.n_strata, dtype=np.int64)

    def _distribution(self) -> np.ndarray:
        """Current instrumental distribution over strata."""
        s = self.strata
        rate = self.model.mean
        if self.n_draws:
            f = self._ratio(self.alpha)[0]
        else:
            f = _model_f(s.weights, s.mean_prediction, rate, self.alpha)
        return optimal_distribution(s.weights, s.mean_prediction, rate, f, self.alpha, self.epsilon)

    def _ratio(self, alpha: float) -> tuple[float, float]:
        if self.estimator == "importance":
            return super()._ratio(alpha)
        return self._stratified_ratio(alpha)

    def _stratified_ratio(self, alpha: float) -> tuple[float, float]:
        """F_alpha from the distinct labelled pairs of each stratum (a without-replacement
        stratified estimate with finite-population correction), using the exactly known number
        of predicted matches; a stratum without labels contributes its model match rate."""
        s, n = self.strata, self.labelled
        answered = n + self.unsure
        # pairs the oracle can label, estimated per stratum from the share of sure answers
        size = np.where(answered > 0, s.sizes * n / np.maximum(answered, 1), s.sizes)
        rate = np.where(n > 0, self.matches / np.maximum(n, 1), self.model.mean)
        predicted = size * s.mean_prediction
        denominator = float(alpha * predicted.sum() + (1 - alpha) * np.sum(size * rate))
        if denominator <= 0:
            return 0.0, float("nan")
        f = float(np.sum(predicted * rate)) / denominator
        # strata are pure in prediction, so TP - f g = (pred - f (1 - alpha)) * label there;
        # its variance uses the prior-smoothed rate so an all-0 sample does not claim certainty
        smooth = self.model.mean
        spread = (s.mean_prediction - f * (1 - alpha)) ** 2 * smooth * (1 - smooth)
        fpc = np.clip(1 - n / np.maximum(size, 1), 0, 1)
        variance = np.sum(size**2 * spread * fpc / np.maximum(n, 1))
        return f, float(variance) / denominator**2

    def _draw_pair(self, stratum: int) -> int:
        if self.estimator == "importance":
            return super()._draw_pair(stratum)
        i = self._queue[self.strata.starts[stratum] + self._taken[stratum]]
        self._taken[stratum] += 1
        return int(i)

    def _draw_from(self, q: np.ndarray) -> tuple[int, float]:
        if self.estimator == "stratified":
            q = np.where(self._taken < self.strata.sizes, q, 0.0)
        cumulative = np.cumsum(q)
        k = int(np.searchsorted(cumulative, self._uniform() * cumulative[-1], side="right"))
        k = min(k, q.size - 1)
        return k, float(self.strata.weights[k] / q[k])


class OASISSampler(_ImportanceBase):
    """Optimal asymptotic sequential importance sampling of F_alpha (OASIS).

    Pairs are stratified by (calibrated) score and prediction; a Beta-Bernoulli model of each
    stratum's match rate starts from the calibrated scores (`prior_strength` pseudo-labels in
    all, default 2 per stratum) and learns from every new label. Each draw picks a stratum from
    the variance-minimizing instrumental distribution for the current F estimate, mixed with
    the population distribution (share `epsilon`), then a pair uniformly within it. Work per
    draw is O(number of strata).

    estimator="importance" is the paper's importance-weighted ratio
    sum w TP / sum w (alpha pred + (1 - alpha) true) over all draws, w = p / q.
    estimator="stratified" (default) keeps the OASIS draws but estimates each stratum's match
    rate from its distinct labelled pairs (a uniform sample of the stratum) and uses the known
    number of predicted matches; a fully labelled stratum is then known exactly, which makes
    it more accurate for the same number of labels (benchmarks/results/oasis.md). Its interval
    uses the Beta model's rates for the variance, so a stratum whose sample has no match yet
    still counts as uncertain (intervals err on the wide side).
    """

    def _draw_stratum(self) -> tuple[int, float]:
        # the stratified estimate and the model change only with a new answer; the importance
        # estimate changes with every draw
        if self._q is None or self.estimator == "importance":
            self._q = self._distribution()
        return self._draw_from(self._q)

    def _observe(self, stratum: int, label: int | None) -> None:
        if label is not None:
            self.model.update(stratum, label)
        self._q = None


class ImportanceSampler(_ImportanceBase):
    """Static importance sampling: the OASIS instrumental distribution computed once from the
    prior (calibrated scores) and never updated; importance-weighted estimate by default."""

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
        estimator: str = "importance",
    ) -> None:
        super().__init__(
            predictions, scores, oracle, alpha, epsilon, n_strata, prior_strength, seed, estimator
        )
        self._q = self._distribution()

    def _draw_stratum(self) -> tuple[int, float]:
        return self._draw_from(self._q)

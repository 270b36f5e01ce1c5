"""OASIS (Marchant & Rubinstein, 2017): adaptive importance sampling for the F-measure, and its
static (non-adaptive) importance-sampling baseline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
from scipy.linalg.lapack import dptsv, dpttrf
from scipy.special import betaln
from scipy.stats import poisson

from evaluation.base import _W2, Oracle, Sampler
from evaluation.strata import Strata, stratify

ESTIMATORS = ("stratified", "poststratified", "ratio", "doubly_robust")
ALLOCATIONS = ("neyman", "variance")  # how the stratified estimator's draws pick a stratum
# prior curve (intercept, slope on the logit score, shift for predicted matches) that takes the
# calibrated scores as they are
_IDENTITY = np.array([0.0, 1.0, 0.0])
_MIN_RATE = 1e-6  # a recalibrated prior rate never reaches 0 or 1
# candidate spreads (sd of a stratum's match log-odds around the prior curve)
# at most 1: a larger spread gives a rare stratum a Beta prior with a spike at 0, which labels
# that are all 0 (as they mostly are) always prefer and which then rules out unseen matches
_SPREADS = np.geomspace(0.05, 1.0, 14)
_MAX_STEP = 1.0
_MOST_STRATA = 250  # score strata of n_strata="auto" (sqrt(n) up to this)
# penalty of the prior curve (intercept, slope, shift) towards the identity (trusting the
# scores); light on the slope: scores squeezed (or stretched) by a factor of 3 or more are
# common, and a stiffer slope keeps the curve near the scores' rates far from 0.5 for hundreds
# of labels (an underconfident pool's non-match strata at 5x their match rate after 250 labels)
_RIDGE = np.array([0.5, 0.05, 0.5])
_MIN_SCORE = 1e-9  # calibrated scores are clipped to [_MIN_SCORE, 1 - _MIN_SCORE] before the logit
# prior probability that a stratum's match rate is off the prior curve (a confident error's)
_OFF_CURVE = 0.05
# the most standard errors by which one stratum's labels pull the prior curve
_MOST_RESIDUAL = 3.0
# the grid of eta, the rate of errors among predicted matches beyond the model's
_UNSEEN_RATES = np.geomspace(1e-7, 0.5, 200)
# a window of strata contradicts the prior curve when its labels hold at least this many errors
# and more than the curve expects (one-sided Poisson test at this level)
_HEDGE_ERRORS = 2
_HEDGE_LEVEL = 0.05
_MISFIT_STEPS = 50  # most Newton steps of the misfit's Laplace fit (warm-started: a few)
_MISFIT_TOLERANCE = 1e-7
# Gauss-Hermite nodes and weights for expectations under a standard normal
_NODES, _NODE_WEIGHTS = np.polynomial.hermite_e.hermegauss(16)
_NODE_WEIGHTS = _NODE_WEIGHTS / _NODE_WEIGHTS.sum()


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _MIN_SCORE, 1 - _MIN_SCORE)
    return np.log(p / (1 - p))


def _logit_normal_slope(mean: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """E[r (1 - r)] for r = sigmoid(eta), eta ~ N(mean, variance) (quadrature): how far r moves
    with eta on average, which far below 1/2 is exp(variance / 2) times its slope at the mean."""
    rate = 1 / (1 + np.exp(-(mean[:, None] + np.sqrt(variance)[:, None] * _NODES)))
    return (rate * (1 - rate)) @ _NODE_WEIGHTS


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
    ridge: float | np.ndarray = 5.0,
    steps: int = 3,
    prediction: np.ndarray | None = None,
) -> np.ndarray:
    """Refit the logistic curve rate = sigmoid(a + b logit_score [+ c prediction]) over the
    strata to the labels.

    Maximizes the binomial log-likelihood of `matches` out of `labelled` per stratum with a
    ridge penalty sum ridge (theta - (0, 1[, 0]))^2 / 2 (`ridge` one number, or one per
    parameter) towards the identity, i.e. towards
    trusting the calibrated scores; `steps` Fisher-scoring steps from `theta` (warm start),
    each at most `_MAX_STEP` long (a step from a handful of labels can overshoot). With
    `prediction` (each stratum's share predicted 1) the curve gets a third parameter c, a shift
    for the predicted matches: the labels can say that the predictions know more (or less)
    than the scores, e.g. when they do not threshold them.
    """
    columns = [np.ones_like(logit_score), logit_score]
    if prediction is not None:
        columns.append(prediction)
    design = np.column_stack(columns)
    identity = np.zeros(design.shape[1])
    identity[1] = 1.0
    for _ in range(steps):
        rate = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (matches - labelled * rate) - ridge * (theta - identity)
        information = labelled * rate * (1 - rate)
        hessian = (design * information[:, None]).T @ design
        step = np.linalg.solve(hessian + ridge * np.eye(theta.size), gradient)
        theta = theta + step * min(1.0, _MAX_STEP / (np.linalg.norm(step) + 1e-300))
        # a higher score never means a lower match rate: two early errors among the predicted
        # matches could otherwise turn the curve over, and the strata that agree with the
        # scores would then look off it and stop pulling it back
        theta[1] = max(theta[1], 0.0)
    return theta


class _MisfitFit(NamedTuple):
    """The misfit's Laplace fit, in `_misfit_order`: posterior mode, each stratum's mean and
    variance without its own labels, and the posterior precision (diagonal, off-diagonal)."""

    shift: np.ndarray
    held_out: np.ndarray
    held_out_variance: np.ndarray
    precision: tuple[np.ndarray, np.ndarray]


def _tridiagonal_inverse_diagonal(diagonal: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Diagonal of the inverse of a symmetric positive definite tridiagonal matrix, from its
    LDL' pivots taken forwards and backwards: 1 / (forward_i + backward_i - diagonal_i)."""
    forward = dpttrf(diagonal, off)[0]
    backward = dpttrf(diagonal[::-1], off[::-1])[0][::-1]
    return 1 / (forward + backward - diagonal)


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
        seed: int | None = 0,
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
        self._score = np.clip(self.strata.mean_score, _MIN_SCORE, 1 - _MIN_SCORE)
        self._logit_score = _logit(self._score)
        self.prior_curve = _IDENTITY.copy()
        self._cache: dict[str, Any] = {}
        self._cache_key: tuple[int, bytes] | None = None

    def _stratify(self, n_strata: int | str) -> Strata:
        """Strata cut on the logit of the calibrated scores: a score of 1e-6 and one of 1e-3
        promise match rates a thousand times apart, which a cut on the scores themselves
        would put in one stratum ("fine" cuts the scores themselves, as the authors do;
        "finest" takes whichever of "auto" and "fine" gives more strata)."""
        if n_strata == "finest":
            return max(map(self._stratify, ("auto", "fine")), key=lambda s: s.n_strata)
        scale = self.calibrated if n_strata == "fine" else _logit(self.calibrated)
        strata = stratify(scale, self.predictions, n_strata, most=_MOST_STRATA)
        mean_score = np.bincount(strata.index, weights=self.calibrated) / strata.sizes
        return replace(strata, mean_score=mean_score)

    def _cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """A quantity that depends only on the labels and the prior curve, computed once per
        state (the draw loop asks for it several times per label)."""
        key = (self.n_queries, self.prior_curve.tobytes())
        if self._cache_key != key:
            self._cache, self._cache_key = {}, key
        if name not in self._cache:
            self._cache[name] = compute()
        return self._cache[name]

    @property
    def prior(self) -> np.ndarray:
        """Prior match rate of each stratum: sigmoid(a + b logit(mean calibrated score) + c
        share predicted 1), with (a, b, c) = `prior_curve`, (0, 1, 0) until labels recalibrate
        it."""

        def compute() -> np.ndarray:
            logit = self._curve_logit()
            return np.clip(1.0 / (1.0 + np.exp(-logit)), _MIN_RATE, 1 - _MIN_RATE)

        return self._cached("prior", compute)

    def _curve_logit(self) -> np.ndarray:
        """The prior curve's log-odds of each stratum."""
        a, b, c = self.prior_curve
        return a + b * self._logit_score + c * self.strata.mean_prediction

    @property
    def match_rate(self) -> np.ndarray:
        """Match rate of each stratum that steers the draws: the prior updated with the
        distinct labels, its pseudo-labels divided by the stratum's labels (at least 1) as in
        the authors' decaying prior, so the draws soon follow what a stratum's labels say (the
        stratified estimate itself keeps the full prior: `posterior_rate`)."""

        def compute() -> np.ndarray:
            pseudo = self._pseudo / np.maximum(self.labelled, 1)
            return (pseudo * self.prior + self.matches) / (pseudo + self.labelled)

        return self._cached("match_rate", compute)

    @property
    def posterior_rate(self) -> np.ndarray:
        """Posterior mean match rate of each stratum (Beta prior of `prior_strength` / number
        of strata pseudo-labels, updated with the distinct labels)."""
        return self._cached(
            "posterior_rate",
            lambda: (self._pseudo * self.prior + self.matches) / (self._pseudo + self.labelled),
        )

    def _ratio_terms(self, alpha: float) -> tuple[float, float, np.ndarray]:
        """The importance-weighted ratio, with each stratum's share of V(f) shrunk towards what
        the Beta match-rate model predicts for the same draws: the model's share is
        pseudo / (pseudo + labels in the stratum), so it fades as the stratum is labelled, and
        a small sample that has seen, say, only true positives does not claim certainty."""
        numerator, denominator, empirical = self._stratum_terms(alpha)
        # prior rate half-way (geometric mean) between the raw scores and the recalibrated curve:
        # the curve alone, fitted to the same labels, would take away the caution this term is
        # for; the raw scores overstate the variance where matches are rare (intervals twice as
        # wide as needed at 1,000-2,000 labels on the 0.5%-positive benchmark pool)
        prior = np.sqrt(self._score * self.prior)
        rate = (self._pseudo * prior + self.matches) / (self._pseudo + self.labelled)
        model = self._sums[_W2] * _second_moment_terms(self.strata.mean_prediction, rate, alpha)
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
    """Optimal asymptotic sequential importance sampling of F_alpha (OASIS), with a model of
    the match rate along the scores that lets a few hundred labels speak for the whole pool.

    Parameters
    ----------
    predictions, scores, oracle, alpha, seed
        The matcher's 0/1 predictions and calibrated scores per pair, who answers, the F
        measure's weight on precision, and the seed of every draw.
    epsilon
        Share of the draws that follow the unlabelled pairs' own distribution (keeps every
        stratum reachable).
    n_strata
        "auto": up to 250 strata cut on the logit of the scores (cumulative sqrt(frequency));
        "fine": the authors' cuts on the scores themselves; "finest": whichever gives more.
    prior_strength
        Pseudo-labels of the Beta model that steers the draws of "ratio" and "doubly_robust"
        (default 2 per stratum).
    recalibrate
        Refit the prior curve, rate = sigmoid(a + b logit(score) + c share predicted 1), to
        all labels after each one (default). False keeps the scores as they are (the paper).
    estimator
        "stratified" (default), "poststratified", "ratio" or "doubly_robust" (Notes).
    hedge_window
        > 0: label on where a window of that many strata either side holds more errors than
        the curve expects (Notes). Not the default: benchmarks/results/oasis_v21_hedge.md.
    allocation
        "neyman" (default) or "variance" (Notes; benchmarks/results/oasis_v24.md).
    misfit, misfit_length
        Prior sd of the curve's local misfit in log-odds, and its correlation length in logit
        units (Notes). `misfit=0` trusts the curve everywhere.
    tail_slope
        Least slope of the curve beyond the outermost labelled error (Notes). 0 keeps the
        fitted curve everywhere (benchmarks/results/oasis_v29.md).

    Notes
    -----
    **The stratified estimate (default).** Each draw labels a pair not labelled yet, uniformly
    from a stratum. A stratum's matches are its known matches plus its unlabelled pairs times
    its posterior rate (`shrunk_rate`); F_alpha = sum_k pred_k M_k / (alpha P + (1 - alpha)
    sum_k M_k), exact on a fully labelled pool. Each stratum's rate has a Beta prior:
    - its mean is `local_prior`: the curve shifted by a smooth local misfit (a Gaussian
      process along the logit score, sd `misfit`, correlation exp(-distance /
      `misfit_length`), one per side of the threshold, fitted to the other strata's labels by
      Laplace's method; benchmarks/results/oasis_v25.md, oasis_v26.md);
    - its variance is that of a logit-normal of sd `spread` around it, with `spread` chosen
      by empirical Bayes from all strata's labels.

    The interval is Fieller's for that ratio. Its variance sums each stratum's beta-binomial
    variance of its unlabelled matches, the curve's uncertainty (delta method), and the
    misfit's posterior uncertainty.

    **The draws.** Neyman allocation for numerator - F denominator, U_k |pred_k - F (1 -
    alpha)| sqrt(rate (1 - rate)), mixed with the unlabelled pairs' distribution (share
    `epsilon`).
    - With `hedge_window` > 0: where a window's labels hold at least two errors and more
      than the curve expects (one-sided Poisson test, p < 0.05), a stratum's rate is its
      mean score whenever that is the more uncertain of the two.
    - With `allocation="variance"`: in proportion to the fall in variance one more label
      brings, its own and through the refitted curve, so the small strata between the
      near-certain bulks are labelled out early.

    **The curve's tails.** Beyond each side's outermost labelled error (plus `misfit_length`),
    the curve's log-odds fall at least `tail_slope` times as fast as the scores'. A curve
    fitted to a real matcher's band of middling errors is flat, and would otherwise give a
    bulk scored 1e-7 the band's rate.

    **Confident errors** (matches scored 0.01, non-matches 0.99).
    - Off the curve: with prior probability 0.05 a stratum's rate is off the curve
      (Jeffreys prior). A stratum whose labels contradict the curve's side is estimated from
      the mixture weighted by the evidence (`off_weight`). Unlabelled strata, and strata
      whose labels agree, keep the curve's rate.
    - Bounded pull: no stratum pulls the curve by more than 3 standard errors of its labels'
      distance from the curve fitted without them.
    - Unseen errors among the predicted matches: each pair the model takes for a match is a
      non-match with probability eta (`unseen_error_rate`, posterior from the predicted-match
      labels). Its second moment widens the interval, and the draws check the strata the
      curve calls certain as far as eta allows. The predicted non-matches get no such term:
      their unlabelled pairs are hundreds of times their labels, and the same rule gives
      intervals tens of points wide there.

    **The other estimators** draw from the paper's variance-minimizing instrumental
    distribution for the current F, mixed with the population (share `epsilon`).
    - "ratio": with replacement; the paper's importance-weighted ratio sum w TP / sum w
      (alpha pred + (1 - alpha) true), w = p / q.
    - "poststratified": the draws of "ratio", the estimate and interval of "stratified".
      With `n_strata="fine"` it is the paper's sampler with a post-stratified estimate
      (benchmarks/results/oasis_v23.md).
    - "doubly_robust": each accepted draw gives every stratum an unbiased estimate of its
      matches: known matches + U_k r_k + [drawn here, pair new] (N_k / q_k) (y - r_k), with r_k
      a working model fixed before the draw (`working_rate`). Their averages enter F_alpha
      (fully labelled strata counted exactly), with Fieller's interval from their empirical
      covariance, each stratum's variance at least what its draws would have under the
      posterior rates. It costs O(strata^2) per draw, and labels that all contradict the
      predictions give a small positive F instead of exactly 0.
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
        seed: int | None = 0,
        recalibrate: bool = True,
        estimator: str = "stratified",
        hedge_window: int = 0,
        allocation: str = "neyman",
        misfit: float = 1.0,
        misfit_length: float = 1.0,
        tail_slope: float = 1.0,
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
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
        self.recalibrate, self.estimator = bool(recalibrate), estimator
        whole = isinstance(hedge_window, int | np.integer) and not isinstance(hedge_window, bool)
        if not whole or hedge_window < 0:
            raise ValueError(
                f"hedge_window must be a whole number of strata >= 0, got {hedge_window!r}"
            )
        self.hedge_window = int(hedge_window)
        if allocation not in ALLOCATIONS:
            raise ValueError(f"allocation must be one of {ALLOCATIONS}, got {allocation!r}")
        if allocation != "neyman" and estimator != "stratified":
            raise ValueError(
                f'allocation="{allocation}" steers the draws of estimator="stratified"; '
                f'estimator="{estimator}" draws from the paper\'s instrumental distribution'
            )
        self.allocation = allocation
        if not misfit >= 0:
            raise ValueError(f"misfit must be >= 0 (sd of the curve's log-odds), got {misfit!r}")
        if not misfit_length > 0:
            raise ValueError(
                f"misfit_length must be > 0 (logit-score units), got {misfit_length!r}"
            )
        self.misfit, self.misfit_length = float(misfit), float(misfit_length)
        if not tail_slope >= 0:
            raise ValueError(
                f"tail_slope must be >= 0 (least slope of the curve's tails), got {tail_slope!r}"
            )
        self.tail_slope = float(tail_slope)
        # each pair's logit score and each stratum's lowest and highest, for the curve's tails
        self._pair_logit = _logit(self.calibrated)
        self._score_range = np.full((2, self.strata.n_strata), np.inf)
        self._score_range[1] *= -1
        np.minimum.at(self._score_range[0], self.strata.index, self._pair_logit)
        np.maximum.at(self._score_range[1], self.strata.index, self._pair_logit)
        self._misfit_order, self._misfit_precision = self._misfit_prior()
        self._misfit_start = np.zeros(self.strata.n_strata)
        self._spread_at = 0  # position of the current spread in _SPREADS
        self._curve_design = np.column_stack(
            [np.ones_like(self._logit_score), self._logit_score, self.strata.mean_prediction]
        )
        self.doubly_robust = estimator == "doubly_robust"
        # the draws: without replacement by Neyman allocation ("stratified") or else from the
        # paper's instrumental distribution; the estimate: post-stratified for both of the first
        self.stratified = estimator == "stratified"
        self.post_stratified = estimator in ("stratified", "poststratified")
        # stratified: each stratum's members in a random order, drawn front to back (uniformly
        # without replacement); a stream of its own so the stratum draws are the same as before
        key = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,))).random(
            self.predictions.size
        )
        self._shuffled = np.lexsort((key, self.strata.index))
        k = self.strata.n_strata
        # over accepted draws: per stratum the sum of the match-count estimates, of their cross
        # products, and of their conditional variances predicted before each draw
        self._count_sum, self._count_outer = np.zeros(k), np.zeros((k, k))
        self._predicted_variance = np.zeros(k)
        self._at_draw: tuple[np.ndarray, np.ndarray, float, int] = (
            np.zeros(k),
            np.zeros(k),
            0.0,
            0,
        )

    def _curve_logit(self) -> np.ndarray:
        """The prior curve's log-odds, at least `tail_slope` steep in each side's tail (the
        strata beyond its outermost labelled error), where no label says how fast the match
        rate falls."""
        logit = super()._curve_logit()
        slope = self.prior_curve[1]
        if slope >= self.tail_slope:
            return logit
        x, positive = self._logit_score, self.strata.mean_prediction >= 0.5
        errors = (self.labels >= 0) & (self.labels != self.predictions)
        lowest, highest = self._score_range
        for side, outwards, nearest in ((0, -1.0, highest), (1, 1.0, lowest)):
            seen = errors & (self.predictions == side)
            if seen.any():
                knot = outwards * (np.max(outwards * self._pair_logit[seen]) + self.misfit_length)
                tail = (positive == bool(side)) & (outwards * (nearest - knot) > 0)
                logit = np.where(tail, logit + (self.tail_slope - slope) * (x - knot), logit)
        return logit

    def _beta_prior(self, spread: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Beta(a, b) parameters (S, K) of each stratum's prior for each spread (S,): mean
        `local_prior`, variance that of a logit-normal of that spread (delta method,
        (mu (1 - mu) spread)^2), so a stratum the curve puts at 1e-4 is not given the spike
        at 0 of a Beta with a few pseudo-labels."""
        mu = self.local_prior[None, :]
        concentration = 1.0 / (mu * (1 - mu) * spread[:, None] ** 2) - 1.0
        concentration = np.maximum(concentration, 0.1)
        return concentration * mu, concentration * (1 - mu)

    @property
    def local_prior(self) -> np.ndarray:
        """Prior mean match rate of each stratum: the prior curve shifted by the local misfit
        its neighbours' labels show (`misfit` > 0), or the curve itself."""
        return self.misfit_rate if self.misfit > 0 else self.prior

    def _misfit_prior(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The strata sorted by side of the threshold and logit score, and the tridiagonal
        precision (diagonal, off-diagonal) in that order of the misfit's prior: an Ornstein-
        Uhlenbeck process over the logit score, sd `misfit`, correlation exp(-distance /
        `misfit_length`), independent between the two sides."""
        side, x = self.strata.mean_prediction >= 0.5, self._logit_score
        order = np.lexsort((x, side))
        gap = np.maximum(np.diff(x[order]), 1e-9 * self.misfit_length)
        rho = np.exp(-gap / self.misfit_length) * (side[order][1:] == side[order][:-1])
        inner = 1 / (1 - rho**2)
        diagonal = np.ones(order.size)
        diagonal[:-1] += inner - 1
        diagonal[1:] += inner - 1
        variance = max(self.misfit, 1e-12) ** 2  # unused at misfit=0
        return order, (diagonal / variance, -rho * inner / variance)

    @property
    def _misfit_fit(self) -> _MisfitFit:
        """The misfit's Laplace fit to all strata's labels: Newton steps on its log posterior,
        warm-started from the last fit."""

        def compute() -> _MisfitFit:
            order, (diagonal, off) = self._misfit_order, self._misfit_precision
            curve = _logit(self.prior)[order]
            n, m = self.labelled[order].astype(float), self.matches[order].astype(float)
            shift = self._misfit_start[order]
            for _ in range(_MISFIT_STEPS):
                rate = 1 / (1 + np.exp(-(curve + shift)))
                weight = n * rate * (1 - rate)
                # (prior precision + W) next = W shift + residual
                step = dptsv(diagonal + weight, off, weight * shift + m - n * rate)[2] - shift
                shift = shift + np.clip(step, -_MAX_STEP, _MAX_STEP)
                if np.abs(step).max() < _MISFIT_TOLERANCE:
                    break
            self._misfit_start[order] = shift
            rate = 1 / (1 + np.exp(-(curve + shift)))
            weight = n * rate * (1 - rate)
            posterior = diagonal + weight
            # each stratum's mean without its own labels (its Gaussian site taken out)
            variance = _tridiagonal_inverse_diagonal(posterior, off)
            held_out_variance = variance / (1 - variance * weight)
            held_out = shift - (m - n * rate) * held_out_variance
            return _MisfitFit(shift, held_out, held_out_variance, (posterior, off))

        return self._cached("misfit", compute)

    @property
    def misfit_rate(self) -> np.ndarray:
        """Per stratum the prior curve's rate shifted on the logit scale by the curve's local
        misfit that the other strata's labels show."""
        local = np.empty(self.strata.n_strata)
        local[self._misfit_order] = self._misfit_fit.held_out
        return np.clip(1 / (1 + np.exp(-(_logit(self.prior) + local))), _MIN_RATE, 1 - _MIN_RATE)

    @property
    def _misfit_slope(self) -> np.ndarray:
        """Per stratum E[r (1 - r)], the mean slope of the rate r in its log-odds, over the
        misfit's shift without the stratum's own labels: where that shift is uncertain, the
        rate of a band the curve puts near 0 may move far more than its slope at the mode says."""

        def compute() -> np.ndarray:
            fit, order = self._misfit_fit, self._misfit_order
            mean, variance = np.empty((2, self.strata.n_strata))
            mean[order], variance[order] = fit.held_out, fit.held_out_variance
            return _logit_normal_slope(_logit(self.prior) + mean, variance)

        return self._cached("misfit_slope", compute)

    def _misfit_variance(self, gradient: np.ndarray) -> np.ndarray:
        """gradient^T cov(local prior rates) gradient under the misfit's posterior, for a
        gradient (strata x columns) of the counts in the local prior rates."""
        reach = (gradient * self._misfit_slope[:, None])[self._misfit_order]
        return reach.T @ dptsv(*self._misfit_fit.precision, reach)[2]

    @property
    def spread(self) -> float:
        """Spread of the strata's match log-odds around the prior curve, chosen by empirical
        Bayes: the value on a grid that maximizes the beta-binomial likelihood of all strata's
        labels (a local search from the last value, which one label moves by a step or two).
        Small where the strata agree with the curve (the curve then speaks for lightly
        labelled strata), larger where they scatter around it (each stratum's own labels then
        weigh more, and the interval widens)."""

        def compute() -> float:
            seen = self.labelled > 0
            if not seen.any():
                return float(_SPREADS[self._spread_at])
            n, m = self.labelled[seen], self.matches[seen]
            # strata whose labels put them off the curve say nothing about the spread around it
            on = 1 - self._off_weight(_SPREADS[self._spread_at])[seen]
            while True:
                at = self._spread_at
                around = np.arange(max(at - 1, 0), min(at + 2, _SPREADS.size))
                a, b = self._beta_prior(_SPREADS[around])
                a, b = a[:, seen], b[:, seen]
                likelihood = ((betaln(a + m, b + n - m) - betaln(a, b)) * on).sum(axis=1)
                best = int(around[np.argmax(likelihood)])
                if best == at:
                    return float(_SPREADS[best])
                self._spread_at = best

        return self._cached("spread", compute)

    @property
    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Per stratum: Beta posterior parameters of its match rate (the prior of `spread`
        updated with its labels)."""

        def compute() -> tuple[np.ndarray, np.ndarray]:
            a, b = self._beta_prior(np.array([self.spread]))
            return a[0] + self.matches, b[0] + self.labelled - self.matches

        return self._cached("posterior", compute)

    def _off_weight(self, spread: float) -> np.ndarray:
        """Per stratum: posterior probability that its match rate is off the prior curve (a
        Jeffreys Beta(1/2, 1/2) prior instead of the curve's), with prior probability
        `_OFF_CURVE`; 0 until a label contradicts the curve's side (a match where it says below
        1/2, a non-match where it says above), so unlabelled and agreeing strata keep the curve's
        rate exactly."""
        n, m = self.labelled, self.matches
        a, b = (x[0] for x in self._beta_prior(np.array([spread])))
        on = betaln(a + m, b + n - m) - betaln(a, b)
        off = betaln(0.5 + m, 0.5 + n - m) - betaln(0.5, 0.5)
        odds = np.exp(np.clip(off - on, -700, 700)) * _OFF_CURVE / (1 - _OFF_CURVE)
        contradicted = np.where(self.prior < 0.5, m > 0, n - m > 0)
        return np.where(contradicted, odds / (1 + odds), 0.0)

    @property
    def _held_out_prior(self) -> np.ndarray:
        """Per stratum: the prior curve's rate refitted without that stratum's labels (the
        one-step leave-one-out approximation of the penalized logistic fit)."""

        def compute() -> np.ndarray:
            rate, n, design = self.prior, self.labelled, self._curve_design
            weight = n * rate * (1 - rate)
            information = (design * weight[:, None]).T @ design + np.diag(_RIDGE)
            reach = np.einsum("ki,ij,kj->k", design, np.linalg.inv(information), design)
            leverage = np.minimum(weight * reach, 0.99)
            held_out = _logit(rate) - reach * (self.matches - n * rate) / (1 - leverage)
            return np.clip(1.0 / (1.0 + np.exp(-held_out)), _MIN_RATE, 1 - _MIN_RATE)

        return self._cached("held_out_prior", compute)

    @property
    def off_weight(self) -> np.ndarray:
        """Per stratum: posterior probability that its labels, not the curve, set its rate."""
        return self._cached("off_weight", lambda: self._off_weight(self.spread))

    @property
    def shrunk_rate(self) -> np.ndarray:
        """Posterior mean match rate of each stratum's unlabelled pairs (logit-normal prior of
        `spread` around the prior curve, updated with the stratum's labels), mixed with the
        stratum's own labels' Jeffreys posterior by `off_weight`."""
        a, b = self._posterior
        off = self.off_weight
        return (1 - off) * a / (a + b) + off * (0.5 + self.matches) / (1 + self.labelled)

    def _curve_covariance(self) -> np.ndarray:
        """Covariance of the prior curve's parameters: the inverse penalized information of
        the binomial fit, each stratum's information deflated by its overdispersion
        1 + (labels - 1) rate (1 - rate) spread^2."""
        weight = self._curve_weight(self.labelled * (1 - self.off_weight))
        information = (self._curve_design * weight[:, None]).T @ self._curve_design
        return np.linalg.inv(information + _RIDGE * np.eye(self._curve_design.shape[1]))

    def _curve_weight(self, n: np.ndarray) -> np.ndarray:
        """Per stratum, the curve's information from n labels there: n rate (1 - rate),
        deflated by their overdispersion 1 + (n - 1) rate (1 - rate) spread^2."""
        rate = self.prior
        spread = rate * (1 - rate) * self.spread**2
        return n * rate * (1 - rate) / (1 + np.maximum(n - 1, 0) * spread)

    def _learn(self) -> None:
        """Refit the prior curve to all labels so far: strata share what the labels say about
        how the scores translate into match rates, instead of each stratum unlearning an over-
        or underconfident score on its own."""
        if self.recalibrate:
            # strata off the curve (a confident error's) do not pull it for the whole pool, and
            # each stratum's pull is bounded at _MOST_RESIDUAL standard errors (Huber weights)
            # of its labels' distance from the curve fitted without them: measured from the
            # curve itself, a stratum that pulls it is less surprising after each refit, so
            # one surprise (a match or two just below the threshold of a sharp pool, where only
            # the ridge holds the curve) bent the curve a little further with every label
            n, rate = self.labelled, self._held_out_prior
            spread = np.sqrt(n * rate * (1 - rate))
            residual = np.abs(self.matches - n * rate)
            on = np.minimum(
                1 - self.off_weight, _MOST_RESIDUAL * spread / np.maximum(residual, 1e-300)
            )
            self.prior_curve = fit_prior_curve(
                self._logit_score,
                self.labelled * on,
                self.matches * on,
                self.prior_curve,
                ridge=_RIDGE,
                prediction=self.strata.mean_prediction,
            )

    @property
    def unlabelled(self) -> np.ndarray:
        """Pairs per stratum not asked yet."""
        return self.strata.sizes - self.labelled - self.unsure

    @property
    def errors(self) -> np.ndarray:
        """Labelled pairs per stratum whose label differs from the prediction."""
        positive = self.strata.mean_prediction == 1
        return np.where(positive, self.labelled - self.matches, self.matches)

    @property
    def working_rate(self) -> np.ndarray:
        """Match rate of each stratum's unlabelled pairs assumed by the doubly robust estimate.

        Modelled as the rate of errors (labels that differ from the prediction): a Beta
        posterior whose prior is the prior curve's error rate times the ratio of the errors
        seen so far to the errors that curve expected on the labelled pairs. Until a label
        contradicts a prediction the working model is the predictions themselves, so labels
        that all agree give F = 1 exactly, as the ratio estimator does.
        """
        positive = self.strata.mean_prediction
        prior_error = np.abs(positive - self.prior)
        expected = float(self.labelled @ prior_error)
        scale = self.errors.sum() / expected if expected > 0 else 0.0
        pseudo_errors = np.minimum(self._pseudo * scale * prior_error, self._pseudo)
        error = (self.errors + pseudo_errors) / (self.labelled + self._pseudo)
        return np.abs(positive - error)

    def _draw_pair(self, stratum: int) -> int:
        if not self.stratified:
            return super()._draw_pair(stratum)
        taken = self.labelled[stratum] + self.unsure[stratum]
        return int(self._shuffled[self.strata.starts[stratum] + taken])

    def _distribution(self) -> np.ndarray:
        if not self.stratified:
            return super()._distribution()
        weights = self.unlabelled / self.unlabelled.sum()
        f = self._stratified_terms(self.alpha)[:2]
        f = f[0] / f[1] if f[1] > 0 else 0.0
        # each unlabelled match counts pred_k - f (1 - alpha) in numerator - f denominator
        effect = self.strata.mean_prediction - f * (1 - self.alpha)
        if self.allocation == "variance":
            q = self._variance_reduction(effect)
        else:
            q = self._neyman(weights, np.abs(effect))
        total = q.sum()
        q = q / total if total > 0 else weights
        return self.epsilon * weights + (1 - self.epsilon) * q

    def _neyman(self, weights: np.ndarray, effect: np.ndarray) -> np.ndarray:
        """Neyman allocation over strata (unnormalized): unlabelled share times effect times
        the match / non-match standard deviation of the stratum's unlabelled pairs."""
        rate = self.shrunk_rate
        # a predicted match's label is a match with probability r_k (1 - eta): its variance
        # includes the unseen errors', so strata the curve calls certain are still checked, as
        # much as eta's posterior (from all predicted-match labels) says they may be off
        positive = self.strata.mean_prediction == 1
        rate = np.where(positive, rate * (1 - self.unseen_error_rate[0]), rate)
        if self.hedge_window:
            score = self.strata.mean_score
            hedged = self.contradicted & (score * (1 - score) > rate * (1 - rate))
            rate = np.where(hedged, score, rate)
        return weights * effect * np.sqrt(rate * (1 - rate))

    @property
    def _prior_pull(self) -> np.ndarray:
        """Per stratum, d (expected unlabelled matches) / d (prior mean): the unlabelled pairs
        times the prior's weight in the posterior mean."""
        (a, b), off = self._posterior, self.off_weight
        size = a + b
        return (1 - off) * self.unlabelled * (size - self.labelled) / size

    @property
    def _count_slope(self) -> np.ndarray:
        """Per stratum, d (expected unlabelled matches) / d (prior curve's logit), through the
        local prior: the misfit shifts the curve's logit, so its mean slope is E[r (1 - r)]."""
        if self.misfit > 0:
            return self._prior_pull * self._misfit_slope
        return self._prior_pull * self.prior * (1 - self.prior)

    def _variance_reduction(self, effect: np.ndarray) -> np.ndarray:
        """Per stratum, the expected fall in the variance of numerator - f denominator from one
        more label there: its own unlabelled matches' beta-binomial variance, and (Sherman-
        Morrison) every stratum's share through the prior curve that the label refits."""
        unlabelled, (a, b), off = self.unlabelled, self._posterior, self.off_weight
        rate, size = self.shrunk_rate, a + b
        # U r (1 - r) (size + U) / (size + 1) before the label, (U - 1) ... / (size + 2) after
        own = effect**2 * rate * (1 - rate) * (size + unlabelled) ** 2 / ((size + 1) * (size + 2))
        n = self.labelled * (1 - off)
        gradient = self._curve_design.T @ (effect * self._count_slope) * self.recalibrate
        covariance = self._curve_covariance()
        information = np.maximum(self._curve_weight(n + 1) - self._curve_weight(n), 0.0)
        reach = self._curve_design @ covariance
        curve = (reach @ gradient) ** 2 * information / (
            1 + information * np.einsum("ki,ki->k", reach, self._curve_design)
        )
        return np.where(unlabelled > 0, own + curve, 0.0)

    @property
    def contradicted(self) -> np.ndarray:
        """Per stratum: whether the labels of its window of strata (`hedge_window` either
        side, on its side of the threshold) hold at least two errors and more than the prior
        curve expects there (one-sided Poisson test)."""
        positive = self.strata.mean_prediction == 1
        n, prior = self.labelled, self.prior
        observed = np.where(positive, n - self.matches, self.matches).astype(float)
        expected = np.where(positive, n * (1 - prior), n * prior)
        width = self.hedge_window
        kernel = np.ones(2 * width + 1)
        out = np.zeros(n.size, bool)
        for side in (np.flatnonzero(positive), np.flatnonzero(~positive)):
            if side.size:
                seen = np.convolve(np.pad(observed[side], width), kernel, "valid")
                expect = np.convolve(np.pad(expected[side], width), kernel, "valid")
                out[side] = (seen >= _HEDGE_ERRORS) & (poisson.sf(seen - 1, expect) < _HEDGE_LEVEL)
        return out

    def _stratified_terms(self, alpha: float) -> tuple[float, float, np.ndarray]:
        """Numerator sum_k pred_k M_k and denominator alpha P + (1 - alpha) sum_k M_k with M_k
        the known matches plus the unlabelled pairs times `shrunk_rate`, and V(f), the variance
        of numerator - f denominator."""
        (numerator, total), covariance, predicted = self._cached("stratified", self._totals)
        return (
            numerator,
            alpha * predicted + (1 - alpha) * total,
            np.array(
                [
                    covariance[0, 0],
                    -2 * (1 - alpha) * covariance[0, 1],
                    (1 - alpha) ** 2 * covariance[1, 1],
                ]
            ),
        )

    def _totals(self) -> tuple[np.ndarray, np.ndarray, float]:
        """The estimated matches among the predicted matches and in all, their covariance (each
        stratum's beta-binomial predictive variance of its unlabelled matches, plus the prior
        curve's uncertainty by the delta method), and the number of predicted matches the
        oracle could label."""
        unlabelled, (a, b), off = self.unlabelled, self._posterior, self.off_weight
        n, m = self.labelled, self.matches
        # each stratum's unlabelled matches: a mixture of two beta-binomials, on the curve
        # (weight 1 - off) and on the stratum's own labels (weight off)
        parts = [(a, b, 1 - off), (0.5 + m, 0.5 + n - m, off)]
        means, variances = [], []
        for alpha_, beta_, _ in parts:
            rate_, size_ = alpha_ / (alpha_ + beta_), alpha_ + beta_
            means.append(unlabelled * rate_)
            variances.append(means[-1] * (1 - rate_) * (size_ + unlabelled) / (size_ + 1))
        mean = sum(share * part for (*_, share), part in zip(parts, means, strict=True))
        counts = m + mean
        # the mixture's variance: its parts' variances plus the spread of their means
        variance = sum(
            share * (part_variance + (part - mean) ** 2)
            for (*_, share), part, part_variance in zip(parts, means, variances, strict=True)
        )
        sums = np.column_stack([self.strata.mean_prediction, np.ones_like(counts)])
        gradient = self._curve_design.T @ (sums * self._count_slope[:, None]) * self.recalibrate
        covariance = (sums * variance[:, None]).T @ sums
        covariance += gradient.T @ self._curve_covariance() @ gradient
        # and that of the curve's local misfit, correlated along the scores
        if self.misfit > 0:
            covariance += self._misfit_variance(sums * self._prior_pull[:, None])
        # an unseen error among the predicted matches takes one from both counts
        covariance += self._unseen_error_moment()
        predicted = float(self.strata.mean_prediction @ (self.strata.sizes - self.unsure))
        return counts @ sums, covariance, predicted

    @property
    def unseen_error_rate(self) -> tuple[float, float]:
        """Posterior mean and second moment of eta, the rate at which a pair that the model
        takes for a match among the predicted matches is a non-match beyond the model's: a
        label in predicted-match stratum k (posterior rate r_k) is an error with probability
        1 - r_k + r_k eta; Jeffreys prior, on a log grid."""

        def compute() -> tuple[float, float]:
            positive = self.strata.mean_prediction == 1
            n, errors = self.labelled[positive], (self.labelled - self.matches)[positive]
            match_rate = self.shrunk_rate[positive]
            rate = 1 - match_rate + match_rate * _UNSEEN_RATES[:, None]
            rate = np.clip(rate, 1e-300, 1 - 1e-12)
            log_likelihood = np.log(rate) @ errors + np.log1p(-rate) @ (n - errors)
            # Jeffreys density eta^-1/2 (1 - eta)^-1/2 times the log grid's spacing eta
            log_posterior = (
                log_likelihood + 0.5 * np.log(_UNSEEN_RATES) - 0.5 * np.log1p(-_UNSEEN_RATES)
            )
            posterior = np.exp(log_posterior - log_posterior.max())
            posterior /= posterior.sum()
            return float(posterior @ _UNSEEN_RATES), float(posterior @ _UNSEEN_RATES**2)

        return self._cached("unseen_error_rate", compute)

    def _unseen_error_moment(self) -> float:
        """E[H^2] of the number H of non-matches among the unlabelled predicted matches beyond
        the model's: in stratum k, each of its U_k unlabelled pairs the model takes for a match
        (posterior rate r_k) is a non-match with probability eta (`unseen_error_rate`)."""
        positive = self.strata.mean_prediction == 1
        match_rate = self.shrunk_rate[positive]
        first, second = self.unseen_error_rate
        # H = sum_k Binomial(U_k r_k, eta) given eta: E[H^2] = E[Var(H | eta)] + E[E(H | eta)^2]
        taken = self.unlabelled[positive] * match_rate
        return float(taken.sum() * first - taken @ match_rate * second + taken.sum() ** 2 * second)

    def _draw_stratum(self) -> tuple[int, float]:
        q = self._distribution()
        k, weight = self._draw_from(q)
        if self.doubly_robust:
            rate, posterior, unlabelled = self.working_rate, self.match_rate, self.unlabelled
            # variance of each stratum's correction term at this draw if its match rate were
            # the posterior's: N_k^2 (U_k / N_k) / q_k E[(y - r_k)^2]
            residual = posterior * (1 - posterior) + (posterior - rate) ** 2
            self._at_draw = (
                self.matches + unlabelled * rate,
                self.strata.sizes * unlabelled / q * residual,
                float(rate[k]),
                self.n_queries,
            )
        return k, weight

    def _add(self, stratum: int, weight: float, label: int, prediction: int) -> None:
        super()._add(stratum, weight, label, prediction)
        if not self.doubly_robust:
            return
        counts, variance, rate, queries = self._at_draw
        if self.n_queries > queries:
            # a new pair: a uniform draw from the stratum's unlabelled pairs at this draw
            counts = counts.copy()
            counts[stratum] += self.predictions.size * weight * (label - rate)  # N_k / q_k
        self._count_sum += counts
        self._count_outer += np.outer(counts, counts)
        self._predicted_variance += variance

    def _count_estimates(self) -> tuple[np.ndarray, np.ndarray]:
        """Estimated matches per stratum and their covariance: the empirical covariance of the
        per-draw estimates, each stratum's variance at least the sum of its draws' conditional
        variances under the posterior match rates before each draw (so a stratum whose labels
        all agree is not taken as certain); exact, with zero variance, where a stratum is fully
        labelled."""
        t = self.n_draws
        mean = self._count_sum / t
        covariance = (self._count_outer / t - np.outer(mean, mean)) / t
        diagonal = np.maximum(np.diag(covariance), self._predicted_variance / (t * t))
        np.fill_diagonal(covariance, diagonal)
        closed = self.unlabelled == 0
        covariance[closed], covariance[:, closed] = 0.0, 0.0
        return np.where(closed, self.matches, mean), covariance

    def _ratio_terms(self, alpha: float) -> tuple[float, float, np.ndarray]:
        """Doubly robust numerator sum_k pred_k M_k and denominator alpha P + (1 - alpha)
        sum_k M_k, and V(f) = Var(numerator - f denominator) = c0 + c1 f + c2 f^2."""
        if self.post_stratified:
            return self._stratified_terms(alpha)
        if not self.doubly_robust:
            return super()._ratio_terms(alpha)
        counts, covariance = self._count_estimates()
        positive = self.strata.mean_prediction
        predicted = float(positive @ (self.strata.sizes - self.unsure))
        ones = np.ones_like(positive)
        return (
            float(positive @ counts),
            alpha * predicted + (1 - alpha) * float(counts.sum()),
            np.array(
                [
                    positive @ covariance @ positive,
                    -2 * (1 - alpha) * (ones @ covariance @ positive),
                    (1 - alpha) ** 2 * (ones @ covariance @ ones),
                ]
            ),
        )


class ImportanceSampler(_ImportanceBase):
    """Static importance sampling: the OASIS instrumental distribution computed once from the
    prior (calibrated scores) and never updated."""

    @cached_property
    def _q(self) -> np.ndarray:
        # computed at the first draw, when nothing is labelled yet: the prior's distribution
        return self._distribution()

    def _draw_stratum(self) -> tuple[int, float]:
        return self._draw_from(self._q)

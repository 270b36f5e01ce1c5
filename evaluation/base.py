"""Shared machinery of the F-measure samplers: input checks, the draw loop, the label cache,
the importance-weighted ratio estimator and its confidence interval."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from blocking.answers import Answer, to_answer
from evaluation.strata import Strata, calibrate_scores, stratify

Oracle = Callable[[int], Any]
"""oracle(i) -> an Answer, or 1 / 0 / None (unsure), as `blocking.to_answer` reads it."""
UNQUERIED, UNSURE = -1, -2
_BUFFER = 4096
# rows of the per-stratum accumulators: sums of w*x and of w^2*x for x = TP, predicted 1, true 1,
# and the sum of w^2
_F, _P, _T, _F2, _P2, _T2, _W2 = range(7)


def _check_inputs(predictions: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate predictions (0/1 vector) and scores (vector or one column per classifier)."""
    predictions, scores = np.asarray(predictions), np.asarray(scores)
    if predictions.ndim != 1 or predictions.size == 0:
        raise ValueError(
            f"predictions must be a non-empty 1-D array, got shape {predictions.shape}"
        )
    if not np.isin(predictions, [0, 1]).all():
        bad = predictions[~np.isin(predictions, [0, 1])][:3]
        raise ValueError(f"predictions must be 0 or 1 (the matcher's decisions), found {bad!r}")
    if scores.ndim not in (1, 2) or scores.shape[0] != predictions.shape[0]:
        raise ValueError(
            f"scores must have one row per prediction ({predictions.shape[0]}), as a vector or an "
            f"(n, n_classifiers) array, got shape {scores.shape}"
        )
    if not np.issubdtype(scores.dtype, np.number) or np.iscomplexobj(scores):
        raise TypeError(f"scores must be real numbers, got dtype {scores.dtype}")
    scores = scores.astype(float)
    if not np.isfinite(scores).all():
        where = np.flatnonzero(~np.isfinite(scores).reshape(len(scores), -1).all(axis=1))
        raise ValueError(
            f"scores contain NaN or infinite values ({where.size} pairs, first at positions "
            f"{where[:5].tolist()}); fill or drop those pairs first"
        )
    return predictions.astype(np.int8), scores


class Sampler:
    """Base of the samplers: draw a stratum, a pair in it, ask or reuse its label, update.

    Subclasses say how a stratum is drawn (`_draw_stratum`); adaptive ones learn from the
    per-stratum counts `labelled`, `matches` and `unsure`. Draws are with replacement: a pair
    drawn again reuses its cached label and counts again in the estimator, but only a new pair
    costs an oracle query. An unsure answer (None) costs a query; the pair is then treated as
    outside the population: that draw and any later draw of it is discarded and drawn again,
    so the estimate refers to the pairs the oracle can label. The sequence of queries depends
    only on the seed and the answers, so a run interrupted inside the oracle resumes by
    re-running with the same seed and replaying the stored answers. `labels[i]` holds pair
    i's answer (-1 not asked, -2 unsure). A skipped pair costs no query and is drawn again
    later; `Answer.QUIT` ends `sample` early with `stopped` set. `seed` is 0 by default, as for
    every model and selector here; None draws a fresh one.
    """

    def __init__(
        self,
        predictions: Any,
        scores: Any,
        oracle: Oracle,
        alpha: float = 0.5,
        n_strata: int | str = "auto",
        seed: int | None = 0,
    ) -> None:
        if not callable(oracle):
            raise TypeError(f"oracle must be callable as oracle(i) -> 0 | 1 | None, got {oracle!r}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1] (0.5 = F1), got {alpha}")
        self.predictions, self.scores = _check_inputs(predictions, scores)
        self.oracle, self.alpha, self.seed = oracle, float(alpha), seed
        self.calibrated = calibrate_scores(self.scores, self.predictions)
        self.strata: Strata = self._stratify(n_strata)
        self.labels = np.full(self.predictions.size, UNQUERIED, dtype=np.int8)
        self.n_queries = self.n_draws = 0
        self.stopped = False
        self._sums = np.zeros((7, self.strata.n_strata))
        self.draws_per_stratum = np.zeros(self.strata.n_strata, dtype=np.int64)
        # distinct answered pairs per stratum: labelled (0/1), of which matches, and unsure
        self.labelled = np.zeros(self.strata.n_strata, dtype=np.int64)
        self.matches = np.zeros(self.strata.n_strata, dtype=np.int64)
        self.unsure = np.zeros(self.strata.n_strata, dtype=np.int64)
        # a stream of its own: the same integer seed used to make the data gives other numbers
        self._rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        self._uniforms, self._next = np.empty(0), 0
        self._rows: list[tuple[float, ...]] = []
        self.no_predicted_matches = not self.predictions.any()
        if self.no_predicted_matches:
            warnings.warn(
                "all predictions are 0: the matcher finds no match, so its F-measure, precision "
                "and recall are 0 by definition; sample() will not query the oracle",
                UserWarning,
                stacklevel=2,
            )

    def _stratify(self, n_strata: int | str) -> Strata:
        """Strata of the pool by calibrated score and prediction."""
        return stratify(self.calibrated, self.predictions, n_strata)

    # --- drawing -------------------------------------------------------------------------------
    def _uniform(self) -> float:
        """Next U(0, 1) number; buffered, so the stream does not depend on how sample() is split."""
        if self._next == self._uniforms.size:
            self._uniforms, self._next = self._rng.random(_BUFFER), 0
        self._next += 1
        return float(self._uniforms[self._next - 1])

    def _draw_stratum(self) -> tuple[int, float]:
        """Pick a stratum; return it with the importance weight p(stratum) / q(stratum)."""
        raise NotImplementedError

    def _draw_proportional(self, q: np.ndarray) -> int:
        """A stratum drawn with probability proportional to q."""
        cumulative = np.cumsum(q)
        k = int(np.searchsorted(cumulative, self._uniform() * cumulative[-1], side="right"))
        return min(k, q.size - 1)

    def _draw_pair(self, stratum: int) -> int:
        """A pair drawn uniformly from a stratum."""
        offset = int(self._uniform() * self.strata.sizes[stratum])
        return int(self.strata.order[self.strata.starts[stratum] + offset])

    def sample(self, n: int) -> Sampler:
        """Draw until n new oracle queries have been made (re-draws reuse cached labels)."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n must be a non-negative integer (oracle queries), got {n!r}")
        if self.no_predicted_matches:
            return self
        remaining = int(np.sum(self.labels == UNQUERIED))
        if n > remaining:
            raise ValueError(
                f"asked for {n} new oracle queries but only {remaining} pairs are still unlabelled"
            )
        target = self.n_queries + int(n)
        self.stopped = False
        while self.n_queries < target:
            stratum, weight = self._draw_stratum()
            i = self._draw_pair(stratum)
            new = self.labels[i] == UNQUERIED
            if new:
                reply = to_answer(self.oracle(i), where=f"oracle, pair {i}")
                if reply is Answer.QUIT:
                    self.stopped = True
                    break
                if reply in (Answer.SKIP, Answer.UNDO):
                    continue  # nothing learned; the pair may be drawn again
                answer = reply.label
                self.labels[i] = UNSURE if answer is None else answer
                self.n_queries += 1
                if answer is None:
                    self.unsure[stratum] += 1
                else:
                    self.labelled[stratum] += 1
                    self.matches[stratum] += answer
                    self._learn()
            label = int(self.labels[i])
            if label != UNSURE:
                self._add(stratum, weight, label, int(self.predictions[i]))
            if new:
                self._record()
        return self

    def _learn(self) -> None:
        """Update what the sampler learns from labels (adaptive samplers); called per new label."""

    def _add(self, stratum: int, weight: float, label: int, prediction: int) -> None:
        """Add one accepted draw to the stratum's weighted sums."""
        self.n_draws += 1
        self.draws_per_stratum[stratum] += 1
        first = np.array([label * prediction, prediction, label], dtype=float)
        self._sums[:3, stratum] += weight * first
        self._sums[3:6, stratum] += weight * weight * first
        self._sums[_W2, stratum] += weight * weight

    def _record(self) -> None:
        if self.n_draws:
            value, precision, recall = (self._ratio(a)[0] for a in (self.alpha, 1.0, 0.0))
        else:
            value = precision = recall = float("nan")
        low, high = self._interval(0.95)
        self._rows.append((self.n_queries, self.n_draws, value, low, high, precision, recall))

    # --- estimation ----------------------------------------------------------------------------
    def _stratum_terms(self, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per stratum: sum w TP, sum w g with g = alpha pred + (1 - alpha) true, and the
        coefficients (3, K) of sum w^2 (TP - f g)^2 = c0 + c1 f + c2 f^2 (TP^2 = TP g = TP)."""
        s = self._sums
        g2 = alpha**2 * s[_P2] + (1 - alpha) ** 2 * s[_T2] + 2 * alpha * (1 - alpha) * s[_F2]
        denominator = alpha * s[_P] + (1 - alpha) * s[_T]
        return s[_F], denominator, np.stack([s[_F2], -2 * s[_F2], g2])

    def _ratio_terms(self, alpha: float) -> tuple[float, float, np.ndarray]:
        """Numerator and denominator of the importance-weighted ratio F_alpha = sum w TP /
        sum w g, and the coefficients of V(f) = sum w^2 (TP - f g)^2 = c0 + c1 f + c2 f^2,
        whose value at the estimate over the squared denominator is the ratio's asymptotic
        variance."""
        numerator, denominator, v = self._stratum_terms(alpha)
        return float(numerator.sum()), float(denominator.sum()), v.sum(axis=1)

    def _ratio(self, alpha: float) -> tuple[float, float]:
        """The ratio estimate of F_alpha and its asymptotic (delta-method) variance; (0, nan)
        while undefined."""
        numerator, denominator, v = self._ratio_terms(alpha)
        if denominator <= 0:
            return 0.0, float("nan")
        f = numerator / denominator
        return f, float(max(v[0] + v[1] * f + v[2] * f * f, 0.0) / denominator**2)

    def _metric(self, alpha: float) -> float:
        if self.no_predicted_matches:
            return 0.0
        if self.n_draws == 0:
            return float("nan")
        return self._ratio(alpha)[0]

    @property
    def estimate(self) -> float:
        """Estimated F_alpha of the predictions (nan before any label)."""
        return self._metric(self.alpha)

    @property
    def precision(self) -> float:
        """Estimated precision TP / (TP + FP)."""
        return self._metric(1.0)

    @property
    def recall(self) -> float:
        """Estimated recall TP / (TP + FN)."""
        return self._metric(0.0)

    def _interval(self, level: float) -> tuple[float, float]:
        if self.no_predicted_matches:
            return 0.0, 0.0
        if self.n_draws == 0:
            return 0.0, 1.0
        return fieller_interval(*self._ratio_terms(self.alpha), level)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Confidence interval for F_alpha: Fieller's interval for the ratio estimator.

        The set of f for which (sum w TP - f sum w g)^2 <= z^2 V(f), V(f) the estimated
        variance of sum w (TP - f g); it inverts the asymptotic normal test of the ratio, is
        skewed like the estimator near 0 and 1 and clipped to [0, 1]. (0, 1) before any label
        or while the sample cannot bound F, (0, 0) when all predictions are 0.
        """
        if not 0.0 < level < 1.0:
            raise ValueError(f"level must lie strictly between 0 and 1, got {level}")
        return self._interval(level)

    @property
    def history(self) -> pd.DataFrame:
        """Per oracle query: n_labels, n_draws, estimate, 95% low / high, precision, recall."""
        columns = ["n_labels", "n_draws", "estimate", "low", "high", "precision", "recall"]
        return pd.DataFrame(self._rows, columns=columns)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_pairs={self.predictions.size}, "
            f"n_strata={self.strata.n_strata}, n_queries={self.n_queries}, "
            f"estimate={self.estimate:.4f})"
        )


def fieller_interval(
    numerator: float, denominator: float, v: np.ndarray, level: float
) -> tuple[float, float]:
    """Fieller's confidence interval, clipped to [0, 1], for the ratio numerator / denominator
    of two weighted sums, given V(f) = v[0] + v[1] f + v[2] f^2, the estimated variance of
    numerator - f denominator: the f with (numerator - f denominator)^2 <= z^2 V(f)."""
    if denominator <= 0:
        return 0.0, 1.0
    z2 = NormalDist().inv_cdf(0.5 + level / 2) ** 2
    # quadratic a f^2 + b f + c <= 0
    a = denominator**2 - z2 * v[2]
    b = -2 * numerator * denominator - z2 * v[1]
    c = numerator**2 - z2 * v[0]
    discriminant = b * b - 4 * a * c
    if a <= 0 or discriminant < 0:
        # the denominator is not significantly away from 0: the data do not bound F
        return 0.0, 1.0
    root = np.sqrt(discriminant)
    low, high = (-b - root) / (2 * a), (-b + root) / (2 * a)
    return float(min(max(low, 0.0), 1.0)), float(min(max(high, 0.0), 1.0))

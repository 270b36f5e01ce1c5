"""Non-adaptive baselines for F-measure estimation: passive and stratified proportional sampling."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from evaluation.base import Sampler


class PassiveSampler(Sampler):
    """Passive sampling: pairs drawn uniformly from the pool; the estimate is the sample's F."""

    def _draw_stratum(self) -> tuple[int, float]:
        # a stratum with probability proportional to its size, then a uniform pair in it
        return self._draw_proportional(self.strata.weights), 1.0


class StratifiedSampler(Sampler):
    """Stratified sampling with proportional allocation and the combined (post-stratified)
    ratio estimator.

    Draw t goes to the stratum furthest behind its share of t draws, so strata are filled in
    proportion to their size without randomness in the allocation; pairs within a stratum are
    drawn uniformly. Strata not drawn yet are left out of the estimate (their share is spread
    over the drawn strata).
    """

    @cached_property
    def _allocated(self) -> np.ndarray:
        """Draw attempts per stratum (created empty at the first draw)."""
        return np.zeros(self.strata.n_strata)

    def _draw_stratum(self) -> tuple[int, float]:
        # attempts (discarded unsure draws included) so that an all-unsure stratum cannot stall
        k = int(np.argmax(self.strata.weights * (self._allocated.sum() + 1) - self._allocated))
        self._allocated[k] += 1
        return k, 1.0

    def _ratio_terms(self, alpha: float) -> tuple[float, float, np.ndarray]:
        """Combined ratio estimator over the drawn strata and the quadratic V(f) of its
        variance (sum of share^2 * within-stratum variance / draws)."""
        drawn = self.draws_per_stratum > 0
        n = self.draws_per_stratum[drawn]
        share = self.strata.weights[drawn] / self.strata.weights[drawn].sum()
        tp, pred, true = self._sums[:3, drawn] / n  # unit weights: sums of squares equal sums
        g = alpha * pred + (1 - alpha) * true
        g2 = alpha**2 * pred + (1 - alpha) ** 2 * true + 2 * alpha * (1 - alpha) * tp
        # within-stratum variance of TP - f g, as c0 + c1 f + c2 f^2 (TP^2 = TP g = TP)
        within = np.stack([tp - tp * tp, 2 * tp * g - 2 * tp, g2 - g * g])
        return float(share @ tp), float(share @ g), within @ (share**2 / n)

"""Score calibration and stratification of a pool of pairs for stratified / importance sampling."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_AUTO_STRATA = 60
STRATIFICATIONS = ("auto", "fine", "finest")  # the named rules of stratify()


def _calibrate_column(scores: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Map one classifier's scores to [0, 1]: kept if already there, else a logistic curve."""
    if scores.min() >= 0.0 and scores.max() <= 1.0:
        return scores.astype(float)
    positive, negative = scores[predictions == 1], scores[predictions == 0]
    if positive.size and negative.size and negative.max() <= positive.min():
        # the predictions threshold this score: put the decision boundary at probability 0.5
        center = 0.5 * (negative.max() + positive.min())
    else:
        center = float(np.median(scores))
    scale = float(scores.std()) or 1.0
    return 1.0 / (1.0 + np.exp(-(scores - center) / scale))


def calibrate_scores(scores: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """Turn scores into rough match probabilities in [0, 1] for stratification and the prior.

    Scores already in [0, 1] are used as probabilities. Other real scores (margins, logits,
    similarities) go through a logistic curve centred on the classifier's decision boundary
    (the midpoint between the highest score predicted 0 and the lowest predicted 1, when the
    predictions threshold the score; otherwise the median) with the scores' standard deviation
    as scale, so the boundary maps to 0.5 and the order of the pairs is kept. A 2-D array holds
    several classifiers' scores (one column each): each column is calibrated on its own and
    their mean is returned, i.e. the classifiers vote on the prior match probability.
    """
    if scores.ndim == 1:
        return _calibrate_column(scores, predictions)
    columns = [_calibrate_column(scores[:, j], predictions) for j in range(scores.shape[1])]
    return np.mean(columns, axis=0)


@dataclass(frozen=True)
class Strata:
    """A partition of the pool: stratum of each pair, members grouped by stratum, stratum stats."""

    index: np.ndarray  # (n,) stratum of each pair
    order: np.ndarray  # pair positions sorted by stratum
    starts: np.ndarray  # (K,) offset of each stratum's first member in `order`
    sizes: np.ndarray  # (K,) number of pairs per stratum
    weights: np.ndarray  # (K,) share of the pool (population distribution over strata)
    mean_prediction: np.ndarray  # (K,) share of pairs predicted 1
    mean_score: np.ndarray  # (K,) mean calibrated score (prior match rate)

    @property
    def n_strata(self) -> int:
        """Number of non-empty strata."""
        return int(self.sizes.size)


def _cum_sqrt_f_bins(scores: np.ndarray, n_strata: int) -> np.ndarray:
    """Stratum of each pair by the cumulative sqrt(frequency) rule on a fine score histogram."""
    n_bins = int(min(1000, max(10 * n_strata, scores.size // 10, 1)))
    low, high = float(scores.min()), float(scores.max())
    if high <= low:
        return np.zeros(scores.size, dtype=np.int64)
    edges = np.linspace(low, high, n_bins + 1)
    bin_of = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, n_bins - 1)
    root = np.sqrt(np.bincount(bin_of, minlength=n_bins))
    cum = np.cumsum(root)
    # a bin belongs to the stratum containing the middle of its slice of cumulative sqrt(f)
    stratum_of_bin = np.floor(n_strata * (cum - root / 2) / cum[-1]).astype(np.int64)
    return np.clip(stratum_of_bin, 0, n_strata - 1)[bin_of]


def _fine_sqrt_f_bins(scores: np.ndarray) -> np.ndarray:
    """Stratum of each pair by the cumulative sqrt(frequency) rule on a Freedman-Diaconis
    histogram of the scores, with the number of strata set by the same rule on the cumulative
    curve (the automatic stratification of the OASIS authors' code).

    The bins are so narrow on sharp scores that most pairs scored away from 0 and 1 sit in a
    bin of their own and so count as much as a whole bin of the near-certain bulk: the strata
    isolate the uncertain pairs. Only occupied bins are stored (the rule can ask for 10^7+).
    Where over half the scores are tied (no width), each distinct score is a bin.
    """
    low, span = float(scores.min()), float(np.ptp(scores))
    if span <= 0:
        return np.zeros(scores.size, dtype=np.int64)
    q25, q75 = np.percentile(scores, [25, 75])
    width = 2.0 * float(q75 - q25) * scores.size ** (-1.0 / 3.0)  # Freedman-Diaconis
    if width > 0:
        n_bins = int(np.ceil(span / width))
        bins = np.minimum(((scores - low) * (n_bins / span)).astype(np.int64), n_bins - 1)
    else:
        bins = np.unique(scores, return_inverse=True)[1].ravel()
        n_bins = int(bins.max()) + 1
    occupied, bin_of, counts = np.unique(bins, return_inverse=True, return_counts=True)
    cumulative = np.cumsum(np.sqrt(counts))
    # the rule's width on the cumulative curve over all n_bins bins (an empty bin repeats the
    # value of the last occupied one), from its quartiles
    position = np.array([0.25, 0.75]) * (n_bins - 1)
    below = np.floor(position).astype(np.int64)
    value = [
        cumulative[np.searchsorted(occupied, np.minimum(below + step, n_bins - 1), "right") - 1]
        for step in (0, 1)
    ]
    quartiles = value[0] + (position - below) * (value[1] - value[0])
    step = 2.0 * float(quartiles[1] - quartiles[0]) * n_bins ** (-1.0 / 3.0)
    if not step > 0:
        step = float(cumulative[-1]) / auto_n_strata(scores.size)
    # a stratum starts at each bin where the cumulative curve reaches a multiple of the step
    stratum = np.unique(np.floor(cumulative / step), return_inverse=True)[1].ravel()
    return stratum[bin_of.ravel()]


def _equal_size_bins(scores: np.ndarray, n_strata: int) -> np.ndarray:
    """Stratum of each pair when the score-sorted pool is cut into equal-size strata."""
    rank = np.empty(scores.size, dtype=np.int64)
    rank[np.argsort(scores, kind="stable")] = np.arange(scores.size)
    return rank * n_strata // scores.size


def auto_n_strata(n_pairs: int, most: int = MAX_AUTO_STRATA) -> int:
    """Target number of score strata for n_strata="auto": about sqrt(n), at most `most`."""
    return int(min(most, max(1, round(np.sqrt(n_pairs)))))


def stratify(
    calibrated: np.ndarray,
    predictions: np.ndarray,
    n_strata: int | str = "auto",
    most: int = MAX_AUTO_STRATA,
) -> Strata:
    """Stratify pairs by calibrated score, then split each stratum by the prediction.

    n_strata="auto" applies the cumulative sqrt(frequency) rule (Dalenius-Hodges) with
    `auto_n_strata(n, most)` target strata; "fine" the same rule on a Freedman-Diaconis
    histogram with as many strata as that rule gives (`_fine_sqrt_f_bins`: uncertain pairs in
    strata of their own); "finest" whichever of the two cuts more strata ("fine" isolates the
    uncertain pairs of sharp scores but gives a handful of strata where scores are squeezed
    or blurred); an integer gives that many equal-size score strata.
    Splitting by prediction keeps every stratum pure (all predicted 0 or all 1), which the
    variance-minimizing instrumental distribution of OASIS exploits; empty strata are dropped.
    """
    if isinstance(n_strata, str):
        if n_strata not in STRATIFICATIONS:
            raise ValueError(
                f'n_strata must be one of {STRATIFICATIONS} or a positive integer, got {n_strata!r}'
            )
        rules = {
            "fine": lambda: _fine_sqrt_f_bins(calibrated),
            "auto": lambda: _cum_sqrt_f_bins(calibrated, auto_n_strata(calibrated.size, most)),
        }
        if n_strata == "finest":
            by_score = max((rule() for rule in rules.values()), key=lambda b: np.unique(b).size)
        else:
            by_score = rules[n_strata]()
    else:
        if isinstance(n_strata, bool) or not isinstance(n_strata, int | np.integer) or n_strata < 1:
            raise ValueError(
                f'n_strata must be one of {STRATIFICATIONS} or a positive integer, got {n_strata!r}'
            )
        by_score = _equal_size_bins(calibrated, int(min(n_strata, calibrated.size)))
    _, index = np.unique(2 * by_score + predictions, return_inverse=True)
    order = np.argsort(index, kind="stable")
    sizes = np.bincount(index)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return Strata(
        index=index,
        order=order,
        starts=starts,
        sizes=sizes,
        weights=sizes / sizes.sum(),
        mean_prediction=np.bincount(index, weights=predictions) / sizes,
        mean_score=np.bincount(index, weights=calibrated) / sizes,
    )

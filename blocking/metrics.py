"""F-measures of 0/1 predictions and the one search for the cut of scores with the best F1."""

from __future__ import annotations

import numpy as np


def safe_ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, 0.0 when the denominator is 0 (scikit-learn's zero_division=0)."""
    return float(numerator / denominator) if denominator > 0 else 0.0


def f_measure(labels: np.ndarray, predictions: np.ndarray, alpha: float = 0.5) -> float:
    """Weighted F-measure TP / (alpha (TP + FP) + (1 - alpha) (TP + FN)); alpha=0.5 is F1.

    alpha=1 gives precision and alpha=0 recall; 0/0 is 0.0.
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.shape != predictions.shape:
        raise ValueError(
            f"labels and predictions must have the same shape, got {labels.shape} "
            f"and {predictions.shape}"
        )
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    tp = float(np.sum((labels == 1) & (predictions == 1)))
    return safe_ratio(tp, alpha * np.sum(predictions == 1) + (1 - alpha) * np.sum(labels == 1))


def precision_recall_f1(labels: np.ndarray, predictions: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of 0/1 predictions against 0/1 labels (0/0 is 0.0)."""
    return tuple(f_measure(labels, predictions, alpha) for alpha in (1.0, 0.0, 0.5))


def best_threshold(
    labels: np.ndarray, scores: np.ndarray, tolerance: float | None = None
) -> tuple[float, float]:
    """(threshold, F1) of a cut of `scores` with near-best F1 against 0/1 `labels`.

    Cuts lie halfway between distinct neighbouring scores. Among the cuts whose F1 is within
    `tolerance` of the best (default 1 / #matches, about two wrong calls near F1 = 1), the one
    nearest 0.5 (in logit) is chosen, so a flat F1 curve keeps the default cut rather than an
    extreme one that fits noise in a few labels.
    """
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError(
            f"best_threshold: labels and scores must be vectors of one length, got "
            f"{labels.shape} and {scores.shape}"
        )
    if len(scores) == 0:
        return 0.5, 0.0
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], labels[order] == 1
    n_match = max(int(hits.sum()), 1)
    f1 = 2 * np.cumsum(hits) / (np.arange(1, len(scores) + 1) + n_match)
    cuts = (ranked + np.append(ranked[1:], 0.0)) / 2
    f1[:-1][ranked[:-1] == ranked[1:]] = -1.0  # cut only between distinct scores
    near = f1 >= f1.max() - (1 / n_match if tolerance is None else tolerance)
    logit = np.log(np.clip(cuts, 1e-6, 1 - 1e-6) / np.clip(1 - cuts, 1e-6, 1))
    k = int(np.argmin(np.where(near, np.abs(logit), np.inf)))
    return float(cuts[k]), float(max(f1[k], 0.0))

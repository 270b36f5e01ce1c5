"""F-measure on fully labelled data (the ground truth the samplers estimate)."""

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

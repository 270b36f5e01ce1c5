"""How much the in-loop matcher should trust the label model's soft labels, learned from the
expert labels: the soft-label weight with the best cross-validated log-loss on them, or the
label model's measured skill on them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

SOFT_WEIGHTS = (1.0, 0.3, 0.1, 0.03)


def _folds(ys: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A fold number per label, each class spread evenly over the folds (stratified)."""
    fold = np.empty(ys.size, dtype=np.int64)
    for cls in (0, 1):
        where = np.flatnonzero(ys == cls)
        fold[rng.permutation(where)] = np.arange(where.size) % k
    return fold


def soft_weight_losses(
    make_matcher: Callable[[], object],
    pairs: pd.DataFrame,
    labels: dict[int, int],
    soft_rows: np.ndarray,
    soft_proba: np.ndarray,
    expert_weight: float,
    grid: Sequence[float] = SOFT_WEIGHTS,
    folds: int = 3,
    max_soft: int = 1000,
    seed: int = 0,
) -> dict[float, float]:
    """Mean held-out log-loss on the expert labels of a matcher trained on the soft labels at
    each weight of `grid` plus the other folds' expert labels (weight `expert_weight`).

    `soft_rows` are pool positions with soft label `soft_proba`; at most `max_soft` of them
    (a seeded sample, weights scaled to keep their total) enter each fit, so that the choice
    costs a few seconds; `make_matcher` may be a cheaper copy of the matcher. A held-out pair
    never enters its fold's fit, soft or expert.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(13, len(labels))))
    positions = np.fromiter(labels, dtype=np.int64, count=len(labels))
    ys = np.fromiter(labels.values(), dtype=float, count=len(labels))
    fold = _folds(ys, folds, rng)
    soft_rows = np.asarray(soft_rows, dtype=np.int64)
    soft_proba = np.asarray(soft_proba, dtype=float)
    free = ~np.isin(soft_rows, positions)
    soft_rows, soft_proba = soft_rows[free], soft_proba[free]
    scale = 1.0
    if soft_rows.size > max_soft:
        take = rng.choice(soft_rows.size, max_soft, replace=False)
        scale = soft_rows.size / max_soft
        soft_rows, soft_proba = soft_rows[take], soft_proba[take]
    losses = {float(c): 0.0 for c in grid}
    for k in range(folds):
        held = fold == k
        rows = np.concatenate([soft_rows, positions[~held]])
        y = np.concatenate([soft_proba, ys[~held]])
        if np.unique(ys[~held]).size < 2 or not held.any():
            continue
        held_pairs = pairs.iloc[positions[held]]
        for c in losses:
            w = np.concatenate([np.full(soft_rows.size, c * scale),
                                np.full((~held).sum(), float(expert_weight))])
            p = np.asarray(make_matcher().fit(pairs.iloc[rows], y, sample_weight=w)
                           .match_proba(held_pairs), dtype=float)
            p = np.clip(p, 1e-4, 1 - 1e-4)
            y_held = ys[held]
            losses[c] -= float(np.sum(y_held * np.log(p) + (1 - y_held) * np.log(1 - p)))
    return {c: loss / ys.size for c, loss in losses.items()}


def label_model_trust(proba: np.ndarray, labels: np.ndarray, prior_labels: float = 20.0) -> float:
    """The soft labels' weight from the label model's Brier skill on the expert labels (1 - its
    Brier score over the base rate's; below 0 counts as 0), shrunk towards 1 by `prior_labels`
    pseudo-labels: a label model that explains the expert's answers no better than their match
    rate loses its say as the answers arrive, and keeps it while they are few."""
    proba = np.asarray(proba, dtype=float)
    ys = np.asarray(labels, dtype=float)
    if proba.shape != ys.shape:
        raise ValueError(f"label_model_trust: {proba.size} probabilities for {ys.size} labels")
    if prior_labels <= 0:
        raise ValueError(f"label_model_trust: prior_labels must be positive, got {prior_labels!r}")
    base = ys.mean() if ys.size else 0.5
    if ys.size == 0 or base in (0.0, 1.0):  # one class: no skill to measure
        return 1.0
    skill = 1.0 - np.mean((proba - ys) ** 2) / (base * (1.0 - base))
    return float((prior_labels + ys.size * max(skill, 0.0)) / (prior_labels + ys.size))

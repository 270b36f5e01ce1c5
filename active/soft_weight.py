"""How much the in-loop matcher should trust the label model's soft labels, learned from the
expert labels: the soft-label weight with the best cross-validated log-loss on them."""

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

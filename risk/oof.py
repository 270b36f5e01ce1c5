"""Out-of-fold matcher predictions on the labelled pairs, so that the risk model learns from
honest errors rather than from the matcher's fit to its own training labels."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

__all__ = ["out_of_fold_proba"]


def out_of_fold_proba(matcher, pairs: pd.DataFrame, y, n_folds: int = 5,
                      seed: int | None = 0) -> np.ndarray:
    """(n,) P(match) of each labelled pair from a copy of `matcher` fitted on the other folds.

    `matcher` is any unfitted object with fit(pairs, y) and match_proba(pairs) -> (n,).
    Folds are stratified; with fewer than 2 pairs of a class, fewer folds are used, and a fold
    whose training part holds one class only gets that class's rate as its prediction.
    """
    y = np.asarray(y).ravel()
    if len(pairs) != y.shape[0]:
        raise ValueError(f"pairs has {len(pairs)} rows but y has {y.shape[0]} labels")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold 0/1 labels")
    if n_folds < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}")
    out = np.full(y.shape[0], float(y.mean()) if y.size else 0.5)
    folds = min(n_folds, int(np.bincount(y.astype(int), minlength=2).min()))
    if folds < 2:
        return out  # one class (or a single pair of one): nothing to learn from
    split = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, held in split.split(np.zeros(y.shape[0]), y):
        if np.unique(y[train]).size < 2:
            out[held] = y[train].mean()
            continue
        model = copy.deepcopy(matcher).fit(pairs.iloc[train], y[train])
        out[held] = np.asarray(model.match_proba(pairs.iloc[held]), dtype=np.float64).ravel()
    return out

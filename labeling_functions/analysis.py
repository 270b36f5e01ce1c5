"""LF analysis: Snorkel's coverage/overlap/conflict table, plus polarity and accuracy estimates."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LFAnalysis

from labeling_functions import ABSTAIN
from labeling_functions.core import as_expert_lf


def expert_label_vector(expert_labels: Any, n: int) -> np.ndarray:
    """Expert labels as an int vector of length n with -1 where a pair has no label.

    Accepts a mapping {row position: 0 | 1 | None} or an array-like of length n (-1/NaN/None
    for unlabelled rows).
    """
    y = np.full(n, ABSTAIN, dtype=np.int64)
    if expert_labels is None:
        return y
    if isinstance(expert_labels, Mapping):
        for row, label in expert_labels.items():
            if label is None:
                continue
            if isinstance(row, (bool, np.bool_)) or not isinstance(row, (int, np.integer)):
                raise ValueError(f"expert labels: key {row!r} is not a row position (0..{n - 1})")
            if not 0 <= int(row) < n:
                raise ValueError(f"expert label for row {row} is outside the {n} rows of L")
            if isinstance(label, (bool, np.bool_)) or label not in (0, 1):
                raise ValueError(
                    f"expert label for row {row} is {label!r}; give 0 (non-match), 1 (match) "
                    "or None (unknown)"
                )
            y[int(row)] = int(label)
        return y
    raw = pd.Series(list(expert_labels), dtype=object)
    if len(raw) != n:
        raise ValueError(f"expert_labels has {len(raw)} entries; L has {n} rows")
    values = pd.to_numeric(raw, errors="coerce")
    known = values.notna().to_numpy() & (values != ABSTAIN).to_numpy()
    bad = np.flatnonzero((raw.notna().to_numpy() & values.isna().to_numpy()) | (
        known & ~values.isin([0, 1]).to_numpy()
    ))
    if len(bad):
        raise ValueError(
            f"expert label at row {bad[0]} is {raw.iloc[bad[0]]!r}; give 0 (non-match), "
            "1 (match) or -1 / None / NaN (unknown)"
        )
    y[known] = values.to_numpy()[known].astype(np.int64)
    return y


def lf_summary(
    lfs: Sequence[Any],
    L: np.ndarray,
    expert_labels: Any = None,
    label_model: Any = None,
) -> pd.DataFrame:
    """One row per LF: Snorkel's LFAnalysis columns (j, Polarity, Coverage, Overlaps,
    Conflicts), the declared polarity, accuracy on the expert labels given so far
    (expert_votes, expert_accuracy; NaN without votes) and, for a fitted Snorkel label model,
    its estimated accuracy (lm_accuracy)."""
    lfs = [as_expert_lf(lf) for lf in lfs]
    L = np.asarray(L)
    if L.ndim != 2 or L.shape[1] != len(lfs):
        raise ValueError(f"L has shape {L.shape}; expected (n pairs, {len(lfs)} LFs)")
    with warnings.catch_warnings():  # Snorkel 0.10 calls scipy.sparse.diags the old way
        warnings.filterwarnings("ignore", category=FutureWarning, module="scipy.sparse")
        table = LFAnalysis(L, lfs).lf_summary()
    table["declared_polarity"] = pd.Series(
        [lf.polarity for lf in lfs], index=table.index, dtype=object
    )
    y = expert_label_vector(expert_labels, len(L))
    labelled = y != ABSTAIN
    votes = (L != ABSTAIN) & labelled[:, None]
    correct = (votes & (L == y[:, None])).sum(axis=0)
    n_votes = votes.sum(axis=0)
    table["expert_votes"] = n_votes
    with np.errstate(invalid="ignore", divide="ignore"):
        table["expert_accuracy"] = np.where(n_votes > 0, correct / n_votes, np.nan)
    if label_model is not None:
        if not hasattr(label_model, "get_weights"):
            raise TypeError("label_model must be a fitted Snorkel LabelModel (has get_weights)")
        weights = np.asarray(label_model.get_weights(), dtype=np.float64).ravel()
        if len(weights) != len(lfs):
            raise ValueError(
                f"the label model was fit on {len(weights)} LFs; the summary has {len(lfs)}"
            )
        table["lm_accuracy"] = weights
    return table

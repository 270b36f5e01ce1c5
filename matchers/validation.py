"""Input checks shared by the matchers: pair tables, targets and sample weights."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from blocking.pairs import attribute_names


def check_pairs(
    pairs: pd.DataFrame, where: str, expected: Sequence[str] | None = None
) -> list[str]:
    """Return the attributes of a non-empty pair table; with `expected`, require those."""
    found = attribute_names(pairs, where=where)
    if len(pairs) == 0:
        raise ValueError(f"{where}: the pair table is empty; pass at least one record pair")
    if expected is None:
        if not found:
            raise ValueError(
                f"{where}: no attributes besides 'id'; add left_<attr>/right_<attr> columns"
            )
        return found
    missing = [a for a in expected if a not in found]
    if missing:
        raise ValueError(
            f"{where}: the matcher was fitted on attributes {list(expected)} but this table lacks "
            f"{missing} (it has {found}); rename its columns to left_<attr>/right_<attr> "
            "with the fitted attribute names"
        )
    return list(expected)


def check_targets(y: Sequence[float] | np.ndarray | pd.Series, n: int, where: str) -> np.ndarray:
    """Return `y` as a float array of length `n`, every value in [0, 1] (hard or soft)."""
    try:
        arr = np.asarray(y, dtype=float).reshape(-1)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{where}: labels must be numbers in [0, 1] ({err})") from None
    if arr.shape[0] != n:
        raise ValueError(f"{where}: got {arr.shape[0]} labels for {n} pairs; pass one per pair")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: labels contain NaN or inf; drop unlabelled pairs first")
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(
            f"{where}: labels must lie in [0, 1] (0/1 or P(match)); got range "
            f"[{arr.min():g}, {arr.max():g}]"
        )
    return arr


def check_sample_weight(sample_weight: Sequence[float] | np.ndarray | None, n: int) -> np.ndarray:
    """Return non-negative, finite per-pair weights (ones when None) that do not all vanish."""
    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight, dtype=float).reshape(-1)
    if w.shape[0] != n:
        raise ValueError(
            f"sample_weight: got {w.shape[0]} weights for {n} pairs; pass one per pair"
        )
    if not np.all(np.isfinite(w)) or w.min() < 0:
        raise ValueError("sample_weight: weights must be finite and non-negative")
    if w.sum() == 0:
        raise ValueError("sample_weight: all weights are zero; nothing to learn from")
    return w


def is_hard(y: np.ndarray) -> bool:
    """Whether every label is exactly 0 or 1 (gold labels rather than probabilities)."""
    return bool(np.all((y == 0) | (y == 1)))

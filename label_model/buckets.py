"""Buckets: the unique LF-vote configurations (rows of L) that split the pool for maxKL sampling."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

# 3**39 < 2**63: up to 39 LFs a vote row packs into one int64, which makes grouping a 1-D unique
_MAX_PACKED_LFS = 39


def check_label_matrix(L: np.ndarray, name: str = "L", min_lfs: int = 1) -> np.ndarray:
    """Return L as an int8 (n, m) array after checking every vote is -1 (abstain), 0 or 1."""
    if not isinstance(L, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of LF votes, got {type(L).__name__}")
    if L.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n pairs x m LFs), got shape {L.shape}")
    if L.shape[1] < min_lfs:
        raise ValueError(
            f"{name} has {L.shape[1]} LF column(s); the label model needs at least {min_lfs} "
            "LFs to be identifiable: write more labeling functions"
        )
    if L.size and not (np.issubdtype(L.dtype, np.integer) or np.issubdtype(L.dtype, np.floating)):
        raise TypeError(f"{name} must hold numeric votes in {{-1, 0, 1}}, got dtype {L.dtype}")
    if L.size:
        lo, hi = L.min(), L.max()
        bad = lo < -1 or hi > 1
        if not bad and np.issubdtype(L.dtype, np.floating):
            bad = bool(np.any(L != np.round(L)))
        if bad:
            rows, cols = np.nonzero((L < -1) | (L > 1) | (L != np.round(L)))
            raise ValueError(
                f"{name} must hold only -1 (abstain), 0 (non-match) and 1 (match); found "
                f"{L[rows[0], cols[0]].item()!r} at row {rows[0]}, LF column {cols[0]}"
            )
    return L.astype(np.int8, copy=False)


def check_expert_labels(expert_labels: Mapping[int, int] | None, n: int) -> dict[int, int]:
    """Return expert labels as a plain {row: 0/1} dict after checking rows and labels."""
    if expert_labels is None:
        return {}
    if not isinstance(expert_labels, Mapping):
        raise TypeError(
            f"expert_labels must map row index -> 0/1 label, got {type(expert_labels).__name__}"
        )
    out: dict[int, int] = {}
    for row, label in expert_labels.items():
        if not isinstance(row, int | np.integer) or isinstance(row, bool):
            raise TypeError(f"expert_labels key {row!r} is not an integer row index")
        if not 0 <= row < n:
            raise ValueError(f"expert_labels row {row} is out of range for L with {n} rows")
        if isinstance(label, bool) or label not in (0, 1):
            raise ValueError(
                f"expert label for row {row} is {label!r}; expert labels must be 0 (non-match) "
                "or 1 (match)"
            )
        out[int(row)] = int(label)
    return out


def bucket_ids(L: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group the rows of L by vote configuration: (bucket id per row, unique rows, counts)."""
    L = check_label_matrix(L)
    n, m = L.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, m), dtype=np.int8), np.zeros(0, np.int64)
    if m <= _MAX_PACKED_LFS:
        codes = (L.astype(np.int64) + 1) @ (3 ** np.arange(m, dtype=np.int64))
        _, first, ids, counts = np.unique(
            codes, return_index=True, return_inverse=True, return_counts=True
        )
        return ids.ravel(), L[first], counts
    unique, ids, counts = np.unique(L, axis=0, return_inverse=True, return_counts=True)
    return ids.ravel(), unique, counts


def bucket_keys(unique_rows: np.ndarray) -> list[str]:
    """Readable key of each vote configuration, e.g. '1,-1,0'."""
    return [",".join(map(str, row)) for row in unique_rows.tolist()]

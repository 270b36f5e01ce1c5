"""Blocking quality: pair completeness (recall of known matches) and reduction ratio."""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocking._arrays import sorted_unique
from blocking.base import CANDIDATE_COLUMNS


class BlockingQuality(dict):
    """A dict of blocking-quality figures that prints as a short readable summary."""

    def __str__(self) -> str:
        return "\n".join(
            [
                f"candidate pairs     {self['n_candidates']:,} "
                f"({self['candidates_per_left']:.2f} per left record)",
                f"pair completeness   {self['pair_completeness']:.4f} "
                f"({self['n_matches_found']:,} of {self['n_matches']:,} known matches kept)",
                f"reduction ratio     {self['reduction_ratio']:.6f} "
                f"(of {self['n_all_pairs']:,} possible pairs)",
                f"pair quality        {self['pair_quality']:.4f} (share of candidates that match)",
            ]
        )


def _ends(df: pd.DataFrame, what: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(
            f"{what} must be a DataFrame[ltable_id, rtable_id], got {type(df).__name__}"
        )
    missing = [c for c in CANDIDATE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(
            f"{what} lacks column(s) {missing} (has {list(df.columns)[:10]}); "
            "expected ltable_id and rtable_id"
        )
    return df["ltable_id"].to_numpy(), df["rtable_id"].to_numpy()


def pair_keys(first: pd.DataFrame, second: pd.DataFrame, dedup: bool, what=("pairs", "matches")):
    """Integer keys of the pairs in two tables on one shared id coding (unordered if dedup)."""
    (fl, fr), (sl, sr) = _ends(first, what[0]), _ends(second, what[1])
    n, m = len(fl), len(sl)
    if dedup:
        codes, uniq = pd.factorize(np.concatenate([fl, sl, fr, sr]))
        left, right, size = codes[: n + m], codes[n + m :], len(uniq)
        left, right = np.minimum(left, right), np.maximum(left, right)
    else:
        left, _ = pd.factorize(np.concatenate([fl, sl]))
        right, _ = pd.factorize(np.concatenate([fr, sr]))
        size = max(int(right.max(initial=0)) + 1, 1)
    keys = left.astype(np.int64) * size + right.astype(np.int64)
    return keys[:n], keys[n:]


def pairs_in(pairs: pd.DataFrame, reference: pd.DataFrame, dedup: bool) -> np.ndarray:
    """Boolean per row of `pairs`: is it in `reference` (in either order when `dedup`)?"""
    a, b = pair_keys(pairs, reference, dedup, ("pairs", "matches"))
    return np.isin(a, b)


def blocking_quality(
    candidates: pd.DataFrame, matches: pd.DataFrame, n_left: int, n_right: int | None = None
) -> BlockingQuality:
    """Pair completeness, reduction ratio and pair quality of `candidates` against `matches`.

    `n_right=None` means de-duplication of one table of `n_left` records (pairs in either order
    count once); otherwise A x B linkage of `n_left` by `n_right` records.
    """
    for name, n in (("n_left", n_left), ("n_right", n_right)):
        if n is not None and (not isinstance(n, int | np.integer) or n < 1):
            raise ValueError(f"blocking_quality: {name} must be a positive integer, got {n!r}")
    dedup = n_right is None
    cand, known = pair_keys(candidates, matches, dedup, ("candidates", "matches"))
    cand, known = sorted_unique(cand), sorted_unique(known)
    n_found = int(np.isin(known, cand).sum())
    n_all = n_left * (n_left - 1) // 2 if dedup else n_left * n_right
    return BlockingQuality(
        n_candidates=len(cand),
        candidates_per_left=len(cand) / n_left,
        n_matches=len(known),
        n_matches_found=n_found,
        pair_completeness=n_found / len(known) if len(known) else float("nan"),
        reduction_ratio=1.0 - len(cand) / n_all if n_all else float("nan"),
        pair_quality=n_found / len(cand) if len(cand) else float("nan"),
        n_all_pairs=n_all,
    )

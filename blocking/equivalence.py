"""Attribute-equivalence blocking: records whose (keyed) attribute values are equal."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from blocking._arrays import (
    as_columns,
    combined_codes,
    expand_ranges,
    joined_text,
    within_groups,
)
from blocking.base import Blocker

KeyFunction = Callable[[pd.Series], pd.Series]


def prefix(n: int) -> KeyFunction:
    """A key function keeping the first `n` characters, e.g. `key=prefix(3)`."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"prefix: n must be a positive integer, got {n!r}")
    return lambda s: s.str[:n]


def block_key(df: pd.DataFrame, columns: list[str], key: KeyFunction | None) -> pd.Series:
    """The normalised block key of each record; '' marks a missing key."""
    text = [joined_text(df, [c]) for c in columns]
    parts = text if key is None else [key(t).fillna("").astype(str) for t in text]
    missing = np.logical_or.reduce([(p == "").to_numpy() for p in parts])
    out = parts[0]
    for p in parts[1:]:
        out = out + "\x1f" + p
    # a record with any part missing gets no key, so it never joins a block by accident
    return out.where(~missing, "")


def key_codes(keys_a: pd.Series, keys_b: pd.Series | None) -> tuple[np.ndarray, np.ndarray | None]:
    """Integer codes shared by both tables; -1 for a missing key."""
    both = keys_a if keys_b is None else pd.concat([keys_a, keys_b], ignore_index=True)
    codes, _ = pd.factorize(both.where(both != ""))
    if keys_b is None:
        return codes, None
    return codes[: len(keys_a)], codes[len(keys_a) :]


class AttributeEquivalenceBlocker(Blocker):
    """Pair records whose values agree on every column in `on` (after an optional `key`).

    `key` maps a Series of normalised strings to block keys, e.g. `prefix(3)` or
    `lambda s: s.str.replace(" ", "")`. Records with a missing key get no candidates.
    Blocks larger than `max_block_size` records are skipped (they would add mostly non-matches).
    """

    def __init__(
        self,
        on: str | Sequence[str],
        key: KeyFunction | None = None,
        max_block_size: int | None = None,
        id_column: str = "id",
    ):
        self.on = on
        self.key = key
        self.max_block_size = max_block_size
        self.id_column = id_column
        as_columns(on)  # fail early on a bad `on`

    def _positions(self, A, B):
        # group sizes need codes 0..k-1; grouping alone does not
        codes = combined_codes(A, B, list(self.columns), self.key,
                               dense=self.max_block_size is not None)
        ca, cb = (codes, None) if B is None else (codes[: len(A)], codes[len(A) :])
        if self.max_block_size is not None:
            present = [c[c >= 0] for c in (ca, cb) if c is not None]
            sizes = np.bincount(np.concatenate(present), minlength=1)
            ca = np.where((ca >= 0) & (sizes[np.maximum(ca, 0)] <= self.max_block_size), ca, -1)
        if cb is None:
            return within_groups(ca)
        order = np.argsort(cb, kind="stable")
        sorted_codes = cb[order]
        left = np.flatnonzero(ca >= 0)
        lo = np.searchsorted(sorted_codes, ca[left], side="left")
        hi = np.searchsorted(sorted_codes, ca[left], side="right")
        return expand_ranges(left, lo, hi, order)

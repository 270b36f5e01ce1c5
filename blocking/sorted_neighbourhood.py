"""Sorted-neighbourhood blocking: sort all records by a key and pair those within a window."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from blocking._arrays import as_columns, combined_codes
from blocking.base import Blocker
from blocking.equivalence import KeyFunction


class SortedNeighbourhoodBlocker(Blocker):
    """Sort records (both tables together) by the key of `on`; pair records fewer than `window`
    places apart. Catches near-equal keys that equivalence blocking misses. Records with a
    missing key get no candidates.
    """

    def __init__(
        self,
        on: str | Sequence[str],
        window: int = 5,
        key: KeyFunction | None = None,
        id_column: str = "id",
    ):
        if not isinstance(window, int | np.integer) or window < 2:
            raise ValueError(
                f"SortedNeighbourhoodBlocker: window must be an integer >= 2, got {window!r}"
            )
        self.on = on
        self.window = window
        self.key = key
        self.id_column = id_column
        as_columns(on)  # fail early on a bad `on`

    def _positions(self, A, B):
        codes = combined_codes(A, B, list(self.columns), self.key)
        source = np.zeros(len(A), dtype=np.int8)
        position = np.arange(len(A), dtype=np.int64)
        if B is not None:
            source = np.concatenate([source, np.ones(len(B), dtype=np.int8)])
            position = np.concatenate([position, np.arange(len(B), dtype=np.int64)])
        present = np.flatnonzero(codes >= 0)
        order = present[np.argsort(codes[present], kind="stable")]
        src, pos = source[order], position[order]
        lefts, rights = [], []
        n = len(order)
        for d in range(1, min(self.window, n)):  # a loop over window offsets, not over pairs
            a, b = slice(0, n - d), slice(d, n)
            if B is None:
                lefts.append(pos[a])
                rights.append(pos[b])
            else:
                cross = src[a] != src[b]
                first_is_left = src[a][cross] == 0
                pa, pb = pos[a][cross], pos[b][cross]
                lefts.append(np.where(first_is_left, pa, pb))
                rights.append(np.where(first_is_left, pb, pa))
        if not lefts:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        return np.concatenate(lefts), np.concatenate(rights)

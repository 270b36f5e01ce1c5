"""A union of blockers: every pair proposed by any of them, each pair once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from blocking._arrays import shared_codes
from blocking.base import Blocker


class UnionBlocker(Blocker):
    """Candidates of all `blockers` together, de-duplicated (a pair found twice is kept once)."""

    def __init__(self, blockers: Sequence[Blocker], id_column: str | None = None):
        blockers = list(blockers)
        if not blockers or not all(isinstance(b, Blocker) for b in blockers):
            raise TypeError(
                "UnionBlocker: expected a non-empty list of blockers, got "
                f"{[type(b).__name__ for b in blockers]}"
            )
        ids = {b.id_column for b in blockers}
        if id_column is None and len(ids) > 1:
            raise ValueError(
                f"UnionBlocker: the blockers use different id columns {sorted(ids)}; "
                "pass id_column= or give them the same one"
            )
        self.blockers = blockers
        self.id_column = id_column or ids.pop()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for b in self.blockers for c in b.columns))

    def _positions(self, A, B):
        with shared_codes():  # members keyed on the same column share its codes
            parts = [b._positions(A, B) for b in self.blockers]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

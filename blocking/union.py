"""A union of blockers: every pair proposed by any of them, each pair once."""

from __future__ import annotations

import contextvars
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from blocking._arrays import shared_codes
from blocking.base import Blocker


class UnionBlocker(Blocker):
    """Candidates of all `blockers` together, de-duplicated (a pair found twice is kept once).

    `n_jobs` threads run the members at once (numpy's sorts, which most of a member's time
    is, release the GIL); the candidates are the same for any `n_jobs`."""

    def __init__(self, blockers: Sequence[Blocker], id_column: str | None = None,
                 n_jobs: int = 1):
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
        if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
            raise ValueError(f"UnionBlocker: n_jobs must be an int >= 1, got {n_jobs!r}")
        self.blockers = blockers
        self.id_column = id_column or ids.pop()
        self.n_jobs = n_jobs

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c for b in self.blockers for c in b.columns))

    def _positions(self, A, B):
        with shared_codes():  # members keyed on the same column share its codes
            if self.n_jobs == 1 or len(self.blockers) == 1:
                parts = [b._positions(A, B) for b in self.blockers]
            else:
                context = contextvars.copy_context()  # the threads see the shared codes

                def one(blocker: Blocker):
                    return context.copy().run(blocker._positions, A, B)

                with ThreadPoolExecutor(max_workers=self.n_jobs) as pool:
                    parts = list(pool.map(one, self.blockers))  # in the members' order
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

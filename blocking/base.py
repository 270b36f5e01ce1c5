"""The Blocker interface: candidate pairs for two tables (A x B) or for de-duplicating one table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from blocking._arrays import as_columns, check_table, unique_pairs

CANDIDATE_COLUMNS = ["ltable_id", "rtable_id"]


class Blocker:
    """Base class: subclasses implement `_positions(A, B)` returning row-position pairs.

    `block(A)` de-duplicates one table: every candidate has ltable before rtable in A's row
    order, with no self pairs and no pair twice. `block(A, B)` links two tables.
    """

    id_column: str = "id"
    on: str | Sequence[str] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this blocker reads (checked to exist in the tables)."""
        return tuple(as_columns(self.on)) if self.on else ()

    def block(self, A: pd.DataFrame, B: pd.DataFrame | None = None) -> pd.DataFrame:
        """Return the candidate pairs as a DataFrame[ltable_id, rtable_id] of record ids."""
        li, ri = self.block_positions(A, B)
        right = A if B is None else B
        return pd.DataFrame(
            {
                "ltable_id": A[self.id_column].to_numpy()[li],
                "rtable_id": right[self.id_column].to_numpy()[ri],
            }
        )

    def block_positions(self, A: pd.DataFrame, B: pd.DataFrame | None = None):
        """Return sorted unique candidate pairs as two arrays of row positions (left, right)."""
        check_table(A, self.id_column, f"{type(self).__name__}: table A", self.columns)
        if B is not None:
            check_table(B, self.id_column, f"{type(self).__name__}: table B", self.columns)
        li, ri = self._positions(A, B)
        n_right = len(A) if B is None else len(B)
        return unique_pairs(li, ri, n_right, dedup=B is None)

    def _positions(self, A: pd.DataFrame, B: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"

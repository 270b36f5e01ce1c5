"""Score every candidate pair with a fitted matcher, in chunks locally or on a Dask cluster.

A fitted matcher (SimilarityMatcher, RNNMatcher, or anything with `match_proba(pairs)`) is
broadcast once to the workers; each task scores one partition, and the scores come back in
row order. Two entry points:

- `match_proba_distributed(matcher, pairs, client)`: an already flattened pair table (pandas,
  or a dask DataFrame whose partitions stay on the cluster);
- `score_candidates(matcher, candidates, A, B, client=...)`: candidate id pairs from a blocker;
  the record tables are broadcast and every task flattens and scores its own chunk, so the
  (large) flattened pair table never exists as a whole. Without a client it runs the same
  chunks one after another on this machine, in memory bounded by `chunk_rows`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from blocking.distributed import map_candidates, resolve_client


def _check_matcher(matcher: Any, where: str) -> None:
    if not callable(getattr(matcher, "match_proba", None)):
        raise TypeError(
            f"{where}: expected a fitted matcher with match_proba(pairs), "
            f"got {type(matcher).__name__}"
        )


def _check_rows(rows: int, name: str, where: str) -> None:
    if not isinstance(rows, int | np.integer) or rows < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {rows!r}")


def _score(matcher: Any, part: pd.DataFrame) -> np.ndarray:
    return np.asarray(matcher.match_proba(part), dtype=float)


def match_proba_distributed(
    matcher: Any, pairs: Any, client: Any = None, partition_rows: int = 50_000
) -> np.ndarray:
    """P(match) of every row of `pairs` (pandas or dask DataFrame), computed per partition on
    the cluster of `client` (default: the current client); equals `matcher.predict_proba`."""
    where = "match_proba_distributed"
    _check_matcher(matcher, where)
    _check_rows(partition_rows, "partition_rows", where)
    client = resolve_client(client, where)
    model = client.scatter(matcher, broadcast=True, hash=False)
    if isinstance(pairs, pd.DataFrame):
        parts = [
            client.scatter(pairs.iloc[s : s + partition_rows], hash=False)
            for s in range(0, len(pairs), partition_rows)
        ]
    elif hasattr(pairs, "to_delayed") and hasattr(pairs, "npartitions"):
        parts = client.compute(pairs.to_delayed())  # partitions stay on the workers
    else:
        raise TypeError(
            f"{where}: pairs must be a pandas or dask DataFrame, got {type(pairs).__name__}"
        )
    if not parts:
        return np.empty(0, dtype=float)
    futures = [client.submit(_score, model, part, pure=False) for part in parts]
    return np.concatenate(client.gather(futures))


def score_candidates(
    matcher: Any,
    candidates: pd.DataFrame,
    A: pd.DataFrame,
    B: pd.DataFrame | None = None,
    client: Any = None,
    chunk_rows: int = 200_000,
    id_column: str = "id",
) -> np.ndarray:
    """P(match) of every candidate pair (ltable_id, rtable_id of A, or of A x B), flattened and
    scored `chunk_rows` at a time: on the cluster of `client` if given, else on this machine."""
    _check_matcher(matcher, "score_candidates")
    if isinstance(candidates, pd.DataFrame) and len(candidates) == 0:
        return np.empty(0, dtype=float)  # a blocker may find no candidates at all
    return map_candidates(
        partial(_score, matcher),
        candidates,
        A,
        B,
        client=client,
        chunk_rows=chunk_rows,
        id_column=id_column,
        where="score_candidates",
    )

"""Duplicate clusters from scored pairs: records joined by predicted matches."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from blocking.pairs import ID_COLUMNS


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def cluster_records(
    pairs: pd.DataFrame,
    scores: np.ndarray,
    threshold: float = 0.5,
    dedup: bool = True,
    max_size: int | None = None,
) -> pd.DataFrame:
    """One row per record: `record_id`, `cluster`, `cluster_size` (1 = unique).

    Records are joined by the pairs scored at least `threshold`. Connected components chain
    weak links (a-b and b-c matched makes a-b-c one cluster even when a-c scored 0), so with
    `max_size` a component larger than that is split again at ever higher score cuts, keeping
    its strongest links, until every part fits (or only ties are left). With `dedup=False`
    (two tables) record ids are prefixed 'l:' / 'r:'.
    """
    if not set(ID_COLUMNS).issubset(pairs.columns):
        raise ValueError("cluster_records: the pairs need ltable_id and rtable_id columns")
    scores = np.asarray(scores, dtype=float)
    if scores.shape != (len(pairs),):
        raise ValueError(
            f"cluster_records: {scores.size} scores for {len(pairs)} pairs"
        )
    if max_size is not None and max_size < 2:
        raise ValueError(f"cluster_records: max_size must be at least 2, got {max_size}")
    left, right = pairs["ltable_id"].astype(str), pairs["rtable_id"].astype(str)
    if not dedup:
        left, right = "l:" + left, "r:" + right
    ids, codes = np.unique(np.concatenate([left, right]), return_inverse=True)
    a, b = codes[: len(left)], codes[len(left):]
    keep = scores >= threshold
    comp = _components(ids.size, a[keep], b[keep])
    if max_size is not None:
        comp = _split_large(ids.size, a, b, scores, keep, comp, max_size)
    _, comp = np.unique(comp, return_inverse=True)
    return pd.DataFrame({"record_id": ids, "cluster": comp,
                         "cluster_size": np.bincount(comp)[comp]})


def _split_large(n, a, b, scores, keep, comp, max_size) -> np.ndarray:
    """Raise the cut inside components above `max_size` until they fit (vectorized per round)."""
    while True:
        size = np.bincount(comp)
        large = size[comp[a]] > max_size
        edges = keep & large
        if not edges.any():
            return comp
        # per large component, drop its weakest remaining edges (all ties at the minimum)
        weakest = pd.Series(scores[edges]).groupby(comp[a][edges]).transform("min").to_numpy()
        drop = np.flatnonzero(edges)[scores[edges] <= weakest]
        if drop.size == edges.sum():  # only ties left everywhere: nothing sensible to cut
            return comp
        keep = keep.copy()
        keep[drop] = False
        comp = _components(n, a[keep], b[keep])

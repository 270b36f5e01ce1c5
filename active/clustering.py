"""Duplicate clusters from scored pairs: records joined by predicted matches, without chaining
weak links into clusters larger than the data supports."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components

from blocking.pairs import ID_COLUMNS


def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    graph = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def suggested_max_size(a: np.ndarray, b: np.ndarray, keep: np.ndarray, n: int,
                       quantile: float = 0.95) -> int:
    """The largest cluster the matches support: one record plus the `quantile` share of the
    matched records' partner counts. A record of a true cluster of s records matches at most
    s - 1 others, whereas a chain of weak links grows a component without raising any
    record's partner count."""
    degree = np.bincount(np.concatenate([a[keep], b[keep]]), minlength=n)
    matched = degree[degree > 0]
    if matched.size == 0:
        return 2
    return max(2, 1 + int(np.ceil(np.quantile(matched, quantile))))


def cluster_records(
    pairs: pd.DataFrame,
    scores: np.ndarray,
    threshold: float = 0.5,
    dedup: bool = True,
    max_size: int | str | None = None,
    one_to_one: bool = False,
    size_quantile: float = 0.95,
) -> pd.DataFrame:
    """One row per record: `record_id`, `cluster`, `cluster_size` (1 = unique).

    Records are joined by the pairs scored at least `threshold`. Connected components chain
    weak links (a-b and b-c matched makes a-b-c one cluster even when a-c scored 0), so with
    `max_size` a component larger than that is split again at ever higher score cuts, keeping
    its strongest links, until every part fits (parts whose links all tie are split into stars);
    `max_size="auto"` takes the size the matches support (`suggested_max_size` at
    `size_quantile`). `one_to_one=True` (two tables only)
    keeps, inside each component, the matching of left to right records with the largest total
    score (each record in at most one match). With `dedup=False` (two tables) record ids are
    prefixed 'l:' / 'r:'. `frame.attrs["split"]` says what was cut: the size limit, how many
    components exceeded it and the largest of them.
    """
    if not set(ID_COLUMNS).issubset(pairs.columns):
        raise ValueError("cluster_records: the pairs need ltable_id and rtable_id columns")
    scores = np.asarray(scores, dtype=float)
    if scores.shape != (len(pairs),):
        raise ValueError(
            f"cluster_records: {scores.size} scores for {len(pairs)} pairs"
        )
    if isinstance(max_size, str) and max_size != "auto":
        raise ValueError(f"cluster_records: max_size must be an integer or 'auto', got "
                         f"{max_size!r}")
    if isinstance(max_size, int | np.integer) and max_size < 2:
        raise ValueError(f"cluster_records: max_size must be at least 2, got {max_size}")
    if one_to_one and dedup:
        raise ValueError("cluster_records: one_to_one needs two tables (dedup=False); within "
                         "one table a record may have several duplicates")
    left, right = pairs["ltable_id"].astype(str), pairs["rtable_id"].astype(str)
    if not dedup:
        left, right = "l:" + left, "r:" + right
    ids, codes = np.unique(np.concatenate([left, right]), return_inverse=True)
    a, b = codes[: len(left)], codes[len(left):]
    keep = scores >= threshold
    if one_to_one:
        keep = _one_to_one(ids.size, a, b, scores, keep)
    comp = _components(ids.size, a[keep], b[keep])
    if not 0.0 < size_quantile <= 1.0:
        raise ValueError(f"cluster_records: size_quantile must lie in (0, 1], got "
                         f"{size_quantile!r}")
    limit = (suggested_max_size(a, b, keep, ids.size, size_quantile) if max_size == "auto"
             else max_size)
    sizes = np.bincount(comp)
    report = {"max_size": limit, "n_split": 0, "largest_component": int(sizes.max(initial=0))}
    if limit is not None:
        report["n_split"] = int((sizes > limit).sum())
        comp = _split_large(ids.size, a, b, scores, keep, comp, int(limit))
    _, comp = np.unique(comp, return_inverse=True)
    frame = pd.DataFrame({"record_id": ids, "cluster": comp,
                          "cluster_size": np.bincount(comp)[comp]})
    frame.attrs["split"] = report
    return frame


def _one_to_one(n, a, b, scores, keep) -> np.ndarray:
    """The kept edges of a maximum-score one-to-one matching inside each component."""
    comp = _components(n, a[keep], b[keep])
    edges = np.flatnonzero(keep)
    per_component = np.bincount(comp[a[edges]], minlength=n)
    shared = edges[per_component[comp[a[edges]]] > 1]  # a lone edge is its own matching
    if shared.size == 0:
        return keep
    shared = shared[np.argsort(comp[a[shared]], kind="stable")]
    out = keep.copy()
    out[shared] = False
    starts = np.flatnonzero(np.diff(comp[a[shared]])) + 1
    for group in np.split(shared, starts):  # one assignment per component, not per pair
        rows, ia = np.unique(a[group], return_inverse=True)
        cols, ib = np.unique(b[group], return_inverse=True)
        weight = np.zeros((rows.size, cols.size))
        np.maximum.at(weight, (ia, ib), scores[group])
        r, c = linear_sum_assignment(weight, maximize=True)
        chosen = np.zeros_like(weight, dtype=bool)
        chosen[r, c] = True
        best = weight[ia, ib] == scores[group]  # of duplicate pairs, the best-scored copy
        out[group[chosen[ia, ib] & best]] = True
    return out


def _split_large(n, a, b, scores, keep, comp, max_size) -> np.ndarray:
    """Raise the cut inside components above `max_size` until they fit (vectorized per round);
    components whose remaining links all tie are split around pivots (`_pivot_split`)."""
    while True:
        size = np.bincount(comp)
        edges = keep & (size[comp[a]] > max_size)
        if not edges.any():
            return comp
        by_component = pd.Series(scores[edges]).groupby(comp[a][edges])
        weakest = by_component.transform("min").to_numpy()
        strongest = by_component.transform("max").to_numpy()
        # per large component, drop its weakest remaining links unless all of them tie
        cut = (scores[edges] <= weakest) & (weakest < strongest)
        if not cut.any():
            return _pivot_split(n, a, b, scores, edges, comp, max_size)
        keep = keep.copy()
        keep[np.flatnonzero(edges)[cut]] = False
        comp = _components(n, a[keep], b[keep])


def _pivot_split(n, a, b, scores, edges, comp, max_size) -> np.ndarray:
    """Split the components of `edges` into stars: the record with the largest total match
    score takes its best-scored unclustered partners (at most `max_size` - 1), and so on. A
    star links every member to its centre, so no weak chain joins two members."""
    ea, eb, es = a[edges], b[edges], scores[edges]
    graph = csr_matrix((np.r_[es, es], (np.r_[ea, eb], np.r_[eb, ea])), shape=(n, n))
    strength = np.asarray(graph.sum(axis=1)).ravel()
    comp = comp.copy()
    label = int(comp.max()) + 1
    members = np.unique(np.r_[ea, eb])
    free = np.zeros(n, dtype=bool)
    free[members] = True
    for centre in members[np.argsort(-strength[members], kind="stable")]:  # per record
        if not free[centre]:
            continue
        start, stop = graph.indptr[centre], graph.indptr[centre + 1]
        partners = graph.indices[start:stop][np.argsort(-graph.data[start:stop], kind="stable")]
        partners = partners[free[partners]][: max_size - 1]
        star = np.r_[centre, partners]
        comp[star] = label
        free[star] = False
        label += 1
    return comp

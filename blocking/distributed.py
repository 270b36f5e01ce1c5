"""Candidate generation on a dask.distributed cluster, with the same pairs as on one machine.

`DistributedBlocker(blocker, client)` is itself a Blocker. The expensive per-record work (block
keys, text vectors, TF-IDF / token similarity top-k, pair expansion) runs as tasks on the
cluster, one per slice of records; what comes back (per-record keys or vectors, candidate
positions) is merged on the client exactly as the single-machine blocker merges it:

- AttributeEquivalenceBlocker: keys per record slice; pairs per shard of block codes
  (code % n_shards), so each block is expanded by exactly one task.
- SortedNeighbourhoodBlocker: keys per record slice; one global sort on the client; the window
  pairs per range of sorted positions.
- TfidfKNNBlocker / TokenOverlapBlocker: texts per record slice; the vectorizer is fitted on
  the client on all text (global vocabulary and IDF, as on one machine), then broadcast; each
  task vectorizes a slice, and, with the right-hand matrix broadcast, takes the top-k of its
  own slice of left rows.
- UnionBlocker: each member as above. Any other Blocker runs whole as one task on a worker.

`map_candidates(fn, candidates, A, B, client)` flattens candidate id pairs chunk by chunk next
to the (broadcast) record tables and applies `fn` (LFs, a matcher) to each chunk on the cluster.

To use a real cluster: `DistributedBlocker(blocker, client=Client("tcp://scheduler:8786"))`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from blocking._arrays import expand_ranges, joined_text, within_groups
from blocking.base import Blocker
from blocking.equivalence import AttributeEquivalenceBlocker, block_key, key_codes
from blocking.pairs import join_pairs
from blocking.similarity import MAX_CHUNK_CELLS, _SparseSimilarityBlocker, top_k_per_row
from blocking.sorted_neighbourhood import SortedNeighbourhoodBlocker
from blocking.union import UnionBlocker

Positions = tuple[np.ndarray, np.ndarray]


def resolve_client(client=None, where: str = "DistributedBlocker"):
    """The given dask.distributed Client, else the current default one (clear error if none)."""
    try:
        from distributed import Client, get_client
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ImportError(
            f"{where}: needs dask.distributed; pip install 'riskweasul[dask]'"
        ) from None
    if client is None:
        try:
            return get_client()
        except ValueError:
            raise ValueError(
                f"{where}: no dask.distributed client; pass client=Client('tcp://scheduler:8786') "
                "or start one first (e.g. Client(LocalCluster()))"
            ) from None
    if not isinstance(client, Client):
        raise TypeError(
            f"{where}: client must be a dask.distributed Client, got {type(client).__name__}"
        )
    return client


def _slices(n: int, n_parts: int) -> list[slice]:
    bounds = np.linspace(0, n, max(1, min(n_parts, n)) + 1).astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _empty() -> Positions:
    return np.empty(0, np.int64), np.empty(0, np.int64)


def _concat(parts: list[Positions]) -> Positions:
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return _empty()
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# ---- tasks (module-level functions, so that workers can unpickle them) ----------------------
def _key_task(part: pd.DataFrame, columns: list[str], key: Callable | None) -> pd.Series:
    return block_key(part, columns, key).reset_index(drop=True)


def _text_task(part: pd.DataFrame, columns: list[str]) -> pd.Series:
    return joined_text(part, columns).reset_index(drop=True)


def _groups_task(codes: np.ndarray, shard: int, n_shards: int) -> Positions:
    return within_groups(np.where((codes >= 0) & (codes % n_shards == shard), codes, -1))


def _link_task(ca: np.ndarray, cb: np.ndarray, rows: slice) -> Positions:
    order = np.argsort(cb, kind="stable")
    sorted_codes = cb[order]
    left = rows.start + np.flatnonzero(ca[rows] >= 0)
    lo = np.searchsorted(sorted_codes, ca[left], side="left")
    hi = np.searchsorted(sorted_codes, ca[left], side="right")
    return expand_ranges(left, lo, hi, order)


def _window_task(pos: np.ndarray, src: np.ndarray | None, window: int, rows: slice) -> Positions:
    n = len(pos)
    lefts, rights = [], []
    for d in range(1, window):
        i = np.arange(rows.start, min(rows.stop, n - d))
        if src is None:
            lefts.append(pos[i])
            rights.append(pos[i + d])
        else:
            cross = src[i] != src[i + d]
            first_is_left = src[i][cross] == 0
            pa, pb = pos[i][cross], pos[i + d][cross]
            lefts.append(np.where(first_is_left, pa, pb))
            rights.append(np.where(first_is_left, pb, pa))
    return _concat(list(zip(lefts, rights, strict=True)))


def _topk_task(Xa, right_t, rows: slice, k, min_value: float, dedup: bool, chunk: int):
    out = []
    for start in range(rows.start, rows.stop, chunk):
        stop = min(start + chunk, rows.stop)
        S = (Xa[start:stop] @ right_t).tocsr()
        r, c = top_k_per_row(S, k, min_value, diagonal=start if dedup else None)
        out.append((r + start, c))
    return _concat(out)


def _transform_task(vectorizer, texts: pd.Series) -> sp.csr_matrix:
    return vectorizer.transform(texts).tocsr()


def _whole_task(blocker: Blocker, A: pd.DataFrame, B: pd.DataFrame | None) -> Positions:
    return blocker._positions(A, B)


class DistributedBlocker(Blocker):
    """Run `blocker` on a dask.distributed cluster; the candidates equal `blocker.block(A, B)`.

    `client` is a `distributed.Client` (default: the current one). `n_tasks` is the number of
    record slices / shards per step (default: 2 per worker thread, at least 2).
    """

    def __init__(self, blocker: Blocker, client=None, n_tasks: int | None = None):
        if not isinstance(blocker, Blocker):
            raise TypeError(
                "DistributedBlocker: expected a Blocker to distribute, got "
                f"{type(blocker).__name__}"
            )
        if n_tasks is not None and (not isinstance(n_tasks, int | np.integer) or n_tasks < 1):
            raise ValueError(
                f"DistributedBlocker: n_tasks must be a positive integer, got {n_tasks!r}"
            )
        self.blocker = blocker
        self.client = client
        self.n_tasks = n_tasks
        self.id_column = blocker.id_column

    @property
    def columns(self) -> tuple[str, ...]:
        return self.blocker.columns

    def _positions(self, A, B):
        client = resolve_client(self.client)
        n_tasks = self.n_tasks or max(2, 2 * sum(client.nthreads().values()))
        return _Run(client, n_tasks).positions(self.blocker, A, B)


class _Run:
    """One distributed blocking run: the client, the task count and the per-type plans."""

    def __init__(self, client, n_tasks: int):
        self.client = client
        self.n_tasks = n_tasks

    def gather(self, futures: list) -> list:
        return self.client.gather(futures)

    def per_slice(self, fn: Callable, table: pd.DataFrame, *args) -> pd.Series:
        """fn(slice of table, *args) for every row slice, concatenated in row order."""
        futures = [
            self.client.submit(fn, table.iloc[s], *args, pure=False)
            for s in _slices(len(table), self.n_tasks)
        ]
        return pd.concat(self.gather(futures), ignore_index=True)

    def positions(self, blocker: Blocker, A: pd.DataFrame, B: pd.DataFrame | None) -> Positions:
        if isinstance(blocker, DistributedBlocker):
            return self.positions(blocker.blocker, A, B)
        if isinstance(blocker, UnionBlocker):
            return _concat([self.positions(b, A, B) for b in blocker.blockers])
        if isinstance(blocker, AttributeEquivalenceBlocker):
            return self.equivalence(blocker, A, B)
        if isinstance(blocker, SortedNeighbourhoodBlocker):
            return self.sorted_neighbourhood(blocker, A, B)
        if isinstance(blocker, _SparseSimilarityBlocker):
            return self.similarity(blocker, A, B)
        return self.client.submit(_whole_task, blocker, A, B, pure=False).result()

    def keys(self, blocker: Blocker, table: pd.DataFrame) -> pd.Series:
        cols = list(blocker.columns)
        return self.per_slice(_key_task, table[cols], cols, blocker.key)

    def equivalence(self, blocker: AttributeEquivalenceBlocker, A, B) -> Positions:
        keys_b = None if B is None else self.keys(blocker, B)
        ca, cb = key_codes(self.keys(blocker, A), keys_b)
        if blocker.max_block_size is not None:
            present = [c[c >= 0] for c in (ca, cb) if c is not None]
            sizes = np.bincount(np.concatenate(present), minlength=1)
            ca = np.where((ca >= 0) & (sizes[np.maximum(ca, 0)] <= blocker.max_block_size), ca, -1)
        if cb is None:
            codes = self.client.scatter(ca, broadcast=True, hash=False)
            futures = [
                self.client.submit(_groups_task, codes, s, self.n_tasks, pure=False)
                for s in range(self.n_tasks)
            ]
        else:
            codes_a, codes_b = self.client.scatter([ca, cb], broadcast=True, hash=False)
            futures = [
                self.client.submit(_link_task, codes_a, codes_b, s, pure=False)
                for s in _slices(len(ca), self.n_tasks)
            ]
        return _concat(self.gather(futures))

    def sorted_neighbourhood(self, blocker: SortedNeighbourhoodBlocker, A, B) -> Positions:
        keys = self.keys(blocker, A)
        source = None
        position = np.arange(len(A), dtype=np.int64)
        if B is not None:
            keys = pd.concat([keys, self.keys(blocker, B)], ignore_index=True)
            source = np.concatenate([np.zeros(len(A), np.int8), np.ones(len(B), np.int8)])
            position = np.concatenate([position, np.arange(len(B), dtype=np.int64)])
        present = (keys != "").to_numpy()
        codes, _ = pd.factorize(keys[present], sort=True)
        order = np.flatnonzero(present)[np.argsort(codes, kind="stable")]
        pos = position[order]
        src = None if source is None else source[order]
        pos_f = self.client.scatter(pos, broadcast=True, hash=False)
        src_f = None if src is None else self.client.scatter(src, broadcast=True, hash=False)
        futures = [
            self.client.submit(_window_task, pos_f, src_f, blocker.window, s, pure=False)
            for s in _slices(len(pos), self.n_tasks)
        ]
        return _concat(self.gather(futures))

    def similarity(self, blocker: _SparseSimilarityBlocker, A, B) -> Positions:
        cols = list(blocker.columns)
        ta = self.per_slice(_text_task, A[cols], cols)
        tb = None if B is None else self.per_slice(_text_task, B[cols], cols)
        vec = blocker._fit_vectorizer(ta, tb)
        vec_f = self.client.scatter(vec, broadcast=True, hash=False)
        Xa = self.transform(vec_f, ta)
        Xb = Xa if tb is None else self.transform(vec_f, tb)
        li, ri = self.neighbours(blocker, Xa, Xb, dedup=B is None)
        if blocker.symmetric and B is not None:
            rb, ra = self.neighbours(blocker, Xb, Xa, dedup=False)
            li, ri = np.concatenate([li, ra]), np.concatenate([ri, rb])
        return li, ri

    def transform(self, vectorizer, texts: pd.Series) -> sp.csr_matrix:
        futures = [
            self.client.submit(_transform_task, vectorizer, texts.iloc[s], pure=False)
            for s in _slices(len(texts), self.n_tasks)
        ]
        return sp.vstack(self.gather(futures), format="csr")

    def neighbours(self, blocker: _SparseSimilarityBlocker, Xa, Xb, dedup: bool) -> Positions:
        chunk = blocker.chunk_size or max(1, MAX_CHUNK_CELLS // max(Xb.shape[0], 1))
        Xa_f, right_f = self.client.scatter([Xa, Xb.T.tocsr()], broadcast=True, hash=False)
        futures = [
            self.client.submit(
                _topk_task,
                Xa_f,
                right_f,
                s,
                blocker.k,
                blocker.min_value,
                dedup,
                chunk,
                pure=False,
            )
            for s in _slices(Xa.shape[0], self.n_tasks)
        ]
        return _concat(self.gather(futures))


def _map_chunk(fn: Callable, chunk: pd.DataFrame, A, B, id_column: str, where: str):
    return fn(join_pairs(chunk, A, B, id_column=id_column, where=where))


def map_candidates(
    fn: Callable[[pd.DataFrame], np.ndarray],
    candidates: pd.DataFrame,
    A: pd.DataFrame,
    B: pd.DataFrame | None = None,
    client=None,
    chunk_rows: int = 200_000,
    id_column: str = "id",
    where: str = "map_candidates",
) -> np.ndarray:
    """fn(flattened pairs) for consecutive chunks of `chunk_rows` candidates, concatenated in
    candidate order: on the cluster of `client` (tables broadcast once) or, without a client,
    one chunk after another here, so the whole flattened pair table never exists at once."""
    if not callable(fn):
        raise TypeError(f"{where}: fn must be callable as fn(pairs) -> array")
    if not isinstance(chunk_rows, int | np.integer) or chunk_rows < 1:
        raise ValueError(f"{where}: chunk_rows must be a positive integer, got {chunk_rows!r}")
    if not isinstance(candidates, pd.DataFrame) or not {"ltable_id", "rtable_id"} <= set(
        candidates.columns
    ):
        raise ValueError(
            f"{where}: candidates must be a DataFrame with columns ltable_id and rtable_id "
            "(the output of a blocker's block())"
        )
    ids = candidates[["ltable_id", "rtable_id"]]
    chunks = [ids.iloc[s : s + chunk_rows] for s in range(0, len(ids), chunk_rows)]
    if not chunks:
        chunks = [ids]  # fn decides the shape of an empty result
    if client is None:
        return np.concatenate([_map_chunk(fn, c, A, B, id_column, where) for c in chunks])
    client = resolve_client(client, where)
    fn_f, A_f = client.scatter([fn, A], broadcast=True, hash=False)
    B_f = None if B is None else client.scatter(B, broadcast=True, hash=False)
    futures = [
        client.submit(_map_chunk, fn_f, c, A_f, B_f, id_column, where, pure=False) for c in chunks
    ]
    return np.concatenate(client.gather(futures))

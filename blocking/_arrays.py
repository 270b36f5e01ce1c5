"""Internal helpers: normalised column text, table checks and vectorized pair arithmetic."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pandas as pd

from blocking.validation import InputError


def as_columns(on: str | Sequence[str], what: str = "on") -> list[str]:
    """Return `on` as a non-empty list of column names."""
    cols = [on] if isinstance(on, str) else list(on)
    if not cols or not all(isinstance(c, str) for c in cols):
        raise TypeError(f"{what}: expected a column name or a list of column names, got {on!r}")
    return cols


def check_table(df: pd.DataFrame, id_column: str, where: str, columns: Sequence[str] = ()) -> None:
    """Raise a clear error unless `df` is non-empty with unique ids and the given columns."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise InputError(f"{where}: the table is empty; give a table with at least one record")
    missing = [c for c in [id_column, *columns] if c not in df.columns]
    if missing:
        raise InputError(
            f"{where}: no column {', '.join(map(repr, missing))} among {list(df.columns)}; "
            "check the spelling or pass the right id_column / on="
        )
    ids = df[id_column]
    if ids.isna().any():
        raise InputError(
            f"{where}: id column {id_column!r} is missing at row positions "
            f"{np.flatnonzero(ids.isna().to_numpy())[:5].tolist()}; every record needs an id"
        )
    if columns and all(df[c].isna().all() for c in columns):
        raise InputError(
            f"{where}: column(s) {list(columns)} hold no values (all missing); "
            "block on columns that are filled in for at least some records"
        )
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(
            f"{where}: id column {id_column!r} has {len(dup)} duplicate ids, e.g. "
            f"{dup.unique()[:5].tolist()}; ids must be unique"
        )


def column_text(series: pd.Series) -> pd.Series:
    """Lower-cased, space-normalised strings; missing values become ''. Whole floats lose '.0'."""
    s = series
    if pd.api.types.is_float_dtype(s):
        finite = s.dropna()
        if len(finite) and np.all(np.mod(finite.to_numpy(), 1) == 0):
            s = s.astype("Int64")
    # Arrow-backed strings: lower-casing and the regex run in C++, not per value in Python
    text = s.astype("string[pyarrow]").fillna("").str.lower()
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def joined_text(df: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """The normalised text of `columns`, joined by single spaces, one string per record."""
    parts = [column_text(df[c]) for c in columns]
    out = parts[0]
    for p in parts[1:]:
        out = (out + " " + p).str.strip()
    return out


_SHARED_CODES: ContextVar[dict | None] = ContextVar("blocking_shared_codes", default=None)
_SHARED_LOCK = threading.RLock()


@contextmanager
def shared_codes() -> Iterator[None]:
    """Within this block, each column's codes (`column_codes`) are computed once per table and
    key function: a union of blockers reads the same columns many times."""
    token = _SHARED_CODES.set({}) if _SHARED_CODES.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _SHARED_CODES.reset(token)


def column_codes(
    A: pd.DataFrame,
    B: pd.DataFrame | None,
    column: str,
    key: Callable[[pd.Series], pd.Series] | None = None,
) -> tuple[np.ndarray, int]:
    """Integer codes of a column's normalised text (after `key`) over A then B, in sorted
    order of the texts, -1 where missing (''); and the number of distinct texts."""

    def compute() -> tuple[np.ndarray, int]:
        # normalise each distinct value once, then map the records through it
        raw, distinct = value_codes(A, B, column)
        text = column_text(distinct)
        if key is not None:
            text = key(text).fillna("").astype(str)
        codes, uniques = pd.factorize(text.where(text != ""), sort=True)
        codes = np.append(codes, -1)[raw]  # a missing value (raw -1) has no key
        return codes.astype(np.int64), len(uniques)

    return _shared((A, B, key), column, compute)


def value_codes(
    A: pd.DataFrame, B: pd.DataFrame | None, column: str
) -> tuple[np.ndarray, pd.Series]:
    """`pd.factorize` of a column's raw values over A then B: (codes, the distinct values in
    the column's dtype), -1 where missing; computed once per table inside a `shared_codes`
    block, so that the blockers and whoever else reads the same values inside it share it."""

    def compute() -> tuple[np.ndarray, pd.Series]:
        values = A[column] if B is None else pd.concat([A[column], B[column]], ignore_index=True)
        codes, distinct = pd.factorize(values)
        return codes, pd.Series(distinct, dtype=values.dtype)

    return _shared((A, B, None), ("raw", column), compute)


def _shared(owners: tuple, column: object, compute: Callable):
    """compute(), kept per (owner objects, column) inside a `shared_codes` block; threads
    sharing the block (a union's members run at once) compute each entry once."""
    cache = _SHARED_CODES.get()
    if cache is None:
        return compute()
    key = (*map(id, owners), column)
    with _SHARED_LOCK:  # reentrant: column codes read the shared value codes
        entry = cache.get(key)
        # the entry keeps its owners alive, so their ids cannot be reused meanwhile
        if entry is None or any(a is not b for a, b in zip(entry[0], owners, strict=True)):
            entry = (owners, compute())
            cache[key] = entry
    return entry[1]


def combined_codes(
    A: pd.DataFrame,
    B: pd.DataFrame | None,
    columns: Sequence[str],
    key: Callable[[pd.Series], pd.Series] | None = None,
) -> np.ndarray:
    """One code per record (A's rows, then B's) for the tuple of its column codes, -1 where any
    part is missing. Codes follow the tuples' lexicographic order, which is the order of the
    texts joined by a separator below every character."""
    out, missing, bound = None, None, 1
    for column in columns:
        codes, n = column_codes(A, B, column, key)
        if out is None:
            out, missing, bound = codes.copy(), codes < 0, max(n, 1)
            continue
        missing |= codes < 0
        out = np.where(missing, 0, out)
        if bound * (n + 1) >= 2**62:  # dense codes first, so the product stays below 2**63
            _, out = np.unique(out, return_inverse=True)
            bound = int(out.max()) + 1
        out = out.astype(np.int64) * (n + 1) + codes
        bound *= n + 1
    if len(columns) > 1:
        _, out = np.unique(np.where(missing, 0, out), return_inverse=True)
        out = out.astype(np.int64)
    return np.where(missing, -1, out)


def expand_ranges(left: np.ndarray, lo: np.ndarray, hi: np.ndarray, right: np.ndarray):
    """For each i, pair left[i] with every right[lo[i]:hi[i]]; returns (left, right) arrays."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    if total == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    starts = np.cumsum(counts) - counts
    offsets = np.arange(total, dtype=np.int64) - np.repeat(starts, counts)
    return np.repeat(left, counts), right[np.repeat(lo, counts) + offsets]


def unique_pairs(li: np.ndarray, ri: np.ndarray, n_right: int, dedup: bool):
    """Sorted unique (left, right) position pairs; for dedup i < j and no self pairs."""
    li = np.asarray(li, dtype=np.int64)
    ri = np.asarray(ri, dtype=np.int64)
    if dedup:
        li, ri = np.minimum(li, ri), np.maximum(li, ri)
        keep = li != ri
        li, ri = li[keep], ri[keep]
    codes = sorted_unique(li * np.int64(n_right) + ri)
    return codes // n_right, codes % n_right


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique for integers by sorting (numpy's hash-based unique is slower on big arrays)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def within_groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All position pairs (i, j), i < j, of records sharing a group code; code -1 = no group."""
    codes = np.asarray(codes)
    members = np.flatnonzero(codes >= 0)
    if members.size and codes[members].max() < 4 * len(codes):  # dense codes: drop singletons
        counts = np.bincount(codes[members])
        members = members[counts[codes[members]] > 1]  # (the pairs and their order stay)
    order = members[np.argsort(codes[members], kind="stable")]
    sorted_codes = codes[order]
    hi = np.searchsorted(sorted_codes, sorted_codes, side="right")
    li, ri = expand_ranges(order, np.arange(1, len(order) + 1), hi, order)
    return np.minimum(li, ri), np.maximum(li, ri)

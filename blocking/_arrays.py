"""Internal helpers: normalised column text, table checks and vectorized pair arithmetic."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import pandas as pd
import pyarrow as pa

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
    ids_ok = _distinct_and_present(ids)
    if not ids_ok and ids.isna().any():
        raise InputError(
            f"{where}: id column {id_column!r} is missing at row positions "
            f"{np.flatnonzero(ids.isna().to_numpy())[:5].tolist()}; every record needs an id"
        )
    if columns and not any(_has_value(df[c]) for c in columns):
        raise InputError(
            f"{where}: column(s) {list(columns)} hold no values (all missing); "
            "block on columns that are filled in for at least some records"
        )
    dup = ids.iloc[:0] if ids_ok else ids[ids.duplicated()]
    if len(dup):
        raise InputError(
            f"{where}: id column {id_column!r} has {len(dup)} duplicate ids, e.g. "
            f"{dup.unique()[:5].tolist()}; ids must be unique"
        )


def _has_value(column: pd.Series) -> bool:
    """Whether any value is present (the first rows usually say so without a full scan)."""
    return bool(column.iloc[:1000].notna().any() or column.notna().any())


def _distinct_and_present(ids: pd.Series) -> bool:
    """True when no id is missing and none repeats (one hash pass; the caller's slower checks
    then find and name a problem)."""
    return bool(ids.notna().all() and pd.Index(ids).is_unique)


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
        return factorize_values(values)

    return _shared((A, B, None), ("raw", column), compute)


def factorize_values(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """`pd.factorize(values)` as (codes, distinct values in the column's dtype): the same codes
    (first-appearance order, -1 where missing); a column of Python strings is encoded by
    Arrow, which hashes the text in C++ rather than each string object."""
    strings = _arrow_strings(values) if values.dtype == object else None
    if strings is None:
        codes, distinct = pd.factorize(values)
        return codes, pd.Series(distinct, dtype=values.dtype)
    encoded = strings.dictionary_encode()
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    distinct = encoded.dictionary.to_numpy(zero_copy_only=False)
    return codes, pd.Series(distinct, dtype=values.dtype)


def _arrow_strings(values: pd.Series) -> pa.Array | None:
    """The values as an Arrow string array (None, NaN -> null), or None unless every present
    value is a Python string."""
    try:
        array = pa.array(values.to_numpy(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return array if pa.types.is_string(array.type) or pa.types.is_large_string(array.type) else None


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
    dense: bool = True,
) -> np.ndarray:
    """One code per record (A's rows, then B's) for the tuple of its column codes, -1 where any
    part is missing. Codes follow the tuples' lexicographic order, which is the order of the
    texts joined by a separator below every character. `dense=False` skips numbering the
    tuples 0..k-1 (a sort): the codes keep their order but may be large."""
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
    if len(columns) > 1 and dense:
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


def _shared_bucket(codes: np.ndarray) -> np.ndarray:
    """True where a code's bucket holds another record: codes themselves when dense, else a
    multiplicative hash into at least twice as many buckets as codes (a group never splits;
    a singleton is kept only when its bucket collides)."""
    if not codes.size:
        return np.ones(0, dtype=bool)
    if codes.max() < 4 * len(codes):
        buckets = codes
    else:
        bits = max(int(2 * len(codes) - 1).bit_length(), 1)
        product = codes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # wraps mod 2**64
        buckets = (product >> np.uint64(64 - bits)).astype(np.intp)
    return np.bincount(buckets)[buckets] > 1


def within_groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All position pairs (i, j), i < j, of records sharing a group code; code -1 = no group."""
    codes = np.asarray(codes)
    members = np.flatnonzero(codes >= 0)
    members = members[_shared_bucket(codes[members])]  # drop singletons: pairs, order stay
    order = members[np.argsort(codes[members], kind="stable")]
    sorted_codes = codes[order]
    hi = np.searchsorted(sorted_codes, sorted_codes, side="right")
    li, ri = expand_ranges(order, np.arange(1, len(order) + 1), hi, order)
    return np.minimum(li, ri), np.maximum(li, ri)

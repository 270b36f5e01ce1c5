"""A per-application cache so that LFs on the same attribute share similarity computations."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import pandas as pd

_CACHE: ContextVar[dict | None] = ContextVar("labeling_functions_similarity_cache", default=None)


@contextmanager
def similarity_cache() -> Iterator[None]:
    """Within this block, `cached` results are kept (nested blocks share the outer cache)."""
    token = _CACHE.set({}) if _CACHE.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _CACHE.reset(token)


def cached(df: pd.DataFrame, key: Hashable, compute: Callable[[], Any]) -> Any:
    """compute(), memoized per (DataFrame object, key) inside a `similarity_cache` block."""
    cache = _CACHE.get()
    if cache is None:
        return compute()
    # The entry keeps `df` alive, so its id cannot be reused by another frame meanwhile.
    entry = cache.get((id(df), key))
    if entry is None or entry[0] is not df:
        entry = (df, compute())
        cache[(id(df), key)] = entry
    return entry[1]

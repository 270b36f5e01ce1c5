"""A per-application cache so that LFs on the same attribute share similarity computations."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

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


def cached(owners: Any, key: Hashable, compute: Callable[[], Any]) -> Any:
    """compute(), memoized per (owner objects, key) inside a `similarity_cache` block.

    `owners` is the object (or tuple of objects, e.g. a DataFrame or two Series) the result
    belongs to; they are compared by identity.
    """
    cache = _CACHE.get()
    if cache is None:
        return compute()
    owners = owners if isinstance(owners, tuple) else (owners,)
    full_key = (tuple(map(id, owners)), key)
    # The entry keeps the owners alive, so their ids cannot be reused by other objects meanwhile.
    entry = cache.get(full_key)
    if entry is None or any(a is not b for a, b in zip(entry[0], owners, strict=True)):
        entry = (owners, compute())
        cache[full_key] = entry
    return entry[1]

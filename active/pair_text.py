"""How a labeller shows one pair's values: cell text, the tokens that differ, the session line.

Shared by the terminal and the web labeller so that both show a person the same thing.
"""

from __future__ import annotations

import numpy as np

from active.oracles import SessionProgress


def is_missing(value: object) -> bool:
    """Whether a cell holds no value (None or a float NaN)."""
    return value is None or (isinstance(value, float | np.floating) and bool(np.isnan(value)))


def cell_text(value: object) -> str:
    """A cell value as text; whole floats (ints upcast by a missing value) lose their '.0'."""
    if is_missing(value):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def token_diff(value: object, other: object) -> list[tuple[str, bool]]:
    """`value`'s whitespace tokens, each with whether it is absent from `other` (case-folded)."""
    other_tokens = set(cell_text(other).lower().split())
    return [(token, token.lower() not in other_tokens) for token in cell_text(value).split()]


def answered_text(progress: SessionProgress) -> str:
    """'k of budget answered' (or 'k answered' without a budget)."""
    of = f" of {progress.budget}" if progress.budget is not None else ""
    return f"{progress.n_answers}{of} answered"


def balance_text(progress: SessionProgress) -> str:
    """The class balance over all sessions: match / non-match / unsure counts."""
    return (f"match {progress.n_match} · non-match {progress.n_non_match} · "
            f"unsure {progress.n_unsure}")


def f1_text(progress: SessionProgress) -> str:
    """The live F1 estimate with its 95% interval, or '' while there is none."""
    if progress.f1_estimate is None:
        return ""
    est, low, high = progress.f1_estimate
    return f"F1 ≈ {est:.2f} (95% interval {low:.2f}-{high:.2f})"

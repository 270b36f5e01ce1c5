"""One-line LF templates over one attribute; a missing value on either side always abstains.

    similarity_at_least("title", 0.8, metric="jaccard")      # -> MATCH when similar enough
    similarity_below("title", 0.2)                           # -> NON_MATCH when clearly different
    values_differ("year")                                    # -> NON_MATCH
    model_numbers_conflict("name")                           # -> NON_MATCH
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from blocking.pairs import side_columns
from labeling_functions import ABSTAIN, MATCH, NON_MATCH
from labeling_functions import similarity as sim
from labeling_functions.cache import cached
from labeling_functions.core import ExpertLF

_TOKEN_METRICS = {"jaccard", "overlap", "tfidf_cosine"}
_PAIR_METRICS: dict[str, Callable[[pd.Series, pd.Series], np.ndarray]] = {
    "levenshtein": sim.levenshtein_sim,
    "jaro_winkler": sim.jaro_winkler,
    "exact": sim.exact,
    "prefix": sim.prefix,
    "model_numbers": sim.model_number_overlap,
    "reldiff": sim.relative_difference,
    "year_diff": sim.year_difference,
}
_CUTOFF_METRICS = {"levenshtein", "jaro_winkler"}
METRICS = tuple(sorted(_TOKEN_METRICS | set(_PAIR_METRICS)))


def _sides(df: pd.DataFrame, attr: str) -> tuple[pd.Series, pd.Series]:
    left, right = side_columns(attr)
    if left not in df.columns or right not in df.columns:
        raise KeyError(
            f"the pairs have no {left!r} / {right!r} columns; columns: {list(df.columns)[:12]}"
        )
    # The same Series objects every time, so that per-column work is cached across LFs.
    return cached(df, ("sides", attr), lambda: (df[left], df[right]))


def _check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown similarity metric {metric!r}; choose one of {METRICS}")


def pair_similarity(
    df: pd.DataFrame, attr: str, metric: str = "jaccard", score_cutoff: float | None = None
) -> np.ndarray:
    """`metric` between left_<attr> and right_<attr> of every pair (NaN where either is missing).

    Inside apply_lfs, results (and the token sets behind the token metrics) are computed once
    per attribute and shared by all LFs. `score_cutoff` (levenshtein, jaro_winkler only) reports
    scores below it as 0, which is much faster and enough for a threshold.
    """
    _check_metric(metric)
    if metric in _TOKEN_METRICS:
        tokens = cached(df, (attr, "tokens"), lambda: sim.TokenSets(*_sides(df, attr)))
        return cached(df, (attr, metric), getattr(tokens, metric))
    if metric in _CUTOFF_METRICS and score_cutoff is not None:
        return cached(
            df,
            (attr, metric, score_cutoff),
            lambda: _PAIR_METRICS[metric](*_sides(df, attr), score_cutoff=score_cutoff),
        )
    return cached(df, (attr, metric), lambda: _PAIR_METRICS[metric](*_sides(df, attr)))


def _check_polarity(polarity: int) -> None:
    if polarity not in (MATCH, NON_MATCH):
        raise ValueError(f"a template LF is one-sided: polarity must be MATCH or NON_MATCH, "
                         f"got {polarity!r}")


def rule(
    name: str, polarity: int, condition: Callable[[pd.DataFrame], np.ndarray]
) -> ExpertLF:
    """A one-sided vectorized LF voting `polarity` where `condition(df)` is True, else abstaining.

    `condition` returns a boolean mask; NaN comparisons are False, so missing values abstain.
    """
    _check_polarity(polarity)

    def f(df: pd.DataFrame) -> np.ndarray:
        mask = np.asarray(condition(df), dtype=bool)
        return np.where(mask, polarity, ABSTAIN)

    return ExpertLF(name, f, polarity=polarity, vectorized=True)


def _fmt(x: float) -> str:
    return f"{x:g}"


def similarity_at_least(
    attr: str, threshold: float, metric: str = "jaccard", polarity: int = MATCH,
    name: str | None = None,
) -> ExpertLF:
    """Votes `polarity` (default MATCH) where the attribute's similarity >= threshold."""
    _check_metric(metric)
    return rule(
        name or f"{attr}_{metric}_at_least_{_fmt(threshold)}",
        polarity,
        lambda df: pair_similarity(df, attr, metric, score_cutoff=threshold) >= threshold,
    )


def similarity_below(
    attr: str, threshold: float, metric: str = "jaccard", polarity: int = NON_MATCH,
    name: str | None = None,
) -> ExpertLF:
    """Votes `polarity` (default NON_MATCH) where the attribute's similarity < threshold."""
    _check_metric(metric)
    return rule(
        name or f"{attr}_{metric}_below_{_fmt(threshold)}",
        polarity,
        lambda df: pair_similarity(df, attr, metric, score_cutoff=threshold) < threshold,
    )


def similarity_vote(
    attr: str, match_at_least: float, non_match_below: float, metric: str = "jaccard",
    name: str | None = None,
) -> ExpertLF:
    """A two-sided LF: MATCH at or above one threshold, NON_MATCH below the other."""
    if non_match_below > match_at_least:
        raise ValueError(
            f"similarity_vote({attr!r}): non_match_below ({non_match_below}) must not exceed "
            f"match_at_least ({match_at_least})"
        )
    _check_metric(metric)

    def f(df: pd.DataFrame) -> np.ndarray:
        s = pair_similarity(df, attr, metric)
        return np.select([s >= match_at_least, s < non_match_below], [MATCH, NON_MATCH], ABSTAIN)

    return ExpertLF(
        name or f"{attr}_{metric}_vote", f, polarity=None, vectorized=True
    )


def values_equal(attr: str, polarity: int = MATCH, name: str | None = None) -> ExpertLF:
    """Votes `polarity` (default MATCH) where both values are present and equal (normalized)."""
    return rule(
        name or f"{attr}_equal", polarity, lambda df: pair_similarity(df, attr, "exact") == 1
    )


def values_differ(attr: str, polarity: int = NON_MATCH, name: str | None = None) -> ExpertLF:
    """Votes `polarity` (default NON_MATCH) where both values are present and differ."""
    return rule(
        name or f"{attr}_differ", polarity, lambda df: pair_similarity(df, attr, "exact") == 0
    )


def numbers_differ(
    attr: str, tolerance: float = 0.0, polarity: int = NON_MATCH, name: str | None = None
) -> ExpertLF:
    """Votes `polarity` (default NON_MATCH) where |x - y| / max(|x|, |y|) > tolerance."""
    return rule(
        name or f"{attr}_differ_by_more_than_{_fmt(tolerance)}",
        polarity,
        lambda df: pair_similarity(df, attr, "reldiff") > tolerance,
    )


def years_differ(
    attr: str, min_gap: int = 1, polarity: int = NON_MATCH, name: str | None = None
) -> ExpertLF:
    """Votes `polarity` (default NON_MATCH) where the years in the values differ by >= min_gap."""
    return rule(
        name or f"{attr}_years_differ",
        polarity,
        lambda df: pair_similarity(df, attr, "year_diff") >= min_gap,
    )


def model_numbers_shared(attr: str, polarity: int = MATCH, name: str | None = None) -> ExpertLF:
    """Votes `polarity` (default MATCH) where the two values share a model number."""
    return rule(
        name or f"{attr}_model_numbers_shared",
        polarity,
        lambda df: pair_similarity(df, attr, "model_numbers") > 0,
    )


def model_numbers_conflict(
    attr: str, polarity: int = NON_MATCH, name: str | None = None
) -> ExpertLF:
    """Votes `polarity` (default NON_MATCH) where both have model numbers but share none."""
    return rule(
        name or f"{attr}_model_numbers_conflict",
        polarity,
        lambda df: pair_similarity(df, attr, "model_numbers") == 0,
    )

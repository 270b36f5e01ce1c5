"""The expert LF: a Snorkel LabelingFunction that also declares a polarity and may be vectorized.

A one-sided LF (polarity MATCH or NON_MATCH) votes only its polarity or abstains, which is what
lets LearnRisk use it as a risk rule. A vectorized LF takes the whole pair DataFrame and returns
one vote per row; called by Snorkel's row-wise appliers it is run on a one-row frame.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction

from labeling_functions import ABSTAIN, MATCH, NON_MATCH

VALID_VOTES = (ABSTAIN, NON_MATCH, MATCH)


class LFError(ValueError):
    """An LF raised or returned an invalid vote; carries the LF name and the row position."""

    def __init__(self, message: str, lf_name: str, position: int | None = None):
        super().__init__(message)
        self.lf_name = lf_name
        self.position = position

    def __reduce__(self):  # keep lf_name and position across processes (Dask)
        return (type(self), (str(self), self.lf_name, self.position))


class LFVoteError(LFError):
    """An LF returned an invalid vote (outside -1/0/1, against its polarity, wrong length)."""


def _check_polarity(polarity: int | None, name: str) -> int | None:
    if polarity is None:
        return None
    if isinstance(polarity, (bool, np.bool_)) or polarity not in (MATCH, NON_MATCH):
        raise ValueError(
            f"LF {name!r}: polarity must be MATCH (1), NON_MATCH (0) or None for a two-sided LF, "
            f"got {polarity!r}"
        )
    return int(polarity)


class ExpertLF(LabelingFunction):
    """A Snorkel LabelingFunction over record pairs with a declared `polarity` (or None).

    `vectorized=True`: `f(df, **resources)` returns one vote per row of `df` (array-like);
    otherwise `f(x, **resources)` gets one pair as a row Series (`x.left_title`, ...).
    """

    def __init__(
        self,
        name: str,
        f: Callable[..., Any],
        polarity: int | None = None,
        vectorized: bool = False,
        resources: Mapping[str, Any] | None = None,
        pre: Sequence[Callable] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"an LF needs a non-empty string name, got {name!r}")
        if not callable(f):
            raise TypeError(f"LF {name!r}: f must be callable, got {type(f).__name__}")
        super().__init__(name=name, f=f, resources=resources, pre=list(pre or []))
        self.polarity = _check_polarity(polarity, name)
        self.vectorized = bool(vectorized)

    def __call__(self, x: Any) -> Any:
        """Vote on one pair (an int), or on a whole DataFrame for a vectorized LF (an array)."""
        if self.vectorized and isinstance(x, pd.DataFrame):
            return self.apply(x)
        position = getattr(x, "name", None)
        try:
            if self.vectorized:
                if not isinstance(x, pd.Series):
                    raise TypeError(
                        f"vectorized LF {self.name!r} expects a pandas row or DataFrame, "
                        f"got {type(x).__name__}"
                    )
                raw = self._vectorized_votes(pd.DataFrame([x.to_dict()], index=[x.name]))
                votes = np.asarray(raw.to_numpy() if isinstance(raw, pd.Series) else raw).ravel()
                if len(votes) != 1:
                    raise LFVoteError(
                        f"vectorized LF {self.name!r} returned {len(votes)} votes for a one-row "
                        "frame; expected one vote per pair",
                        self.name,
                        position,
                    )
                vote = votes[0]
            else:
                vote = super().__call__(x)
        except LFError:
            raise
        except Exception as err:
            raise LFError(
                f"LF {self.name!r} raised {type(err).__name__} on row {position!r}: {err}",
                self.name,
                position,
            ) from err
        return self._check_vote(vote, position)

    def _check_vote(self, vote: Any, position: Any) -> int:
        if isinstance(vote, (bool, np.bool_)) or vote not in VALID_VOTES:
            raise LFVoteError(
                f"LF {self.name!r} returned {vote!r} on row {position!r}; an LF must return "
                "MATCH (1), NON_MATCH (0) or ABSTAIN (-1)",
                self.name,
                position,
            )
        vote = int(vote)
        if self.polarity is not None and vote not in (ABSTAIN, self.polarity):
            raise LFVoteError(
                f"one-sided LF {self.name!r} (polarity {self.polarity}) voted {vote} on row "
                f"{position!r}; it may only vote {self.polarity} or abstain (-1). Declare "
                "polarity=None for a two-sided LF.",
                self.name,
                position,
            )
        return vote

    def apply(self, pairs: pd.DataFrame) -> np.ndarray:
        """Votes on every row of `pairs` as an int array, validated (values, length, polarity)."""
        if not self.vectorized:
            return np.fromiter((self(row) for _, row in pairs.iterrows()), np.int64, len(pairs))
        try:
            raw = self._vectorized_votes(pairs)
        except Exception as err:
            raise LFError(
                f"vectorized LF {self.name!r} raised {type(err).__name__}: {err}", self.name
            ) from err
        return self.validate_votes(raw, len(pairs))

    def _vectorized_votes(self, df: pd.DataFrame) -> Any:
        """The raw output of a vectorized LF; its preprocessors get (and return) the DataFrame."""
        for step in self._pre:
            df = step(df)
        return self._f(df, **self._resources)

    def validate_votes(self, raw: Any, n: int) -> np.ndarray:
        """`raw` as an int64 vector of length n in {-1, 0, 1} respecting the polarity."""
        if isinstance(raw, (pd.Series, pd.Index)):
            raw = raw.to_numpy()
        votes = np.asarray(raw)
        if votes.ndim == 2 and votes.shape[1] == 1:
            votes = votes[:, 0]
        if votes.ndim != 1 or len(votes) != n:
            raise LFVoteError(
                f"vectorized LF {self.name!r} returned shape {votes.shape}; expected one vote per "
                f"pair, shape ({n},)",
                self.name,
            )
        if votes.dtype == bool:
            raise LFVoteError(
                f"vectorized LF {self.name!r} returned booleans; return votes, e.g. "
                "np.where(mask, MATCH, ABSTAIN)",
                self.name,
            )
        if not np.issubdtype(votes.dtype, np.number):
            raise LFVoteError(
                f"vectorized LF {self.name!r} returned dtype {votes.dtype}; expected integer votes",
                self.name,
            )
        bad = ~np.isin(votes, VALID_VOTES)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise LFVoteError(
                f"vectorized LF {self.name!r} returned {votes[i]!r} at row position {i}; an LF "
                "must return MATCH (1), NON_MATCH (0) or ABSTAIN (-1)",
                self.name,
                i,
            )
        votes = votes.astype(np.int64)
        if self.polarity is not None:
            wrong = (votes != ABSTAIN) & (votes != self.polarity)
            if wrong.any():
                i = int(np.flatnonzero(wrong)[0])
                raise LFVoteError(
                    f"one-sided LF {self.name!r} (polarity {self.polarity}) voted {votes[i]} at "
                    f"row position {i} ({int(wrong.sum())} rows in all); it may only vote "
                    f"{self.polarity} or abstain (-1). Declare polarity=None for a two-sided LF.",
                    self.name,
                    i,
                )
        return votes

    def __repr__(self) -> str:
        kind = "vectorized" if self.vectorized else "row-wise"
        return f"ExpertLF({self.name!r}, polarity={self.polarity}, {kind})"


def labeling_function(
    name: str | None = None,
    polarity: int | None = None,
    vectorized: bool = False,
    resources: Mapping[str, Any] | None = None,
    pre: Sequence[Callable] | None = None,
) -> Callable[[Callable[..., Any]], ExpertLF]:
    """Decorator turning a function into an ExpertLF (a snorkel LabelingFunction)."""
    if callable(name):
        raise TypeError("labeling_function is a decorator factory: write @labeling_function()")

    def wrap(f: Callable[..., Any]) -> ExpertLF:
        return ExpertLF(
            name or f.__name__, f, polarity=polarity, vectorized=vectorized,
            resources=resources, pre=pre,
        )

    return wrap


def as_expert_lf(lf: Any) -> ExpertLF:
    """An ExpertLF for `lf`: itself, or a plain Snorkel LF wrapped as a two-sided row-wise LF."""
    if isinstance(lf, ExpertLF):
        return lf
    if isinstance(lf, LabelingFunction):
        return ExpertLF(lf.name, lf, polarity=getattr(lf, "polarity", None))
    raise TypeError(
        f"expected a labeling function (use @labeling_function), got {type(lf).__name__}: {lf!r}"
    )

"""The expert LF: a Snorkel LabelingFunction that also declares a polarity and may be vectorized.

A one-sided LF (polarity MATCH or NON_MATCH) votes only its polarity or abstains, which is what
lets LearnRisk use it as a risk rule. A vectorized LF takes the whole pair DataFrame and returns
one vote per row; called by Snorkel's row-wise appliers it is run on a one-row frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction

from labeling_functions import ABSTAIN, MATCH, NON_MATCH

VALID_VOTES = (ABSTAIN, NON_MATCH, MATCH)
_COW_BY_DEFAULT = int(pd.__version__.split(".")[0]) >= 3


@contextmanager
def copy_on_write() -> Iterator[None]:
    """pandas Copy-on-Write within the block: an LF that writes into the frame it was given
    makes pandas copy the data first, so frames sharing that data (the caller's) never change."""
    if _COW_BY_DEFAULT:
        yield
        return
    with pd.option_context("mode.copy_on_write", True):
        yield


class LFWarning(UserWarning):
    """An LF is accepted but suspicious (e.g. it abstains on every pair)."""


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
                frame = pd.DataFrame([x.to_dict()], index=[x.name])
                vote = self._aligned(self._vectorized_votes(frame), frame.index)[0]
            else:
                vote = super().__call__(x)
        except LFError:
            raise
        except (Exception, SystemExit) as err:  # an LF must not end the program
            where = f" on row {position!r}"
            raise self._failure(err, f"LF {self.name!r}", where, position) from err
        return self._check_vote(vote, position)

    def _failure(self, err: BaseException, who: str, where: str, position: Any = None) -> LFError:
        """The LFError for an exception raised inside the LF."""
        if isinstance(err, ValueError) and "read-only" in str(err):
            return LFError(
                f"{who} tried to change the pairs it was given{where}; LFs get a read-only view "
                "of the pool: change a copy instead (x = x.copy() or df = df.copy())",
                self.name,
                position,
            )
        if isinstance(err, SystemExit):
            return LFError(f"{who} called sys.exit({err.code!r}){where}; an LF must return a "
                           "vote, not stop the program", self.name, position)
        return LFError(f"{who} raised {type(err).__name__}{where}: {err}", self.name, position)

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
        """Votes on every row of `pairs` as an int array, validated (values, length, polarity).

        The LF works on a copy-on-write view: whatever it writes, `pairs` stays unchanged.
        """
        with copy_on_write():
            view = pairs.copy(deep=False)
            if not self.vectorized:
                return np.fromiter((self(row) for _, row in view.iterrows()), np.int64, len(view))
            return self.apply_to_view(view)

    def apply_to_view(self, view: pd.DataFrame) -> np.ndarray:
        """Votes of a vectorized LF on `view`, a frame the caller protects (see `apply`)."""
        try:
            raw = self._vectorized_votes(view)
        except (Exception, SystemExit) as err:  # an LF must not end the program
            raise self._failure(err, f"vectorized LF {self.name!r}", "") from err
        return self.validate_votes(raw, view.index)

    def _vectorized_votes(self, df: pd.DataFrame) -> Any:
        """The raw output of a vectorized LF; its preprocessors get (and return) the DataFrame."""
        for step in self._pre:
            df = step(df)
        return self._f(df, **self._resources)

    def _aligned(self, raw: Any, index: pd.Index) -> np.ndarray:
        """The raw output of a vectorized LF as a 1-d array in the order of `index`: a pandas
        Series (or one-column DataFrame) is aligned by its index, or refused."""
        n = len(index)
        if isinstance(raw, pd.DataFrame):
            if raw.shape[1] != 1:
                raise LFVoteError(
                    f"vectorized LF {self.name!r} returned a DataFrame with {raw.shape[1]} "
                    "columns; return one vote per pair (an array or a Series)",
                    self.name,
                )
            raw = raw.iloc[:, 0]
        if isinstance(raw, pd.Series) and len(raw) == n and not raw.index.equals(index):
            if not (index.is_unique and raw.index.is_unique and raw.index.isin(index).all()):
                stray = raw.index[~raw.index.isin(index)]
                example = f" (e.g. label {stray[0]!r} is not a row)" if len(stray) else ""
                raise LFVoteError(
                    f"vectorized LF {self.name!r} returned a pandas Series whose index does not "
                    f"match the rows it was given{example}; return a Series indexed like its "
                    "input (df.index) or an array in row order",
                    self.name,
                )
            raw = raw.reindex(index)
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
        return votes

    def validate_votes(self, raw: Any, index: pd.Index) -> np.ndarray:
        """`raw` as an int64 vector over the rows `index` in {-1, 0, 1} respecting the polarity.

        A pandas Series is aligned by its index (refused when the labels differ).
        """
        votes = self._aligned(raw, index)
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
                f"vectorized LF {self.name!r} returned {votes[i].item()!r} at row position {i}; "
                "an LF must return MATCH (1), NON_MATCH (0) or ABSTAIN (-1)",
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

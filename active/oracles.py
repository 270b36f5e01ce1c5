"""Oracles: whoever answers "is this pair a match?" (a gold column, a CSV file, or a person).

An oracle is asked one pair at a time, `oracle.ask(view) -> Answer`, where the `PairView` holds
everything it may show (the two records, why the pair was asked, where the session stands). It
knows nothing of stores or pools: the loop writes every answer to the label store, handles
undo, skip and quit, and never lets an oracle write. A plain callable `oracle(position)` that
returns 1 / 0 / None is accepted too (`as_oracle`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from blocking.answers import Answer
from blocking.io import read_answers
from blocking.pairs import side_columns


@dataclass(frozen=True)
class SessionProgress:
    """Where a labelling session stands: answers over all sessions, the budget, the balance."""

    n_answers: int = 0
    budget: int | None = None
    n_match: int = 0
    n_non_match: int = 0
    n_unsure: int = 0
    n_this_session: int = 0
    status: str = ""
    """What the machine is doing now, e.g. "training the matcher on 120 labels"."""
    f1_estimate: tuple[float, float, float] | None = None
    """(estimate, low, high) of the current matcher's F1 on the pool, when known."""
    can_undo: bool = False
    learning_curve: tuple[tuple[int, float], ...] = ()
    """(number of labels, F1 estimate) after each batch so far, oldest first."""


@dataclass(frozen=True)
class PairView:
    """One question for an oracle: the pair's records side by side and its context."""

    position: int
    key: str
    attributes: tuple[str, ...]
    left: dict[str, Any]
    right: dict[str, Any]
    reason: str = ""
    score: float | None = None
    progress: SessionProgress = field(default_factory=SessionProgress)

    @classmethod
    def from_row(cls, row: pd.Series, position: int, key: str, attributes: Sequence[str],
                 **context: Any) -> PairView:
        """The view of one row of a pair table (`left_<attr>` / `right_<attr>` columns)."""
        sides = [side_columns(a) for a in attributes]
        return cls(position=position, key=key, attributes=tuple(attributes),
                   left={a: row.get(lc) for a, (lc, _) in zip(attributes, sides, strict=True)},
                   right={a: row.get(rc) for a, (_, rc) in zip(attributes, sides, strict=True)},
                   **context)


@runtime_checkable
class Oracle(Protocol):
    """Anything that answers a question about one pair."""

    def ask(self, view: PairView) -> Answer | int | None: ...


class CallableOracle:
    """Adapts a plain function `f(position) -> 1 | 0 | None` to the oracle protocol."""

    def __init__(self, function: Callable[[int], Any]) -> None:
        self.function = function

    def ask(self, view: PairView) -> Answer | int | None:
        return self.function(view.position)


def as_oracle(oracle: Oracle | Callable[[int], Any]) -> Oracle:
    """An object with `ask(view)`, or a callable of the pool position wrapped as one."""
    if isinstance(oracle, Oracle):
        return oracle
    if callable(oracle):
        return CallableOracle(oracle)
    raise TypeError(
        f"oracle: expected an object with ask(view) or a function of the pair position, got "
        f"{type(oracle).__name__}"
    )


class SimulatedOracle:
    """Answers from known labels (`labels[i]`, NaN = unsure): the benchmark's hidden gold."""

    def __init__(self, labels: Sequence | np.ndarray | pd.Series) -> None:
        values = np.asarray(labels, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"SimulatedOracle: labels must be 1-D, got shape {values.shape}")
        bad = ~np.isnan(values) & ~np.isin(values, (0.0, 1.0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"SimulatedOracle: labels must be 0, 1 or NaN; position {i} holds {values[i]:g}"
            )
        self.labels = values
        self.n_queries = 0

    def __call__(self, i: int) -> int | None:
        if not 0 <= int(i) < len(self.labels):
            raise IndexError(f"SimulatedOracle: position {i} outside the {len(self.labels)} labels")
        self.n_queries += 1
        value = self.labels[int(i)]
        return None if np.isnan(value) else int(value)

    def ask(self, view: PairView) -> int | None:
        return self(view.position)


_UNSURE = {"unsure", "?", "u"}
_TRUE = {"1", "1.0", "match", "m", "yes", "y", "true"}
_FALSE = {"0", "0.0", "non-match", "nonmatch", "n", "no", "false"}


class FileOracle:
    """Answers from a CSV of labels: columns ``label`` plus ``ltable_id``/``rtable_id``, ``key``
    or ``id``. A pair missing from the file is skipped (asked again next time, never stored)
    and kept in `unanswered`; `unknown_keys(keys)` lists the file's pairs that are not in a
    pool, to check it up front."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        table = read_answers(self.path, "FileOracle: label file")
        self.answers: dict[str, Answer] = {}
        self.unanswered: set[str] = set()
        for key, raw, line in table.itertuples(index=False):
            text = raw.lower()
            if text in _TRUE:
                self.answers[key] = Answer.MATCH
            elif text in _FALSE:
                self.answers[key] = Answer.NON_MATCH
            elif text in _UNSURE:
                self.answers[key] = Answer.UNSURE
            else:
                raise ValueError(
                    f"FileOracle: {str(self.path)!r} {line}: label {raw!r} for pair "
                    f"{key!r} is not 0/1, match/non-match or unsure"
                )

    def unknown_keys(self, keys: Sequence[str] | np.ndarray) -> list[str]:
        """The file's pair keys that are not among `keys` (ids mistyped or of other tables)."""
        return sorted(set(self.answers).difference(map(str, keys)))

    def ask(self, view: PairView) -> Answer:
        answer = self.answers.get(str(view.key), Answer.SKIP)
        if answer is Answer.SKIP:
            self.unanswered.add(str(view.key))
        return answer

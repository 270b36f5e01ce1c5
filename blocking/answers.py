"""The expert's answer about a pair, and the one validator every oracle's reply goes through."""

from __future__ import annotations

import enum
import numbers
from typing import Any


class Answer(enum.Enum):
    """What a person (or any oracle) can say about a pair: a label, or a request to the session."""

    MATCH = "match"
    NON_MATCH = "non-match"
    UNSURE = "unsure"
    SKIP = "skip"
    UNDO = "undo"
    QUIT = "quit"

    @property
    def label(self) -> int | None:
        """1 for MATCH, 0 for NON_MATCH, None for every other answer."""
        return {Answer.MATCH: 1, Answer.NON_MATCH: 0}.get(self)

    @property
    def is_stored(self) -> bool:
        """Whether the answer is written to the label store (labels and 'unsure')."""
        return self in (Answer.MATCH, Answer.NON_MATCH, Answer.UNSURE)


def to_answer(value: Any, where: str = "oracle") -> Answer:
    """Turn an oracle's reply into an Answer; 1/0 (also True/False, 1.0/0.0) are labels, None is
    unsure, Answer members pass through. Anything else is a ValueError naming `where`."""
    if isinstance(value, Answer):
        return value
    if value is None:
        return Answer.UNSURE
    if isinstance(value, numbers.Number) and not isinstance(value, complex) and value in (0, 1):
        return Answer.MATCH if value == 1 else Answer.NON_MATCH
    raise ValueError(
        f"{where}: answered {value!r}; an answer must be 1 (match), 0 (non-match), None (unsure) "
        "or an Answer (MATCH, NON_MATCH, UNSURE, SKIP, UNDO, QUIT)"
    )

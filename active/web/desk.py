"""The hand-over between the labelling loop's thread and the web page: one open question at a time.

The loop publishes a question and blocks until an answer for exactly that question arrives; the
page may only answer the question it was shown (a random token names it), so a stale form, a
second tab or a replayed post is refused instead of labelling the wrong pair.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass

from active.oracles import PairView
from blocking.answers import Answer


@dataclass(frozen=True)
class Question:
    """A pair shown to the page, named by a token that is unguessable and never reused."""

    token: str
    view: PairView


@dataclass(frozen=True)
class DeskState:
    """What the page shows now: the open question (or None while the loop works), the last view
    seen (for the counts between questions) and whether the session has ended."""

    question: Question | None
    last_view: PairView | None
    closed: bool


class Desk:
    """Thread-safe exchange of one question and its answer between the loop and the server."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._question: Question | None = None
        self._last_view: PairView | None = None
        self._answer: Answer | None = None
        self._closed = False

    def state(self) -> DeskState:
        """A consistent snapshot of the open question, the last view and the closed flag."""
        with self._cond:
            return DeskState(self._question, self._last_view, self._closed)

    def publish(self, view: PairView) -> Question:
        """Open a question about `view` (the loop's side), reopening a closed desk; any
        unanswered question is withdrawn."""
        with self._cond:
            question = Question(secrets.token_urlsafe(12), view)
            self._question, self._last_view, self._answer = question, view, None
            self._closed = False
            self._cond.notify_all()
            return question

    def wait_answer(self, question: Question, poll_s: float = 0.25) -> Answer:
        """Block until the page answers `question`; QUIT if the desk is closed first. A QUIT
        closes the desk, so the page says the session has ended.

        Waits in short slices so that Ctrl-C in the loop's thread is seen promptly."""
        with self._cond:
            while self._answer is None and not self._closed:
                self._cond.wait(poll_s)
            answer = self._answer if self._answer is not None else Answer.QUIT
            if self._question is question:
                self._question, self._answer = None, None
            if answer is Answer.QUIT:
                self._closed = True
            self._cond.notify_all()
            return answer

    def submit(self, token: str, answer: Answer) -> bool:
        """Answer the open question if `token` names it; False (nothing taken) otherwise."""
        with self._cond:
            question = self._question
            if self._closed or question is None or self._answer is not None:
                return False
            if not secrets.compare_digest(question.token, token):
                return False
            self._answer = answer
            self._cond.notify_all()
            return True

    def wait_next(self, after: str, timeout_s: float) -> DeskState:
        """The state once a question other than `after` is open or the desk closes, or after
        `timeout_s` seconds, whichever comes first (the page's long poll)."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._closed or (self._question is not None
                                         and self._question.token != after),
                timeout_s,
            )
            return DeskState(self._question, self._last_view, self._closed)

    def close(self) -> None:
        """End the session (until the next `publish`): a blocked `wait_answer` returns QUIT,
        every poll returns."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

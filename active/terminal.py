"""The terminal labeller: a person answers at the keyboard, one pair at a time."""

from __future__ import annotations

import sys
from collections.abc import Callable

import numpy as np

from active.oracles import PairView
from blocking.answers import Answer

KEYS = {"m": Answer.MATCH, "n": Answer.NON_MATCH, "u": Answer.UNSURE, "s": Answer.SKIP,
        "b": Answer.UNDO, "q": Answer.QUIT}
HELP = "m match · n non-match · u unsure · s skip · b undo · q quit"


def read_key(prompt: str) -> str:
    """One keystroke from a terminal (no Enter needed), or one line from a pipe."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        return "q" if line == "" else line.strip()[:1]
    import termios
    import tty

    fd = sys.stdin.fileno()
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        key = sys.stdin.read(1)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
    sys.stdout.write(key + "\n")
    return key


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float | np.floating) and np.isnan(value))


def _fmt(value: object) -> str:
    """A cell value as text; whole floats (ints upcast by a missing value) lose their '.0'."""
    if _missing(value):
        return ""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


class InteractiveOracle:
    """A person at the terminal: both records side by side, attribute by attribute, with the
    differing tokens highlighted, why the pair was asked and where the session stands.

    The model's score is hidden unless ``show_score=True`` (to avoid anchoring the expert).
    """

    def __init__(self, *, show_score: bool = False,
                 input_fn: Callable[[str], str] | None = None, console=None) -> None:
        from rich.console import Console

        self.show_score = show_score
        self.input_fn = input_fn or read_key
        self.console = console or Console()

    def _cell(self, value: object, other: object):
        from rich.text import Text

        if _missing(value):
            return Text("(missing)", style="dim italic")
        text, other_text = _fmt(value), _fmt(other)
        if text == other_text:
            return Text(text, style="green")
        other_tokens = set(other_text.lower().split())
        out = Text()
        for n, token in enumerate(text.split()):
            if n:
                out.append(" ")
            out.append(token, style=None if token.lower() in other_tokens else "bold yellow")
        return out

    def render(self, view: PairView):
        """The rich table that shows one pair (exposed for tests and screenshots)."""
        from rich.table import Table

        p = view.progress
        of = f" of {p.budget}" if p.budget is not None else ""
        caption = (f"{p.n_answers}{of} answered · match {p.n_match} · non-match "
                   f"{p.n_non_match} · unsure {p.n_unsure}")
        if p.f1_estimate is not None:
            est, low, high = p.f1_estimate
            caption += f" · F1 ≈ {est:.2f} ({low:.2f}-{high:.2f})"
        title = f"pair {view.key}"
        if self.show_score and view.score is not None:
            title += f" · model P(match) = {view.score:.2f}"
        table = Table(title=title, caption=caption, show_lines=True, expand=True)
        table.add_column("attribute", style="bold cyan", no_wrap=True)
        table.add_column("left record", ratio=1, overflow="fold")
        table.add_column("right record", ratio=1, overflow="fold")
        for attr in view.attributes:
            left, right = view.left.get(attr), view.right.get(attr)
            table.add_row(attr, self._cell(left, right), self._cell(right, left))
        return table

    def ask(self, view: PairView) -> Answer:
        from rich.markup import escape

        self.console.print(self.render(view))
        if view.reason:
            self.console.print(f"[dim]asked because: {escape(view.reason)}[/dim]")
        if view.progress.status:
            self.console.print(f"[dim]{escape(view.progress.status)}[/dim]")
        while True:
            key = self.input_fn(HELP + " > ").strip().lower()[:1]
            if key in KEYS:
                return KEYS[key]
            self.console.print(f"unknown key {escape(repr(key))}; keys: {HELP}", markup=False)

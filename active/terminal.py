"""The terminal labeller: a person answers at the keyboard, one pair at a time.

One screen per question, sized to the terminal (readable from 80x24 up): the pair id and where
the session stands on top, the two records side by side with differing tokens highlighted and
long values cut to fit, why the pair was asked, what the machine is doing, and the keys.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from active.oracles import PairView
from active.pair_text import answered_text, balance_text, f1_text, is_missing, token_diff
from blocking.answers import Answer

KEYS = {"m": Answer.MATCH, "n": Answer.NON_MATCH, "u": Answer.UNSURE, "s": Answer.SKIP,
        "b": Answer.UNDO, "q": Answer.QUIT}
MIN_WIDTH = 60
"""Narrower terminals get a message and a one-column listing instead of the table."""
_PROMPT = "answer (m/n/u/s/b/q): "
# Lines the screen needs besides the record rows: 2 header lines, the table's top border, header,
# header rule and bottom border, 2 for the reason, 1 status, 1 keys, 1 prompt.
_FIXED_LINES = 12
# Table borders and cell padding around the three columns.
_TABLE_CHROME = 10


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


def key_line() -> Text:
    """'[m] match  [n] non-match ...' built as plain Text, so no bracket is read as markup."""
    line = Text()
    for n, (key, answer) in enumerate(KEYS.items()):
        if n:
            line.append("  ")
        line.append(f"[{key}]", style="bold magenta")
        line.append(f" {answer.value}")
    return line


def _clip(text: Text, console: Console, width: int, max_lines: int) -> Text:
    """`text` wrapped to `width` and cut to `max_lines` lines, the cut marked with '…'."""
    lines = text.wrap(console, max(width, 1), overflow="fold")
    if len(lines) <= max_lines:
        return Text("\n").join(lines)
    kept = list(lines[:max_lines])
    last = kept[-1]
    last.truncate(max(width - 1, 0))
    last.append("…", style="dim")
    return Text("\n").join(kept)


def _cell(value: object, other: object) -> Text:
    """One record's value, tokens missing from the other record's value highlighted."""
    if is_missing(value):
        return Text("(missing)", style="dim italic")
    tokens = token_diff(value, other)
    if not any(differs for _, differs in tokens):
        return Text(" ".join(token for token, _ in tokens), style="green")
    out = Text()
    for n, (token, differs) in enumerate(tokens):
        if n:
            out.append(" ")
        out.append(token, style="bold yellow" if differs else None)
    return out


class InteractiveOracle:
    """A person at the terminal: both records side by side, attribute by attribute, with the
    differing tokens highlighted, why the pair was asked and where the session stands.

    The model's score is hidden unless ``show_score=True`` (to avoid anchoring the expert).
    """

    def __init__(self, *, show_score: bool = False,
                 input_fn: Callable[[str], str] | None = None,
                 console: Console | None = None) -> None:
        self.show_score = show_score
        self.input_fn = input_fn or read_key
        self.console = console or Console()

    def _header(self, view: PairView, width: int) -> Group:
        p = view.progress
        title = Text(f"pair {view.key}", style="bold")
        if self.show_score and view.score is not None:
            title.append(f" · model P(match) {view.score:.2f}", style="dim")
        top = Table.grid(expand=True)
        top.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        top.add_column(no_wrap=True, justify="right")
        top.add_row(title, Text(answered_text(p), style="bold"))
        second = Text(balance_text(p))
        if p.f1_estimate is not None:
            second.append(" · " + f1_text(p), style="cyan")
        second.truncate(width, overflow="ellipsis")
        return Group(top, second)

    def _table(self, view: PairView, width: int, height: int) -> Table:
        n_attrs = max(len(view.attributes), 1)
        attr_width = min(max((len(a) for a in view.attributes), default=9), max(12, width // 5))
        value_width = max((width - attr_width - _TABLE_CHROME) // 2, 8)
        rows = height - _FIXED_LINES
        show_lines = (rows - (n_attrs - 1)) // n_attrs >= 2
        per_cell = max((rows - (n_attrs - 1) * show_lines) // n_attrs, 1)
        table = Table(show_lines=show_lines, expand=True, pad_edge=True)
        table.add_column("attribute", style="bold cyan", no_wrap=True, overflow="ellipsis",
                         max_width=attr_width)
        table.add_column("left record", ratio=1, overflow="fold")
        table.add_column("right record", ratio=1, overflow="fold")
        for attr in view.attributes:
            left, right = view.left.get(attr), view.right.get(attr)
            table.add_row(attr, _clip(_cell(left, right), self.console, value_width, per_cell),
                          _clip(_cell(right, left), self.console, value_width, per_cell))
        return table

    def _footer(self, view: PairView, width: int, height: int) -> Group:
        parts = []
        if len(view.attributes) > height - _FIXED_LINES:
            # The records overflow the screen and push the header off: repeat it by the keys.
            again = Text(f"pair {view.key} · {answered_text(view.progress)}", style="bold")
            again.truncate(width, overflow="ellipsis")
            parts.append(again)
        if view.reason:
            reason = Text("asked because: ", style="bold") + Text(view.reason)
            parts.append(_clip(reason, self.console, width, 2))
        if view.progress.status:
            status = Text(view.progress.status, style="dim italic")
            status.truncate(width, overflow="ellipsis")
            parts.append(status)
        parts.append(key_line())
        return Group(*parts)

    def _narrow(self, view: PairView, width: int) -> Group:
        message = Text(f"This terminal is {width} columns wide; the labeller needs at least "
                       f"{MIN_WIDTH}. Widen the window to see the records side by side.",
                       style="bold red")
        lines = [message, Text(f"pair {view.key} · {answered_text(view.progress)}", style="bold")]
        for attr in view.attributes:
            lines.append(Text(attr, style="bold cyan"))
            for side, record in (("L", view.left), ("R", view.right)):
                value = _cell(record.get(attr), (view.right if side == "L" else view.left)
                              .get(attr))
                lines.append(_clip(Text(f" {side} ") + value, self.console, width, 2))
        lines.append(key_line())
        return Group(*lines)

    def render(self, view: PairView) -> Group:
        """Everything shown for one pair, sized to the console (exposed for tests)."""
        width, height = self.console.size
        if width < MIN_WIDTH:
            return self._narrow(view, width)
        return Group(self._header(view, width), self._table(view, width, height),
                     self._footer(view, width, height))

    def ask(self, view: PairView) -> Answer:
        if self.console.is_terminal:
            self.console.clear()
        self.console.print(self.render(view))
        while True:
            raw = self.input_fn(_PROMPT)
            key = raw.strip().lower()[:1]
            if key in KEYS:
                return KEYS[key]
            self.console.print(Text(f"unknown key {raw.strip()!r}; press one of:", style="red"))
            self.console.print(key_line())

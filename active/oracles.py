"""Oracles: whoever answers "is this pair a match?" (a gold column, a CSV file, or a person).

An oracle is any callable ``oracle(i) -> 0 | 1 | None`` where ``i`` is the pair's row position
in the pool and None means unsure. Oracles that need the pool (its records, its pair keys, the
label store, the model's scores) get them through an optional ``bind(...)`` call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from active.store import LabelStore
from blocking.pairs import pair_keys


class OracleQuit(Exception):  # noqa: N818  (a control-flow signal, not an error)
    """Raised by an interactive oracle when the user asks to stop labelling."""


def validate_answer(answer: object, position: int, key: str | None = None) -> int | None:
    """Return the answer as 0, 1 or None, or raise a ValueError naming the pair."""
    if answer is None:
        return None
    if isinstance(answer, float | np.floating) and np.isnan(answer):
        return None
    if isinstance(answer, int | np.integer | float | np.floating) and not isinstance(
        answer, bool | np.bool_
    ) and answer in (0, 1):
        return int(answer)
    where = f"position {position}" if key is None else f"pair {key!r} (pool position {position})"
    raise ValueError(
        f"oracle answered {answer!r} for {where}; an oracle must return 0 (non-match), "
        "1 (match) or None (unsure)"
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


_UNSURE = {"", "nan", "none", "null", "unsure", "?", "u"}
_TRUE = {"1", "1.0", "match", "m", "yes", "y", "true"}
_FALSE = {"0", "0.0", "non-match", "nonmatch", "n", "no", "false"}


class FileOracle:
    """Answers from a CSV of labels: columns ``label`` plus ``ltable_id``/``rtable_id``, ``key``,
    ``id`` or ``position``. Pairs missing from the file get None (unsure)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"FileOracle: label file {str(self.path)!r} does not exist")
        try:
            table = pd.read_csv(self.path, dtype=str, keep_default_na=False)
        except (UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise ValueError(f"FileOracle: cannot read {str(self.path)!r} as CSV: {exc}") from exc
        if "label" not in table.columns:
            raise ValueError(
                f"FileOracle: {str(self.path)!r} has no 'label' column (columns: "
                f"{list(table.columns)}); expected label plus ltable_id/rtable_id, key, id or "
                "position"
            )
        self.by_position = "position" in table.columns and not (
            {"ltable_id", "rtable_id"}.issubset(table.columns) or "key" in table.columns
        )
        if self.by_position:
            keys = table["position"]
        elif "key" in table.columns:
            keys = table["key"]
        else:
            missing = {"ltable_id", "rtable_id"}.difference(table.columns)
            if missing and "id" not in table.columns:
                raise ValueError(
                    f"FileOracle: {str(self.path)!r} needs ltable_id and rtable_id, key, id or "
                    f"position columns to identify pairs; it has {list(table.columns)}"
                )
            keys = pair_keys(table.drop(columns="label"))
        self.answers: dict[str, int | None] = {}
        for row, (key, raw) in enumerate(zip(keys, table["label"], strict=True)):
            text = str(raw).strip().lower()
            if text in _TRUE:
                self.answers[str(key)] = 1
            elif text in _FALSE:
                self.answers[str(key)] = 0
            elif text in _UNSURE:
                self.answers[str(key)] = None
            else:
                raise ValueError(
                    f"FileOracle: {str(self.path)!r} line {row + 2}: label {raw!r} for pair "
                    f"{key!r} is not 0/1 (or match/non-match, or empty for unsure)"
                )
        self.keys: np.ndarray | None = None

    def bind(self, pairs: pd.DataFrame | None = None, keys: np.ndarray | None = None,
             **_: object) -> FileOracle:
        """Attach the pool's pair keys so that positions can be looked up by key."""
        if keys is None and pairs is not None:
            keys = pair_keys(pairs)
        if keys is not None:
            self.keys = keys
        return self

    def __call__(self, i: int) -> int | None:
        if self.by_position:
            return self.answers.get(str(int(i)))
        if self.keys is None:
            raise RuntimeError(
                "FileOracle: the file identifies pairs by key; call oracle.bind(pairs) first "
                "(ActiveLoop does this for you)"
            )
        return self.answers.get(str(self.keys[int(i)]))


def _read_key(prompt: str) -> str:
    """One keystroke from a terminal (no Enter needed), or one line from a pipe."""
    sys.stdout.write(prompt)
    sys.stdout.flush()
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if line == "":
            return "q"
        return line.strip()[:1]
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


_KEYS = {"m": 1, "n": 0, "u": None}
_HELP = "[m] match  [n] non-match  [u] unsure  [s] skip  [b] undo  [q] quit"


class InteractiveOracle:
    """A person at the terminal: both records side by side, attribute by attribute, with the
    differing tokens highlighted; keys m / n / u (unsure) / s (skip) / b (undo) / q (quit).

    Undo (``b``, repeatable) appends an undo record to the label store for the previous answer
    and asks that pair again. The model's score is hidden unless ``show_score=True`` (to avoid
    anchoring the expert on the model).
    """

    def __init__(self, pairs: pd.DataFrame | None = None, *, show_score: bool = False,
                 input_fn: Callable[[str], str] | None = None, console=None,
                 store: LabelStore | None = None) -> None:
        from rich.console import Console

        self.show_score = show_score
        self.input_fn = input_fn or _read_key
        self.console = console or Console()
        self.pairs: pd.DataFrame | None = None
        self.keys: np.ndarray | None = None
        self.store = store
        self.scores: np.ndarray | None = None
        self.counts = {"match": 0, "non-match": 0, "unsure": 0, "skipped": 0, "undone": 0}
        self.answered: list[int] = []
        self.last_skipped = False
        if pairs is not None:
            self.bind(pairs)

    def bind(self, pairs: pd.DataFrame | None = None, keys: np.ndarray | None = None,
             store: LabelStore | None = None, scores: np.ndarray | None = None,
             **_: object) -> InteractiveOracle:
        """Attach the pool, its keys, the label store (for undo) and the current model scores."""
        from blocking.pairs import attribute_names

        if pairs is not None:
            self.attributes = attribute_names(pairs, where="InteractiveOracle pairs")
            self.pairs = pairs
            self.keys = pair_keys(pairs) if keys is None else keys
        if store is not None:
            self.store = store
        if scores is not None:
            self.scores = np.asarray(scores, dtype=float)
        return self

    # display ------------------------------------------------------------------------------

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

    def render(self, i: int):
        """The rich table that shows pair `i` (exposed for tests and screenshots)."""
        from rich.table import Table

        row = self.pairs.iloc[int(i)]
        c = self.counts
        caption = (f"match {c['match']} · non-match {c['non-match']} · unsure {c['unsure']} · "
                   f"skipped {c['skipped']} · undone {c['undone']}")
        title = f"pair {self.keys[int(i)]}"
        if self.show_score and self.scores is not None:
            title += f"  ·  model P(match) = {self.scores[int(i)]:.2f}"
        table = Table(title=title, caption=caption, show_lines=True, expand=True)
        table.add_column("attribute", style="bold cyan", no_wrap=True)
        table.add_column("left record", ratio=1)
        table.add_column("right record", ratio=1)
        for attr in self.attributes:
            left, right = row.get("left_" + attr), row.get("right_" + attr)
            table.add_row(attr, self._cell(left, right), self._cell(right, left))
        return table

    # asking -------------------------------------------------------------------------------

    def _ask(self, i: int) -> str:
        self.console.print(self.render(i))
        while True:
            key = self.input_fn(_HELP + " > ").strip().lower()[:1]
            if key in ("m", "n", "u", "s", "b", "q"):
                return key
            self.console.print(f"[red]unknown key {key!r}[/red]; {_HELP}")

    def _count(self, label: int | None, sign: int) -> None:
        name = {1: "match", 0: "non-match", None: "unsure"}[label]
        self.counts[name] += sign

    def __call__(self, i: int) -> int | None:
        if self.pairs is None:
            raise RuntimeError("InteractiveOracle: no pairs to show; pass pairs= or call bind()")
        if self.store is None:
            self.store = LabelStore(":memory:")
        todo = [int(i)]
        while True:
            j = todo[-1]
            key = self._ask(j)
            if key == "q":
                raise OracleQuit(f"labelling stopped by the user at pair {self.keys[j]}")
            if key == "b":
                if not self.answered:
                    self.console.print("[red]nothing to undo in this session[/red]")
                    continue
                prev = self.answered.pop()
                previous = self.store.labels().get(str(self.keys[prev]), None)
                if self.store.undo(str(self.keys[prev])):
                    self._count(previous, -1)
                self.counts["undone"] += 1
                todo.append(prev)
                continue
            todo.pop()
            if key == "s":
                self.counts["skipped"] += 1
                label = None
            else:
                label = _KEYS[key]
                self._count(label, +1)
            if todo:  # an undone pair answered again: store the new answer ourselves
                if key != "s":
                    self.store.add(str(self.keys[j]), label, selector="relabel", position=j)
                    self.answered.append(j)
                continue
            self.last_skipped = key == "s"
            if key != "s":
                self.answered.append(j)
            return label

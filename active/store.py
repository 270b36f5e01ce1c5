"""The persistent label store: an append-only SQLite log of every expert answer.

Every answer is committed (rollback journal, ``synchronous=FULL``) before the caller gets control
back, so a crash at any moment loses no acknowledged label. Nothing is ever updated or
deleted: relabelling appends a new row (the latest row wins when reading), and undo appends an
``undo`` row that cancels the latest not-yet-undone answer for that pair.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

APPLICATION_ID = 0x52575354  # "RWST": marks a file as a riskweasul label store
SCHEMA_VERSION = 3
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    pair_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('label', 'undo')),
    label INTEGER CHECK (label IS NULL OR label IN (0, 1)),
    stream TEXT NOT NULL,
    time REAL NOT NULL,
    selector TEXT,
    iteration INTEGER,
    position INTEGER,
    risk REAL,
    matcher_proba REAL,
    pair_hash TEXT,
    asked_at REAL,
    inclusion_prob REAL,
    audit_frame INTEGER
);
CREATE INDEX IF NOT EXISTS events_key ON events (stream, pair_key, seq);
"""
_COLUMNS = ["seq", "pair_key", "kind", "label", "stream", "time", "selector", "iteration",
            "position", "risk", "matcher_proba", "pair_hash", "asked_at", "inclusion_prob",
            "audit_frame"]
_ADDED_IN_2 = ("pair_hash TEXT", "asked_at REAL", "inclusion_prob REAL")
_ADDED_IN_3 = ("audit_frame INTEGER",)


class LabelStoreError(ValueError):
    """The file is not a usable label store (corrupted, foreign, or a newer schema)."""


@dataclass(frozen=True)
class LabelRecord:
    """One expert answer with the context in which it was asked."""

    key: str
    label: int | None
    selector: str | None = None
    iteration: int | None = None
    position: int | None = None
    risk: float | None = None
    """The risk model's risk of the pair when it was chosen (not P(match))."""
    matcher_proba: float | None = None
    """The in-loop matcher's P(match) of the pair when it was chosen."""
    pair_hash: str | None = None
    """A fingerprint of the two records, so a store is never applied to other tables."""
    asked_at: float | None = None
    """When the question was shown (Unix time); the answer time is the row's `time`."""
    inclusion_prob: float | None = None
    """The probability that the selector picked this pair, where it is known."""
    audit_frame: int | None = None
    """For a pair drawn by the loop's audit: how many answers stood when the audit was drawn
    (the pairs it was drawn from are the others)."""


def _check_label(key: str, label: object) -> int | None:
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return None
    if isinstance(label, bool | np.bool_) or not isinstance(label, int | np.integer):
        raise ValueError(
            f"label store: label for pair {key!r} must be 0, 1 or None (unsure), got {label!r}"
        )
    if int(label) not in (0, 1):
        raise ValueError(
            f"label store: label for pair {key!r} must be 0, 1 or None (unsure), got {label!r}"
        )
    return int(label)


def _opt_float(x: float | None) -> float | None:
    return None if x is None else float(x)


def _opt_int(x: int | None) -> int | None:
    return None if x is None else int(x)


class LabelStore:
    """An append-only, crash-safe log of expert labels in an SQLite file (":memory:" for none).

    ``stream`` separates the training labels of the active loop ("train") from, e.g., the
    OASIS evaluation answers ("evaluate") kept in the same file.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        if self.path != ":memory:":
            self._check_file(Path(self.path))
        try:
            # one connection, used from whichever thread runs the loop; the lock serializes it
            self._conn = sqlite3.connect(self.path, isolation_level=None,
                                         check_same_thread=False)
            self._open()
        except sqlite3.DatabaseError as exc:
            if hasattr(self, "_conn"):
                self._conn.close()
            raise LabelStoreError(
                f"label store {self.path!r} is corrupted or not a riskweasul label store "
                f"({exc}); the file was left untouched. Point to another file, or restore it "
                "from a backup."
            ) from exc

    @staticmethod
    def _check_file(path: Path) -> None:
        if path.is_dir():
            raise LabelStoreError(f"label store {str(path)!r} is a directory; give a file path")
        if not path.parent.exists():
            raise FileNotFoundError(
                f"label store {str(path)!r}: folder {str(path.parent)!r} does not exist"
            )
        if path.exists() and path.stat().st_size == 0:
            raise LabelStoreError(
                f"label store {str(path)!r} is an empty file, not a label store (a store copied "
                "without its contents?); delete it to start a new store, or choose another path."
            )
        if path.exists():
            with path.open("rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
            if head != _SQLITE_MAGIC:
                raise LabelStoreError(
                    f"label store {str(path)!r} is not an SQLite database (corrupted or a "
                    "different kind of file); it was left untouched. Choose another path."
                )

    def _open(self) -> None:
        conn = self._conn
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id != APPLICATION_ID and tables:
            raise LabelStoreError(
                f"label store {self.path!r} is an SQLite database of another application "
                f"(tables {sorted(tables)[:5]}); it was left untouched. Choose another path."
            )
        if app_id == APPLICATION_ID:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise LabelStoreError(
                    f"label store {self.path!r} has schema version {version}, newer than this "
                    f"riskweasul ({SCHEMA_VERSION}); upgrade riskweasul to read it."
                )
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
        self._check_writable()
        # a rollback journal, not WAL: every committed answer is in the one file, so a store
        # copied without a "-wal" companion still holds all its answers
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA synchronous=FULL")
        if app_id != APPLICATION_ID:
            conn.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA application_id={APPLICATION_ID}; "
                f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
        elif version < SCHEMA_VERSION:  # version 1 called risk 'score' and lacked 3 columns
            steps = "" if version >= 2 else (
                "ALTER TABLE events RENAME COLUMN score TO risk; "
                + "".join(f"ALTER TABLE events ADD COLUMN {c}; " for c in _ADDED_IN_2))
            steps += "".join(f"ALTER TABLE events ADD COLUMN {c}; " for c in _ADDED_IN_3)
            conn.executescript(
                f"BEGIN IMMEDIATE; {steps}PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )

    def _check_writable(self) -> None:
        """Take and release the write lock now, so a read-only or locked store is refused
        before any work is done rather than at the first answer."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            self._conn.close()
            raise LabelStoreError(
                f"label store {self.path!r} cannot be written ({exc}): another riskweasul "
                "process may be using it, or the file or its folder is read-only. Close the "
                "other session, fix the permissions, or choose another --store."
            ) from None

    # writing ------------------------------------------------------------------------------

    def add(self, key: str, label: int | None, *, stream: str = "train", **context) -> None:
        """Append one answer (0, 1 or None = unsure) and commit it before returning."""
        self.add_many([LabelRecord(str(key), label, **context)], stream=stream)

    def add_many(self, records: Iterable[LabelRecord], *, stream: str = "train") -> None:
        """Append several answers in one committed transaction (all or none)."""
        now = time.time()
        rows = [
            (str(r.key), "label", _check_label(r.key, r.label), stream, now, r.selector,
             _opt_int(r.iteration), _opt_int(r.position), _opt_float(r.risk),
             _opt_float(r.matcher_proba), r.pair_hash, _opt_float(r.asked_at),
             _opt_float(r.inclusion_prob), _opt_int(r.audit_frame))
            for r in records
        ]
        self._write(rows)

    def undo(self, key: str, *, stream: str = "train") -> bool:
        """Cancel the latest standing answer for `key` by appending an undo record.

        Returns False (and writes nothing) when the pair has no standing answer.
        """
        if str(key) not in self._standing(stream, key=str(key)):
            return False
        blanks = [None] * (len(_COLUMNS) - 6)
        self._write([(str(key), "undo", None, stream, time.time(), *blanks)])
        return True

    def _write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        with self._transaction():
            self._conn.executemany(
                f"INSERT INTO events ({', '.join(_COLUMNS[1:])}) "
                f"VALUES ({', '.join('?' * (len(_COLUMNS) - 1))})",
                rows,
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # reading ------------------------------------------------------------------------------

    def _standing(self, stream: str, key: str | None = None) -> dict[str, dict]:
        """Replay the log: per key, a stack of answers that undo records pop."""
        sql = "SELECT * FROM events WHERE stream = ?"
        args: list = [stream]
        if key is not None:
            sql += " AND pair_key = ?"
            args.append(key)
        stacks: dict[str, list[dict]] = {}
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY seq", args).fetchall()
        for row in rows:
            rec = dict(zip(_COLUMNS, row, strict=True))
            stack = stacks.setdefault(rec["pair_key"], [])
            if rec["kind"] == "undo":
                if stack:
                    stack.pop()
            else:
                stack.append(rec)
        return {k: s[-1] for k, s in stacks.items() if s}

    def labels(self, stream: str = "train") -> dict[str, int | None]:
        """The standing answer per pair key (0, 1, or None for unsure), latest answer wins."""
        return {k: rec["label"] for k, rec in self._standing(stream).items()}

    def records(self, stream: str = "train") -> pd.DataFrame:
        """The standing answer per pair with its selection context, in the order answered."""
        standing = sorted(self._standing(stream).values(), key=lambda r: r["seq"])
        return pd.DataFrame(standing, columns=_COLUMNS)

    def history(self, stream: str | None = None) -> pd.DataFrame:
        """The whole log, undo records and relabels included, oldest first."""
        sql, args = "SELECT * FROM events", []
        if stream is not None:
            sql, args = sql + " WHERE stream = ?", [stream]
        with self._lock:
            return pd.read_sql_query(sql + " ORDER BY seq", self._conn, params=args)

    def __len__(self) -> int:
        return len(self._standing("train"))

    def __contains__(self, key: object) -> bool:
        return str(key) in self._standing("train", key=str(key))

    def close(self) -> None:
        """Close the database connection (every answer is already committed)."""
        self._conn.close()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LabelStore({self.path!r}, {len(self)} labels)"


def as_store(store: LabelStore | str | Path | None) -> LabelStore:
    """A LabelStore from a path, an existing store, or None (an in-memory store)."""
    if isinstance(store, LabelStore):
        return store
    if store is None:
        return LabelStore(":memory:")
    if isinstance(store, str | Path):
        return LabelStore(store)
    raise TypeError(f"store: expected a LabelStore or a file path, got {type(store).__name__}")


class AnswerLog:
    """The loop's answers in memory, in the order given, mirrored to the store it appends to.

    Read from the store once (a resumed run continues where it stopped, and undo reaches the
    answers of earlier sessions); afterwards the store is only written. Answers stored for
    pairs outside this pool are kept in the store and ignored here; answers stored about other
    records under the same keys (a store of other tables) are refused up front.
    """

    def __init__(self, store: LabelStore, keys: np.ndarray, hashes: np.ndarray | None = None,
                 stream: str = "train") -> None:
        self.store, self.keys, self.hashes, self.stream = store, keys, hashes, stream
        index = {str(k): i for i, k in enumerate(keys)}
        records = store.records(stream)
        inside = records["pair_key"].map(index)
        self.n_foreign = int(inside.isna().sum())
        records, inside = records[inside.notna()], inside.dropna().astype(np.int64)
        if hashes is not None and len(records):
            stored = records["pair_hash"].to_numpy(dtype=object)
            differs = np.array([h is not None and h != hashes[i]
                                for h, i in zip(stored, inside, strict=True)], dtype=bool)
            if differs.any():
                example = records["pair_key"].to_numpy()[differs][0]
                raise LabelStoreError(
                    f"label store {store.path!r}: {int(differs.sum())} stored answers are about "
                    f"other records than this pool's under the same ids (e.g. pair {example!r}): "
                    "the store belongs to other tables. Choose another store for these tables."
                )
        self.order: list[int] = inside.tolist()
        self.labels: dict[int, int | None] = {
            int(i): (None if pd.isna(y) else int(y))
            for i, y in zip(inside, records["label"], strict=True)
        }
        drawn = records["audit_frame"].notna() & records["inclusion_prob"].notna()
        self.audit: dict[int, tuple[float, int]] = {
            int(i): (float(p), int(f)) for i, p, f in zip(
                inside[drawn], records["inclusion_prob"][drawn], records["audit_frame"][drawn],
                strict=True)
        }
        """Position -> (inclusion probability, answers standing at its draw) of audit pairs."""

    def add(self, position: int, label: int | None, **context) -> None:
        """Store one answer durably, then remember it."""
        pair_hash = None if self.hashes is None else self.hashes[position]
        self.store.add_many([LabelRecord(str(self.keys[position]), label, position=position,
                                         pair_hash=pair_hash, **context)], stream=self.stream)
        if position in self.labels:
            self.order.remove(position)
        self.order.append(position)
        self.labels[position] = label
        self.audit.pop(position, None)
        if context.get("audit_frame") is not None:
            self.audit[position] = (float(context["inclusion_prob"]), int(context["audit_frame"]))

    def undo(self) -> int | None:
        """Cancel the latest answer (of this session or an earlier one); its position or None."""
        if not self.order:
            return None
        position = self.order.pop()
        key = str(self.keys[position])
        self.store.undo(key, stream=self.stream)
        del self.labels[position]
        self.audit.pop(position, None)
        earlier = self.store._standing(self.stream, key=key)  # a relabelled pair's former answer
        if key in earlier:
            rec = earlier[key]
            self.labels[position] = rec["label"]
            self.order.insert(0, position)
            if rec["audit_frame"] is not None and rec["inclusion_prob"] is not None:
                self.audit[position] = (float(rec["inclusion_prob"]), int(rec["audit_frame"]))
        return position

    def expert_labels(self) -> dict[int, int]:
        """Position -> 0/1 for every answer that is not 'unsure'."""
        return {i: y for i, y in self.labels.items() if y is not None}

    def counts(self) -> tuple[int, int, int]:
        """(matches, non-matches, unsure) among the standing answers."""
        values = list(self.labels.values())
        return values.count(1), values.count(0), values.count(None)

    def __len__(self) -> int:
        return len(self.labels)

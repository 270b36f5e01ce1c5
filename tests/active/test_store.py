"""The label store: append-only log, latest answer wins, undo, and refusal of foreign files."""

import os
import sqlite3

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from active.store import AnswerLog, LabelRecord, LabelStore, LabelStoreError
from blocking.pairs import pair_keys


def test_labels_survive_reopen_and_latest_answer_wins(tmp_path):
    path = tmp_path / "labels.sqlite"
    with LabelStore(path) as store:
        store.add("a|1", 1, selector="hybrid", iteration=0, position=3, risk=0.2,
                  matcher_proba=0.7)
        store.add("b|2", None)
        store.add("a|1", 0, selector="relabel")
    with LabelStore(path) as store:
        assert store.labels() == {"a|1": 0, "b|2": None}
        history = store.history()
        assert list(history["label"].iloc[:3].fillna(-1)) == [1, -1, 0]  # relabel kept
        first = history.iloc[0]
        assert (first["selector"], first["iteration"], first["position"]) == ("hybrid", 0, 3)
        assert first["matcher_proba"] == pytest.approx(0.7)


def test_undo_appends_and_steps_back_through_relabels():
    store = LabelStore()
    store.add("k", 1)
    store.add("k", 0)
    assert store.undo("k")
    assert store.labels() == {"k": 1}
    assert store.undo("k")
    assert store.labels() == {}
    assert not store.undo("k")  # nothing left: no record written
    assert list(store.history()["kind"]) == ["label", "label", "undo", "undo"]


def test_streams_are_separate():
    store = LabelStore()
    store.add("k", 1)
    store.add("k", 0, stream="evaluate")
    assert store.labels() == {"k": 1}
    assert store.labels("evaluate") == {"k": 0}


@pytest.mark.parametrize("bad", [2, -1, "1", True, 0.5])
def test_invalid_label_is_rejected_and_nothing_written(bad):
    store = LabelStore()
    with pytest.raises(ValueError, match="'k'"):
        store.add_many([LabelRecord("ok", 1), LabelRecord("k", bad)])
    assert store.labels() == {}


def test_foreign_and_corrupted_files_are_refused_untouched(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 10)
    before = junk.read_bytes()
    with pytest.raises(LabelStoreError, match="not an SQLite database"):
        LabelStore(junk)
    assert junk.read_bytes() == before

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    with pytest.raises(LabelStoreError, match="another application"):
        LabelStore(other)
    assert other.read_bytes() == before

    good = tmp_path / "good.sqlite"
    with LabelStore(good) as store:
        store.add("k", 1)
    raw = bytearray(good.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # smash the schema page
    good.write_bytes(bytes(raw))
    with pytest.raises(LabelStoreError, match="corrupted"):
        LabelStore(good)


def test_pair_keys_and_positions():
    pairs = pd.DataFrame({"ltable_id": [1, 1, 2], "rtable_id": [7, 8, 7]})
    keys = pair_keys(pairs)
    assert list(keys) == ["1|7", "1|8", "2|7"]
    with pytest.raises(ValueError, match="share a key"):
        pair_keys(pd.DataFrame({"ltable_id": [1, 1], "rtable_id": [7, 7]}))


events = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from([0, 1, None, "undo"])),
    max_size=30,
)


@settings(max_examples=40, deadline=None)
@given(events)
def test_store_round_trips_like_a_stack_per_key(sequence):
    store = LabelStore()
    expected: dict[str, list] = {}
    for key, action in sequence:
        if action == "undo":
            store.undo(key)
            if expected.get(key):
                expected[key].pop()
        else:
            store.add(key, action)
            expected.setdefault(key, []).append(action)
    assert store.labels() == {k: v[-1] for k, v in expected.items() if v}
    assert len(store.history()) >= len([e for e in sequence if e[1] != "undo"])
    assert np.all(np.diff(store.history()["seq"]) > 0)


def test_answer_log_reads_once_ignores_other_pairs_and_undoes_to_an_earlier_answer():
    store = LabelStore()
    store.add("9|9", 1)  # a pair outside the pool
    log = AnswerLog(store, np.array(["1|7", "1|8"], dtype=object))
    assert log.n_foreign == 1 and len(log) == 0
    log.add(0, 1)
    log.add(1, None)
    log.add(0, 0)  # relabel
    assert log.labels == {0: 0, 1: None} and log.order == [1, 0]
    assert log.undo() == 0 and log.labels[0] == 1  # the relabel undone: the first answer stands
    assert AnswerLog(store, np.array(["1|7", "1|8"], dtype=object)).labels == {0: 1, 1: None}


def test_empty_locked_and_read_only_stores_are_refused_up_front(tmp_path):
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(LabelStoreError, match="empty file"):
        LabelStore(empty)
    path = tmp_path / "labels.sqlite"
    LabelStore(path).add("a|1", 1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing
    with pytest.raises(LabelStoreError, match="cannot be written.*another riskweasul"):
        LabelStore(path)
    holder.execute("ROLLBACK")
    holder.close()
    if os.geteuid() != 0:  # root writes through read-only permissions
        os.chmod(path, 0o444)
        with pytest.raises(LabelStoreError, match="cannot be written"):
            LabelStore(path)


def test_a_version_1_store_is_upgraded_in_place_keeping_its_labels(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.executescript(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, pair_key TEXT NOT NULL, "
        "kind TEXT NOT NULL, label INTEGER, stream TEXT NOT NULL, time REAL NOT NULL, "
        "selector TEXT, iteration INTEGER, position INTEGER, score REAL, matcher_proba REAL);"
        "INSERT INTO events (pair_key, kind, label, stream, time) VALUES ('a|1', 'label', 1, "
        f"'train', 0); PRAGMA application_id={0x52575354}; PRAGMA user_version=1;"
    )
    conn.close()
    store = LabelStore(path)
    store.add("b|2", 0, asked_at=5.0)
    assert store.labels() == {"a|1": 1, "b|2": 0}
    assert store.records()["asked_at"].tolist()[-1] == 5.0


def test_a_copied_store_file_holds_every_answer(tmp_path):
    import shutil

    path = tmp_path / "labels.sqlite"
    store = LabelStore(path)
    store.add("a|1", 1)
    store.add("b|2", 0)
    shutil.copy(path, tmp_path / "copy.sqlite")  # the file alone, while the store is open
    assert LabelStore(tmp_path / "copy.sqlite").labels() == {"a|1": 1, "b|2": 0}
    assert not any(p.name.endswith("-wal") for p in tmp_path.iterdir())

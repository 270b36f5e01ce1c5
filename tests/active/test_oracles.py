"""Oracles: simulated, file and interactive (driven by injected keys), and answer validation."""

import io

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from active.oracles import (
    FileOracle,
    InteractiveOracle,
    OracleQuit,
    SimulatedOracle,
    validate_answer,
)
from active.store import LabelStore
from blocking.pairs import pair_keys


@pytest.fixture
def pairs():
    return pd.DataFrame({
        "ltable_id": [1, 2, 3, 4],
        "rtable_id": [10, 20, 30, 40],
        "left_name": ["acme corp", "foo", "bar inc", None],
        "right_name": ["acme corporation", "foo", "baz inc", "qux"],
        "left_city": ["berlin", "paris", "rome", "oslo"],
        "right_city": ["berlin", "lyon", "rome", "oslo"],
    })


def test_simulated_oracle_answers_and_validates():
    oracle = SimulatedOracle([1, 0, np.nan])
    assert [oracle(0), oracle(1), oracle(2)] == [1, 0, None]
    assert oracle.n_queries == 3
    with pytest.raises(ValueError, match="position 1 holds 2"):
        SimulatedOracle([0, 2])


@pytest.mark.parametrize("answer", ["yes", 2, 0.5, True, [1]])
def test_validate_answer_names_the_pair(answer):
    with pytest.raises(ValueError, match="'7|9'"):
        validate_answer(answer, 3, "7|9")
    assert validate_answer(np.int64(1), 0) == 1
    assert validate_answer(float("nan"), 0) is None


def test_file_oracle_by_key_and_by_position(tmp_path, pairs):
    by_key = tmp_path / "labels.csv"
    by_key.write_text("ltable_id,rtable_id,label\n1,10,1\n2,20,non-match\n3,30,\n")
    oracle = FileOracle(by_key).bind(pairs)
    assert [oracle(0), oracle(1), oracle(2), oracle(3)] == [1, 0, None, None]
    by_pos = tmp_path / "pos.csv"
    by_pos.write_text("position,label\n3,1\n")
    assert FileOracle(by_pos)(3) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("key,label\n1|10,maybe\n")
    with pytest.raises(ValueError, match="line 2.*'maybe'"):
        FileOracle(bad)
    with pytest.raises(FileNotFoundError):
        FileOracle(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="no 'label' column"):
        (tmp_path / "nolabel.csv").write_text("key,y\n1|10,1\n")
        FileOracle(tmp_path / "nolabel.csv")


def _interactive(pairs, keys, **kwargs):
    script = iter(keys)
    out = io.StringIO()
    store = LabelStore()
    oracle = InteractiveOracle(pairs, input_fn=lambda _prompt: next(script),
                               console=Console(file=out, width=100, color_system=None), **kwargs)
    oracle.bind(store=store)
    return oracle, store, out


def _ask_and_store(oracle, store, keys, i):
    answer = oracle(i)
    if not oracle.last_skipped:
        store.add(keys[i], answer)
    return answer


def test_interactive_oracle_keys_counts_and_multi_step_undo(pairs):
    keys = pair_keys(pairs)
    # pair 0: m; pair 1: n; pair 2: b (undo pair 1), b (undo pair 0), relabel 0 as n,
    # relabel 1 as m, then answer pair 2 with u; pair 3: x (unknown) then s (skip)
    oracle, store, out = _interactive(pairs, ["m", "n", "b", "b", "n", "m", "u", "x", "s"])
    assert _ask_and_store(oracle, store, keys, 0) == 1
    assert _ask_and_store(oracle, store, keys, 1) == 0
    assert _ask_and_store(oracle, store, keys, 2) is None
    assert _ask_and_store(oracle, store, keys, 3) is None and oracle.last_skipped
    assert store.labels() == {"1|10": 0, "2|20": 1, "3|30": None}
    assert "undo" in set(store.history()["kind"])
    assert oracle.counts == {"match": 1, "non-match": 1, "unsure": 1, "skipped": 1, "undone": 2}
    screen = out.getvalue()
    assert "acme corporation" in screen and "unknown key 'x'" in screen
    assert "P(match)" not in screen  # the model's score is hidden by default


def test_interactive_oracle_quit_and_score_flag(pairs):
    oracle, _, out = _interactive(pairs, ["q"], show_score=True)
    oracle.bind(scores=np.array([0.25, 0.5, 0.5, 0.5]))
    with pytest.raises(OracleQuit):
        oracle(0)
    assert "P(match) = 0.25" in out.getvalue()


def test_interactive_highlights_only_differing_tokens(pairs):
    oracle, _, _ = _interactive(pairs, [])
    cell = oracle._cell("acme corp", "acme corporation")
    styled = {cell.plain[s.start:s.end] for s in cell.spans if s.style}
    assert styled == {"corp"}
    assert oracle._cell("rome", "rome").style == "green"

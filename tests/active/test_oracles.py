"""Oracles only answer: simulated, file and plain callables; one validator for every answer."""

import numpy as np
import pandas as pd
import pytest

from active.oracles import FileOracle, PairView, SimulatedOracle, as_oracle
from blocking.answers import Answer, to_answer
from blocking.pairs import pair_keys


@pytest.fixture
def pairs():
    return pd.DataFrame({
        "ltable_id": [1, 2, 3, 4],
        "rtable_id": [10, 20, 30, 40],
        "left_name": ["acme corp", "foo", "bar inc", None],
        "right_name": ["acme corporation", "foo", "baz inc", "qux"],
    })


def views(pairs):
    keys = pair_keys(pairs)
    return [PairView.from_row(row, i, keys[i], ["name"]) for i, row in pairs.iterrows()]


def test_simulated_oracle_answers_and_validates(pairs):
    oracle = SimulatedOracle([1, 0, np.nan, 1])
    assert [oracle.ask(v) for v in views(pairs)] == [1, 0, None, 1]
    assert oracle.n_queries == 4
    with pytest.raises(ValueError, match="position 1 holds 2"):
        SimulatedOracle([0, 2])


@pytest.mark.parametrize("answer", ["yes", 2, 0.5, [1], 1j])
def test_one_validator_names_where_the_answer_came_from(answer):
    with pytest.raises(ValueError, match="pair '7|9'"):
        to_answer(answer, where="oracle, pair '7|9'")


def test_validator_reads_labels_unsure_and_requests():
    assert to_answer(np.int64(1)) is Answer.MATCH and to_answer(0.0) is Answer.NON_MATCH
    assert to_answer(True) is Answer.MATCH and to_answer(None) is Answer.UNSURE
    assert to_answer(Answer.UNDO) is Answer.UNDO
    assert [a.label for a in Answer] == [1, 0, None, None, None, None]
    assert {a for a in Answer if a.is_stored} == {Answer.MATCH, Answer.NON_MATCH, Answer.UNSURE}


def test_view_holds_both_records(pairs):
    view = views(pairs)[0]
    assert view.key == "1|10" and view.left == {"name": "acme corp"}
    assert view.right == {"name": "acme corporation"}


def test_a_plain_function_is_an_oracle(pairs):
    oracle = as_oracle(lambda i: i % 2)
    assert [oracle.ask(v) for v in views(pairs)] == [0, 1, 0, 1]
    with pytest.raises(TypeError, match="ask"):
        as_oracle(42)


def test_file_oracle_answers_by_key_and_skips_what_it_does_not_know(tmp_path, pairs):
    path = tmp_path / "labels.csv"
    path.write_text("ltable_id,rtable_id,label\n1,10,1\n2,20,non-match\n3,30,unsure\n9,9,0\n")
    oracle = FileOracle(path)
    assert [oracle.ask(v) for v in views(pairs)] == [
        Answer.MATCH, Answer.NON_MATCH, Answer.UNSURE, Answer.SKIP]
    assert oracle.unknown_keys(pair_keys(pairs)) == ["9|9"]
    assert oracle.unanswered == {views(pairs)[3].key}  # the pair it had to skip


def test_file_oracle_keeps_the_spelling_of_ids(tmp_path, pairs):
    path = tmp_path / "labels.csv"
    path.write_text("ltable_id,rtable_id,label\n1.0,10,1\n001,10,1\n")
    oracle = FileOracle(path)
    assert oracle.ask(views(pairs)[0]) is Answer.SKIP  # '1.0|10' and '001|10' are not '1|10'
    assert oracle.unknown_keys(pair_keys(pairs)) == ["001|10", "1.0|10"]


@pytest.mark.parametrize(
    "text, message",
    [("key,label\n1|10,maybe\n", "line 2.*'maybe'"),
     ("key,label\n1|10,\n", "line 2"),
     ("key,y\n1|10,1\n", "no 'label' column"),
     ("key,label\n1|10,1\n1|10,0\n", "more than once.*lines \\[2, 3\\]"),
     ("name,label\nx,1\n", "needs ltable_id and rtable_id")],
)
def test_file_oracle_refuses_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        FileOracle(path)


def test_file_oracle_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        FileOracle(tmp_path / "missing.csv")

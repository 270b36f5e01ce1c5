"""Property tests over random tables, ids, pairs files and LF outputs: every input gives either
the right result or a clear error (InputError / LFVoteError), never a silently wrong one."""

import csv
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from blocking import load_pairs, read_table
from blocking.validation import InputError
from labeling_functions import ABSTAIN, LFVoteError, apply_lfs, labeling_function

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ID_PARTS = list("0123456789.-_ab,;|\"' \t#") + ["ü", "東", "ق", "\n", "\r", "NA", "null"]
ID_TEXT = st.lists(st.sampled_from(ID_PARTS), min_size=1, max_size=6).map("".join)
NAMES = st.text(alphabet=st.sampled_from(list("abcXYZ ,;|\"'é東") + ["\n"]), max_size=8).map(
    lambda s: "n" + s  # a letter first: attribute values never read as numbers or NA
)


@st.composite
def tables(draw, flawed: bool = True):
    ids = draw(st.lists(ID_TEXT, min_size=1, max_size=12, unique=True))
    flaw = draw(st.sampled_from(["none", "none", "none", "empty", "repeat"])) if flawed else "none"
    if flaw == "empty":
        ids[draw(st.integers(0, len(ids) - 1))] = ""
    elif flaw == "repeat":
        ids.append(ids[0])
    names = draw(st.lists(NAMES, min_size=len(ids), max_size=len(ids)))
    return pd.DataFrame({"id": ids, "name": names})


def _write(folder: Path, table: pd.DataFrame, sep: str, name: str = "t.csv") -> Path:
    """The table as CSV written by Python's csv module (pandas' writer leaves a lone '\\r'
    unquoted, which every reader takes as a line break)."""
    path = folder / name
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, delimiter=sep)
        writer.writerow(table.columns)
        writer.writerows(table.itertuples(index=False))
    return path


@FAST
@given(table=tables(), sep=st.sampled_from([",", ";", "\t", "|"]))
def test_a_written_table_reads_back_exactly_or_is_refused(table, sep):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), table, sep)
        ids = table["id"]
        valid = (ids != "").all() and not ids.duplicated().any()
        try:
            back = read_table(path)
        except InputError as err:
            event("refused")
            assert not valid, f"refused a valid table: {err}"
            assert str(path) in str(err)
            return
        assert valid, "a table with empty or repeated ids was accepted"
        assert back["id"].tolist() == ids.tolist()  # every id keeps its spelling
        assert back["name"].tolist() == table["name"].tolist()


def _respell(value: str, how: int) -> str:
    """The id as written (0), with a leading zero (1), with '.0' (2) or a space (3)."""
    return [value, "0" + value, value + ".0", " " + value][how]


@FAST
@given(
    table=tables(flawed=False),
    picks=st.lists(
        st.tuples(st.integers(0, 11), st.integers(0, 11), st.sampled_from([0, 0, 0, 0, 1, 2, 3]))
    ),
)
def test_pair_ids_join_the_records_they_spell_or_are_refused(table, picks):
    ids = table["id"]
    assume(picks)
    n = len(table)
    rows = [(i % n, j % n, how) for i, j, how in picks]
    written = pd.DataFrame(
        {
            "ltable_id": [_respell(ids[i], how) for i, _, how in rows],
            "rtable_id": [ids[j] for _, j, _ in rows],
        }
    ).drop_duplicates(ignore_index=True)
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), written, ",", "pairs.csv")
        A = table.copy()
        try:
            pairs = load_pairs(path, A)
        except InputError as err:
            event("refused")
            left, right = written["ltable_id"], written["rtable_id"]
            # one table: a record paired with itself, or a pair in both orders, is refused too
            one_pair_twice = len({frozenset(p) for p in zip(left, right, strict=True)}) < len(
                written) or (left == right).any()
            assert not left.isin(ids).all() or (
                one_pair_twice and ("itself" in str(err) or "both orders" in str(err))
            ), f"refused valid pairs: {err}"
            return
        pd.testing.assert_frame_equal(A, table)
        by_id = dict(zip(ids, table["name"], strict=True))
        assert written["ltable_id"].isin(ids).all()
        assert pairs["ltable_id"].tolist() == written["ltable_id"].tolist()
        assert pairs["left_name"].tolist() == [by_id[i] for i in written["ltable_id"]]
        assert pairs["right_name"].tolist() == [by_id[i] for i in written["rtable_id"]]


VOTES = st.sampled_from([-1, 0, 1, -1.0, 1.0])
BAD_VOTES = st.sampled_from([2, -2, 0.5, np.nan])


@st.composite
def lf_outputs(draw):
    n = draw(st.integers(1, 15))
    length = n + draw(st.sampled_from([0, 0, 0, -1, 1]))
    values = draw(st.lists(VOTES, min_size=max(length, 0), max_size=max(length, 0)))
    if values and draw(st.integers(0, 4)) == 0:
        values[draw(st.integers(0, len(values) - 1))] = draw(BAD_VOTES)
    form = draw(st.sampled_from(["array", "list", "series", "permuted", "permuted", "shifted"]))
    order = draw(st.permutations(range(len(values))))
    return n, values, form, order


@FAST
@given(case=lf_outputs())
def test_lf_votes_land_on_their_rows_or_are_refused(case):
    n, values, form, order = case
    pairs = pd.DataFrame({"left_a": range(n), "right_a": range(n)}, index=np.arange(n) * 7 + 3)

    def output(df):
        if form == "array":
            return np.asarray(values, dtype=float)
        if form == "list":
            return list(values)
        if form == "series":
            return pd.Series(values, index=range(len(values)), dtype=float)
        labels = np.asarray(order) + (1000 if form == "shifted" else 0)
        return pd.Series(np.asarray(values, dtype=float)[order], index=labels)

    lf = labeling_function(name="random_votes", vectorized=True)(output)
    ok_values = all(v in (-1, 0, 1) for v in values)  # nan is not
    valid = len(values) == n and ok_values and form != "shifted"
    try:
        L = apply_lfs([lf], pairs, warn_abstaining=False)
    except LFVoteError as err:
        event("refused")
        assert "random_votes" in str(err)
        assert not valid, f"refused valid votes: {err}"
        return
    assert valid, f"accepted invalid votes {values} ({form})"
    np.testing.assert_array_equal(L[:, 0], np.asarray(values, dtype=np.int64))
    assert (L[:, 0] != ABSTAIN).sum() == sum(v != -1 for v in values)

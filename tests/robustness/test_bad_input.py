"""A corpus of bad input across the public API: every case gives a clear, specific error that
names the offending thing (column, file, line, LF, row, key), never a bare library traceback."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from blocking import (
    AttributeEquivalenceBlocker,
    SortedNeighbourhoodBlocker,
    TfidfKNNBlocker,
    join_pairs,
    make_dirty_records,
    read_table,
)
from labeling_functions import (
    ABSTAIN,
    MATCH,
    NON_MATCH,
    LFError,
    LFVoteError,
    apply_lfs,
    labeling_function,
    load_lfs,
    similarity_at_least,
    values_equal,
)


@pytest.fixture(scope="module")
def records():
    return make_dirty_records(n_entities=30, seed=2)[0]


@pytest.fixture(scope="module")
def pairs(records):
    cands = SortedNeighbourhoodBlocker("surname", window=3).block(records)
    return join_pairs(cands, records)


# ---- record tables and blocking -------------------------------------------------------------
def test_misspelled_block_column_is_named(records):
    with pytest.raises(ValueError, match=r"no column 'surnme' among .*check the spelling"):
        AttributeEquivalenceBlocker("surnme").block(records)


def test_misspelled_id_column_is_named(records):
    with pytest.raises(ValueError, match=r"no column 'record_id'"):
        SortedNeighbourhoodBlocker("surname", id_column="record_id").block(records)


def test_empty_table(records):
    with pytest.raises(ValueError, match="table A: the table is empty"):
        TfidfKNNBlocker("surname").block(records.iloc[:0])


def test_duplicate_ids_are_listed(records):
    dup = pd.concat([records, records.iloc[[3]]], ignore_index=True)
    with pytest.raises(ValueError, match=rf"1 duplicate ids, e.g. \['{records['id'].iloc[3]}'\]"):
        AttributeEquivalenceBlocker("surname").block(dup)


def test_missing_ids_give_their_positions(records):
    bad = records.copy()
    bad.loc[[4, 9], "id"] = np.nan
    with pytest.raises(ValueError, match=r"missing at row positions \[4, 9\]"):
        SortedNeighbourhoodBlocker("surname").block(bad)


def test_all_missing_block_column(records):
    bad = records.assign(surname=np.nan)
    with pytest.raises(ValueError, match=r"column\(s\) \['surname'\] hold no values"):
        AttributeEquivalenceBlocker("surname").block(bad)


def test_nan_values_block_without_error(records):
    holes = records.copy()
    holes.loc[::3, ["surname", "given_name"]] = np.nan
    cands = TfidfKNNBlocker(["given_name", "surname"], k=2).block(holes)
    assert not cands.duplicated().any()


def test_second_table_with_other_columns(records):
    other = records.rename(columns={"surname": "family_name"})
    cands = pd.DataFrame({"ltable_id": records["id"][:1], "rtable_id": records["id"][:1]})
    with pytest.raises(ValueError, match=r"only in A: \['surname'\], only in B: \['family_name'\]"):
        join_pairs(cands, records, other)


def test_non_utf8_csv_names_line_and_byte(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(b"id,name\n1,ann\n2,Zo\xe9\n")
    with pytest.raises(ValueError, match=r"line 3 holds bytes that are not valid utf-8.*\\xe9"):
        read_table(path)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="the file is empty"):
        read_table(tmp_path / "empty.csv")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_table(tmp_path / "nope.csv")


def test_read_table_suggests_the_id_column(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("ID,name\n1,ann\n")
    with pytest.raises(ValueError, match="'ID'"):
        read_table(path)


# ---- labeling functions ---------------------------------------------------------------------
@labeling_function(polarity=NON_MATCH)
def divides_by_zero(x):
    return NON_MATCH if 1 / 0 else ABSTAIN


@labeling_function(polarity=MATCH)
def says_yes(x):
    return "yes"


@labeling_function(polarity=MATCH)
def votes_against_its_polarity(x):
    return NON_MATCH


@labeling_function(polarity=MATCH)
def misspelled_attribute(x):
    return MATCH if x.left_surnme == x.right_surname else ABSTAIN


@labeling_function(polarity=MATCH, vectorized=True)
def too_few_votes(df):
    return np.full(len(df) - 1, ABSTAIN)


def test_lf_that_raises_names_lf_and_row(pairs):
    with pytest.raises(LFError, match=r"LF 'divides_by_zero' raised ZeroDivisionError on row 0"):
        apply_lfs([divides_by_zero], pairs)


def test_lf_that_raises_can_abstain_and_is_counted(pairs):
    good = values_equal("soc_sec_id", name="same_ssn")
    with pytest.warns(RuntimeWarning, match="divides_by_zero"):
        L, faults = apply_lfs(
            [good, divides_by_zero], pairs, fault_tolerant=True, return_faults=True
        )
    assert faults == {"same_ssn": 0, "divides_by_zero": len(pairs)}
    assert (L[:, 1] == ABSTAIN).all()


@pytest.mark.parametrize(
    ("lf", "message"),
    [
        (says_yes, r"LF 'says_yes' returned 'yes' on row 0; an LF must return MATCH"),
        (votes_against_its_polarity, r"one-sided LF 'votes_against_its_polarity'.*voted 0"),
        (too_few_votes, r"too_few_votes"),
    ],
)
def test_invalid_votes_always_raise(pairs, lf, message):
    with pytest.raises(LFVoteError, match=message):
        apply_lfs([lf], pairs, fault_tolerant=True)


def test_lf_reading_a_misspelled_column(pairs):
    with pytest.raises(LFError, match=r"misspelled_attribute.*left_surnme"):
        apply_lfs([misspelled_attribute], pairs)


def test_template_lf_on_a_missing_attribute(pairs):
    with pytest.raises(ValueError, match="surnme"):
        apply_lfs([similarity_at_least("surnme", 0.9)], pairs)


def test_nan_values_make_template_lfs_abstain(pairs):
    holes = pairs.copy()
    holes.loc[:, ["left_soc_sec_id"]] = np.nan
    L = apply_lfs([values_equal("soc_sec_id")], holes)
    assert (L == ABSTAIN).all()


def test_lf_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.py"):
        load_lfs(tmp_path / "nope.py")
    (tmp_path / "empty.py").write_text("rules = []\n")
    with pytest.raises(ValueError, match="defines no list named 'lfs'"):
        load_lfs(tmp_path / "empty.py")
    (tmp_path / "bad.py").write_text("lfs = [42]\n")
    with pytest.raises(ValueError, match=r"bad.py'?: entry 0 of 'lfs': expected a labeling"):
        load_lfs(tmp_path / "bad.py")


# ---- label model, matchers, oracles, evaluation ---------------------------------------------
def test_label_matrix_with_an_invalid_vote_names_row_and_column():
    from label_model import PenalizedLabelModel

    L = np.array([[0, 1, -1], [1, 2, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match=r"found 2 at row 1, LF column 1"):
        PenalizedLabelModel(seed=0).fit(L)


def test_expert_label_out_of_range_or_nonsense():
    from label_model import PenalizedLabelModel

    L = np.array([[0, 1, -1], [1, 1, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="row 7 is out of range"):
        PenalizedLabelModel(seed=0).fit(L, expert_labels={7: 1})
    with pytest.raises(ValueError, match="expert label for row 0 is 'yes'"):
        PenalizedLabelModel(seed=0).fit(L, expert_labels={0: "yes"})


def test_matcher_on_pairs_without_the_pair_layout(records):
    from matchers import SimilarityMatcher

    with pytest.raises(ValueError, match="no 'left_<attr>' / 'right_<attr>' columns"):
        SimilarityMatcher().fit(records, np.zeros(len(records)))


def test_matcher_with_nan_targets(pairs):
    from matchers import SimilarityMatcher

    y = np.zeros(len(pairs))
    y[2] = np.nan
    with pytest.raises(ValueError, match="y"):
        SimilarityMatcher().fit(pairs, y)


def test_simulated_oracle_rejects_nonsense_labels():
    from active import SimulatedOracle

    with pytest.raises(ValueError, match="position 1 holds 2"):
        SimulatedOracle([0, 2, 1])


def test_oasis_with_an_oracle_that_answers_nonsense():
    from evaluation import OASISSampler

    rng = np.random.default_rng(0)
    scores = rng.random(200)
    sampler = OASISSampler(scores > 0.5, scores, lambda i: "perhaps", seed=0)
    with pytest.raises(ValueError, match=r"pair \d+: answered 'perhaps'"):
        sampler.sample(5)


# ---- the label store: a corrupted file is refused and left untouched ------------------------
def _store_with_labels(path: Path):
    from active import LabelStore

    with LabelStore(path) as store:
        store.add("a|b", 1)
        store.add("c|d", 0)
        store.add("e|f", None)
    return path.read_bytes()


def test_garbage_label_store_is_refused_and_kept(tmp_path):
    from active.store import LabelStoreError

    path = tmp_path / "labels.sqlite"
    path.write_bytes(b"this is not a database\n" * 10)
    before = path.read_bytes()
    with pytest.raises(LabelStoreError, match="not an SQLite database.*left untouched"):
        from active import LabelStore

        LabelStore(path)
    assert path.read_bytes() == before


def test_damaged_label_store_is_refused_and_kept(tmp_path):
    from active import LabelStore
    from active.store import LabelStoreError

    path = tmp_path / "labels.sqlite"
    good = _store_with_labels(path)
    damaged = bytearray(good)
    damaged[100:4096] = b"\xff" * (4096 - 100)  # header page after the magic string
    path.write_bytes(bytes(damaged))
    with pytest.raises(LabelStoreError, match="labels.sqlite"):
        LabelStore(path)
    assert path.read_bytes() == bytes(damaged)


def test_foreign_sqlite_file_is_refused(tmp_path):
    import sqlite3

    from active import LabelStore
    from active.store import LabelStoreError

    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (name TEXT)")
    with pytest.raises(LabelStoreError, match=r"another application \(tables \['customers'\]\)"):
        LabelStore(path)


def test_store_in_a_missing_folder(tmp_path):
    from active import LabelStore

    with pytest.raises(FileNotFoundError, match="does not exist"):
        LabelStore(tmp_path / "no" / "labels.sqlite")

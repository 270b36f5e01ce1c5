"""Integer block codes shared by a union's members, multi-column keys, and the person blocker."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import blocking._arrays as arrays
from blocking import (
    AttributeEquivalenceBlocker,
    SortedNeighbourhoodBlocker,
    UnionBlocker,
    blocking_quality,
    large_person_blocker,
    make_dirty_records,
)
from blocking._arrays import column_text, combined_codes

PARTS = [None, "", "a", "A ", "ab", "b", "b c", "10", "9"]


def frame(rows):
    return pd.DataFrame(
        {"id": range(len(rows)), "x": [r[0] for r in rows], "y": [r[1] for r in rows]}
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.sampled_from(PARTS), st.sampled_from(PARTS)), min_size=1,
                     max_size=30))
def test_combined_codes_follow_the_joined_keys(rows):
    A = frame(rows)
    codes = combined_codes(A, None, ["x", "y"])
    x, y = column_text(A["x"]).tolist(), column_text(A["y"]).tolist()
    missing = np.array([a == "" or b == "" for a, b in zip(x, y, strict=True)])
    assert np.array_equal(codes < 0, missing)
    keys = [f"{a}\x1f{b}" for a, b in zip(x, y, strict=True)]
    for i, j in itertools.combinations(np.flatnonzero(~missing), 2):
        # equal keys share a code, and codes sort as the joined texts do
        assert (codes[i] == codes[j]) == (keys[i] == keys[j])
        assert (codes[i] < codes[j]) == (keys[i] < keys[j])


def test_linkage_codes_are_shared_by_both_tables():
    A = frame([("a", "b"), ("c", None)])
    B = frame([("A", "b "), ("c", "d")])
    codes = combined_codes(A, B, ["x", "y"])
    assert codes[0] == codes[2] >= 0 and codes[1] == -1 and codes[3] not in (codes[0], -1)


def test_union_reads_each_column_once(monkeypatch):
    calls = []

    def counting(series):
        calls.append(len(series))
        return column_text(series)

    monkeypatch.setattr(arrays, "column_text", counting)
    A = pd.DataFrame({"id": range(6), "a": list("ppqqrr"), "b": list("xyxyxx"),
                      "c": list("mmnnmm")})
    union = UnionBlocker([AttributeEquivalenceBlocker(["a", "b"]),
                          AttributeEquivalenceBlocker(["a", "c"]),
                          SortedNeighbourhoodBlocker("a", window=2)])
    pairs = set(zip(*union.block_positions(A), strict=True))
    assert len(calls) == 3  # columns a, b and c, once each
    # the same pairs as the members on their own (each computing its codes afresh)
    alone = set()
    for member in union.blockers:
        alone |= set(zip(*member.block_positions(A), strict=True))
    assert pairs == alone and len(calls) == 3 + 5


def test_equivalence_with_a_key_function_matches_brute_force():
    rng = np.random.default_rng(0)
    words = np.array(["anna", "annie", "bob", "bobby", None], dtype=object)
    A = pd.DataFrame({"id": range(40), "f": words[rng.integers(0, 5, 40)],
                      "g": words[rng.integers(0, 5, 40)]})
    got = set(zip(*AttributeEquivalenceBlocker(["f", "g"], key=lambda s: s.str[:3])
                  .block_positions(A), strict=True))
    want = {(i, j) for i, j in itertools.combinations(range(40), 2)
            if all(A[c][i] is not None and A[c][j] is not None and A[c][i][:3] == A[c][j][:3]
                   for c in ("f", "g"))}
    assert got == want


def test_large_person_blocker_finds_the_duplicates_with_few_candidates():
    records, matches = make_dirty_records(n_entities=2000, seed=3)
    candidates = large_person_blocker().block(records)
    quality = blocking_quality(candidates, matches, len(records))
    assert quality["pair_completeness"] >= 0.99
    assert len(candidates) < 3 * len(matches)
    with_window = large_person_blocker(window=3).block(records)
    found = set(zip(with_window["ltable_id"], with_window["rtable_id"], strict=True))
    assert found >= set(zip(candidates["ltable_id"], candidates["rtable_id"], strict=True))
    assert len(found) > len(candidates)


def test_combined_codes_of_many_wide_columns_stay_ordered_and_exact():
    # five columns of 40,000 distinct values: their code product passes 2**62, so the codes are
    # made dense on the way; equal tuples share a code and codes sort as the tuples do
    rng = np.random.default_rng(0)
    n, cols = 60_000, list("pqrst")
    values = {c: rng.integers(0, 40_000, n) for c in cols}
    values["p"][n // 2 :] = values["p"][: n // 2]  # repeated tuples
    for c in cols[1:]:
        values[c][n // 2 :] = values[c][: n // 2]
    A = pd.DataFrame({"id": range(n), **{c: [f"{v:05d}" for v in values[c]] for c in cols}})
    codes = combined_codes(A, None, cols)
    assert np.array_equal(codes[: n // 2], codes[n // 2 :])
    keys = pd.Series(["\x1f".join(t) for t in zip(*(A[c] for c in cols), strict=True)])
    assert np.array_equal(pd.factorize(keys, sort=True)[0], codes)


def test_within_groups_pairs_every_two_members_of_a_group_once():
    from blocking._arrays import within_groups

    rng = np.random.default_rng(1)
    for codes in (rng.integers(-1, 30, 200), rng.integers(-1, 30, 200) * 1000, np.array([3])):
        li, ri = within_groups(codes)
        want = {(i, j) for i, j in itertools.combinations(range(len(codes)), 2)
                if codes[i] >= 0 and codes[i] == codes[j]}
        assert set(zip(li.tolist(), ri.tolist(), strict=True)) == want and len(li) == len(want)


def test_value_codes_are_computed_once_inside_shared_codes_and_equal_factorize():
    import pandas as pd

    from blocking import shared_codes, value_codes

    A = pd.DataFrame({"id": [1, 2, 3, 4], "name": ["ann", None, "bob", "ann"]})
    B = pd.DataFrame({"id": [5, 6], "name": ["bob", "cy"]})
    codes, distinct = value_codes(A, B, "name")
    want_codes, want = pd.factorize(pd.concat([A["name"], B["name"]], ignore_index=True))
    assert codes.tolist() == want_codes.tolist() == [0, -1, 1, 0, 1, 2]
    assert distinct.tolist() == list(want)
    with shared_codes():
        first = value_codes(A, None, "name")
        assert value_codes(A, None, "name") is first
        assert value_codes(A, B, "name") is not first
    assert value_codes(A, None, "name") is not first  # outside the block: computed anew


def test_union_in_threads_finds_the_same_candidates_and_checks_n_jobs():
    import pytest

    records, _ = make_dirty_records(n_entities=300, seed=4)
    one = large_person_blocker().block_positions(records)
    two = large_person_blocker(n_jobs=3).block_positions(records)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1]) and len(one[0])
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="n_jobs"):
            UnionBlocker([AttributeEquivalenceBlocker("surname")], n_jobs=bad)


def test_factorize_values_equals_pandas_factorize_for_strings_and_other_columns():
    from blocking._arrays import factorize_values

    columns = [
        pd.Series(["b", None, "a", np.nan, "b", "", "a"], dtype=object),  # Arrow path
        pd.Series(["b", 1, "b", None], dtype=object),  # mixed: pandas path
        pd.Series([b"x", b"y", b"x"], dtype=object),  # bytes stay bytes
        pd.Series([3.0, np.nan, 3.0, 1.5]),
        pd.Series([None, None], dtype=object),
    ]
    for values in columns:
        codes, distinct = factorize_values(values)
        want_codes, want_distinct = pd.factorize(values)
        np.testing.assert_array_equal(codes, want_codes)
        assert list(distinct) == list(want_distinct)
        assert distinct.dtype == values.dtype


def test_within_groups_drops_singletons_of_large_codes_without_losing_pairs():
    from blocking._arrays import within_groups

    rng = np.random.default_rng(0)
    dense = rng.integers(-1, 300, size=1000)
    _, ranks = np.unique(dense, return_inverse=True)
    sparse = np.where(dense < 0, -1, np.int64(2**40) + dense * np.int64(7_919_000_003))
    want, got = within_groups(np.where(dense < 0, -1, ranks)), within_groups(sparse)
    np.testing.assert_array_equal(want[0], got[0])  # the same pairs in the same order
    np.testing.assert_array_equal(want[1], got[1])
    brute = {(i, j) for i in range(1000) for j in range(i + 1, 1000)
             if dense[i] >= 0 and dense[i] == dense[j]}
    assert set(zip(got[0].tolist(), got[1].tolist(), strict=True)) == brute


def test_check_table_still_names_missing_and_duplicate_ids():
    from blocking._arrays import check_table
    from blocking.validation import InputError

    good = pd.DataFrame({"id": ["a", "b"], "x": [None, "v"]})
    check_table(good, "id", "t", ["x"])
    with pytest.raises(InputError, match="missing at row positions \\[1\\]"):
        check_table(pd.DataFrame({"id": ["a", None], "x": ["u", "v"]}), "id", "t", ["x"])
    with pytest.raises(InputError, match="1 duplicate ids, e.g. \\['a'\\]"):
        check_table(pd.DataFrame({"id": ["a", "a"], "x": ["u", "v"]}), "id", "t", ["x"])
    with pytest.raises(InputError, match="hold no values"):
        check_table(pd.DataFrame({"id": [1, 2], "x": [None, None]}), "id", "t", ["x"])

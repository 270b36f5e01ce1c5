import warnings

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import LabelingFunction, LFAnalysis, PandasLFApplier
from snorkel.labeling import labeling_function as snorkel_lf
from snorkel.labeling.model import LabelModel

from labeling_functions import (
    ABSTAIN,
    MATCH,
    NON_MATCH,
    LFError,
    apply_lfs,
    labeling_function,
    lf_summary,
    similarity_at_least,
    similarity_below,
    similarity_vote,
    values_differ,
    years_differ,
)


@pytest.fixture
def pairs():
    rng = np.random.default_rng(0)
    titles = ["deep learning for er", "sql on hadoop", "graph mining at scale", "a survey of er",
              "fast joins", None]
    n = 60
    li = rng.integers(0, len(titles), n)
    same = rng.random(n) < 0.4
    ri = np.where(same, li, rng.integers(0, len(titles), n))
    df = pd.DataFrame({
        "left_title": [titles[i] for i in li],
        "right_title": [titles[i] for i in ri],
        "left_year": rng.integers(1998, 2003, n),
        "right_year": np.where(same, rng.integers(1998, 2003, n), rng.integers(1990, 2010, n)),
    })
    # unsorted, non-unique-looking index to check that row order is preserved
    df.index = rng.permutation(np.arange(1000, 1000 + n))
    return df


@labeling_function(polarity=NON_MATCH)
def year_differs(x):
    return NON_MATCH if x.left_year != x.right_year else ABSTAIN


@labeling_function(polarity=MATCH, vectorized=True)
def same_title(df):
    return np.where(df.left_title.notna() & (df.left_title == df.right_title), MATCH, ABSTAIN)


@labeling_function()
def two_sided_title(x):
    if pd.isna(x.left_title) or pd.isna(x.right_title):
        return ABSTAIN
    return MATCH if x.left_title == x.right_title else NON_MATCH


def expected(pairs):
    y = np.where(pairs.left_year != pairs.right_year, NON_MATCH, ABSTAIN)
    t = np.where(pairs.left_title.notna() & (pairs.left_title == pairs.right_title), MATCH, ABSTAIN)
    both = pairs.left_title.notna() & pairs.right_title.notna()
    equal = pairs.left_title == pairs.right_title
    two = np.where(~both, ABSTAIN, np.where(equal, MATCH, NON_MATCH))
    return np.column_stack([y, t, two])


def test_lfs_are_snorkel_lfs_with_polarity():
    assert all(isinstance(lf, LabelingFunction) for lf in [year_differs, same_title])
    assert year_differs.polarity == NON_MATCH and same_title.polarity == MATCH
    assert two_sided_title.polarity is None


def test_apply_matches_snorkel_pandas_applier_and_keeps_row_order(pairs):
    lfs = [year_differs, same_title, two_sided_title]
    L = apply_lfs(lfs, pairs, engine="pandas", progress=False)
    assert L.shape == (len(pairs), 3) and L.dtype.kind == "i"
    np.testing.assert_array_equal(L, expected(pairs))
    # Snorkel's own applier accepts every LF kind (the vectorized one runs on one-row frames)
    L_snorkel = PandasLFApplier(lfs).apply(pairs, progress_bar=False)
    np.testing.assert_array_equal(L_snorkel, L)
    table = LFAnalysis(L, lfs).lf_summary()
    assert list(table.index) == ["year_differs", "same_title", "two_sided_title"]


def test_one_sided_lf_voting_against_polarity_raises_naming_it(pairs):
    @labeling_function(polarity=MATCH)
    def wrong_rowwise(x):
        return NON_MATCH

    @labeling_function(polarity=NON_MATCH, vectorized=True)
    def wrong_vectorized(df):
        return np.full(len(df), MATCH)

    for lf in (wrong_rowwise, wrong_vectorized):
        with pytest.raises(LFError, match=lf.name):
            apply_lfs([lf], pairs, fault_tolerant=True)
    with pytest.raises(LFError, match="wrong_rowwise"):
        PandasLFApplier([wrong_rowwise]).apply(pairs, progress_bar=False)


def test_invalid_outputs_are_rejected_with_the_lf_name(pairs):
    @labeling_function(vectorized=True)
    def too_short(df):
        return np.zeros(len(df) - 1, dtype=int)

    @labeling_function(vectorized=True)
    def out_of_range(df):
        return np.full(len(df), 2)

    @labeling_function(vectorized=True)
    def booleans(df):
        return df.left_year > 2000

    @labeling_function()
    def returns_text(x):
        return "match"

    for lf, msg in [(too_short, "shape"), (out_of_range, "2"), (booleans, "booleans"),
                    (returns_text, "returned 'match'")]:
        with pytest.raises(LFError, match=lf.name) as info:
            apply_lfs([lf], pairs, engine="pandas")
        assert msg in str(info.value)


def test_faults_abstain_and_are_counted_or_raise_naming_lf_and_row(pairs):
    bad_label = pairs.index[7]

    @labeling_function()
    def flaky_rowwise(x):
        if x.left_year == pairs.loc[bad_label, "left_year"]:
            raise RuntimeError("boom")
        return NON_MATCH

    @labeling_function(vectorized=True)
    def flaky_vectorized(df):
        if (df.index == 7).any():  # positions: apply_lfs passes a positional index
            raise RuntimeError("bang")
        return np.full(len(df), MATCH)

    n_bad = int((pairs.left_year == pairs.loc[bad_label, "left_year"]).sum())
    with pytest.warns(RuntimeWarning, match="faults"):
        L, faults = apply_lfs([flaky_rowwise, flaky_vectorized], pairs, fault_tolerant=True,
                              return_faults=True)
    assert faults == {"flaky_rowwise": n_bad, "flaky_vectorized": 1}
    assert (L[:, 0] == ABSTAIN).sum() == n_bad and L[7, 1] == ABSTAIN
    assert (np.delete(L[:, 1], 7) == MATCH).all()
    with pytest.raises(LFError, match=r"flaky_rowwise.*boom") as info:
        apply_lfs([flaky_rowwise], pairs)
    assert "index label" in str(info.value)
    with pytest.raises(LFError, match=r"flaky_vectorized.*position 7"):
        apply_lfs([flaky_vectorized], pairs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        apply_lfs([year_differs], pairs, fault_tolerant=True)  # no faults, no warning


def test_dask_engine_keeps_row_order_with_unsorted_index_and_counts_faults(pairs):
    @labeling_function()
    def fails_on_2000(x):
        if x.left_year == 2000:
            raise ValueError("no")
        return ABSTAIN

    lfs = [year_differs, same_title, two_sided_title, fails_on_2000]
    with pytest.warns(RuntimeWarning, match="fails_on_2000"):
        L, faults = apply_lfs(lfs, pairs, engine="dask", fault_tolerant=True,
                              return_faults=True, n_partitions=3)
    np.testing.assert_array_equal(L[:, :3], expected(pairs))
    assert faults["fails_on_2000"] == int((pairs.left_year == 2000).sum()) > 0
    assert (L[:, 3] == ABSTAIN).all() and faults["year_differs"] == 0


def test_plain_snorkel_lfs_are_accepted(pairs):
    @snorkel_lf()
    def plain(x):
        return MATCH

    L = apply_lfs([plain], pairs)
    assert (L == MATCH).all()
    with pytest.raises(TypeError, match="labeling function"):
        apply_lfs([lambda x: 1], pairs)
    with pytest.raises(ValueError, match="unique"):
        apply_lfs([plain, plain], pairs)


def test_templates_abstain_on_missing_and_vote_one_sided(pairs):
    lfs = [
        similarity_at_least("title", 0.99, metric="jaccard"),
        similarity_below("title", 0.2, metric="jaro_winkler"),
        values_differ("year"),
        years_differ("year", min_gap=3),
        similarity_vote("title", 0.9, 0.1, metric="levenshtein"),
    ]
    L = apply_lfs(lfs, pairs)
    missing = (pairs.left_title.isna() | pairs.right_title.isna()).to_numpy()
    assert (L[missing][:, [0, 1, 4]] == ABSTAIN).all()
    equal_title = (pairs.left_title == pairs.right_title).to_numpy()
    np.testing.assert_array_equal(L[:, 0] == MATCH, equal_title & ~missing)
    assert set(np.unique(L[:, 1])) <= {ABSTAIN, NON_MATCH}
    np.testing.assert_array_equal(L[:, 2] == NON_MATCH, pairs.left_year != pairs.right_year)
    gap = (pairs.left_year - pairs.right_year).abs().to_numpy()
    np.testing.assert_array_equal(L[:, 3] == NON_MATCH, gap >= 3)
    assert {MATCH, NON_MATCH} <= set(np.unique(L[:, 4]))
    # the templates also run under Snorkel's row-wise applier with the same votes
    np.testing.assert_array_equal(PandasLFApplier(lfs).apply(pairs, progress_bar=False), L)
    with pytest.raises(ValueError, match="unknown similarity metric"):
        similarity_at_least("title", 0.5, metric="cosine")
    with pytest.raises(LFError, match="left_nope"):
        apply_lfs([similarity_at_least("nope", 0.5)], pairs)


def test_lf_summary_adds_polarity_expert_and_label_model_accuracy(pairs):
    lfs = [year_differs, same_title, two_sided_title]
    L = apply_lfs(lfs, pairs)
    truth = expected(pairs)[:, 2]  # the two-sided LF is "right" by construction
    expert = {i: int(truth[i]) for i in range(10) if truth[i] != ABSTAIN}
    lm = LabelModel(cardinality=2, verbose=False)
    lm.fit(L, n_epochs=20, seed=0, progress_bar=False)
    table = lf_summary(lfs, L, expert_labels=expert, label_model=lm)
    for col in ["Polarity", "Coverage", "Overlaps", "Conflicts", "declared_polarity",
                "expert_votes", "expert_accuracy", "lm_accuracy"]:
        assert col in table.columns
    assert table.loc["two_sided_title", "expert_accuracy"] == 1.0
    assert table.loc["two_sided_title", "expert_votes"] == len(expert)
    assert table.loc["year_differs", "declared_polarity"] == NON_MATCH
    assert table["lm_accuracy"].between(0, 1).all()
    assert np.isnan(lf_summary(lfs, L)["expert_accuracy"]).all()
    with pytest.raises(ValueError, match="shape"):
        lf_summary(lfs, L[:, :2])


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({0: "yes"}, r"expert label for row 0 is 'yes'; give 0"),
        ({1: 2}, r"expert label for row 1 is 2"),
        ({0: True}, r"expert label for row 0 is True"),
        ({"a": 1}, r"key 'a' is not a row position"),
        ({99: 1}, r"row 99 is outside"),
        (["yes", 1, None, -1], r"expert label at row 0 is 'yes'"),
        ([0, 1, 0.5, None], r"expert label at row 2 is 0.5"),
    ],
)
def test_expert_labels_that_are_not_labels_are_named(labels, message):
    from labeling_functions.analysis import expert_label_vector

    with pytest.raises(ValueError, match=message):
        expert_label_vector(labels, 4)


def test_expert_labels_accept_unknowns():
    from labeling_functions.analysis import expert_label_vector

    got = expert_label_vector([1, None, -1, np.nan], 4)
    np.testing.assert_array_equal(got, [1, ABSTAIN, ABSTAIN, ABSTAIN])
    np.testing.assert_array_equal(expert_label_vector({2: 0, 3: None}, 4), [-1, -1, 0, -1])

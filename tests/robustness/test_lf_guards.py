"""LFs cannot break the pool: edits stay inside the LF, Series votes are aligned by index or
refused, bad LF files give one clear error naming the file and line, and LFs that never vote
are warned about."""

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from labeling_functions import (
    ABSTAIN,
    MATCH,
    NON_MATCH,
    LFError,
    LFFileError,
    LFVoteError,
    LFWarning,
    apply_lfs,
    labeling_function,
    load_lfs,
)


@pytest.fixture
def pairs():
    rng = np.random.default_rng(0)
    n = 40
    titles = rng.choice(["apple ipod", "sony tv", "dell xps", "hp laser"], size=n)
    other = np.where(rng.random(n) < 0.5, titles, rng.choice(["lg oled", "acer"], size=n))
    return pd.DataFrame(
        {
            "ltable_id": [f"a{i}" for i in range(n)],
            "rtable_id": [f"b{i}" for i in range(n)],
            "left_title": titles.astype(object),
            "right_title": other.astype(object),
            "left_price": rng.random(n),
            "right_price": rng.random(n),
        },
        index=pd.RangeIndex(100, 100 + n),  # not positions: alignment must not rely on them
    )


def equal_titles(df):
    return np.where(df["left_title"] == df["right_title"], MATCH, ABSTAIN)


@labeling_function(vectorized=True, polarity=MATCH)
def same_title(df):
    return equal_titles(df)


MUTATIONS = {
    "loc": lambda df: df.loc.__setitem__((slice(None), "left_title"), "MUTATED"),
    "setitem": lambda df: df.__setitem__("left_title", "MUTATED"),
    "fillna": lambda df: df.fillna({"left_title": "MUTATED", "left_price": -1}, inplace=True),
    "iloc": lambda df: df.iloc.__setitem__((slice(None), 2), "MUTATED"),
    "drop": lambda df: df.drop(columns=["right_title"], inplace=True),
    "sort": lambda df: df.sort_values("left_price", inplace=True),
    "index": lambda df: setattr(df, "index", np.arange(len(df))[::-1]),
}


@pytest.mark.parametrize("how", list(MUTATIONS))
def test_an_lf_editing_its_frame_changes_neither_the_pool_nor_other_lfs(pairs, how):
    before = pairs.copy(deep=True)

    @labeling_function(vectorized=True, polarity=NON_MATCH)
    def vandal(df):
        MUTATIONS[how](df)
        df.loc[df.index[0], "right_price"] = -1.0
        return np.full(len(df), ABSTAIN)

    expected = equal_titles(before)
    with pytest.warns(LFWarning, match="vandal"):
        L = apply_lfs([vandal, same_title], pairs)
    pd.testing.assert_frame_equal(pairs, before)
    np.testing.assert_array_equal(L[:, 1], expected)
    vandal.apply(pairs)
    vandal(pairs)
    pd.testing.assert_frame_equal(pairs, before)


def test_a_row_wise_lf_editing_its_row_is_refused_and_changes_nothing(pairs):
    text = pairs[["left_title", "right_title"]]  # one dtype: rows could be views of the data
    before = text.copy(deep=True)

    @labeling_function(polarity=MATCH)
    def row_vandal(x):
        x["left_title"] = "MUTATED"
        return ABSTAIN

    message = r"LF 'row_vandal' tried to change the pairs it was given on row \d+; .*x.copy\(\)"
    with pytest.raises(LFError, match=message):
        apply_lfs([row_vandal], text)
    row_vandal.apply(text)  # rows of its own copy-on-write view: the edit stays in the row
    pd.testing.assert_frame_equal(text, before)

    @labeling_function(vectorized=True)
    def array_vandal(df):
        df.to_numpy()[:, 0] = "MUTATED"
        return np.full(len(df), ABSTAIN)

    with pytest.raises(LFError, match=r"'array_vandal' tried to change the pairs it was given"):
        apply_lfs([array_vandal], text)
    pd.testing.assert_frame_equal(text, before)


def test_a_reordered_series_is_aligned_by_index(pairs):
    @labeling_function(vectorized=True, polarity=MATCH)
    def shuffled(df):
        votes = pd.Series(equal_titles(df), index=df.index)
        return votes.sample(frac=1.0, random_state=3)

    expected = equal_titles(pairs)
    np.testing.assert_array_equal(apply_lfs([shuffled], pairs)[:, 0], expected)
    np.testing.assert_array_equal(shuffled.apply(pairs), expected)
    one = pairs.iloc[5]
    assert shuffled(one) == expected[5]


def test_a_series_with_other_labels_is_refused(pairs):
    @labeling_function(vectorized=True, polarity=MATCH)
    def renumbered(df):
        return pd.Series(equal_titles(df))  # index 0..n-1, not the rows' labels

    with pytest.raises(LFVoteError, match=r"'renumbered' returned a pandas Series whose index"):
        renumbered.apply(pairs)
    # apply_lfs hands LFs a positional index, so there the same Series lines up
    np.testing.assert_array_equal(apply_lfs([renumbered], pairs)[:, 0], equal_titles(pairs))

    @labeling_function(vectorized=True, polarity=MATCH)
    def foreign(df):
        return pd.Series(equal_titles(df), index=df.index + 1000)

    with pytest.raises(LFVoteError, match=r"'foreign' .*index does not match.*e.g. label"):
        apply_lfs([foreign], pairs)


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (lambda df: np.full(len(df) - 1, ABSTAIN), r"'bad' returned shape \(39,\)"),
        (lambda df: pd.Series(np.full(len(df) + 1, ABSTAIN)), r"'bad' returned shape \(41,\)"),
        (lambda df: np.full(len(df), 2), r"'bad' returned 2 at row position 0"),
        (lambda df: np.full(len(df), np.nan), r"'bad' returned nan"),
        (lambda df: np.full(len(df), "1"), r"'bad' returned dtype <U1"),
        (lambda df: np.zeros((len(df), 2)), r"'bad' returned shape \(40, 2\)"),
        (lambda df: pd.DataFrame({"a": 1, "b": 2}, index=df.index), r"'bad' .*2 columns"),
    ],
)
def test_wrong_vectorized_outputs_name_the_lf(pairs, output, message):
    bad = labeling_function(name="bad", vectorized=True)(output)
    with pytest.raises(LFVoteError, match=message):
        apply_lfs([bad], pairs, fault_tolerant=True)


def test_always_abstaining_lfs_are_named(pairs):
    @labeling_function(polarity=MATCH)
    def never(x):
        return ABSTAIN

    @labeling_function(vectorized=True, polarity=NON_MATCH)
    def never_either(df):
        return np.full(len(df), ABSTAIN)

    with pytest.warns(LFWarning, match=r"\['never', 'never_either'\] abstained on all 40 pairs"):
        apply_lfs([never, same_title, never_either], pairs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        apply_lfs([never, same_title], pairs, warn_abstaining=False)
        apply_lfs([same_title], pairs)


LF_FILES = {
    "syntax": ("from labeling_functions import labeling_function\nlfs = [\n", r"line \d: "),
    "import": ("import numpy\nimport no_such_module_xyz\nlfs = []\n", r"line 2: an import failed"),
    "exit0": ("import sys\n\nsys.exit(0)\n", r"line 3: called sys.exit\(0\) while being imported"),
    "exit3": ("raise SystemExit(3)\n", r"line 1: called sys.exit\(3\)"),
    "raises": ("x = 1\ny = {}['k']\n", r"line 2: raised KeyError while being imported: 'k'"),
    "deep": (
        "def f():\n    return 1 / 0\n\nlfs = [f()]\n",
        r"line 2: raised ZeroDivisionError while being imported",
    ),
}


@pytest.mark.parametrize("case", list(LF_FILES))
def test_lf_file_errors_name_file_and_line(tmp_path, case):
    source, message = LF_FILES[case]
    path = tmp_path / f"{case}_lfs.py"
    path.write_text(source)
    modules = set(sys.modules)
    with pytest.raises(LFFileError, match=rf"LF file '.*{case}_lfs.py', {message}"):
        load_lfs(path)
    assert set(sys.modules) - modules == set()  # nothing half-imported is left behind


def test_lf_file_that_is_a_folder_or_not_python(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder"):
        load_lfs(tmp_path)
    (tmp_path / "lfs.txt").write_text("lfs = []\n")
    with pytest.raises(LFFileError, match=r"must be a Python file"):
        load_lfs(tmp_path / "lfs.txt")


def test_an_lf_file_may_import_a_module_beside_it(tmp_path):
    (tmp_path / "lf_helpers_xyz.py").write_text("THRESHOLD = 0.5\n")
    (tmp_path / "lfs.py").write_text(
        "from lf_helpers_xyz import THRESHOLD\n"
        "from labeling_functions import similarity_at_least\n"
        "lfs = [similarity_at_least('title', THRESHOLD)]\n"
    )
    path_before = list(sys.path)
    (lf,) = load_lfs(tmp_path / "lfs.py")
    assert lf.polarity == MATCH
    assert sys.path == path_before
    sys.modules.pop("lf_helpers_xyz", None)

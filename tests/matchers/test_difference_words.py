"""DifferenceWords and SimilarityMatcher(difference_words=...): learned telling differences,
cross-fitted values without leakage, parameters, persistence."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from matchers import SimilarityMatcher
from matchers.difference_words import DifferenceWords

SONGS = "bad blood shake it off style blank space wildest dreams clean delicate gorgeous".split()
NEUTRAL = "live lp single edition deluxe".split()


def version_pairs(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Song pairs: a match differs (at most) by a neutral word, a non-match is the same song
    with 'karaoke' (or 'remix') on one side only."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i in range(n):
        song = " ".join(rng.choice(SONGS, size=3))
        artist = str(rng.choice(["taylor swift", "florida georgia line", "fetty wap"]))
        match = i % 2 == 0
        extra = str(rng.choice(NEUTRAL)) if match else str(rng.choice(["karaoke", "remix"]))
        left, right = (song, f"{song} {extra}") if i % 4 < 2 else (f"{song} {extra}", song)
        rows.append({"left_title": left, "left_artist": artist,
                     "right_title": right, "right_artist": artist})
        labels.append(int(match))
    return pd.DataFrame(rows), np.array(labels)


def test_a_word_seen_only_in_non_matches_lowers_p():
    pairs, y = version_pairs(120, seed=0)
    probe, probe_y = version_pairs(40, seed=1)
    m = SimilarityMatcher(seed=0, max_iter=50, difference_words=1.0).fit(pairs, y)
    p = m.match_proba(probe)
    assert p[probe_y == 0].max() < 0.5 < p[probe_y == 1].min()
    words = DifferenceWords().fit(probe["left_title"], probe["right_title"], probe_y)
    karaoke = words.decision_function(pd.Series(["blank space karaoke"]),
                                      pd.Series(["blank space"]))
    live = words.decision_function(pd.Series(["blank space"]), pd.Series(["blank space live"]))
    assert karaoke[0] < 0 < live[0]


def test_cross_fitted_values_carry_no_label_of_their_own_pair():
    rng = np.random.default_rng(0)
    n = 200
    y = rng.integers(0, 2, n).astype(float)  # labels unrelated to the texts
    left = pd.Series([f"common w{i}" for i in range(n)])  # a word of this pair alone
    right = pd.Series(["common"] * n)
    words = DifferenceWords(C=100.0, seed=0)
    cross = words.fit_cross(left, right, y)
    assert roc_auc_score(y, words.decision_function(left, right)) > 0.99  # memorized
    assert roc_auc_score(y, cross) < 0.65


def test_sample_weights_and_soft_labels_are_used():
    pairs, y = version_pairs(120, seed=0)
    left, right = pairs["left_title"], pairs["right_title"]
    telling = pd.Series(["blank space karaoke"]), pd.Series(["blank space"])
    learned = DifferenceWords().fit(left, right, y).decision_function(*telling)[0]
    w = np.where(y == 0, 0.0, 1.0)  # the non-matches weigh nothing: 'karaoke' is never seen
    w[np.flatnonzero(y == 0)[:1]] = 1e-9
    unseen = DifferenceWords().fit(left, right, y, sample_weight=w).decision_function(*telling)
    assert learned < unseen[0] - 1.0
    soft = DifferenceWords().fit(left, right, np.where(y == 1, 0.6, 0.4))
    assert learned < soft.decision_function(*telling)[0] < 0


def test_parameters_clone_seed_and_persistence(tmp_path):
    pairs, y = version_pairs(80, seed=0)
    m = SimilarityMatcher(seed=3, max_iter=20, difference_words=0.5)
    assert clone(m).get_params()["difference_words"] == 0.5
    a = m.fit(pairs, y).match_proba(pairs)
    np.testing.assert_array_equal(a, clone(m).fit(pairs, y).match_proba(pairs))
    m.save(tmp_path / "m.pkl")
    np.testing.assert_array_equal(SimilarityMatcher.load(tmp_path / "m.pkl").match_proba(pairs),
                                  a)
    with pytest.raises(ValueError, match="pass the pairs"):
        m.proba_of_features(m.featurizer_.transform(pairs))
    np.testing.assert_array_equal(m.proba_of_features(m.featurizer_.transform(pairs), pairs), a)
    none = pairs.iloc[:0]
    assert m.proba_of_features(m.featurizer_.transform(none), none).shape == (0,)
    for bad in (0, -1.0, True, "1"):
        with pytest.raises(ValueError, match="difference_words"):
            SimilarityMatcher(difference_words=bad).fit(pairs, y)
    with pytest.raises(ValueError, match="n_folds"):
        DifferenceWords(n_folds=1).fit(pairs["left_title"], pairs["right_title"], y)


def test_empty_texts_and_one_class_folds_do_not_break_it():
    left = pd.Series(["", None, "a b", "a"])
    right = pd.Series(["", "x", "a", "a"])
    y = np.array([0.0, 0.0, 1.0, 0.0])
    cross = DifferenceWords(n_folds=4).fit_cross(left, right, y)
    assert np.isfinite(cross).all()

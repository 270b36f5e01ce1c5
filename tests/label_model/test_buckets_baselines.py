import numpy as np
import pytest

from label_model import NashaatLabelModel, bucket_ids, buckets, nashaat_correct


def test_buckets_group_identical_vote_rows():
    L = np.array([[1, 0, -1], [1, 0, -1], [0, 0, 0], [1, 0, -1], [0, 0, 0]])
    proba = np.array([0.9, 0.9, 0.1, 0.9, 0.1])
    frame = buckets(L, proba, {0: 1, 1: 0, 2: 0}).set_index("key")
    assert frame.loc["1,0,-1", "size"] == 3 and frame.loc["0,0,0", "size"] == 2
    assert frame.loc["1,0,-1", "p_match"] == pytest.approx(0.9)
    assert frame.loc["1,0,-1", "n_expert"] == 2
    assert frame.loc["1,0,-1", "expert_match_rate"] == pytest.approx(0.5)
    assert frame.loc["0,0,0", "expert_match_rate"] == 0.0
    assert buckets(L)["n_expert"].sum() == 0 and np.isnan(buckets(L)["expert_match_rate"]).all()


def test_bucket_ids_agree_between_packed_and_wide_paths():
    rng = np.random.default_rng(0)
    wide = rng.integers(-1, 2, size=(300, 45))
    wide[150:] = wide[:150]
    ids, unique, counts = bucket_ids(wide)
    np.testing.assert_array_equal(unique[ids], wide)
    assert counts.sum() == 300 and unique.shape[0] == 150
    ids_small, unique_small, _ = bucket_ids(wide[:, :5])
    np.testing.assert_array_equal(unique_small[ids_small], wide[:, :5])


def test_nashaat_overwrites_fired_votes_only():
    L = np.array([[1, 1, 0, -1], [0, 0, 1, 1]])
    out = nashaat_correct(L, {0: 1})
    np.testing.assert_array_equal(out[0], [1, 1, 1, -1])
    np.testing.assert_array_equal(out[1], L[1])
    np.testing.assert_array_equal(L[0], [1, 1, 0, -1])  # input untouched


def test_nashaat_model_fits_corrected_votes(votes):
    L, y = votes
    labels = {i: int(y[i]) for i in range(20)}
    lm = NashaatLabelModel(seed=0).fit(L, labels, n_epochs=50)
    corrected = lm.corrected_votes(L)
    fired = corrected[:20] != -1
    assert np.all(corrected[:20][fired] == np.repeat(y[:20, None], 5, axis=1)[fired])
    assert lm.predict_proba(corrected).shape == (L.shape[0], 2)

import numpy as np

from label_model import NashaatLabelModel, bucket_ids, bucket_keys, nashaat_correct


def test_buckets_group_identical_vote_rows():
    L = np.array([[1, 0, -1], [1, 0, -1], [0, 0, 0], [1, 0, -1], [0, 0, 0]])
    ids, unique, counts = bucket_ids(L)
    sizes = dict(zip(bucket_keys(unique), counts.tolist(), strict=True))
    assert sizes == {"1,0,-1": 3, "0,0,0": 2}
    np.testing.assert_array_equal(unique[ids], L)


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
    lm = NashaatLabelModel(seed=0, n_epochs=50).fit(L, labels)
    corrected = lm.corrected_votes(L)
    fired = corrected[:20] != -1
    assert np.all(corrected[:20][fired] == np.repeat(y[:20, None], 5, axis=1)[fired])
    assert lm.predict_proba(corrected).shape == (L.shape[0], 2)

"""The contract every matcher shares: (n, 2) probabilities, clone, NotFittedError, model files."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from blocking.files import save_model
from matchers import RNNMatcher, SimilarityMatcher


@pytest.fixture(params=["similarity", "rnn"])
def make(request, small_rnn):
    if request.param == "similarity":
        return lambda: SimilarityMatcher(max_iter=20)
    return lambda: small_rnn(epochs=1)


def test_predict_proba_is_two_columns_and_predict_cuts_at_half(make, train_pairs):
    pairs, y = train_pairs
    m = make().fit(pairs, y)
    proba = m.predict_proba(pairs)
    assert proba.shape == (len(pairs), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba[:, 1], m.match_proba(pairs))
    np.testing.assert_array_equal(m.predict(pairs), (proba[:, 1] >= 0.5).astype(int))
    np.testing.assert_array_equal(m.classes_, [0, 1])


def test_clone_and_not_fitted(make, train_pairs):
    pairs, _ = train_pairs
    m = make()
    assert clone(m).get_params() == m.get_params()
    for call in (m.match_proba, m.predict_proba, m.predict):
        with pytest.raises(NotFittedError):
            call(pairs)
    with pytest.raises(NotFittedError):
        m.save("unused.model")


def test_fit_leaves_global_random_state_alone(make, train_pairs):
    pairs, y = train_pairs
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - the global state is the subject
    torch_state = torch.get_rng_state().clone()
    make().fit(pairs, y)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_model_files_round_trip_and_refuse_what_is_not_theirs(make, train_pairs, tmp_path):
    pairs, y = train_pairs
    m = make().fit(pairs, y)
    cls = type(m)
    m.save(tmp_path / "m.model")
    np.testing.assert_array_equal(cls.load(tmp_path / "m.model").match_proba(pairs),
                                  m.match_proba(pairs))
    (tmp_path / "garbage").write_bytes(b"\x80\x04not a model")
    (tmp_path / "empty").write_bytes(b"")
    whole = (tmp_path / "m.model").read_bytes()
    (tmp_path / "cut").write_bytes(whole[: len(whole) // 2])
    other = SimilarityMatcher if cls is RNNMatcher else RNNMatcher
    save_model(object(), tmp_path / "other.model", kind=other.__name__)
    cases = [("garbage", "not a riskweasul model"), ("empty", "not a riskweasul"),
             ("cut", "damaged or truncated"), ("other.model", "not a " + cls.__name__)]
    for name, message in cases:
        with pytest.raises(ValueError, match=message) as info:
            cls.load(tmp_path / name)
        assert "weights_only" not in str(info.value)
    with pytest.raises(FileNotFoundError, match="no file"):
        cls.load(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        m.save(tmp_path / "no" / "such" / "folder" / "m.model")


@pytest.mark.parametrize("kind", ["similarity", "rnn"])
def test_sample_weight_moves_the_fit(kind, small_rnn, train_pairs):
    # Half of the matches relabelled as non-matches: with those rows weighted 50x the matcher
    # must follow the relabelling on them; unweighted it follows the (clean) majority.
    pairs, y = train_pairs
    flipped = np.flatnonzero(y == 1)[::2]
    noisy = y.astype(float).copy()
    noisy[flipped] = 0.0
    weights = np.ones(len(y))
    weights[flipped] = 50.0
    def make():
        return SimilarityMatcher(max_iter=30) if kind == "similarity" else small_rnn(epochs=4)

    plain = make().fit(pairs, noisy).match_proba(pairs.iloc[flipped]).mean()
    weighted = make().fit(pairs, noisy, sample_weight=weights).match_proba(pairs.iloc[flipped])
    assert weighted.mean() < plain - 0.05  # equal if sample_weight were ignored

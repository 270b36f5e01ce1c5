import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from snorkel.labeling.model import LabelModel

from label_model import PenalizedLabelModel


def accuracy(model, L, y):
    return float(((model.predict_proba(L)[:, 1] > 0.5) == y).mean())


def test_without_expert_labels_matches_snorkel(votes):
    L, _ = votes
    ours = PenalizedLabelModel(seed=3, n_epochs=50).fit(L)
    ref = LabelModel(verbose=False)
    ref.fit(L, n_epochs=50, seed=3, progress_bar=False, optimizer="adam")
    np.testing.assert_allclose(ours.predict_proba(L), ref.predict_proba(L), atol=1e-5)


def test_expert_labels_pull_probabilities_towards_labels():
    # LF 0 is right, LFs 1 and 2 are a wrong majority on half the rows: only labels can tell
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 600)
    lf0 = y.copy()
    flip = rng.random(600) < 0.5
    lf12 = np.where(flip, 1 - y, y)
    L = np.stack([lf0, lf12, lf12, np.where(rng.random(600) < 0.6, y, 1 - y)], axis=1)
    disagree = np.flatnonzero(lf0 != lf12)[:6]
    plain = PenalizedLabelModel(seed=0, n_epochs=100, optimizer="adam").fit(L)
    before = plain.predict_proba(L)[disagree, 1]
    lm = PenalizedLabelModel(penalty=10.0, seed=0, n_epochs=200, optimizer="adam").fit(
        L, {int(i): int(y[i]) for i in disagree}
    )
    after = lm.predict_proba(L)[disagree, 1]
    assert np.abs(after - y[disagree]).mean() < np.abs(before - y[disagree]).mean() - 0.2
    assert accuracy(lm, L, y) > accuracy(plain, L, y)
    assert lm.penalty_loss_ >= 0 and lm.expert_labels_ == {int(i): int(y[i]) for i in disagree}


def test_refit_warm_starts_from_previous_parameters(votes):
    L, y = votes
    lm = PenalizedLabelModel(seed=0, n_epochs=100).fit(L)
    mu = lm.mu.detach().clone()
    lm.set_params(n_epochs=0).fit(L, {0: int(y[0])})  # zero steps: parameters are the warm start
    np.testing.assert_allclose(lm.mu.detach().numpy(), mu.numpy().clip(0.0001, 0.9999), atol=1e-6)
    cold = PenalizedLabelModel(seed=1, warm_start=False, n_epochs=100).fit(L)
    cold_mu = cold.mu.detach().clone()
    cold.set_params(n_epochs=0, seed=5).fit(L)
    assert not np.allclose(cold.mu.detach().numpy(), cold_mu.numpy())


def test_auto_penalty_is_the_curvature_and_positive(votes):
    L, y = votes
    lm = PenalizedLabelModel(penalty="auto", seed=0, n_epochs=50).fit(L)
    expected = lm.curvature_penalty()
    lm.set_params(n_epochs=1).fit(L, {1: int(y[1])})
    assert lm.penalty_ == pytest.approx(expected, rel=1e-5)
    assert lm.penalty_ > 0


def test_save_load_round_trip(tmp_path, votes):
    L, y = votes
    lm = PenalizedLabelModel(seed=0, n_epochs=20).fit(L, {2: int(y[2])})
    path = tmp_path / "lm.model"
    lm.save(path)
    other = PenalizedLabelModel.load(path)
    np.testing.assert_allclose(other.predict_proba(L), lm.predict_proba(L))
    assert other.get_params() == lm.get_params()


def test_lf_precision_tracks_lf_accuracy(votes):
    L, y = votes
    lm = PenalizedLabelModel(seed=0, n_epochs=300, lr=0.01).fit(L)
    precision = lm.lf_precision(L)
    fired = L != -1
    true_precision = ((L == y[:, None]) & fired).sum(0) / fired.sum(0)
    assert precision.shape == (5,)
    assert np.all(np.abs(precision - true_precision) < 0.1)
    assert np.argmax(precision) == 0


@pytest.mark.parametrize(
    ("L", "labels", "error", "match"),
    [
        (np.array([[0, 1, 2]] * 4), None, ValueError, "found 2 at row 0, LF column 2"),
        (np.array([[0, 1, 0.5]] * 4), None, ValueError, "only -1"),
        (np.array([[0, 1]] * 4), None, ValueError, "at least 3"),
        (np.array([[0, 1, 1]] * 4), {7: 1}, ValueError, "row 7 is out of range"),
        (np.array([[0, 1, 1]] * 4), {1: 2}, ValueError, "must be 0"),
        (np.array([[0, 1, 1]] * 4), {1: True}, ValueError, "must be 0"),
        (np.array([[0, 1, 1]] * 4), [1, 0], TypeError, "expert_labels must map"),
        ([[0, 1, 1]], None, TypeError, "numpy array"),
        (np.array([0, 1, 1]), None, ValueError, "2-D"),
    ],
)
def test_fit_rejects_bad_input(L, labels, error, match):
    with pytest.raises(error, match=match):
        PenalizedLabelModel(seed=0, n_epochs=1).fit(L, labels)


def test_predict_before_fit_and_wrong_width(votes):
    L, _ = votes
    with pytest.raises(NotFittedError, match="not fitted"):
        PenalizedLabelModel().predict_proba(L)
    lm = PenalizedLabelModel(seed=0, n_epochs=5).fit(L)
    with pytest.raises(ValueError, match="5"):
        lm.predict_proba(L[:, :4])
    with pytest.raises(ValueError, match="penalty"):
        PenalizedLabelModel(penalty=-1).fit(L)
    with pytest.raises(ValueError, match="binary"):
        PenalizedLabelModel(cardinality=3).fit(L)


def test_contract_clone_not_fitted_and_global_random_state():
    import random

    import torch
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    model = PenalizedLabelModel(penalty=2.0, seed=3, n_epochs=50, lr=0.02)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and copy.n_epochs == 50
    L = np.array([[1, 1, -1], [0, 0, 0], [1, -1, 1], [0, 0, -1], [1, 1, 1], [-1, 0, 0]] * 5)
    with pytest.raises(NotFittedError):
        model.predict_proba(L)
    states = (random.getstate(), np.random.get_state()[1].copy(),  # noqa: NPY002
              torch.get_rng_state().clone())
    first = model.fit(L, expert_labels={0: 1, 1: 0}).predict_proba(L)
    assert random.getstate() == states[0]
    np.testing.assert_array_equal(np.random.get_state()[1], states[1])  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), states[2])
    np.testing.assert_allclose(clone(model).fit(L, expert_labels={0: 1, 1: 0}).predict_proba(L),
                               first)


def test_fit_takes_data_only_and_names_the_constructor_parameter(votes):
    L, _ = votes
    lm = PenalizedLabelModel(seed=0, n_epochs=5)
    with pytest.raises(TypeError, match=r"n_epochs is a constructor parameter: "
                                        r"PenalizedLabelModel\(n_epochs=50\)"):
        lm.fit(L, n_epochs=50)
    with pytest.raises(TypeError, match=r"PenalizedLabelModel\(train_options=\{'prec_init': 0.8\}"):
        lm.fit(L, prec_init=0.8)
    with pytest.raises(ValueError, match="optimizer"):
        PenalizedLabelModel(optimizer="rmsprop").fit(L)
    with pytest.raises(ValueError, match="unknown train option 'n_epoch'"):
        PenalizedLabelModel(train_options={"n_epoch": 5}).fit(L)
    # the options reach Snorkel's training config
    tuned = PenalizedLabelModel(seed=0, n_epochs=5, optimizer="sgd",
                                train_options={"prec_init": 0.8}).fit(L)
    assert tuned.train_config.optimizer == "sgd" and tuned.train_config.prec_init == 0.8
    assert tuned.train_config.n_epochs == 5 and tuned.get_params()["optimizer"] == "sgd"
    nested = {"optimizer_config": {"adam_config": {"amsgrad": True}}}
    amsgrad = PenalizedLabelModel(seed=0, n_epochs=2, train_options=nested).fit(L)
    assert amsgrad.train_config.optimizer_config.adam_config.amsgrad
    assert amsgrad.train_options == {"optimizer_config": {"adam_config": {"amsgrad": True}}}


def test_a_model_pickled_before_a_parameter_existed_loads_with_its_default():
    import pickle

    old = PenalizedLabelModel(cardinality=2, n_epochs=7)
    del old.optimizer_name, old.train_options  # as in files written before they existed
    loaded = pickle.loads(pickle.dumps(old))
    params = loaded.get_params()
    assert params["optimizer"] == "adam" and params["train_options"] is None
    assert params["n_epochs"] == 7

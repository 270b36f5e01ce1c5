"""The estimator contract every model keeps (issue 20's bar), checked the same way on each:
clone gives an unfitted copy that refits to the same output, fit returns self and leaves the
global random generators alone, an unfitted model raises NotFittedError, classifiers give
(n, 2) probabilities, one model-file format, and seed 0 by default everywhere."""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from active import ActiveLoop
from active.selectors import SELECTOR_NAMES, make_selector
from blocking.files import save_model
from evaluation import ImportanceSampler, OASISSampler, PassiveSampler, StratifiedSampler
from evaluation.biased import draw_audit
from label_model import NashaatLabelModel, PenalizedLabelModel
from labeling_functions import apply_lfs, labeling_function, values_equal
from matchers import RNNMatcher, SimilarityMatcher
from risk import RiskModel

WORDS = "sony canon nikon apple camera lens tripod case cable laptop phone black silver kit".split()


def make_data(n: int = 60, seed: int = 0) -> dict:
    """Tiny pairs (half matches), their labels, LF votes that mostly agree with the labels and
    a matcher's P(match) that is wrong on a few pairs."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2 == 0).astype(np.int64)
    left = [" ".join(rng.choice(WORDS, 3)) + f" x{i}" for i in range(n)]
    right = [left[i] if y[i] else " ".join(rng.choice(WORDS, 3)) + f" y{i}" for i in range(n)]
    pairs = pd.DataFrame({"left_title": left, "right_title": right,
                          "left_price": rng.integers(10, 99, n).astype(float),
                          "right_price": rng.integers(10, 99, n).astype(float)})
    L = np.where(rng.random((n, 4)) < 0.85, y[:, None], 1 - y[:, None])
    L[rng.random((n, 4)) < 0.3] = -1
    proba = np.where(y == 1, 0.8, 0.2)
    proba[:6] = 1 - proba[:6]
    return {"pairs": pairs, "y": y, "L": L, "proba": proba, "expert": {0: 1, 1: 0, 2: 1}}


@pytest.fixture(scope="module")
def data() -> dict:
    return make_data()


@dataclass
class Case:
    """How to build, fit and read one model on the tiny data."""

    make: Callable[..., object]
    fit: Callable[[object, dict], object]
    output: Callable[[object, dict], np.ndarray]
    other_params: dict = field(default_factory=dict)
    accepts_none_seed: bool = True
    classifier: bool = True


def _small(cls: type, **defaults) -> Callable[..., object]:
    """A constructor of `cls` with small defaults that the caller's keywords override."""
    return lambda **kwargs: cls(**{**defaults, **kwargs})


def _fit_lm(m, d):
    return m.fit(d["L"], d["expert"])


def _fit_matcher(m, d):
    return m.fit(d["pairs"], d["y"])


CASES = {
    "label_model": Case(_small(PenalizedLabelModel, n_epochs=30), _fit_lm,
                        lambda m, d: m.predict_proba(d["L"]),
                        {"penalty": 2.0, "lr": 0.02, "cliques": [(1, 2)]}),
    "nashaat": Case(_small(NashaatLabelModel, n_epochs=30), _fit_lm,
                    lambda m, d: m.predict_proba(d["L"]), {"lr": 0.02, "warm_start": False}),
    "similarity_matcher": Case(_small(SimilarityMatcher, max_iter=20), _fit_matcher,
                               lambda m, d: m.predict_proba(d["pairs"]),
                               {"max_iter": 10, "learning_rate": 0.2}),
    "rnn_matcher": Case(_small(RNNMatcher, hash_dim=8, n_buckets=2**10, hidden=8,
                               mlp_hidden=16, epochs=2, warm_epochs=1, batch_size=16, lr=1e-2,
                               embedding="hash"),
                        _fit_matcher, lambda m, d: m.predict_proba(d["pairs"]),
                        {"hidden": 4, "epochs": 1}),
    "risk_model": Case(_small(RiskModel, epochs=20),
                       lambda m, d: m.fit(d["pairs"], d["y"], d["proba"], L=d["L"]),
                       lambda m, d: m.risk(d["pairs"], d["proba"], L=d["L"]),
                       {"confidence": 0.8, "max_conditions": 1}, classifier=False),
}
CLASSIFIERS = [name for name, case in CASES.items() if case.classifier]


def _global_states():
    return (random.getstate(), np.random.get_state()[1].copy(),  # noqa: NPY002
            torch.get_rng_state().clone())


@pytest.mark.parametrize("name", CASES)
def test_clone_is_an_unfitted_copy_that_refits_to_the_same_output(name, data):
    case = CASES[name]
    model = case.make(seed=3, **case.other_params)
    copy = clone(model)
    assert type(copy) is type(model) and copy.get_params() == model.get_params()
    for key, value in case.other_params.items():
        assert copy.get_params()[key] == value
    fitted = case.fit(model, data)
    fresh = clone(fitted)
    with pytest.raises(NotFittedError):
        case.output(fresh, data)
    np.testing.assert_allclose(case.output(case.fit(fresh, data), data),
                               case.output(fitted, data), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("seed", [0, None])
@pytest.mark.parametrize("name", CASES)
def test_fit_returns_self_and_leaves_the_global_generators_alone(name, seed, data):
    case = CASES[name]
    if seed is None and not case.accepts_none_seed:
        pytest.skip(f"{name} takes an integer seed only")
    model = case.make(seed=seed)
    before = _global_states()
    assert case.fit(model, data) is model
    after = _global_states()
    assert after[0] == before[0], "python's random state changed"
    np.testing.assert_array_equal(after[1], before[1], err_msg="numpy's global state changed")
    assert torch.equal(after[2], before[2]), "torch's global state changed"


@pytest.mark.parametrize("name", CASES)
def test_unfitted_models_raise_not_fitted(name, data, tmp_path):
    case = CASES[name]
    model = case.make()
    with pytest.raises(NotFittedError):
        case.output(model, data)
    with pytest.raises(NotFittedError):
        model.save(tmp_path / "unfitted.model")
    if case.classifier:
        X = data["L"] if "label" in name or name == "nashaat" else data["pairs"]
        with pytest.raises(NotFittedError):
            model.predict(X)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_predict_proba_is_n_by_two(name, data):
    case = CASES[name]
    proba = case.output(case.fit(case.make(), data), data)
    assert proba.shape == (len(data["y"]), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert ((proba >= 0) & (proba <= 1)).all()


@pytest.mark.parametrize("name", CASES)
def test_one_model_file_format_round_trips_and_refuses_what_is_not_its_own(name, data, tmp_path):
    case = CASES[name]
    model = case.fit(case.make(), data)
    cls = type(model)
    model.save(tmp_path / "m.model")
    loaded = cls.load(tmp_path / "m.model")
    np.testing.assert_allclose(case.output(loaded, data), case.output(model, data))
    assert loaded.get_params().keys() == model.get_params().keys()
    whole = (tmp_path / "m.model").read_bytes()
    assert whole.startswith(b"RISKWEASUL-MODEL ") and f'"kind": "{cls.__name__}"'.encode() in whole
    (tmp_path / "garbage").write_bytes(b"\x80\x04not a model")
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "cut").write_bytes(whole[: len(whole) // 2])
    save_model({"x": 1}, tmp_path / "other.model", kind="SomethingElse")
    refusals = [("garbage", "not a riskweasul model"), ("empty", "not a riskweasul"),
                ("cut", "damaged or truncated"), ("other.model", "not a " + cls.__name__)]
    for file, message in refusals:
        with pytest.raises(ValueError, match=message):
            cls.load(tmp_path / file)
    with pytest.raises(FileNotFoundError, match="no file"):
        cls.load(tmp_path / "missing.model")


class _LocalLF:
    """An LF-like object the risk model reads `name` and `polarity` from."""

    def __init__(self, name: str, polarity: int) -> None:
        self.name, self.polarity = name, polarity
        self.f = lambda row: polarity  # code: cannot be pickled


def test_risk_model_file_keeps_the_rules_not_the_lfs(data, tmp_path):
    lfs = [_LocalLF(f"lf{j}", j % 2) for j in range(4)]
    model = RiskModel(lfs=lfs, epochs=20).fit(data["pairs"], data["y"], data["proba"], L=data["L"])
    model.save(tmp_path / "risk.model")
    assert model.lfs is lfs  # saving leaves the model itself as it was
    loaded = RiskModel.load(tmp_path / "risk.model")
    assert loaded.lfs is None and len(loaded.rules_) == len(model.rules_)
    np.testing.assert_allclose(loaded.risk(data["pairs"], data["proba"], L=data["L"]),
                               model.risk(data["pairs"], data["proba"], L=data["L"]))
    with pytest.raises(ValueError, match="pass L"):
        loaded.risk(data["pairs"], data["proba"])


def test_a_model_holding_a_lambda_is_refused_with_a_message(data, tmp_path):
    model = RiskModel(featurizer=lambda pairs: pairs[["left_price", "right_price"]], epochs=5)
    model.fit(data["pairs"], data["y"], data["proba"])
    with pytest.raises(ValueError, match="cannot be pickled.*module level"):
        model.save(tmp_path / "risk.model")
    assert not (tmp_path / "risk.model").exists()


@pytest.mark.parametrize("name", SELECTOR_NAMES)
def test_selectors_clone(name):
    selector = make_selector(name, seed=5)
    copy = clone(selector)
    assert type(copy) is type(selector) and copy.get_params() == selector.get_params()
    assert copy.get_params()["seed"] == 5


def test_a_cloned_selector_starts_its_generator_afresh():
    from active.base import PoolState

    state = PoolState(L=np.zeros((50, 3), dtype=np.int64))
    selector = make_selector("random", seed=5)
    first = selector.select(state, 5)
    assert not np.array_equal(selector.select(state, 5), first)  # the generator moved on
    np.testing.assert_array_equal(clone(selector).select(state, 5), first)


def _seeded():
    from importlib import import_module

    from active.selectors import _SELECTORS

    selectors = [getattr(import_module(m), c) for m, c in _SELECTORS.values()]
    return [PenalizedLabelModel, NashaatLabelModel, SimilarityMatcher, RNNMatcher, RiskModel,
            OASISSampler, ImportanceSampler, PassiveSampler, StratifiedSampler, ActiveLoop,
            draw_audit, make_selector, *selectors]


@pytest.mark.parametrize("target", _seeded(), ids=lambda t: t.__name__)
def test_seed_is_zero_by_default_everywhere(target):
    assert inspect.signature(target).parameters["seed"].default == 0


def test_label_model_progress_is_one_rich_bar_under_one_name(data, capsys):
    PenalizedLabelModel(n_epochs=7, progress=True).fit(data["L"])
    shown = capsys.readouterr().out
    assert "PenalizedLabelModel" in shown and "7/7" in shown
    PenalizedLabelModel(n_epochs=7).fit(data["L"])
    assert capsys.readouterr().out == ""
    with pytest.raises(TypeError, match=r"PenalizedLabelModel\(progress=True\)"):
        PenalizedLabelModel(n_epochs=7).fit(data["L"], progress_bar=True)


@labeling_function(polarity=1)
def _same_title(x):
    return 1 if x.left_title == x.right_title else -1


def test_applying_lfs_shows_the_same_rich_bar(data, capsys):
    lfs = [values_equal("title"), _same_title]
    quiet = apply_lfs(lfs, data["pairs"], progress=False)
    assert capsys.readouterr().out == ""
    shown = apply_lfs(lfs, data["pairs"], progress=True)
    out = capsys.readouterr().out
    assert "vectorized LFs" in out and "1/1" in out and "1 row-wise LFs" in out
    np.testing.assert_array_equal(shown, quiet)

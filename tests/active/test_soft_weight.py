"""The soft labels' weight: chosen low when the label model is wrong, high when it is right,
by cross-validation on the expert labels alone or by the label model's skill on them; fixed
weights are validated."""

import numpy as np
import pytest

from active import ActiveLoop, SimulatedOracle
from active.soft_weight import label_model_trust, soft_weight_losses
from labeling_functions import PairFeaturizer
from matchers import SimilarityMatcher


@pytest.fixture(scope="module")
def quick(pool):
    """Small matchers sharing one fitted featurizer (as the loop shares its own)."""
    featurizer = PairFeaturizer().fit(pool)
    return lambda: SimilarityMatcher(seed=0, max_iter=20, learning_rate=0.1,
                                     featurizer=featurizer)


def _choice(pool, make_matcher, soft_proba):
    gold = pool["label"].to_numpy()
    rng = np.random.default_rng(0)
    asked = np.concatenate([rng.choice(np.flatnonzero(gold == c), 8, replace=False)
                            for c in (0, 1)])
    labels = {int(i): int(gold[i]) for i in asked}
    rows = np.arange(len(pool))
    losses = soft_weight_losses(make_matcher, pool, labels, rows, soft_proba[rows], 5.0,
                                grid=(1.0, 0.03), seed=0)
    return min(losses, key=losses.get), losses


def test_distrusts_wrong_soft_labels(pool, quick):
    gold = pool["label"].to_numpy().astype(float)
    _, right = _choice(pool, quick, gold)
    shuffled, noise = _choice(pool, quick, np.random.default_rng(1).permutation(gold))
    inverted, wrong = _choice(pool, quick, 1 - gold)
    assert shuffled == inverted == 0.03
    assert right[1.0] < noise[1.0] / 5 and noise[1.0] < wrong[1.0]


def test_same_seed_same_losses(pool, quick):
    soft = np.full(len(pool), 0.3)
    assert _choice(pool, quick, soft) == _choice(pool, quick, soft)


def test_loop_records_its_choice(pool, lfs, fast_matcher):
    loop = ActiveLoop(pool, lfs, oracle=SimulatedOracle(pool["label"]), selector="random",
                      matcher=fast_matcher(), batch_size=20, soft_weight="cv", seed=0)
    history = loop.run(40)
    chosen = history["soft_weight"].dropna()
    assert chosen.isin([1.0, 0.3, 0.1, 0.03]).all()
    assert history["t_soft_weight"].notna().any()  # chosen at least once (>= 30 labels)
    rows, _, w = loop._training_set(loop.state.labels, loop.state.lm_proba, None)
    soft = ~np.isin(rows, list(loop.state.labels))
    assert np.allclose(w[soft], chosen.iloc[-1])


@pytest.mark.parametrize("bad", [-1.0, "auto", np.inf, True, None])
def test_bad_soft_weight_is_a_clear_error(pool, lfs, bad):
    with pytest.raises(ValueError, match="soft_weight must be a non-negative number"):
        ActiveLoop(pool, lfs, oracle=SimulatedOracle(pool["label"]), soft_weight=bad)


def test_trust_follows_the_label_models_skill():
    ys = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0] * 5, dtype=float)
    right = label_model_trust(0.9 * ys + 0.05, ys)
    base_rate = label_model_trust(np.full(ys.size, ys.mean()), ys)
    wrong = label_model_trust(1 - ys, ys)
    assert 0.9 < right < 1.0
    assert base_rate == wrong == pytest.approx(20 / 70)  # no skill: only the prior's share
    assert label_model_trust(1 - ys[:2], ys[:2]) == 1.0  # one class: nothing measured
    # more answers, less say for a label model without skill
    assert label_model_trust(1 - np.tile(ys, 4), np.tile(ys, 4)) < wrong


def test_loop_weighs_soft_labels_by_skill(pool, lfs, fast_matcher):
    loop = ActiveLoop(pool, lfs, oracle=SimulatedOracle(pool["label"]), selector="random",
                      matcher=fast_matcher(), batch_size=20, soft_weight="skill", seed=0)
    history = loop.run(40)
    measured = history["soft_weight"].dropna()
    assert len(measured) >= 2 and ((measured > 0) & (measured <= 1)).all()
    answers = loop.state.snapshot  # every answer, the audit's too (the default audit=2)
    assert answers.audit.any()
    assert measured.iloc[-1] == pytest.approx(
        label_model_trust(loop.state.lm_proba[answers.positions], answers.labels))
    rows, _, w = loop._training_set(loop.state.labels, loop.state.lm_proba, None)
    soft = ~np.isin(rows, answers.positions)
    assert np.allclose(w[soft], measured.iloc[-1])


@pytest.mark.parametrize("bad", [0.0, -3, np.inf, True, "20"])
def test_bad_skill_prior_is_a_clear_error(pool, lfs, bad):
    with pytest.raises(ValueError, match="skill_prior_labels must be a positive number"):
        ActiveLoop(pool, lfs, oracle=SimulatedOracle(pool["label"]), soft_weight="skill",
                   skill_prior_labels=bad)

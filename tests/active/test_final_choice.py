"""How ActiveLoop.finish judges the final matcher against the in-loop one: held-out and
audit labels, a paired bootstrap, and the confidence it needs to switch."""

import numpy as np
import pandas as pd
import pytest

from active import ActiveLoop, SimulatedOracle
from active.loop import LabelSnapshot, _comparison_set, _paired_f1_bootstrap


def _compared(final, in_loop, labels, weight=None):
    n = len(labels)
    return pd.DataFrame({"label": labels, "weight": np.ones(n) if weight is None else weight,
                         "final": final, "in_loop": in_loop})


def test_bootstrap_sees_a_clear_winner_and_no_winner_in_a_tie():
    y = np.array([1, 0] * 15)
    better = _paired_f1_bootstrap(_compared(y, np.where(np.arange(30) < 10, 1 - y, y), y), 0)
    assert better[0] == 1.0 and better[1] < 1.0 and better[2] > 0.99
    tie = _paired_f1_bootstrap(_compared(y, y, y), 0)
    assert tie == (1.0, 1.0, 0.0)  # never strictly better


def test_weights_decide_which_mistakes_count():
    y = np.array([1, 1, 0, 0])
    final, in_loop = np.array([1, 1, 1, 0]), np.array([1, 0, 0, 0])
    light = _paired_f1_bootstrap(_compared(final, in_loop, y, np.array([1, 1, 9, 1.0])), 0)
    heavy = _paired_f1_bootstrap(_compared(final, in_loop, y, np.array([1, 9, 1, 1.0])), 0)
    assert light[0] < light[1] and heavy[0] > heavy[1]


def test_comparison_set_weights_audit_pairs_by_share_over_inclusion_probability():
    snapshot = LabelSnapshot(positions=np.array([4, 7, 9, 2, 5]), labels=np.array([1, 0, 1, 0, 1]),
                             inclusion_prob=np.array([1.0, 1.0, 0.5, 0.25, 0.1]),
                             frame=np.array([-1, -1, 2, 2, 4]))
    labels = snapshot.training()
    compared = _comparison_set(np.array([7]), labels, snapshot)
    assert compared["position"].tolist() == [7, 9, 2, 5]
    assert compared["label"].tolist() == [0, 1, 0, 1]
    np.testing.assert_allclose(compared["weight"], [1.0, (2 / 3) / 0.5, (2 / 3) / 0.25,
                                                    (1 / 3) / 0.1])


@pytest.fixture
def ran(pool, lfs, fast_matcher):
    gold = pool["label"].to_numpy()
    loop = ActiveLoop(pool, lfs, oracle=SimulatedOracle(gold), matcher=fast_matcher(),
                      final_matcher=fast_matcher(), batch_size=10, seed=0)
    loop.run(0)
    loop.run(40)
    return loop


def test_confidence_sets_how_sure_finish_must_be_to_switch(ran):
    keep = ran.finish(confidence=1.0, min_audit=0)
    if keep["chosen"] == "final":
        assert keep["p_final_better"] == 1.0
    switch = ran.finish(confidence=0.0, min_audit=0)
    assert switch["chosen"] == "final" and switch["n_audit"] > 0
    assert len(switch["held_out"]) == switch["n_holdout"] + switch["n_audit"]
    with pytest.raises(ValueError, match="confidence"):
        ran.finish(confidence=1.5)


def test_without_enough_audit_labels_the_in_loop_matcher_stays(ran):
    in_loop = ran.matcher_proba.copy() if ran.scorer is ran.matcher else None
    assert ran.finish(confidence=0.0, min_audit=0)["chosen"] == "final"
    assert ran.scorer is ran.final_matcher
    report = ran.finish(confidence=0.0, min_audit=ran.final["n_audit"] + 1)
    assert report["chosen"] == "in_loop" and "audit labels" in report["why"]
    assert ran.scorer is ran.matcher
    if in_loop is not None:
        np.testing.assert_allclose(ran.matcher_proba, in_loop)

"""Stopping rules: parsing, and a session that ends itself with the reason in words."""

import pytest

from active import ActiveLoop, SimulatedOracle
from active.stopping import StopRule, parse_stop_rule


@pytest.mark.parametrize("text", ["f1<0.03", "f1_interval<0", "gain<0.01 over 0 batches", 3])
def test_bad_rules_say_what_is_accepted(text):
    with pytest.raises(ValueError, match="f1_interval<0.03"):
        parse_stop_rule(text)


def test_rules_read_the_history():
    assert parse_stop_rule(" f1_interval < 0.05 ") == StopRule(width=0.05)
    rule = parse_stop_rule("gain<0.01 over 2 batches")
    rows = [{"f1_estimate": f, "f1_low": f - 0.1, "f1_high": f + 0.1} for f in (0.5, 0.7, 0.8)]
    assert rule.reason(rows) is None  # +0.3 over the last 2 rounds
    assert StopRule(width=0.05).reason(rows) is None
    rows += [{"f1_estimate": f, "f1_low": f - 0.005, "f1_high": f + 0.005} for f in (0.8, 0.805)]
    assert "gained +0.0050" in rule.reason(rows)
    assert "narrower than 0.05" in StopRule(width=0.05).reason(rows)
    assert StopRule(width=0.05).reason([{"n_labels": 0}]) is None


def test_a_session_stops_when_the_interval_is_narrow(pool, lfs, fast_matcher):
    loop = ActiveLoop(pool, lfs, oracle=SimulatedOracle(pool["label"]), matcher=fast_matcher(),
                      batch_size=10, stop_when="f1_interval<0.9", seed=0)
    history = loop.run(60)
    assert "narrower than 0.9" in loop.stop_reason
    assert history["n_labels"].iloc[-1] < 60
    last = history.dropna(subset=["f1_estimate"]).iloc[-1]
    assert last["f1_low"] <= last["f1_estimate"] <= last["f1_high"]

"""The loop benchmark's DEFAULT_CONFIG is the loop as shipped: issue bars are read on it."""

import inspect
import sys
from pathlib import Path

from active import ActiveLoop
from active.loop import default_matcher
from matchers import SimilarityMatcher

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_default_config_builds_activeloops_defaults():
    saved = list(sys.path)
    try:
        sys.path.insert(0, str(BENCHMARKS))
        import active_loop
    finally:
        sys.path[:] = saved
    base, selector_options, options = active_loop.VARIANTS[active_loop.DEFAULT_CONFIG]
    defaults = {name: p.default for name, p in inspect.signature(ActiveLoop).parameters.items()}
    assert base == defaults["selector"] and selector_options == {}
    assert set(options) == {"soft_weight", "matcher_options", "featurizer_options"}
    assert options["soft_weight"] == defaults["soft_weight"]
    plain = SimilarityMatcher().get_params()
    shipped = {k: v for k, v in default_matcher(seed=0).get_params().items()
               if k != "seed" and v != plain[k]}
    assert options["matcher_options"] == shipped
    assert options["featurizer_options"] == {"restore": True}  # as ActiveLoop fits its own

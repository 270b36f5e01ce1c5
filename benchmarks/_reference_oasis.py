"""The OASIS authors' own implementation (PyPI `oasis` 0.1.3, MIT, N. Marchant) as a named
baseline for benchmarks/oasis.py, run on the same pools and budgets as ours.

Install it beside the project with `.venv/bin/pip install --no-deps oasis==0.1.3` (its declared
`sklearn` requirement is the retired PyPI placeholder, so a plain install fails). The 2017 code
imports PyTables for its experiment runner and calls `scipy.percentile` / `scipy.ptp`, which
SciPy has since removed; both are bridged below so the published code runs as written.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import types
from typing import Any

import numpy as np
import pandas as pd


def _load() -> Any:
    """Import the reference package, or None when it is not installed."""
    import scipy

    for name in ("percentile", "ptp"):
        if not hasattr(scipy, name):
            setattr(scipy, name, getattr(np, name))
    try:
        import tables  # noqa: F401  (only its experiment runner needs it)
    except ImportError:
        sys.modules["tables"] = types.ModuleType("tables")
    try:
        init = importlib.metadata.distribution("oasis").locate_file("oasis/__init__.py")
    except importlib.metadata.PackageNotFoundError:
        return None
    # loaded under its own name: "oasis" on sys.path may be this folder's benchmark script
    spec = importlib.util.spec_from_file_location(
        "oasis_reference", init, submodule_search_locations=[str(init.parent)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["oasis_reference"] = module
    spec.loader.exec_module(module)
    return module


REFERENCE = _load()


class ReferenceSampler:
    """Our sampler interface (`sample(n)` new labels, `history`) over a reference sampler.

    The reference draws from NumPy's global random state, so `seed` seeds it; it gives no
    confidence interval (low / high are NaN in `history`). Its automatic stratification sizes
    the score histogram by the Freedman-Diaconis rule, which fails when more than half the
    scores are tied (interquartile range 0); there it is given 1,000 histogram bins instead
    (`stratification_n_bins`, the number of strata still chosen by its own rule).
    """

    def __init__(self, kind: str, predictions: Any, scores: Any, oracle: Any, seed: int) -> None:
        if REFERENCE is None:
            raise ImportError("pip install --no-deps oasis==0.1.3 to run the reference samplers")
        np.random.seed(seed)  # noqa: NPY002  (the reference draws from the global state)
        if kind == "OASIS":
            scores = np.asarray(scores, dtype=float)
            quartiles = np.percentile(scores, [25, 75])
            tied = {"stratification_n_bins": 1000} if quartiles[0] == quartiles[1] else {}
            self._sampler = REFERENCE.OASISSampler(
                0.5, predictions, scores, oracle, proba=True, max_iter=10**6, **tied
            )
        else:
            self._sampler = REFERENCE.PassiveSampler(0.5, predictions, oracle, max_iter=10**6)

    def sample(self, n: int) -> ReferenceSampler:
        """Draw until n new labels (the reference's `sample_distinct`)."""
        self._sampler.sample_distinct(n)
        return self

    @property
    def history(self) -> pd.DataFrame:
        """The F1 estimate after each new label."""
        estimate = np.asarray(self._sampler.estimate_, dtype=float).ravel()
        estimate = estimate[self._sampler.queried_oracle_]
        n = np.arange(1, estimate.size + 1)
        return pd.DataFrame({"n_labels": n, "estimate": estimate, "low": np.nan, "high": np.nan})

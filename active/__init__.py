"""The combined weak/active loop: selectors, oracles, the label store and the command line.

Names are imported lazily so that `riskweasul --help` starts fast and one heavy import
(torch) is paid only by the code that needs it.
"""

from importlib import import_module

_EXPORTS = {
    "PoolState": "active.base",
    "Selector": "active.base",
    "MaxKLSelector": "active.maxkl",
    "MarginSelector": "active.maxkl",
    "RandomBucketSelector": "active.maxkl",
    "weighted_kmedoids": "active.kmedoids",
    "lipschitz_weights": "active.kmedoids",
    "RiskKMedoidsSelector": "active.kmedoids",
    "HybridSelector": "active.selectors",
    "MediumConfidenceSelector": "active.selectors",
    "TwoStageLoop": "active.refit",
    "EntropySelector": "active.selectors",
    "RandomSelector": "active.selectors",
    "CoreSetSelector": "active.selectors",
    "make_selector": "active.selectors",
    "SimulatedOracle": "active.oracles",
    "FileOracle": "active.oracles",
    "InteractiveOracle": "active.terminal",
    "PairView": "active.oracles",
    "Answer": "blocking.answers",
    "LabelStore": "active.store",
    "WebOracle": "active.web",
    "ActiveLoop": "active.loop",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'active' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)

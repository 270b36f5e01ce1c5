"""What every selector sees (`PoolState`) and the interface every selector implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import BaseEstimator


@dataclass
class PoolState:
    """A snapshot of the pool that a selector picks the next pairs from.

    Positions are row positions in the pool. Arrays a selector does not need may be None.
    """

    L: np.ndarray
    """(n, m) LF votes in {-1, 0, 1}."""
    expert_labels: dict[int, int] = field(default_factory=dict)
    """Pool position -> 0/1 expert label, for every pair labelled so far."""
    lm_proba: np.ndarray | None = None
    """(n,) the label model's current P(match | L_i)."""
    lm_proba_initial: np.ndarray | None = None
    """(n,) the label model's P(match | L_i) before any expert label (maxKL's fallback)."""
    matcher_proba: np.ndarray | None = None
    """(n,) the matcher's current P(match)."""
    embeddings: np.ndarray | None = None
    """(n, d) the matcher's penultimate representation of each pair."""
    risk: np.ndarray | None = None
    """(n,) the risk model's misprediction risk of each pair."""
    skipped: set[int] = field(default_factory=set)
    """Positions the oracle could not answer: never asked again."""

    @property
    def n(self) -> int:
        return int(self.L.shape[0])

    def unlabeled(self) -> np.ndarray:
        """Positions that may still be asked: neither labelled nor skipped."""
        mask = np.ones(self.n, dtype=bool)
        taken = list(self.expert_labels) + list(self.skipped)
        if taken:
            mask[np.asarray(taken, dtype=int)] = False
        return np.flatnonzero(mask)


class Selector(BaseEstimator, ABC):
    """Picks the next pairs to show the oracle. `select` never returns a labelled, skipped or
    repeated position, and returns fewer than `n` only when fewer are left. `seed` is 0 by
    default, as for every model here; None draws a fresh one. Constructor arguments are kept
    as given, so `get_params` and `sklearn.base.clone` work (a clone starts a fresh generator)."""

    name: str = "selector"

    def __init__(self, seed: int | None = 0) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.diagnostics: dict = {}

    @abstractmethod
    def select(self, state: PoolState, n: int) -> np.ndarray:
        """Return up to `n` distinct unlabeled pool positions to label next."""

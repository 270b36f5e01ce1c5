import numpy as np
import pytest


def make_votes(n: int, accuracies, abstain: float, seed: int):
    """Gold labels and LFs that vote the label with the given accuracies, abstaining at random."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    acc = np.asarray(accuracies)
    L = np.where(rng.random((n, acc.size)) < acc, y[:, None], 1 - y[:, None])
    L[rng.random(L.shape) < abstain] = -1
    return L, y


@pytest.fixture
def votes():
    return make_votes(2000, [0.9, 0.8, 0.75, 0.65, 0.6], abstain=0.3, seed=0)

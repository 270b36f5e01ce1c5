import numpy as np
import pytest


def _make_pool(n: int = 3000, rate: float = 0.05, seed: int = 0):
    """Labels, probability scores and thresholded predictions of an imperfect classifier."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < rate).astype(np.int8)
    logit = np.where(labels == 1, rng.normal(1.0, 1.5, n), rng.normal(-3.0, 1.5, n))
    scores = 1 / (1 + np.exp(-logit))
    return labels, scores, (scores > 0.5).astype(np.int8)


@pytest.fixture
def make_pool():
    return _make_pool


@pytest.fixture
def pool():
    return _make_pool()


class _RecordingOracle:
    """Answers from known labels and remembers every question."""

    def __init__(self, labels, unsure=()):
        self.labels, self.unsure, self.asked = labels, set(unsure), []

    def __call__(self, i):
        self.asked.append(i)
        return None if i in self.unsure else int(self.labels[i])


@pytest.fixture
def recording_oracle():
    return _RecordingOracle

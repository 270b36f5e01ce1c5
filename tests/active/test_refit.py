"""The two-stage refit: model k+1/2 on soft and expert labels, its confident pairs added as
pseudo-labels, model k+1 on the extended set."""

import numpy as np

from active import SimulatedOracle
from active.refit import TwoStageLoop


class RecordingMatcher:
    """A SimilarityMatcher that records the rows and weights of every fit (clones included)."""

    fits: list = []

    def __init__(self, seed=0):
        from matchers import SimilarityMatcher

        self.seed = seed
        self._inner = SimilarityMatcher(seed=seed, max_iter=20, learning_rate=0.1)

    def get_params(self, deep=False):
        return {"seed": self.seed}

    def set_params(self, **params):
        self.__init__(**params)
        return self

    def fit(self, pairs, y, sample_weight=None):
        RecordingMatcher.fits.append((len(pairs), np.asarray(sample_weight)))
        self._inner.fit(pairs, y, sample_weight=sample_weight)
        return self

    def match_proba(self, pairs):
        return self._inner.match_proba(pairs)


def test_each_round_fits_twice_and_the_second_fit_adds_confident_pseudo_labels(pool, lfs):
    RecordingMatcher.fits = []
    loop = TwoStageLoop(pool, lfs[:3], oracle=SimulatedOracle(pool["label"]), selector="medium",
                        matcher=RecordingMatcher(), batch_size=5, gold=pool["label"],
                        pseudo_threshold=0.9, pseudo_weight=0.25, seed=0)
    history = loop.run(5)
    assert list(history["n_labels"]) == [0, 5]
    fits = RecordingMatcher.fits
    assert len(fits) == 2 * len(history)  # k+1/2 then k+1, every round
    for (n_half, w_half), (n_full, w_full) in zip(fits[::2], fits[1::2], strict=True):
        assert 0.25 not in set(w_half.tolist())  # no pseudo-labels in model k+1/2
        assert n_full >= n_half and 0.25 in set(w_full.tolist())
    assert history["matcher_f1"].between(0, 1).all()

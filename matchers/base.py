"""What every matcher shares: the scikit-learn classifier contract over pair tables and one
model-file format."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError

from blocking.files import load_model, save_model
from labeling_functions.featurizer import PairFeaturizer


class PairMatcher(ClassifierMixin, BaseEstimator):
    """Base class of the matchers: subclasses implement `fit` and `match_proba`.

    `predict_proba` is (n, 2) like every scikit-learn classifier (columns: non-match, match);
    `match_proba` is its match column, the (n,) vector the loop and the selectors use.
    """

    _fitted_attribute = "model_"

    def _check_fitted(self, where: str) -> None:
        if not hasattr(self, self._fitted_attribute):
            name = type(self).__name__
            raise NotFittedError(f"{name}.{where}: call fit(pairs, y) or {name}.load first")

    def match_proba(self, pairs: pd.DataFrame) -> np.ndarray:
        """P(match) of every pair, shape (n,)."""
        raise NotImplementedError

    def _fitted_featurizer(self, pairs: pd.DataFrame, **defaults) -> PairFeaturizer:
        """The `featurizer` parameter when fitted (the loop shares the pool's), else a fitted
        copy of it, or of `PairFeaturizer(**defaults)` when None (IDF tables and kinds from
        `pairs`, so that a pair's score does not depend on its batch)."""
        given = self.featurizer
        if given is None:
            return PairFeaturizer(**defaults).fit(pairs)
        if not isinstance(given, PairFeaturizer):
            raise TypeError(f"{type(self).__name__}: featurizer must be a PairFeaturizer or None, "
                            f"got {type(given).__name__}")
        if hasattr(given, "columns_"):
            return given
        return clone(given).fit(pairs)

    def predict_proba(self, pairs: pd.DataFrame) -> np.ndarray:
        """Class probabilities of every pair, shape (n, 2): P(non-match), P(match)."""
        p = self.match_proba(pairs)
        return np.column_stack([1.0 - p, p])

    def predict(self, pairs: pd.DataFrame, threshold: float = 0.5) -> np.ndarray:
        """0/1 predictions: 1 where P(match) >= `threshold`."""
        return (self.match_proba(pairs) >= threshold).astype(np.int64)

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted matcher to one model file (atomically, with a checked header)."""
        self._check_fitted("save")
        save_model(self, path, kind=type(self).__name__)

    @classmethod
    def load(cls, path: str | os.PathLike) -> PairMatcher:
        """Read a matcher written by `save`; a file of another kind or a damaged one is refused
        before anything is unpickled. Load only files you trust."""
        return load_model(path, kind=cls.__name__, where=f"{cls.__name__}.load")

"""DifferenceWords: which words one record of a pair has and the other lacks, weighed by labels.

Similarity features say how alike two records are, not which differences matter: 'Karaoke
Version', 'Remix' or 'Non-Organic' on one side only are a small share of two long records that
agree on everything else. This model learns per word, from the labelled pairs, how a word found
in exactly one of the two records moves the log-odds of a match.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

__all__ = ["DifferenceWords"]

_TOKEN = r"(?u)\b\w+\b"


def _as_categorical(texts: pd.Series | np.ndarray) -> pd.Series:
    """Texts as a categorical Series (each distinct text tokenized once); missing = ''."""
    texts = pd.Series(texts)
    if not isinstance(texts.dtype, pd.CategoricalDtype):
        texts = texts.astype(object).where(texts.notna(), "").astype(str).astype("category")
    return texts


class DifferenceWords(BaseEstimator):
    """L2-regularized logistic regression on the binary bag of words in the symmetric difference
    of a pair's two record texts (side-agnostic: the words of one side missing from the other,
    both ways), over the words of the training pairs.

    `C` is the inverse regularization strength, `n_folds` the folds of `fit_cross`, `seed` fixes
    the fold draw. Labels may be soft (each pair enters as a match with weight p and as a
    non-match with weight 1 - p, times its sample weight).
    """

    def __init__(self, C: float = 1.0, n_folds: int = 5, seed: int = 0) -> None:
        self.C = C
        self.n_folds = n_folds
        self.seed = seed

    def _check_params(self) -> None:
        if not isinstance(self.C, int | float | np.number) or not self.C > 0:
            raise ValueError(f"DifferenceWords: C must be a number > 0, got {self.C!r}")
        if (not isinstance(self.n_folds, int | np.integer) or isinstance(self.n_folds, bool)
                or self.n_folds < 2):
            raise ValueError(f"DifferenceWords: n_folds must be an int >= 2, got "
                             f"{self.n_folds!r}")

    def fit(self, left: pd.Series | np.ndarray, right: pd.Series | np.ndarray,
            y: np.ndarray, sample_weight: np.ndarray | None = None) -> DifferenceWords:
        """Fit on the pairs' two record texts and labels in [0, 1]."""
        self._check_params()
        left, right = _as_categorical(left), _as_categorical(right)
        self.vocabulary_ = CountVectorizer(binary=True, token_pattern=_TOKEN,
                                           dtype=np.float64).fit(
            np.concatenate([left.cat.categories.to_numpy(str),
                            right.cat.categories.to_numpy(str), ["_"]]))  # never empty
        X = self._bags(left, right)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        self.model_, self.prior_ = self._fit_rows(X, np.asarray(y, float), weights)
        return self

    def fit_cross(self, left: pd.Series | np.ndarray, right: pd.Series | np.ndarray,
                  y: np.ndarray, sample_weight: np.ndarray | None = None) -> np.ndarray:
        """Fit on all pairs (as `fit`) and return each pair's cross-fitted log-odds: scored by
        a model fitted without its fold, so a learner trained on these values sees no more of
        a pair's own label than it would on new pairs."""
        self.fit(left, right, y, sample_weight)
        X = self._bags(_as_categorical(left), _as_categorical(right))
        y = np.asarray(y, float)
        weights = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        fold = np.random.default_rng(self.seed).permutation(len(y)) % self.n_folds
        out = np.empty(len(y))
        for k in range(self.n_folds):
            held = fold == k
            if not held.any():
                continue
            model, prior = self._fit_rows(X[~held], y[~held], weights[~held])
            out[held] = prior if model is None else model.decision_function(X[held])
        return out

    def decision_function(self, left: pd.Series | np.ndarray, right: pd.Series | np.ndarray
                          ) -> np.ndarray:
        """Log-odds of a match of each pair, shape (n,)."""
        if not hasattr(self, "model_"):
            raise NotFittedError("DifferenceWords.decision_function: call fit first")
        X = self._bags(_as_categorical(left), _as_categorical(right))
        if self.model_ is None:
            return np.full(X.shape[0], self.prior_)
        return self.model_.decision_function(X)

    def _bags(self, left: pd.Series, right: pd.Series) -> sparse.csr_matrix:
        """Binary words of one record and not the other (either way), one row per pair."""
        sides = []
        for texts in (left, right):
            table = sparse.vstack([  # a last, empty row for missing texts (code -1)
                self.vocabulary_.transform(texts.cat.categories.to_numpy(str)),
                sparse.csr_matrix((1, len(self.vocabulary_.vocabulary_)))]).tocsr()
            sides.append(table[texts.cat.codes.to_numpy()])
        return abs(sides[0] - sides[1]).tocsr()

    def _fit_rows(self, X: sparse.csr_matrix, y: np.ndarray, w: np.ndarray
                  ) -> tuple[LogisticRegression | None, float]:
        """(the regression, or None where the rows hold one class only; the weighted prior
        log-odds, the score used then)."""
        w1, w0 = w * y, w * (1 - y)
        prior = float(np.log((w1.sum() + 1e-3) / (w0.sum() + 1e-3)))
        if w1.sum() <= 0 or w0.sum() <= 0:
            return None, prior
        X2 = sparse.vstack([X, X]).tocsr()
        y2 = np.concatenate([np.ones(len(y)), np.zeros(len(y))])
        w2 = np.concatenate([w1, w0])
        keep = w2 > 0
        model = LogisticRegression(C=self.C, max_iter=500)
        return model.fit(X2[keep], y2[keep], sample_weight=w2[keep]), prior

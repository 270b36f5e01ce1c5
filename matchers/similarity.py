"""SimilarityMatcher: gradient boosting on the shared pair features, the fast in-loop matcher."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.ensemble import HistGradientBoostingClassifier

from labeling_functions.featurizer import PairFeaturizer
from matchers.base import PairMatcher
from matchers.difference_words import DifferenceWords
from matchers.validation import check_pairs, check_sample_weight, check_targets

_BINS = 255  # the boosting's max_bins


class SimilarityMatcher(PairMatcher):
    """Histogram gradient boosting over the features of a `PairFeaturizer` (NaN = missing).

    `featurizer`: a fitted `PairFeaturizer` is used as it is (the loop fits one on the pool and
    shares it, with its cache); an unfitted one, or None (`PairFeaturizer()`), is copied and
    fitted on the training pairs. `seed=None` draws a fresh seed.

    Soft labels are learned exactly: each pair enters twice, as a match with weight p and as a
    non-match with weight 1 - p (times its sample weight), so the classifier's log-loss equals the
    cross-entropy with probabilistic targets.

    `monotonic=True` constrains P(match) to never fall as a similarity feature rises (nor rise
    as a difference does), per the featurizer's `feature_directions_`: few or noisy labels then
    cannot teach the trees a reversed step, and pairs unlike any training pair are not scored
    above the similar ones.

    `n_models > 1` averages that many boosted models, each fitted on its own random `subsample`
    share of the pairs, with its own seed; `max_features` is the share of features each split
    may consider. `max_iter` and `learning_rate` describe the whole ensemble: each model runs
    `max_iter // n_models` iterations at `learning_rate * n_models`, so a fit costs about the
    same whatever `n_models`. The defaults (one model, every pair and feature) are the matcher
    as before; benchmarks/results/matcher_small.md and active_loop_small.md measure the rest.

    `interactions` limits which features a tree may combine: "all" (the default), "attribute"
    (only features of one attribute, `<attr>__<metric>`, together: P(match) is then a sum of
    one learned term per attribute, the Fellegi-Sunter model's shape with learned comparison
    levels, which a few labels cannot bend into a rule such as "a different postcode outweighs
    the same name, birth date and street"), "none" (one feature per term), or groups of
    attribute names (a list of lists: one term per group, each other attribute its own).

    `difference_words` (None = off; else the inverse regularization C of a `DifferenceWords`
    regression) adds one feature: the log-odds that regression gives from the words found in
    one record's whole text and not the other's, so the trees can learn which differences
    ('karaoke', 'remix', 'non-organic') undo a high similarity. On the training pairs the
    column is cross-fitted (`DifferenceWords.fit_cross`), so the trees never see a value that
    was fitted on the pair's own label.
    """

    _fitted_attribute = "models_"

    def __init__(
        self,
        seed: int = 0,
        max_iter: int = 300,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        l2_regularization: float = 0.0,
        featurizer: PairFeaturizer | None = None,
        monotonic: bool = False,
        n_models: int = 1,
        subsample: float = 1.0,
        max_features: float = 1.0,
        difference_words: float | None = None,
        interactions: str | list[list[str]] = "all",
    ) -> None:
        self.seed = seed
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.featurizer = featurizer
        self.monotonic = monotonic
        self.n_models = n_models
        self.subsample = subsample
        self.max_features = max_features
        self.difference_words = difference_words
        self.interactions = interactions

    def __setstate__(self, state: dict) -> None:
        """Unpickle; a model file written before `monotonic` or the ensemble existed gets the
        settings it was fitted with (one model, every pair and feature)."""
        old = {"monotonic": False, "n_models": 1, "subsample": 1.0, "max_features": 1.0,
               "difference_words": None, "words_": None, "interactions": "all"}
        if "model_" in state:
            state = {**state, "models_": [state["model_"]]}
            del state["model_"]
        super().__setstate__({**old, **state})

    def fit(
        self,
        pairs: pd.DataFrame,
        y: np.ndarray | pd.Series,
        sample_weight: np.ndarray | None = None,
        valid: tuple[pd.DataFrame, np.ndarray | pd.Series] | None = None,
        features: pd.DataFrame | None = None,
    ) -> SimilarityMatcher:
        """Fit on pairs with labels in [0, 1]; `valid` is accepted and unused (boosting refits
        from scratch in seconds), so the matchers are swappable. `features`, if given, are the
        pairs' rows of `featurizer.transform` computed ahead (the featurizer must be fitted):
        the same fit, without looking the pairs up again."""
        self._check_params()
        check_pairs(pairs, "SimilarityMatcher.fit pairs")
        targets = check_targets(y, len(pairs), "SimilarityMatcher.fit y")
        weights = check_sample_weight(sample_weight, len(pairs))
        self.featurizer_ = self._fitted_featurizer(pairs)
        self.attributes_ = self.featurizer_.attributes_
        if features is None:
            features = self.featurizer_.transform(pairs)
        elif self.featurizer_ is not self.featurizer or len(features) != len(pairs):
            raise ValueError("SimilarityMatcher.fit features: pass the rows of the given fitted "
                             "featurizer's transform(pairs), one per pair, or features=None")
        features = features.loc[:, features.notna().any()]  # all-NaN columns carry nothing
        self.columns_ = list(features.columns)
        X = features.to_numpy(dtype=float)
        seen = np.maximum((~np.isnan(X)).sum(axis=0), 1)
        self.mean_ = np.nansum(X, axis=0) / seen
        spread = np.sqrt(np.nansum((X - self.mean_) ** 2, axis=0) / seen)
        self.scale_ = np.where(spread > 0, spread, 1.0)
        self.words_ = None
        if self.difference_words is not None:
            self.words_ = DifferenceWords(C=self.difference_words, seed=self.seed)
            X = np.column_stack([X, self.words_.fit_cross(
                *self.featurizer_.record_text_pairs(pairs), targets, weights)])
        # Bin edges from the unweighted quantiles, as the boosting's own binning would find them
        # without weights: its weighted binning sorts every column once per bin (most of a fit).
        inner = np.linspace(0.0, 1.0, _BINS + 1)[1:-1]
        self.edges_ = [np.unique(np.nanquantile(col, inner)) if (~np.isnan(col)).any()
                       else np.empty(0) for col in X.T]
        X = self._binned(X)
        X2 = np.vstack([X, X])
        y2 = np.concatenate([np.ones(len(X)), np.zeros(len(X))])
        w2 = np.concatenate([weights * targets, weights * (1 - targets)])
        keep = w2 > 0
        if np.unique(y2[keep]).size < 2:
            raise ValueError(
                "SimilarityMatcher.fit y: all labels are of one class; include matches and "
                "non-matches (or soft labels strictly between 0 and 1)"
            )
        self.models_ = self._fit_ensemble(X2[keep], y2[keep], w2[keep],
                                          np.concatenate([np.arange(len(X))] * 2)[keep])
        self.classes_ = np.array([0, 1])
        return self

    def _fit_ensemble(self, X: np.ndarray, y: np.ndarray, w: np.ndarray, pair: np.ndarray
                      ) -> list[HistGradientBoostingClassifier]:
        """`n_models` boosted models, each on its own `subsample` of the pairs (both rows of a
        pair together) with its own seed, sharing the iterations (see the class docstring)."""
        rng = np.random.default_rng(self.seed)
        n_pairs = int(pair.max()) + 1
        models = []
        for _ in range(self.n_models):
            use = np.ones(len(X), dtype=bool)
            if self.subsample < 1.0:
                chosen = np.zeros(n_pairs, dtype=bool)
                chosen[rng.choice(n_pairs, max(round(self.subsample * n_pairs), 1),
                                  replace=False)] = True
                use = chosen[pair]
                if np.unique(y[use]).size < 2:  # a draw of one class: this model sees all
                    use = np.ones(len(X), dtype=bool)
            part = X[use]
            part[:, np.isnan(part).all(axis=0)] = 0.0  # the boosting's binning fails on all-NaN
            models.append(HistGradientBoostingClassifier(
                max_iter=max(self.max_iter // self.n_models, 1),
                learning_rate=self.learning_rate * self.n_models,
                max_leaf_nodes=self.max_leaf_nodes,
                l2_regularization=self.l2_regularization,
                max_features=self.max_features,
                monotonic_cst=self._directions() if self.monotonic else None,
                interaction_cst=self._interaction_groups(),
                # "auto" would hold out a random 10% above 10,000 rows and stop on it: the seed
                # alone then moved the loop's F1 on dblp_acm from 0.91 to 0.65
                early_stopping=False,
                random_state=int(rng.integers(2**31)),
            ).fit(part, y[use], sample_weight=w[use]))
        return models

    def _check_params(self) -> None:
        """Validate the hyper-parameters fit reads (sklearn style: at fit, not in __init__)."""
        if not isinstance(self.monotonic, bool | np.bool_):
            raise TypeError(f"SimilarityMatcher: monotonic must be True or False, got "
                            f"{self.monotonic!r}")
        if (not isinstance(self.n_models, int | np.integer) or isinstance(self.n_models, bool)
                or self.n_models < 1):
            raise ValueError(f"SimilarityMatcher: n_models must be an int >= 1, got "
                             f"{self.n_models!r}")
        given = self.interactions
        groups_ok = (not isinstance(given, str) and isinstance(given, list | tuple)
                     and all(isinstance(g, list | tuple) and all(isinstance(a, str) for a in g)
                             for g in given))
        if not groups_ok and given not in ("all", "attribute", "none"):
            raise ValueError(f"SimilarityMatcher: interactions must be 'all', 'attribute', "
                             f"'none' or groups of attribute names (a list of lists of str), "
                             f"got {given!r}")
        words = self.difference_words
        if words is not None and (isinstance(words, bool) or not isinstance(
                words, int | float | np.number) or not words > 0):
            raise ValueError(f"SimilarityMatcher: difference_words must be None (off) or the "
                             f"regularization C > 0 of the word model, got {words!r}")
        for name in ("subsample", "max_features"):
            value = getattr(self, name)
            if not isinstance(value, int | float | np.number) or not 0.0 < value <= 1.0:
                raise ValueError(f"SimilarityMatcher: {name} must be a share in (0, 1], got "
                                 f"{value!r}")

    def _interaction_groups(self) -> list[list[int]] | None:
        """The boosting's `interaction_cst` for `interactions`: None ("all"), the kept columns'
        positions grouped by attribute (the name before the last '__'), or one group each."""
        if self.interactions == "all":
            return None
        names = [str(c).rsplit("__", 1)[0] for c in self.columns_]
        names += ["__difference_words"] * (self.words_ is not None)
        if self.interactions == "none":
            return [[k] for k in range(len(names))]
        if not isinstance(self.interactions, str):
            group_of = {a: f"__group{g}" for g, group in enumerate(self.interactions)
                        for a in group}
            names = [group_of.get(name, name) for name in names]
        groups: dict[str, list[int]] = {}
        for k, name in enumerate(names):
            groups.setdefault(name, []).append(k)
        return list(groups.values())

    def _directions(self) -> np.ndarray:
        """The featurizer's direction of each kept column (binning keeps the order)."""
        given = dict(zip(self.featurizer_.columns_, self.featurizer_.feature_directions_,
                         strict=True))
        words = [1] if self.words_ is not None else []  # more match log-odds: more likely
        return np.array([given[c] for c in self.columns_] + words, dtype=np.int8)

    def _binned(self, X: np.ndarray) -> np.ndarray:
        """Each feature replaced by the index of its bin (NaN stays NaN)."""
        out = np.empty_like(X)
        for j, edges in enumerate(self.edges_):
            out[:, j] = np.searchsorted(edges, X[:, j], side="right")
        out[np.isnan(X)] = np.nan
        return out

    def _features(self, pairs: pd.DataFrame, where: str) -> np.ndarray:
        self._check_fitted(where)
        check_pairs(pairs, f"SimilarityMatcher.{where} pairs", self.attributes_)
        features = self.featurizer_.transform(pairs)
        return features.reindex(columns=self.columns_).to_numpy(dtype=float)

    def match_proba(self, pairs: pd.DataFrame) -> np.ndarray:
        """P(match) of every pair, shape (n,)."""
        self._check_fitted("match_proba")
        check_pairs(pairs, "SimilarityMatcher.match_proba pairs", self.attributes_)
        return self.proba_of_features(self.featurizer_.transform(pairs), pairs)

    def proba_of_features(self, features: pd.DataFrame, pairs: pd.DataFrame | None = None
                          ) -> np.ndarray:
        """P(match) from a table `featurizer_.transform` made (features computed ahead, e.g.
        while a loop trains this matcher): the same as `match_proba` of those pairs. With
        `difference_words` the pairs themselves are needed too (the word model reads them)."""
        self._check_fitted("proba_of_features")
        X = self._columns_of(features, "proba_of_features")
        if len(X) == 0:
            return np.empty(0, dtype=np.float64)
        if self.words_ is not None:
            if pairs is None or len(pairs) != len(X):
                raise ValueError("SimilarityMatcher.proba_of_features: this matcher was fitted "
                                 "with difference_words; pass the pairs the features were made "
                                 "of as well (proba_of_features(features, pairs))")
            X = np.column_stack([X, self.words_.decision_function(
                *self.featurizer_.record_text_pairs(pairs))])
        X = self._binned(X)
        first, inverse = self._distinct_rows(X)  # many pairs share a binned feature row
        distinct = X[first]
        proba = np.mean([m.predict_proba(distinct)[:, 1] for m in self.models_], axis=0)
        return proba[inverse]

    def term_log_odds(self, features: pd.DataFrame) -> np.ndarray:
        """Each model's log-odds term, shape (n_models, n), from the trees over the columns in
        `features` (whole interaction groups; fitted columns it lacks must form groups of their
        own). With `interactions` other than "all" a tree reads one group only, so P(match) is
        `proba_of_log_odds` of the sum of the terms of all groups: each group's term can come
        from its own table, e.g. once per distinct value pair of an attribute."""
        self._check_fitted("term_log_odds")
        if self.interactions == "all" or self.words_ is not None:
            raise ValueError("SimilarityMatcher.term_log_odds: the trees combine every feature "
                             "(interactions='all') or read the difference-words column; use "
                             "proba_of_features")
        fitted = {c: j for j, c in enumerate(self.columns_)}
        unknown = [c for c in features.columns if c not in self.featurizer_.columns_]
        if unknown:
            raise ValueError(f"SimilarityMatcher.term_log_odds: {unknown[:5]} are not columns "
                             f"of the featurizer's table")
        given = [c for c in features.columns if c in fitted]  # the fit drops all-NaN columns
        at = np.array([fitted[c] for c in given], dtype=np.int64)
        for group in self._interaction_groups():
            inside = np.isin(group, at)
            if inside.any() and not inside.all():
                raise ValueError(f"SimilarityMatcher.term_log_odds: pass whole interaction "
                                 f"groups; missing {[self.columns_[j] for j in group]}")
        X = features[given].to_numpy(dtype=float, copy=True)  # binned in place
        for k, j in enumerate(at):
            X[:, k] = np.where(np.isnan(X[:, k]), np.nan,
                               np.searchsorted(self.edges_[j], X[:, k], side="right"))
        first, inverse = self._distinct_rows(X, at)
        rows = np.full((len(first) + 1, len(self.columns_)), np.nan)  # the last: all missing
        rows[:-1, at] = X[first]
        terms = np.array([m.decision_function(rows) for m in self.models_]).reshape(
            len(self.models_), len(rows))
        return (terms[:, :-1] - terms[:, -1:])[:, inverse]

    def proba_of_log_odds(self, terms: np.ndarray) -> np.ndarray:
        """P(match), shape (n,), from the sum over all interaction groups of their
        `term_log_odds` (shape (n_models, n))."""
        self._check_fitted("proba_of_log_odds")
        terms = np.asarray(terms, dtype=float)
        if terms.ndim != 2 or len(terms) != len(self.models_):
            raise ValueError(f"SimilarityMatcher.proba_of_log_odds: terms must have shape "
                             f"(n_models={len(self.models_)}, n), got {terms.shape}")
        missing = np.full((1, len(self.columns_)), np.nan)
        base = np.array([m.decision_function(missing)[0] for m in self.models_])
        return np.mean(expit(terms + base[:, None]), axis=0)

    def _distinct_rows(self, X: np.ndarray, columns: np.ndarray | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(a row position of each distinct row of the binned X, each row's distinct index);
        `columns`: the fitted column of each of X's columns (default: all, in order)."""
        key = np.zeros(len(X), dtype=np.int64)
        bound = 1
        at = range(len(self.edges_)) if columns is None else columns
        for k, j in enumerate(at):
            n = len(self.edges_[j]) + 2  # bins 0..len(edges), then NaN
            if bound * n >= 2**62:
                key, uniques = pd.factorize(key)
                bound = max(len(uniques), 1)
            column = np.where(np.isnan(X[:, k]), n - 1, X[:, k]).astype(np.int64)
            key = key * n + column
            bound *= n
        inverse, uniques = pd.factorize(key)
        first = np.empty(len(uniques), dtype=np.int64)
        first[inverse] = np.arange(len(X))  # any row of a group: its rows are equal
        return first, inverse

    def embed(self, pairs: pd.DataFrame) -> np.ndarray:
        """Standardized similarity features (missing = the fitted mean), shape (n, n_features)."""
        return self._standardized(self._features(pairs, "embed"))

    def embed_of_features(self, features: pd.DataFrame) -> np.ndarray:
        """`embed` from a table `featurizer_.transform` made (computed ahead): the same values."""
        self._check_fitted("embed_of_features")
        return self._standardized(self._columns_of(features, "embed_of_features"))

    def _standardized(self, X: np.ndarray) -> np.ndarray:
        return (np.where(np.isnan(X), self.mean_, X) - self.mean_) / self.scale_

    def _columns_of(self, features: pd.DataFrame, where: str) -> np.ndarray:
        """The fitted feature columns of a `featurizer_.transform` table, as float64."""
        missing = [c for c in self.columns_ if c not in features.columns]
        if missing:
            raise ValueError(f"SimilarityMatcher.{where}: the table lacks the fitted feature "
                             f"columns {missing[:5]}; pass featurizer_.transform(pairs)")
        return features[self.columns_].to_numpy(dtype=float)

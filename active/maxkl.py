"""Active WeaSuL's selectors over LF-vote buckets: maxKL, and the paper's margin and
random-bucket comparisons."""

from __future__ import annotations

from abc import abstractmethod

import numpy as np

from active.base import PoolState, Selector
from label_model.buckets import bucket_ids, bucket_keys

KL_CLIP = 1e-6


def bernoulli_kl(p: np.ndarray, q: np.ndarray, eps: float = KL_CLIP) -> np.ndarray:
    """KL(Bernoulli(p) || Bernoulli(q)) elementwise, with both clipped to [eps, 1 - eps]."""
    p = np.clip(p, eps, 1 - eps)
    q = np.clip(q, eps, 1 - eps)
    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))


def _require_proba(state: PoolState, name: str) -> np.ndarray:
    proba = getattr(state, name)
    if proba is None:
        raise ValueError(f"this selector needs state.{name}, the label model's P(match) per pair")
    proba = np.asarray(proba, dtype=float)
    if proba.shape != (state.n,):
        raise ValueError(f"state.{name} must have shape ({state.n},), got {proba.shape}")
    return proba


def _check_n(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    return int(n)


class BucketSelector(Selector):
    """Ranks buckets by a score and spreads a batch over them: one pair from each bucket in
    score order, a second pair from a bucket only once every available bucket has given one.
    Buckets scored -inf are used only when no other pair is left."""

    @abstractmethod
    def bucket_scores(self, state: PoolState, ids: np.ndarray, unique: np.ndarray) -> np.ndarray:
        """(k,) score per bucket (rows of `unique`); higher is asked first."""

    def select(self, state: PoolState, n: int) -> np.ndarray:
        n = _check_n(n)
        ids, unique, _ = bucket_ids(state.L)
        k = unique.shape[0]
        scores = self.bucket_scores(state, ids, unique)
        free = state.unlabeled()
        if n == 0 or free.size == 0:
            self.diagnostics = {"buckets": [], "scores": []}
            return np.zeros(0, dtype=np.int64)
        # bucket rank by score; random tie-breaks so equal buckets are not always taken in id order
        order = np.lexsort((self.rng.random(k), -scores))
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        # a random order within each bucket, then the r-th pair of every bucket before any (r+1)-th
        free = free[self.rng.permutation(free.size)]
        free_rank = rank[ids[free]]
        by_bucket = np.argsort(free_rank, kind="stable")
        sorted_rank = free_rank[by_bucket]
        starts = np.searchsorted(sorted_rank, sorted_rank, side="left")
        within = np.empty(free.size, dtype=np.int64)
        within[by_bucket] = np.arange(free.size) - starts
        # buckets scored -inf (nothing to learn there) come after every other bucket's pairs
        last = np.isneginf(scores)[ids[free]]
        chosen = free[np.lexsort((free_rank, within, last))[:n]]
        keys = bucket_keys(unique[ids[chosen]])
        self.diagnostics = {"buckets": keys, "scores": scores[ids[chosen]].tolist()}
        return chosen.astype(np.int64)


class MaxKLSelector(BucketSelector):
    """maxKL (Active WeaSuL): ask in the bucket where the label model's P(match) disagrees most
    with the expert's labels (or, without labels there, with the rounded initial P(match)).

    `prior_weight` > 0 counts the rounded initial estimate as that many pseudo-labels in every
    bucket, so one unlucky label in a mixed bucket does not make the bucket look settled;
    0 is the paper's rule (the plain mean of the bucket's expert labels). Without
    `state.lm_proba_initial` the current P(match) stands in for the initial one.
    """

    name = "maxkl"

    def __init__(self, seed: int | None = 0, prior_weight: float = 0.0) -> None:
        super().__init__(seed=seed)
        if prior_weight < 0:
            raise ValueError(f"prior_weight must be >= 0, got {prior_weight!r}")
        self.prior_weight = prior_weight

    def bucket_scores(self, state: PoolState, ids: np.ndarray, unique: np.ndarray) -> np.ndarray:
        proba = _require_proba(state, "lm_proba")
        initial = proba if state.lm_proba_initial is None else _require_proba(
            state, "lm_proba_initial"
        )
        kl = bucket_divergence(ids, unique.shape[0], proba, initial, state.expert_labels,
                               self.prior_weight)
        # where no LF fires P(y | L) is the class prior, which no expert label can move:
        # ask there only when nothing else is left
        kl[(unique == -1).all(axis=1)] = -np.inf
        return kl


def bucket_divergence(ids: np.ndarray, k: int, proba: np.ndarray, initial: np.ndarray | None,
                      expert_labels: dict[int, int], prior_weight: float = 0.0) -> np.ndarray:
    """KL(label model || expert) per LF-vote bucket: the bucket's mean P(match) against the mean
    of its expert labels (the rounded initial P(match) where it has none, and as
    `prior_weight` pseudo-labels everywhere)."""
    initial = proba if initial is None else initial
    size = np.bincount(ids, minlength=k)
    p = np.bincount(ids, weights=proba, minlength=k) / size
    q = np.round(np.bincount(ids, weights=initial, minlength=k) / size)
    if expert_labels:
        rows = np.fromiter(expert_labels.keys(), dtype=np.int64)
        ys = np.fromiter(expert_labels.values(), dtype=float)
        n_expert = np.bincount(ids[rows], minlength=k)
        n_match = np.bincount(ids[rows], weights=ys, minlength=k)
        q = np.where(n_expert > 0,
                     (n_match + prior_weight * q) / np.maximum(n_expert + prior_weight, 1e-12), q)
    return bernoulli_kl(p, q)


class RandomBucketSelector(BucketSelector):
    """The paper's random strategy: a pair from a bucket chosen uniformly at random."""

    name = "random_bucket"

    def bucket_scores(self, state: PoolState, ids: np.ndarray, unique: np.ndarray) -> np.ndarray:
        return self.rng.random(unique.shape[0])


class MarginSelector(Selector):
    """The paper's margin strategy: the pairs whose label-model P(match) is closest to 0.5."""

    name = "margin"

    def select(self, state: PoolState, n: int) -> np.ndarray:
        n = _check_n(n)
        proba = _require_proba(state, "lm_proba")
        free = state.unlabeled()
        margin = np.abs(proba[free] - 0.5)
        chosen = free[np.lexsort((self.rng.random(free.size), margin))[:n]]
        self.diagnostics = {"margins": margin[np.searchsorted(free, chosen)].tolist()}
        return chosen.astype(np.int64)

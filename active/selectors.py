"""Selectors that pick the next pairs to label: the combined maxKL + risk k-medoids selector
(the default) and the baselines it is measured against (entropy, random, core-set)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from active.base import PoolState, Selector


def _tie_break(rng: np.random.Generator, n: int) -> np.ndarray:
    """A random permutation key so that equal scores are broken repeatably by the seed."""
    return rng.permutation(n)


def _top(scores: np.ndarray, candidates: np.ndarray, n: int,
         rng: np.random.Generator) -> np.ndarray:
    """The `n` candidates with the highest score, ties broken at random (seeded)."""
    order = np.lexsort((_tie_break(rng, candidates.size), -scores[candidates]))
    return candidates[order[:n]]


def _binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return -(p * np.log(p) + (1 - p) * np.log(1 - p))


class RandomSelector(Selector):
    """Uniformly random unlabeled pairs: the passive baseline."""

    name = "random"

    def select(self, state: PoolState, n: int) -> np.ndarray:
        """Return up to `n` distinct unlabeled positions drawn uniformly."""
        pool = state.unlabeled()
        chosen = self.rng.choice(pool, size=min(int(n), pool.size), replace=False)
        self.diagnostics = {"n_candidates": int(pool.size)}
        return np.asarray(chosen, dtype=np.int64)


class EntropySelector(Selector):
    """Uncertainty sampling: the pairs whose matcher P(match) has the highest entropy
    (the label model's P(match) before a matcher exists)."""

    name = "entropy"

    def select(self, state: PoolState, n: int) -> np.ndarray:
        """Return up to `n` unlabeled positions, most uncertain first."""
        proba = state.matcher_proba if state.matcher_proba is not None else state.lm_proba
        if proba is None:
            raise ValueError("EntropySelector needs state.matcher_proba or state.lm_proba")
        pool = state.unlabeled()
        entropy = _binary_entropy(proba)
        chosen = _top(entropy, pool, min(int(n), pool.size), self.rng)
        self.diagnostics = {"mean_entropy": float(entropy[chosen].mean()) if chosen.size else 0.0}
        return chosen


def k_center_greedy(X: np.ndarray, centers: np.ndarray, candidates: np.ndarray, n: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Greedy k-center (Sener & Savarese's core-set): repeatedly take the candidate farthest
    from every center so far. Returns the picks and the final covering radius."""
    X = np.asarray(X, dtype=np.float64)
    sq = (X * X).sum(1)

    def dist_to(j: int) -> np.ndarray:
        return np.sqrt(np.clip(sq + sq[j] - 2.0 * (X @ X[j]), 0.0, None))

    nearest = np.full(X.shape[0], np.inf)
    for start in range(0, centers.size, 256):
        C = X[centers[start : start + 256]]
        d2 = sq[:, None] + (C * C).sum(1)[None, :] - 2.0 * X @ C.T
        nearest = np.minimum(nearest, np.sqrt(np.clip(d2, 0.0, None)).min(1))
    allowed = np.zeros(X.shape[0], dtype=bool)
    allowed[candidates] = True
    picks: list[int] = []
    if centers.size == 0 and n > 0:
        first = int(rng.choice(candidates))
        picks.append(first)
        allowed[first] = False
        nearest = dist_to(first)
    while len(picks) < n:
        score = np.where(allowed, nearest, -np.inf)
        j = int(np.argmax(score))
        picks.append(j)
        allowed[j] = False
        nearest = np.minimum(nearest, dist_to(j))
    radius = float(nearest[candidates].max()) if candidates.size else 0.0
    return np.asarray(picks, dtype=np.int64), radius


class CoreSetSelector(Selector):
    """Core-set (unweighted k-center greedy) on the matcher's embeddings: pure coverage."""

    name = "coreset"

    def select(self, state: PoolState, n: int) -> np.ndarray:
        """Return up to `n` unlabeled positions that cover the embedding space best."""
        if state.embeddings is None:
            raise ValueError("CoreSetSelector needs state.embeddings (matcher.embed(pairs))")
        pool = state.unlabeled()
        labelled = np.asarray(sorted(state.expert_labels), dtype=np.int64)
        picks, radius = k_center_greedy(state.embeddings, labelled, pool, min(int(n), pool.size),
                                        self.rng)
        self.diagnostics = {"radius": radius}
        return picks


class HybridSelector(Selector):
    """maxKL where the label model and the expert disagree, risk k-medoids for the rest.

    The buckets of identical LF votes whose KL divergence between the label model's P(match)
    and the expert labels exceeds ``kl_threshold`` are the ones the label model still learns
    from. maxKL takes one pair from each such bucket, for at most a share of the batch:
    ``kl_share="auto"`` gives it the fraction of the unlabelled pool that lies in those
    buckets (so the share shrinks as the label model converges and its buckets calm down), a
    number in [0, 1] a fixed cap. The maxKL picks join the labelled pairs as fixed medoids,
    and risk-weighted k-medoids on the matcher's embeddings fills the batch with representative
    pairs the matcher is likely to get wrong. Cold start: without embeddings (no matcher yet)
    the batch is all maxKL; without LFs (no label model) it is all k-medoids, or entropy on the
    matcher's P(match) when the matcher has no embeddings either.
    """

    name = "hybrid"

    def __init__(self, seed: int | None = 0, kl_threshold: float = 0.1,
                 kl_share: float | str = "auto", block_size: int = 512,
                 device: str | None = None) -> None:
        super().__init__(seed)
        if isinstance(kl_share, str):
            if kl_share != "auto":
                raise ValueError(f"HybridSelector: kl_share must be 'auto' or a number in [0, 1],"
                                 f" got {kl_share!r}")
        elif not 0.0 <= kl_share <= 1.0:
            raise ValueError(f"HybridSelector: kl_share must lie in [0, 1], got {kl_share!r}")
        if kl_threshold < 0:
            raise ValueError(f"HybridSelector: kl_threshold must be >= 0, got {kl_threshold!r}")
        from active.kmedoids import RiskKMedoidsSelector
        from active.maxkl import MaxKLSelector

        self.kl_threshold = kl_threshold
        self.kl_share = kl_share
        self.maxkl = MaxKLSelector(seed=seed)
        self.kmedoids = RiskKMedoidsSelector(seed=seed, block_size=block_size, device=device)

    def _n_maxkl(self, state: PoolState, n: int) -> tuple[int, dict]:
        """How many of the `n` pairs maxKL picks, and the bucket diagnostics behind it."""
        from label_model.buckets import bucket_ids

        if state.lm_proba is None:
            return 0, {"hot_buckets": 0, "hot_share": 0.0}
        ids, unique, _ = bucket_ids(state.L)
        kl = self.maxkl.bucket_scores(state, ids, unique)
        free = np.bincount(ids[state.unlabeled()], minlength=kl.size)
        hot = (kl > self.kl_threshold) & (free > 0) & np.isfinite(kl)
        hot_share = float(free[hot].sum() / max(free.sum(), 1))
        info = {"hot_buckets": int(hot.sum()), "hot_share": hot_share,
                "max_kl": float(kl[hot].max()) if hot.any() else 0.0}
        if state.embeddings is None:
            return n, info
        share = hot_share if self.kl_share == "auto" else float(self.kl_share)
        return min(int(hot.sum()), int(np.ceil(share * n))), info

    def select(self, state: PoolState, n: int) -> np.ndarray:
        """Return up to `n` unlabeled positions: the maxKL picks first, then the new medoids."""
        n = min(int(n), state.unlabeled().size)
        if state.lm_proba is None and state.embeddings is None:
            fallback = EntropySelector(seed=self.seed)
            chosen = fallback.select(state, n)
            self.diagnostics = {"n_maxkl": 0, "n_kmedoids": 0, "n_entropy": int(chosen.size)}
            return chosen
        n_kl, info = self._n_maxkl(state, n)
        kl_picks = self.maxkl.select(state, n_kl) if n_kl else np.zeros(0, dtype=np.int64)
        rest = np.zeros(0, dtype=np.int64)
        if n - kl_picks.size > 0:
            # The maxKL picks will be labelled too: k-medoids treats them as fixed medoids.
            fixed = dict(state.expert_labels)
            fixed.update(dict.fromkeys(kl_picks.tolist(), 0))
            rest = self.kmedoids.select(replace(state, expert_labels=fixed), n - kl_picks.size)
        self.diagnostics = {
            "n_maxkl": int(kl_picks.size),
            "n_kmedoids": int(rest.size),
            **info,
            **{f"kmedoids_{k}": v for k, v in self.kmedoids.diagnostics.items() if k != "weights"},
        }
        return np.concatenate([kl_picks, rest]).astype(np.int64)


_SELECTORS = {
    "hybrid": ("active.selectors", "HybridSelector"),
    "maxkl": ("active.maxkl", "MaxKLSelector"),
    "margin": ("active.maxkl", "MarginSelector"),
    "random_bucket": ("active.maxkl", "RandomBucketSelector"),
    "risk_kmedoids": ("active.kmedoids", "RiskKMedoidsSelector"),
    "entropy": ("active.selectors", "EntropySelector"),
    "random": ("active.selectors", "RandomSelector"),
    "coreset": ("active.selectors", "CoreSetSelector"),
}
SELECTOR_NAMES = tuple(_SELECTORS)


def make_selector(name: str, seed: int | None = 0, **kwargs) -> Selector:
    """The selector called `name` (see SELECTOR_NAMES; '-' and '_' are interchangeable)."""
    from importlib import import_module

    key = str(name).strip().lower().replace("-", "_")
    key = {"kmedoids": "risk_kmedoids", "core_set": "coreset", "max_kl": "maxkl"}.get(key, key)
    if key not in _SELECTORS:
        raise ValueError(
            f"unknown selector {name!r}; choose one of {', '.join(SELECTOR_NAMES)}"
        )
    module, cls = _SELECTORS[key]
    return getattr(import_module(module), cls)(seed=seed, **kwargs)

"""Selectors that pick the next pairs to label: the combined maxKL + risk k-medoids selector
(the default), the baselines it is measured against (entropy, random, core-set) and the
end-to-end dedup write-up's medium-confidence sampling."""

from __future__ import annotations

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


def pair_risk(state: PoolState) -> tuple[np.ndarray, str]:
    """Per pair, how likely the matcher is wrong: the risk model's risk where there is one,
    raised to the matcher's uncertainty 1 - |2p - 1| (a pair near 0.5 is risky whatever the
    rules say); the label model's uncertainty before a matcher exists, else all ones."""
    proba = state.matcher_proba if state.matcher_proba is not None else state.lm_proba
    if proba is None:
        return np.ones(state.n), "uniform"
    doubt = 1.0 - np.abs(2.0 * np.asarray(proba, dtype=np.float64) - 1.0)
    if state.risk is None:
        return doubt, "uncertainty"
    return np.maximum(np.asarray(state.risk, dtype=np.float64), doubt), "risk"


def _contradicted(state: PoolState, ids: np.ndarray, k: int) -> np.ndarray:
    """(k,) True for the buckets whose expert labels, by majority, say the opposite of the
    label model's mean P(match) there."""
    if not state.expert_labels:
        return np.zeros(k, dtype=bool)
    rows = np.fromiter(state.expert_labels.keys(), dtype=np.int64)
    ys = np.fromiter(state.expert_labels.values(), dtype=np.float64)
    n_expert = np.bincount(ids[rows], minlength=k)
    expert = np.bincount(ids[rows], weights=ys, minlength=k) / np.maximum(n_expert, 1)
    model = np.bincount(ids, weights=state.lm_proba, minlength=k) / np.bincount(ids, minlength=k)
    return (n_expert > 0) & ((expert >= 0.5) != (model >= 0.5))


class HybridSelector(Selector):
    """maxKL on the buckets where the label model and the expert disagree, risk k-medoids
    among the riskiest pairs for the rest of the batch.

    maxKL part: the "hot" buckets of identical LF votes each give one pair, the riskiest
    unlabelled one, highest KL divergence first, for at most ``kl_share`` of the batch
    (``"auto"``: the fraction of the unlabelled pool lying in hot buckets). A bucket is hot when
    the KL divergence between the label model's P(match) and the expert labels exceeds
    ``kl_threshold`` and, with ``hot="contradicted"``, the bucket's expert labels by majority
    also say the opposite of the label model there (``hot="kl"``: the KL rule alone, which
    also counts every bucket the label model is unsure of before any label). Once the label
    model agrees with the expert everywhere, maxKL gets nothing.

    k-medoids part: the ``shortlist`` x (pairs still to pick) unlabelled pairs of highest risk
    (see `pair_risk`) are the candidates; risk-weighted k-medoids over them, with the labelled
    pairs and the maxKL picks as fixed medoids and the paper's Lipschitz weight (risk /
    distance to the nearest labelled pair), picks pairs that are both risky and unlike each
    other and the labelled ones. ``shortlist=None`` runs k-medoids over the whole pool (the
    paper's representative sampling).

    Cold start: without embeddings (no matcher yet) the batch is all maxKL; without LFs (no
    label model) it is all k-medoids, or entropy on the matcher's P(match) when the matcher
    has no embeddings either.
    """

    name = "hybrid"

    def __init__(self, seed: int | None = 0, kl_threshold: float = 0.1,
                 kl_share: float | str = 0.3, block_size: int = 512,
                 device: str | None = None, shortlist: float | None = 3.0,
                 hot: str = "contradicted") -> None:
        super().__init__(seed)
        if hot not in ("contradicted", "kl"):
            raise ValueError(f"HybridSelector: hot must be 'contradicted' or 'kl', got {hot!r}")
        if isinstance(kl_share, str):
            if kl_share != "auto":
                raise ValueError(f"HybridSelector: kl_share must be 'auto' or a number in [0, 1],"
                                 f" got {kl_share!r}")
        elif not 0.0 <= kl_share <= 1.0:
            raise ValueError(f"HybridSelector: kl_share must lie in [0, 1], got {kl_share!r}")
        if kl_threshold < 0:
            raise ValueError(f"HybridSelector: kl_threshold must be >= 0, got {kl_threshold!r}")
        if shortlist is not None and not shortlist >= 1:
            raise ValueError(f"HybridSelector: shortlist must be >= 1 (a multiple of the batch)"
                             f" or None (the whole pool), got {shortlist!r}")
        from active.maxkl import MaxKLSelector

        self.kl_threshold = kl_threshold
        self.kl_share = kl_share
        self.shortlist = shortlist
        self.hot = hot
        self.block_size = block_size
        self.device = device
        self.maxkl = MaxKLSelector(seed=seed)

    def _hot_picks(self, state: PoolState, n: int, risk: np.ndarray) -> tuple[np.ndarray, dict]:
        """The riskiest unlabelled pair of each of the hottest buckets, at most `n` of them."""
        from label_model.buckets import bucket_ids

        ids, unique, _ = bucket_ids(state.L)
        kl = self.maxkl.bucket_scores(state, ids, unique)
        pool = state.unlabeled()
        free = np.bincount(ids[pool], minlength=kl.size)
        hot = (kl > self.kl_threshold) & (free > 0) & np.isfinite(kl)
        if self.hot == "contradicted":
            hot &= _contradicted(state, ids, kl.size)
        hot_share = float(free[hot].sum() / max(free.sum(), 1))
        info = {"hot_buckets": int(hot.sum()), "hot_share": hot_share,
                "max_kl": float(kl[hot].max()) if hot.any() else 0.0}
        share = hot_share if self.kl_share == "auto" else float(self.kl_share)
        n_kl = min(int(hot.sum()), int(np.ceil(share * n)))
        if n_kl == 0:
            return np.zeros(0, dtype=np.int64), info
        buckets = _top(kl, np.flatnonzero(hot), n_kl, self.rng)
        cand = pool[np.isin(ids[pool], buckets)]
        # riskiest pair first within each bucket, then the first row of every bucket
        order = np.lexsort((_tie_break(self.rng, cand.size), -risk[cand], ids[cand]))
        cand = cand[order]
        first = np.r_[True, ids[cand][1:] != ids[cand][:-1]]
        picks = cand[first]
        rank = np.empty(kl.size, dtype=np.int64)
        rank[buckets] = np.arange(buckets.size)
        return picks[np.argsort(rank[ids[picks]])].astype(np.int64), info

    def _shortlist_medoids(self, state: PoolState, fixed: np.ndarray, n: int,
                           risk: np.ndarray) -> tuple[np.ndarray, dict]:
        """`n` risk-weighted medoids among the riskiest unlabelled pairs, `fixed` kept."""
        from active.kmedoids import lipschitz_weights, weighted_kmedoids

        pool = np.setdiff1d(state.unlabeled(), fixed)
        size = pool.size if self.shortlist is None else int(np.ceil(self.shortlist * n))
        cand = _top(risk, pool, min(max(size, n), pool.size), self.rng)
        rows = np.concatenate([fixed, cand])
        X = np.asarray(state.embeddings, dtype=np.float64)[rows]
        anchors = np.arange(fixed.size)
        w = lipschitz_weights(X, risk[rows], anchors)
        chosen, objective = weighted_kmedoids(X, w, fixed=anchors, n_select=n, seed=self.seed,
                                              block_size=self.block_size, device=self.device)
        picks = rows[chosen]
        picks = picks[np.argsort(-risk[picks], kind="stable")]
        return picks, {"n_shortlist": int(cand.size), "kmedoids_objective": objective}

    def select(self, state: PoolState, n: int) -> np.ndarray:
        """Return up to `n` unlabeled positions: the maxKL picks first, then the medoids."""
        n = min(int(n), state.unlabeled().size)
        if state.lm_proba is None and state.embeddings is None:
            fallback = EntropySelector(seed=self.seed)
            chosen = fallback.select(state, n)
            self.diagnostics = {"n_maxkl": 0, "n_kmedoids": 0, "n_entropy": int(chosen.size)}
            return chosen
        risk, source = pair_risk(state)
        info: dict = {"weights": source}
        if state.lm_proba is not None and state.embeddings is None:
            kl_picks = self.maxkl.select(state, n)  # no matcher yet: buckets are all there is
        elif state.lm_proba is not None:
            kl_picks, hot = self._hot_picks(state, n, risk)
            info.update(hot)
        else:
            kl_picks = np.zeros(0, dtype=np.int64)
        rest = np.zeros(0, dtype=np.int64)
        if n - kl_picks.size > 0:
            labelled = np.asarray(sorted(state.expert_labels), dtype=np.int64)
            rest, more = self._shortlist_medoids(
                state, np.concatenate([labelled, kl_picks]), n - kl_picks.size, risk)
            info.update(more)
        self.diagnostics = {"n_maxkl": int(kl_picks.size), "n_kmedoids": int(rest.size), **info}
        return np.concatenate([kl_picks, rest]).astype(np.int64)


class MediumConfidenceSelector(Selector):
    """The end-to-end dedup write-up's sampling: skip the noise band around P(match) 0.5 and
    the too-certain tails; draw at random (seeded) from the medium-confidence ranges on both
    sides, half from the match side, half from the non-match side.

    A pair's confidence is max(p, 1 - p) of the matcher's P(match) (the label model's before a
    matcher exists). The medium range is `low` < confidence <= `high`: p in (1 - high, 1 - low)
    on the non-match side, (low, high] on the match side. When one side has too few pairs the
    other side fills in; when both together have too few, the remaining pairs nearest to the
    range fill the batch (`diagnostics["n_outside"]` says how many).
    """

    name = "medium"

    def __init__(self, seed: int | None = 0, low: float = 0.6, high: float = 0.95) -> None:
        super().__init__(seed)
        if not 0.5 <= low < high <= 1.0:
            raise ValueError(f"MediumConfidenceSelector: need 0.5 <= low < high <= 1, got "
                             f"low={low!r}, high={high!r}")
        self.low = low
        self.high = high

    def select(self, state: PoolState, n: int) -> np.ndarray:
        """Return up to `n` unlabeled positions from the medium-confidence ranges."""
        proba = state.matcher_proba if state.matcher_proba is not None else state.lm_proba
        if proba is None:
            raise ValueError("MediumConfidenceSelector needs state.matcher_proba or "
                             "state.lm_proba")
        proba = np.asarray(proba, dtype=np.float64)
        pool = state.unlabeled()
        n = min(int(n), pool.size)
        p = proba[pool]
        confidence = np.maximum(p, 1.0 - p)
        medium = (confidence > self.low) & (confidence <= self.high)
        sides = [self.rng.permutation(pool[medium & (p >= 0.5)]),
                 self.rng.permutation(pool[medium & (p < 0.5)])]
        take = [min(sides[0].size, (n + 1) // 2), min(sides[1].size, n // 2)]
        spare = n - sum(take)
        for k in (0, 1):  # one side short: the other fills in
            extra = min(spare, sides[k].size - take[k])
            take[k] += extra
            spare -= extra
        chosen = np.concatenate([sides[0][:take[0]], sides[1][:take[1]]])
        if spare:
            gap = np.zeros(proba.size)  # distance of each pair's confidence to the range
            gap[pool] = np.where(confidence <= self.low, self.low - confidence,
                                 confidence - self.high)
            chosen = np.concatenate([chosen, _top(-gap, pool[~medium], spare, self.rng)])
        self.diagnostics = {"n_match_side": take[0], "n_non_match_side": take[1],
                            "n_outside": int(spare), "n_medium": int(medium.sum())}
        return chosen.astype(np.int64)


_SELECTORS = {
    "hybrid": ("active.selectors", "HybridSelector"),
    "maxkl": ("active.maxkl", "MaxKLSelector"),
    "margin": ("active.maxkl", "MarginSelector"),
    "random_bucket": ("active.maxkl", "RandomBucketSelector"),
    "risk_kmedoids": ("active.kmedoids", "RiskKMedoidsSelector"),
    "entropy": ("active.selectors", "EntropySelector"),
    "random": ("active.selectors", "RandomSelector"),
    "coreset": ("active.selectors", "CoreSetSelector"),
    "medium": ("active.selectors", "MediumConfidenceSelector"),
}
SELECTOR_NAMES = tuple(_SELECTORS)


def make_selector(name: str, seed: int | None = 0, **kwargs) -> Selector:
    """The selector called `name` (see SELECTOR_NAMES; '-' and '_' are interchangeable)."""
    from importlib import import_module

    key = str(name).strip().lower().replace("-", "_")
    key = {"kmedoids": "risk_kmedoids", "core_set": "coreset", "max_kl": "maxkl",
           "medium_confidence": "medium"}.get(key, key)
    if key not in _SELECTORS:
        raise ValueError(
            f"unknown selector {name!r}; choose one of {', '.join(SELECTOR_NAMES)}"
        )
    module, cls = _SELECTORS[key]
    return getattr(import_module(module), cls)(seed=seed, **kwargs)

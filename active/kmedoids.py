"""Risk-weighted k-medoids (risk sampling): pick the pairs to label that best cover risky pairs.

The objective is sum_i w_i * min_m ||x_i - x_m|| over medoids m = the already labelled pairs
(fixed) plus `n_select` new ones. Weighted greedy BUILD (lazy, since the gain is submodular)
gives the start; an eager FasterPAM-style SWAP improves it, evaluating every (candidate, medoid)
swap from cached nearest / second-nearest distances in O(n) per candidate. Distances are
computed in row blocks, so memory is O(n * (block_size + k)), never n x n.
"""

from __future__ import annotations

import numpy as np
import torch

from active.base import PoolState, Selector

__all__ = ["weighted_kmedoids", "lipschitz_weights", "RiskKMedoidsSelector"]


def _device(device: str | torch.device | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _as_matrix(X, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (n points, d dims), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} contains NaN or infinite values; impute or drop those rows")
    return X


def _check_fixed(fixed, n: int) -> np.ndarray:
    if fixed is None:
        return np.zeros(0, dtype=np.int64)
    raw = np.asarray(list(fixed) if isinstance(fixed, set | dict) else fixed).ravel()
    if raw.size and not np.issubdtype(raw.dtype, np.integer):
        raise TypeError(f"fixed must hold integer row positions, got dtype {raw.dtype}")
    fixed = raw.astype(np.int64)
    bad = fixed[(fixed < 0) | (fixed >= n)]
    if bad.size:
        raise ValueError(f"fixed positions {bad[:5].tolist()} are out of range for {n} points")
    uniq, counts = np.unique(fixed, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"fixed positions are duplicated: {uniq[counts > 1][:5].tolist()}")
    return fixed


class _Geometry:
    """Weighted Euclidean distances w_i * ||x_i - x_c|| in blocks of columns c, from one matrix
    product per block: [x, |x|^2, 1] w^2 . [-2 x_c, 1, |x_c|^2] = w_i^2 ||x_i - x_c||^2."""

    def __init__(self, X: np.ndarray, w: np.ndarray, device: torch.device,
                 dtype: torch.dtype) -> None:
        Xc = X - X.mean(axis=0, keepdims=True)  # centring reduces cancellation in the norm trick
        sq = (Xc * Xc).sum(1, keepdims=True)
        one = np.ones_like(sq)
        self.left = torch.as_tensor(np.hstack([Xc, sq, one]) * (w * w)[:, None], dtype=dtype,
                                    device=device)
        self.right = torch.as_tensor(np.hstack([-2.0 * Xc, one, sq]), dtype=dtype, device=device)

    @property
    def n(self) -> int:
        return self.left.shape[0]

    def to(self, cols: torch.Tensor) -> torch.Tensor:
        """(n, len(cols)) weighted distances from every point to the points `cols`."""
        d2 = self.left @ self.right.index_select(0, cols).T
        return d2.abs_().sqrt_()  # abs: rounding can leave tiny negatives


def _blocks(n: int, size: int, device: torch.device, order: torch.Tensor | None = None):
    idx = torch.arange(n, device=device) if order is None else order
    for start in range(0, n, size):
        yield idx[start : start + size]


def _build(geo: _Geometry, fixed: np.ndarray, n_select: int, block: int, group: torch.Tensor):
    """Weighted greedy BUILD with lazy (batched) gain re-evaluation.

    Returns the medoids and WDm (n, k), the weighted distances of every point to each medoid.
    Only the first row of each `group` of identical rows is ever a candidate.
    """
    n, dev, dt = geo.n, geo.left.device, geo.left.dtype
    k = fixed.size + n_select
    WDm = torch.empty((n, k), dtype=dt, device=dev)
    is_med = _duplicates(group)  # "blocked": not its group's first row, or its group has a medoid
    medoids = list(fixed.tolist())
    if fixed.size:
        fx = torch.as_tensor(fixed, device=dev)
        for cols in _blocks(fixed.size, block, dev):
            WDm[:, cols] = geo.to(fx[cols])
        wdn = WDm[:, : fixed.size].min(1).values
        is_med |= torch.isin(group, group[fx])
    else:
        # No fixed medoid: the first one is the weighted 1-medoid of all points.
        cost = torch.empty(n, dtype=dt, device=dev)
        for cols in _blocks(n, block, dev):
            cost[cols] = geo.to(cols).sum(0)
        first = int(torch.argmin(cost))
        WDm[:, 0] = geo.to(torch.tensor([first], device=dev))[:, 0]
        wdn = WDm[:, 0].clone()
        medoids.append(first)
        is_med |= group == group[first]

    def gains(WD: torch.Tensor) -> torch.Tensor:
        # sum_i w_i * max(dn_i - d_ic, 0) = sum_i w_i dn_i - sum_i min(w_i d_ic, w_i dn_i)
        return wdn.sum() - torch.minimum(WD, wdn[:, None]).sum(0)

    # Gains only shrink as medoids are added, so stale gains are upper bounds (lazy greedy).
    ub = torch.empty(n, dtype=dt, device=dev)
    for cols in _blocks(n, block, dev):
        ub[cols] = gains(geo.to(cols))
    ub[is_med] = -torch.inf
    batch = min(32, n)
    while len(medoids) < k:
        top = torch.topk(ub, batch).indices
        WD = geo.to(top)
        exact = gains(WD).masked_fill_(is_med[top], -torch.inf)
        ub[top] = exact
        best = int(torch.argmax(exact))
        if exact[best] < ub.index_fill(0, top, -torch.inf).max():
            continue  # a candidate not evaluated now may still beat the best evaluated one
        c = int(top[best])
        WDm[:, len(medoids)] = WD[:, best]
        wdn = torch.minimum(wdn, WD[:, best])
        medoids.append(c)
        is_med |= group == group[c]
        ub[is_med] = -torch.inf
    return np.asarray(medoids, dtype=np.int64), WDm


def _nearest_two(WDm: torch.Tensor):
    if WDm.shape[1] == 1:
        return (torch.zeros(WDm.shape[0], dtype=torch.long, device=WDm.device), WDm[:, 0],
                torch.full_like(WDm[:, 0], torch.inf))
    vals, idx = torch.topk(WDm, 2, dim=1, largest=False)
    return idx[:, 0], vals[:, 0], vals[:, 1]


def _duplicates(group: torch.Tensor) -> torch.Tensor:
    """True for every row that is not the first of its group of identical rows."""
    idx = torch.arange(group.numel(), device=group.device)
    first = torch.full((int(group.max()) + 1,), group.numel(), dtype=group.dtype,
                       device=group.device)
    first.scatter_reduce_(0, group, idx, "amin")
    return first[group] != idx


def _swap(geo, medoids, WDm, n_fixed, block, rng, max_passes, tol, group):
    """Eager SWAP: for each block of candidates, apply the best improving swap while one exists.

    A swap is kept only if it lowers the objective (summed in float64 from the stored
    distances) by more than `tol` relative; otherwise it is undone and the block is done. The
    objective thus strictly decreases, so rounding ties between duplicates cannot cycle, and
    every re-evaluation of a block counts towards the `max_passes` budget.

    With n(i) the nearest medoid of point i and d1_i, d2_i its weighted distances to the nearest
    and second nearest, swapping candidate c in for medoid m changes the objective by
        sum_i (min(d_ic, d1_i) - d1_i) + sum_{i: n(i) = m} (clamp(d_ic, d1_i, d2_i) - d1_i),
    O(n) per candidate for all k medoids at once (the second sum is one index_add).
    """
    n, k = WDm.shape
    dev = WDm.device
    is_med = torch.zeros(n, dtype=torch.bool, device=dev)
    is_med[torch.as_tensor(medoids, device=dev)] = True
    dup = _duplicates(group)
    n_groups = int(group.max()) + 1

    def blocked() -> torch.Tensor:  # a medoid, a duplicate row, or a row whose twin is a medoid
        med_group = torch.zeros(n_groups, dtype=torch.bool, device=dev)
        med_group[group[is_med]] = True
        return dup | med_group[group]

    fixed_slot = torch.zeros(k, dtype=torch.bool, device=dev)
    fixed_slot[:n_fixed] = True

    def caches():
        nearest, d1, d2 = _nearest_two(WDm)
        base = torch.zeros(k, dtype=WDm.dtype, device=dev).index_add_(0, nearest, d1)
        return nearest, d1[:, None], d2[:, None], base[:, None], float(d1.double().sum())

    nearest, d1, d2, base, td = caches()
    skip = blocked()
    n_cand = n - k
    since_swap, swaps, evaluated = 0, 0, 0
    while since_swap < n_cand and evaluated < max_passes * n_cand:
        order = torch.as_tensor(rng.permutation(n), device=dev)
        order = order[~skip[order]]
        for cols in _blocks(order.numel(), block, dev, order):
            WD = geo.to(cols)
            improved = False
            while True:
                shared = torch.minimum(WD, d1).sum(0) - td
                delta = torch.zeros((k, cols.numel()), dtype=WD.dtype, device=dev)
                delta.index_add_(0, nearest, torch.clamp(WD, d1, d2))
                delta.sub_(base).add_(shared[None, :])
                delta.masked_fill_(fixed_slot[:, None], torch.inf)
                delta.masked_fill_(skip[cols][None, :], torch.inf)
                evaluated += cols.numel()
                flat = int(torch.argmin(delta))
                slot, r = divmod(flat, cols.numel())
                if not float(delta[slot, r]) < -tol * td:
                    break
                saved, before = WDm[:, slot].clone(), (nearest, d1, d2, base, td)
                WDm[:, slot] = WD[:, r]
                nearest, d1, d2, base, td = caches()
                if not td < before[-1] * (1.0 - tol):  # rounding made a tie look like a gain
                    WDm[:, slot] = saved
                    nearest, d1, d2, base, td = before
                    break
                is_med[medoids[slot]], is_med[cols[r]] = False, True
                medoids[slot] = int(cols[r])
                skip = blocked()
                swaps += 1
                improved = True
                if evaluated >= max_passes * n_cand:
                    break
            since_swap = 0 if improved else since_swap + cols.numel()
            if since_swap >= n_cand or evaluated >= max_passes * n_cand:
                break
    return medoids, swaps, evaluated / max(n_cand, 1)


def weighted_kmedoids(
    X: np.ndarray,
    weights: np.ndarray,
    fixed: np.ndarray | list[int] | None = None,
    n_select: int = 10,
    seed: int | None = 0,
    block_size: int = 256,
    max_passes: int = 10,
    n_init: int = 1,
    tol: float = 1e-6,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    return_info: bool = False,
) -> tuple:
    """Choose `n_select` new medoids minimising sum_i w_i * distance to the nearest medoid,
    with the `fixed` positions (the labelled pairs) always medoids.

    Returns (chosen, objective): chosen is an (n_select,) array of new positions (never in
    `fixed`), objective the weighted total deviation in float64. With `return_info=True` a
    third item reports, for the best of the `n_init` starts (BUILD, then fixed + random
    medoids), its starting objective, the number of swaps and of SWAP passes.
    """
    X = _as_matrix(X)
    n = X.shape[0]
    w_np = np.asarray(weights, dtype=np.float64).ravel()
    if w_np.shape[0] != n:
        raise ValueError(f"weights has {w_np.shape[0]} entries but X has {n} rows")
    if not np.isfinite(w_np).all():
        raise ValueError("weights contain NaN or infinite values; give every point a finite weight")
    if (w_np < 0).any():
        raise ValueError(f"weights must be >= 0; found {int((w_np < 0).sum())} negative values")
    fixed = _check_fixed(fixed, n)
    if isinstance(n_select, bool) or not isinstance(n_select, int | np.integer) or n_select < 0:
        raise ValueError(f"n_select must be a non-negative integer, got {n_select!r}")
    if n_select > n - fixed.size:
        raise ValueError(
            f"n_select={n_select} is larger than the {n - fixed.size} points that are not fixed"
        )
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    if n_init < 1:
        raise ValueError(f"n_init must be >= 1, got {n_init}")
    if n_select == 0:
        chosen = np.zeros(0, dtype=np.int64)
        obj = _objective(X, w_np, fixed) if fixed.size else float("inf")
        return (chosen, obj, {}) if return_info else (chosen, obj)
    dev = _device(device)
    rng = np.random.default_rng(seed)
    geo = _Geometry(X, w_np, dev, dtype)
    group = _groups(X, fixed, n_select, dev)
    best = None
    with torch.no_grad():
        for start in range(n_init):
            if start == 0:
                medoids, WDm = _build(geo, fixed, n_select, block_size, group)
            else:  # further starts: fixed + random medoids, to escape a poor local optimum
                free = np.setdiff1d(np.arange(n), fixed)
                medoids = np.r_[fixed, rng.choice(free, n_select, replace=False)]
                WDm = torch.empty((n, medoids.size), dtype=dtype, device=dev)
                m_t = torch.as_tensor(medoids, device=dev)
                for cols in _blocks(medoids.size, block_size, dev):
                    WDm[:, cols] = geo.to(m_t[cols])
            start_obj = _objective(X, w_np, medoids)
            medoids, swaps, passes = _swap(geo, list(medoids), WDm, fixed.size, block_size, rng,
                                           max_passes, tol, group)
            obj = _objective(X, w_np, medoids)
            if best is None or obj < best[1]:
                best = (np.asarray(medoids[fixed.size :], dtype=np.int64), obj,
                        {"start": start, "start_objective": start_obj, "swaps": swaps,
                         "passes": passes})
    return best if return_info else best[:2]


def _groups(X: np.ndarray, fixed: np.ndarray, n_select: int, dev: torch.device) -> torch.Tensor:
    """Group id of every row, identical rows sharing one, so that only one of them is ever a
    candidate; every row its own group when too few distinct free rows remain for n_select."""
    _, group = np.unique(X, axis=0, return_inverse=True)
    group = group.ravel()
    if np.unique(group).size - np.unique(group[fixed]).size < n_select:
        group = np.arange(X.shape[0])
    return torch.as_tensor(group, dtype=torch.int64, device=dev)


def _objective(X: np.ndarray, w: np.ndarray, medoids: np.ndarray, block: int = 4096) -> float:
    """Exact float64 weighted total deviation of `medoids`, in row blocks."""
    M = X[np.asarray(medoids, dtype=np.int64)]
    m_sq = (M * M).sum(1)
    total = 0.0
    for s in range(0, X.shape[0], block):
        xb = X[s : s + block]
        d2 = (xb * xb).sum(1)[:, None] + m_sq[None, :] - 2.0 * xb @ M.T
        total += float(w[s : s + block] @ np.sqrt(np.clip(d2, 0.0, None)).min(1))
    return total


def lipschitz_weights(X: np.ndarray, risk: np.ndarray, labeled_idx: np.ndarray | list[int],
                      block_size: int = 4096, eps: float | None = None) -> np.ndarray:
    """The paper's empirical Lipschitz estimate w_i = risk_i / distance to the nearest labelled
    pair (risk alone when nothing is labelled). Zero distances are raised to `eps` (default:
    1e-3 x the median positive distance) so that duplicates of labelled pairs stay finite."""
    X = _as_matrix(X)
    risk = np.asarray(risk, dtype=np.float64).ravel()
    if risk.shape[0] != X.shape[0]:
        raise ValueError(f"risk has {risk.shape[0]} entries but X has {X.shape[0]} rows")
    if not np.isfinite(risk).all() or (risk < 0).any():
        raise ValueError("risk must be finite and >= 0 for every point")
    labeled = _check_fixed(labeled_idx, X.shape[0])
    if labeled.size == 0:
        return risk.copy()
    L = X[labeled]
    l_sq = (L * L).sum(1)
    dist = np.empty(X.shape[0])
    for s in range(0, X.shape[0], block_size):
        xb = X[s : s + block_size]
        d2 = (xb * xb).sum(1)[:, None] + l_sq[None, :] - 2.0 * xb @ L.T
        dist[s : s + block_size] = np.sqrt(np.clip(d2, 0.0, None)).min(1)
    dist[labeled] = 0.0
    if eps is None:
        positive = dist[dist > 0]
        eps = 1e-3 * float(np.median(positive)) if positive.size else 1.0
    return risk / np.maximum(dist, eps)


class RiskKMedoidsSelector(Selector):
    """Risk sampling: weighted k-medoids over the matcher's embeddings, labelled pairs fixed,
    each pair weighted by its empirical Lipschitz estimate (risk / distance to labelled)."""

    name = "risk_kmedoids"

    def __init__(self, seed: int | None = 0, block_size: int = 256,
                 device: str | None = None) -> None:
        super().__init__(seed)
        self.block_size = block_size
        self.device = device

    def select(self, state: PoolState, n: int) -> np.ndarray:
        """Return up to `n` unlabeled positions: the new medoids, riskiest first."""
        if state.embeddings is None:
            raise ValueError("RiskKMedoidsSelector needs state.embeddings (matcher.embed(pairs))")
        X = np.asarray(state.embeddings, dtype=np.float64)
        if X.shape[0] != state.n:
            raise ValueError(f"state.embeddings has {X.shape[0]} rows, the pool has {state.n}")
        if state.risk is not None:
            risk, source = np.asarray(state.risk, dtype=np.float64), "risk"
        elif state.matcher_proba is not None:
            p = np.asarray(state.matcher_proba, dtype=np.float64)
            risk, source = 1.0 - np.abs(2.0 * p - 1.0), "uncertainty"
        else:
            risk, source = np.ones(state.n), "uniform"
        skipped = np.asarray(sorted(state.skipped - set(state.expert_labels)), dtype=np.int64)
        keep = np.setdiff1d(np.arange(state.n), skipped)  # skipped pairs are never asked again
        pos = np.full(state.n, -1, dtype=np.int64)
        pos[keep] = np.arange(keep.size)
        labeled = pos[np.asarray(sorted(state.expert_labels), dtype=np.int64)]
        n_new = min(int(n), keep.size - labeled.size)
        self.diagnostics = {"weights": source}
        if n_new <= 0:
            return np.zeros(0, dtype=np.int64)
        w = lipschitz_weights(X[keep], risk[keep], labeled)
        chosen, obj = weighted_kmedoids(X[keep], w, fixed=labeled, n_select=n_new,
                                        seed=self.seed, block_size=self.block_size,
                                        device=self.device)
        chosen = keep[chosen]
        self.diagnostics["objective"] = obj
        return chosen[np.argsort(-risk[chosen], kind="stable")]

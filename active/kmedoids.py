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
    """Centred points on a device, with squared norms, for blocked Euclidean distances."""

    def __init__(self, X: np.ndarray, device: torch.device, dtype: torch.dtype) -> None:
        Xc = X - X.mean(axis=0, keepdims=True)  # centring reduces cancellation in the norm trick
        self.X = torch.as_tensor(Xc, dtype=dtype, device=device)
        self.sq = (self.X * self.X).sum(1)

    def to(self, rows: torch.Tensor) -> torch.Tensor:
        """(n, len(rows)) distances from every point to the points `rows`."""
        d2 = torch.addmm(self.sq[rows][None, :], self.X, self.X.index_select(0, rows).T, alpha=-2.0)
        d2.add_(self.sq[:, None])
        return d2.clamp_min_(0.0).sqrt_()


def _blocks(n: int, size: int, device: torch.device, order: torch.Tensor | None = None):
    idx = torch.arange(n, device=device) if order is None else order
    for start in range(0, n, size):
        yield idx[start : start + size]


def _build(geo: _Geometry, w: torch.Tensor, fixed: np.ndarray, n_select: int, block: int):
    """Weighted greedy BUILD with lazy (batched) gain re-evaluation; returns (medoids, Dm)."""
    n = geo.X.shape[0]
    dev, dt = geo.X.device, geo.X.dtype
    k = fixed.size + n_select
    Dm = torch.empty((n, k), dtype=dt, device=dev)
    is_med = torch.zeros(n, dtype=torch.bool, device=dev)
    medoids = list(fixed.tolist())
    if fixed.size:
        fx = torch.as_tensor(fixed, device=dev)
        for rows in _blocks(fixed.size, block, dev):
            Dm[:, rows] = geo.to(fx[rows])
        dn = Dm[:, : fixed.size].min(1).values
        is_med[fx] = True
    else:
        # No fixed medoid: the first one is the weighted 1-medoid of all points.
        cost = torch.empty(n, dtype=dt, device=dev)
        for rows in _blocks(n, block, dev):
            cost[rows] = w @ geo.to(rows)
        first = int(torch.argmin(cost))
        Dm[:, 0] = geo.to(torch.tensor([first], device=dev))[:, 0]
        dn = Dm[:, 0].clone()
        medoids.append(first)
        is_med[first] = True

    def gains(D: torch.Tensor) -> torch.Tensor:
        # sum_i w_i * max(dn_i - d_ic, 0) = w.dn - w.min(d_ic, dn_i)
        return w @ dn - w @ torch.minimum(D, dn[:, None])

    # Gains only shrink as medoids are added, so stale gains are upper bounds (lazy greedy).
    ub = torch.empty(n, dtype=dt, device=dev)
    for rows in _blocks(n, block, dev):
        ub[rows] = gains(geo.to(rows))
    ub[is_med] = -torch.inf
    batch = min(32, n)
    while len(medoids) < k:
        top = torch.topk(ub, batch).indices
        D = geo.to(top)
        exact = gains(D).masked_fill_(is_med[top], -torch.inf)
        ub[top] = exact
        best = int(torch.argmax(exact))
        if batch < n and exact[best] < torch.topk(ub, batch + 1).values[-1]:
            continue  # an unevaluated candidate may still beat the best evaluated one
        c = int(top[best])
        Dm[:, len(medoids)] = D[:, best]
        dn = torch.minimum(dn, D[:, best])
        medoids.append(c)
        is_med[c] = True
        ub[c] = -torch.inf
    return np.asarray(medoids, dtype=np.int64), Dm


def _nearest_two(Dm: torch.Tensor):
    if Dm.shape[1] == 1:
        return (torch.zeros(Dm.shape[0], dtype=torch.long, device=Dm.device), Dm[:, 0],
                torch.full_like(Dm[:, 0], torch.inf))
    vals, idx = torch.topk(Dm, 2, dim=1, largest=False)
    return idx[:, 0], vals[:, 0], vals[:, 1]


def _swap(geo, w, medoids, Dm, n_fixed, block, rng, max_passes, tol):
    """Eager SWAP: for each block of candidates, apply the best improving swap while one exists.

    With n(i), d1(i), d2(i) the nearest medoid, its distance and the second distance, swapping
    candidate c in for medoid m changes the objective by
        sum_i w_i (min(d_ic, d1_i) - d1_i)
        + sum_{i: n(i) = m} w_i (min(d_ic, d2_i) - min(d_ic, d1_i)),
    O(n) per candidate for all k medoids at once (the second sum is one index_add).
    """
    n, k = Dm.shape
    dev = Dm.device
    is_med = torch.zeros(n, dtype=torch.bool, device=dev)
    is_med[torch.as_tensor(medoids, device=dev)] = True
    nearest, dn, ds = _nearest_two(Dm)
    td = float(w @ dn)
    fixed_slot = torch.zeros(k, dtype=torch.bool, device=dev)
    fixed_slot[:n_fixed] = True
    n_cand = n - k
    since_swap, swaps, evaluated = 0, 0, 0
    while since_swap < n_cand and evaluated < max_passes * n_cand:
        order = torch.as_tensor(rng.permutation(n), device=dev)
        order = order[~is_med[order]]
        for rows in _blocks(order.numel(), block, dev, order):
            D = geo.to(rows)
            improved = False
            while True:
                near = torch.minimum(D, dn[:, None])
                second = torch.minimum(D, ds[:, None]).sub_(near).mul_(w[:, None])
                delta = torch.zeros((k, rows.numel()), dtype=D.dtype, device=dev)
                delta.index_add_(0, nearest, second).add_(w @ near - td)
                delta.masked_fill_(fixed_slot[:, None], torch.inf)
                delta.masked_fill_(is_med[rows][None, :], torch.inf)
                flat = int(torch.argmin(delta))
                slot, r = divmod(flat, rows.numel())
                gain = float(delta[slot, r])
                if not gain < -tol * max(td, 1e-300):
                    break
                old, new = int(medoids[slot]), int(rows[r])
                medoids[slot] = new
                is_med[old], is_med[new] = False, True
                Dm[:, slot] = D[:, r]
                nearest, dn, ds = _nearest_two(Dm)
                td = float(w @ dn)
                swaps += 1
                improved = True
            evaluated += rows.numel()
            since_swap = 0 if improved else since_swap + rows.numel()
            if since_swap >= n_cand or evaluated >= max_passes * n_cand:
                break
    return medoids, swaps, evaluated / max(n_cand, 1)


def weighted_kmedoids(
    X,
    weights,
    fixed=None,
    n_select: int = 10,
    seed: int | None = 0,
    block_size: int = 512,
    max_passes: int = 10,
    tol: float = 1e-7,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
    return_info: bool = False,
):
    """Choose `n_select` new medoids minimising sum_i w_i * distance to the nearest medoid,
    with the `fixed` positions (the labelled pairs) always medoids.

    Returns (chosen, objective): chosen is an (n_select,) array of new positions (never in
    `fixed`), objective the weighted total deviation in float64. With `return_info=True` a
    third item reports the BUILD objective, the number of swaps and of SWAP passes.
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
    if n_select == 0:
        chosen = np.zeros(0, dtype=np.int64)
        obj = _objective(X, w_np, fixed) if fixed.size else float("inf")
        return (chosen, obj, {}) if return_info else (chosen, obj)
    dev = _device(device)
    rng = np.random.default_rng(seed)
    geo = _Geometry(X, dev, dtype)
    w = torch.as_tensor(w_np, dtype=dtype, device=dev)
    with torch.no_grad():
        medoids, Dm = _build(geo, w, fixed, n_select, block_size)
        build_obj = _objective(X, w_np, medoids)
        medoids, swaps, passes = _swap(geo, w, medoids, Dm, fixed.size, block_size, rng,
                                       max_passes, tol)
    chosen = np.asarray(medoids[fixed.size :], dtype=np.int64)
    obj = _objective(X, w_np, medoids)
    if return_info:
        return chosen, obj, {"build_objective": build_obj, "swaps": swaps, "passes": passes}
    return chosen, obj


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


def lipschitz_weights(X, risk, labeled_idx, block_size: int = 4096, eps: float | None = None):
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

    def __init__(self, seed: int | None = 0, block_size: int = 512,
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

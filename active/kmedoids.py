"""Risk-weighted k-medoids (risk sampling): pick the pairs to label that best cover risky pairs.

The objective is sum_i w_i * min_m ||x_i - x_m|| over medoids m = the already labelled pairs
(fixed) plus `n_select` new ones. Weighted greedy BUILD (lazy, since the gain is submodular)
gives the start; an eager FasterPAM-style SWAP improves it, evaluating every (candidate, medoid)
swap from cached nearest / second-nearest distances in O(n) per candidate.

Both steps skip the points a candidate cannot affect. Point i, whose nearest medoid is a, gains
nothing from candidate c when ||x_i - x_c|| >= r_i (its nearest medoid distance in BUILD, its
second nearest in SWAP); by the triangle inequality that holds whenever ||x_c - x_a|| >=
||x_i - x_a|| + r_i. So a block of candidates, taken near the same medoids, needs only the points
that pass this test (on the benchmark's clustered data 25-50% of them; on data without clusters
nearly all, and the search then orders candidates by promise instead). Distances are computed in
blocks, so memory is O(n * (block_size + k)), never n x n.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from active.base import PoolState, Selector

__all__ = ["weighted_kmedoids", "lipschitz_weights", "RiskKMedoidsSelector"]

AUTO_STARTS, AUTO_STARTS_MAX_N = 5, 500
"""n_init=None: AUTO_STARTS starts for at most AUTO_STARTS_MAX_N points, where each costs
milliseconds and a tiny problem's single-swap optimum is now and then several % above the best;
one start above, where BUILD + SWAP matches FasterPAM."""


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
    """Euclidean distances from one matrix product per block: [x, |x|^2, 1] . [-2 x_c, 1,
    |x_c|^2] = ||x - x_c||^2; the rows scaled by w^2 give the weighted w_i ||x_i - x_c||."""

    def __init__(self, X: np.ndarray, w: np.ndarray, device: torch.device,
                 dtype: torch.dtype) -> None:
        Xc = X - X.mean(axis=0, keepdims=True)  # centring reduces cancellation in the norm trick
        sq = (Xc * Xc).sum(1, keepdims=True)
        one = np.ones_like(sq)
        left = np.hstack([Xc, sq, one])
        self.left = torch.as_tensor(left, dtype=dtype, device=device)
        self.left_w = torch.as_tensor(left * (w * w)[:, None], dtype=dtype, device=device)
        self.right = torch.as_tensor(np.hstack([-2.0 * Xc, one, sq]), dtype=dtype, device=device)
        self.w = torch.as_tensor(w, dtype=dtype, device=device)
        radius = float(np.sqrt(sq.max()))
        # Rounding error of a distance from the norm trick, added to every pruning bound.
        self.slack = 4.0 * float(np.sqrt(torch.finfo(dtype).eps)) * radius + 1e-12
        self.diameter = 2.0 * radius + self.slack  # no distance is larger

    @property
    def n(self) -> int:
        return self.left.shape[0]

    def dist(self, cols: torch.Tensor, rows: torch.Tensor | None = None,
             weighted: bool = False) -> torch.Tensor:
        """(len(rows), len(cols)) distances (all n rows when rows is None), times w_row when
        `weighted`."""
        left = self.left_w if weighted else self.left
        if rows is not None:
            left = left.index_select(0, rows)
        d2 = left @ self.right.index_select(0, cols).T
        return d2.abs_().sqrt_()  # abs: rounding can leave tiny negatives

    def columns(self, cols: np.ndarray | list[int], block: int) -> torch.Tensor:
        """(n, len(cols)) unweighted distances to the points `cols`, in blocks."""
        idx = torch.as_tensor(np.asarray(cols, dtype=np.int64), device=self.left.device)
        out = torch.empty((self.n, idx.numel()), dtype=self.left.dtype, device=idx.device)
        for part in _blocks(idx.numel(), block, idx.device):
            out[:, part] = self.dist(idx[part])
        return out


def _blocks(n: int, size: int, device: torch.device, order: torch.Tensor | None = None):
    idx = torch.arange(n, device=device) if order is None else order
    if idx.numel():  # split() of an empty tensor yields one empty block
        yield from idx.split(size)


def _near_mask(Dc: torch.Tensor, nearest: torch.Tensor, reach: torch.Tensor,
               slack: float) -> torch.Tensor:
    """The points that candidates with medoid distances Dc (B, k) may affect: point i of
    nearest medoid a only when ||x_c - x_a|| < reach_i for some candidate c."""
    return Dc.min(0).values.index_select(0, nearest) < reach + slack


def _near_rows(Dc: torch.Tensor, nearest: torch.Tensor, reach: torch.Tensor,
               slack: float) -> torch.Tensor | None:
    """Row positions of `_near_mask`, or None for all rows when that is most of them (a gather
    would then cost more than it saves)."""
    rows = _near_mask(Dc, nearest, reach, slack).nonzero().squeeze(1)
    return None if rows.numel() > 0.75 * nearest.numel() else rows


def _pick(v: torch.Tensor, rows: torch.Tensor | None) -> torch.Tensor:
    return v if rows is None else v.index_select(0, rows)


def _duplicates(group: torch.Tensor) -> torch.Tensor:
    """True for every row that is not the first of its group of identical rows."""
    idx = torch.arange(group.numel(), device=group.device)
    first = torch.full((int(group.max()) + 1,), group.numel(), dtype=group.dtype,
                       device=group.device)
    first.scatter_reduce_(0, group, idx, "amin")
    return first[group] != idx


def _build(geo: _Geometry, fixed: np.ndarray, n_select: int, block: int, group: torch.Tensor):
    """Weighted greedy BUILD with lazy (batched) gain re-evaluation.

    Returns the medoids, Dm (n, k) the distances of every point to each medoid, and each
    point's last computed gain (an upper bound on its gain now; -inf where blocked).
    Only the first row of each `group` of identical rows is ever a candidate.
    """
    n, dev, dt = geo.n, geo.left.device, geo.left.dtype
    k = fixed.size + n_select
    Dm = torch.empty((n, k), dtype=dt, device=dev)
    blocked = _duplicates(group)  # not its group's first row, or its group has a medoid
    medoids = list(fixed.tolist())
    if fixed.size:
        Dm[:, : fixed.size] = geo.columns(fixed, block)
        blocked |= torch.isin(group, group[torch.as_tensor(fixed, device=dev)])
    else:
        # No fixed medoid: the first one is the weighted 1-medoid of all points.
        cost = torch.cat([geo.dist(cols, weighted=True).sum(0) for cols in _blocks(n, block, dev)])
        first = int(torch.argmin(cost))
        Dm[:, :1] = geo.columns([first], block)
        medoids.append(first)
        blocked |= group == group[first]
    dn, nearest = Dm[:, : len(medoids)].min(1)

    def distances(cols: torch.Tensor):
        # Point i only gains from c closer than dn_i, so only when ||x_c - x_a|| < 2 dn_i.
        rows = _near_rows(Dm.index_select(0, cols)[:, : len(medoids)], nearest, 2.0 * dn,
                          geo.slack)
        return rows, geo.dist(cols, rows, weighted=True)

    def gains(rows: torch.Tensor | None, WD: torch.Tensor) -> torch.Tensor:
        # sum_i (w_i dn_i - min(w_i d_ic, w_i dn_i)); the rows left out contribute 0. Clamping
        # WD in place is safe: dn only shrinks, and min(min(d, a), b) = min(d, b) for b <= a.
        wdn = _pick(geo.w * dn, rows)
        return wdn.sum() - WD.clamp_(max=wdn[:, None]).sum(0)

    # Gains only shrink as medoids are added, so stale gains are upper bounds (lazy greedy).
    ub = torch.full((n,), -torch.inf, dtype=dt, device=dev)
    order = torch.argsort(nearest, stable=True)  # candidates near the same medoid together
    for cols in _blocks(n, block, dev, order[~blocked[order]]):
        ub[cols] = gains(*distances(cols))
    batch = min(32, n)
    while len(medoids) < k:
        top = torch.topk(ub, batch).indices
        rows, WD = distances(top)
        while len(medoids) < k:
            # Adding a medoid only lowers dn, so `rows` still holds every point that gains.
            exact = gains(rows, WD).masked_fill_(blocked[top], -torch.inf)
            ub[top] = exact
            best = int(torch.argmax(exact))
            if not exact[best] >= ub.index_fill(0, top, -torch.inf).max():
                break  # a candidate outside the batch may beat the best one in it
            c = int(top[best])
            col = geo.columns([c], block)[:, 0]
            Dm[:, len(medoids)] = col
            nearest = torch.where(col < dn, len(medoids), nearest)
            dn = torch.minimum(dn, col)
            medoids.append(c)
            blocked |= group == group[c]
            ub[blocked] = -torch.inf
    return np.asarray(medoids, dtype=np.int64), Dm, ub


class _Cache(NamedTuple):
    """Per point: nearest medoid slot, weighted distances to the nearest and second nearest and
    reach (the pruning radius); per medoid: the sums of d1 and d2 over its points; td the
    objective in float64."""

    nearest: torch.Tensor
    d1: torch.Tensor
    d2: torch.Tensor
    reach: torch.Tensor
    sum_d1: torch.Tensor
    sum_d2: torch.Tensor
    td: float


def _cache(Dm: torch.Tensor, geo: _Geometry) -> _Cache:
    n, k = Dm.shape
    if k == 1:  # one medoid: "second nearest" is farther than any point, losing it costs all
        nearest = torch.zeros(n, dtype=torch.long, device=Dm.device)
        D1, D2 = Dm[:, 0], torch.full_like(Dm[:, 0], geo.diameter)
    else:
        vals, idx = torch.topk(Dm, 2, dim=1, largest=False)
        nearest, D1, D2 = idx[:, 0], vals[:, 0], vals[:, 1]
    d1, d2 = geo.w * D1, geo.w * D2
    zeros = torch.zeros(k, dtype=Dm.dtype, device=Dm.device)
    # Point i is only affected by c closer than its second nearest, so only when
    # ||x_c - x_a|| < D1_i + D2_i.
    return _Cache(nearest, d1, d2, D1 + D2, zeros.index_add(0, nearest, d1),
                  zeros.index_add(0, nearest, d2), float(d1.double().sum()))


def _swap(geo, medoids, Dm, n_fixed, block, max_passes, tol, group, priority):
    """Eager SWAP: for each block of candidates, apply the best improving swap while one exists.

    Blocks are visited cyclically in a fixed order until every block has been evaluated once
    since the last swap, so the result is a local optimum of single swaps unless the
    `max_passes` budget ends the search first. The order puts candidates of high `priority`
    (BUILD's last gains) first, so that most swaps are found early; where pruning pays, blocks
    hold candidates near the same medoid (medoids by their best candidate's priority).

    A swap is kept only if it lowers the objective (summed in float64 from the stored
    distances) by more than `tol` relative; otherwise it is undone and the block is done. The
    objective thus strictly decreases, so rounding ties between duplicates cannot cycle.

    With n(i) the nearest medoid of point i and d1_i, d2_i its weighted distances to the nearest
    and second nearest, swapping candidate c in for medoid m changes the objective by
        sum_i (min(d_ic, d1_i) - d1_i) + sum_{i: n(i) = m} (clamp(d_ic, d1_i, d2_i) - d1_i),
    O(n) per candidate for all k medoids at once (the second sum is one index_add). A point with
    d_ic >= d2_i adds d2_i - d1_i to the row of its medoid and nothing else, so the pruned points
    enter as one sum per medoid.
    """
    n, k = Dm.shape
    dev = Dm.device
    is_med = torch.zeros(n, dtype=torch.bool, device=dev)
    is_med[torch.as_tensor(medoids, device=dev)] = True
    dup = _duplicates(group)
    n_groups = int(group.max()) + 1

    def groups_of(mask: torch.Tensor) -> torch.Tensor:  # rows sharing a group with a `mask` row
        hit = torch.zeros(n_groups, dtype=torch.bool, device=dev)
        hit[group[mask]] = True
        return hit[group]

    fixed_rows = torch.zeros(n, dtype=torch.bool, device=dev)
    fixed_rows[torch.as_tensor(medoids[:n_fixed], dtype=torch.long, device=dev)] = True
    fixed_slot = torch.zeros(k, dtype=torch.bool, device=dev)
    fixed_slot[:n_fixed] = True
    skip = dup | groups_of(is_med)  # a medoid, a duplicate row, or a row whose twin is a medoid

    cache = _cache(Dm, geo)
    order = torch.argsort(priority, descending=True, stable=True)
    order = order[~(dup | groups_of(fixed_rows))[order]]
    best = torch.full((k,), -torch.inf, dtype=priority.dtype, device=dev)
    best.scatter_reduce_(0, cache.nearest, priority, "amax")
    grouped = order[torch.argsort(best[cache.nearest[order]], descending=True, stable=True)]
    blocks = grouped.split(block)
    needed = [_near_mask(Dm.index_select(0, cols), cache.nearest, cache.reach, geo.slack)
              .float().mean() for cols in blocks]
    if not blocks or float(torch.stack(needed).mean()) > 0.5:
        blocks = order.split(block)  # pruning would save little: best candidates first

    def evaluate(cols: torch.Tensor) -> torch.Tensor:
        """(k, len(cols)) objective change of swapping each candidate in for each medoid."""
        rows = _near_rows(Dm.index_select(0, cols), cache.nearest, cache.reach, geo.slack)
        WD = geo.dist(cols, rows, weighted=True)
        d1, d2 = _pick(cache.d1, rows), _pick(cache.d2, rows)
        # In place, as WD is not needed again: sum_i min(d_ic, d1_i) is the column sum of
        # min(d, d2) less that of clamp(d, d1, d2), since min(d, d1) = min(d, d2) + d1 - clamp.
        low = WD.clamp_(max=d2[:, None]).sum(0)
        clamped = WD.clamp_(min=d1[:, None])
        shared = low - clamped.sum(0)
        delta = torch.zeros((k, cols.numel()), dtype=WD.dtype, device=dev)
        near = _pick(cache.nearest, rows)
        delta.index_add_(0, near, clamped)
        offset = -cache.sum_d1
        if rows is not None:  # the pruned points: d2 - d1 in their medoid's row
            offset = offset + cache.sum_d2 - torch.zeros_like(offset).index_add_(0, near, d2)
        delta.add_(offset[:, None]).add_(shared[None, :])
        delta.masked_fill_(fixed_slot[:, None], torch.inf)
        return delta.masked_fill_(skip[cols][None, :], torch.inf)

    n_cand = n - k
    budget = max_passes * n_cand
    clean, swaps, evaluated, b = 0, 0, 0, 0
    while clean < len(blocks) and evaluated < budget:
        cols = blocks[b % len(blocks)]
        b += 1
        improved = False
        while evaluated < budget:
            delta = evaluate(cols)
            evaluated += cols.numel()
            slot, r = divmod(int(torch.argmin(delta)), cols.numel())
            if not float(delta[slot, r]) < -tol * cache.td:
                break
            saved, before = Dm[:, slot].clone(), cache
            Dm[:, slot] = geo.dist(cols[r : r + 1])[:, 0]
            cache = _cache(Dm, geo)
            if not cache.td < before.td * (1.0 - tol):  # rounding made a tie look like a gain
                Dm[:, slot], cache = saved, before
                break
            is_med[medoids[slot]], is_med[cols[r]] = False, True
            medoids[slot] = int(cols[r])
            skip = dup | groups_of(is_med)
            swaps += 1
            improved = True
        clean = 1 if improved else clean + 1  # a block that swapped ended with a clean look
    return medoids, swaps, evaluated / max(n_cand, 1)


class KMedoidsResult(tuple):
    """`(chosen, objective)` of `weighted_kmedoids`, with the search's diagnostics in `info`."""

    def __new__(cls, chosen: np.ndarray, objective: float, info: dict) -> KMedoidsResult:
        result = super().__new__(cls, (chosen, objective))
        result.info = info
        return result


def weighted_kmedoids(
    X: np.ndarray,
    weights: np.ndarray,
    fixed: np.ndarray | list[int] | None = None,
    n_select: int = 10,
    seed: int | None = 0,
    block_size: int = 256,
    max_passes: int = 10,
    n_init: int | None = None,
    tol: float = 1e-6,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> KMedoidsResult:
    """Choose `n_select` new medoids minimising sum_i w_i * distance to the nearest medoid,
    with the `fixed` positions (the labelled pairs) always medoids.

    Returns (chosen, objective): chosen is an (n_select,) array of new positions (never in
    `fixed`), objective the weighted total deviation in float64. `n_init` starts are tried
    (BUILD, then fixed + random medoids), each improved by SWAP; None means AUTO_STARTS for up
    to AUTO_STARTS_MAX_N points, else 1. The result's `info` reports, for the best start, its
    starting objective, the number of swaps and of SWAP passes.
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
    if n_init is None:
        n_init = AUTO_STARTS if n <= AUTO_STARTS_MAX_N else 1
    if n_init < 1:
        raise ValueError(f"n_init must be >= 1 (or None for automatic), got {n_init}")
    if n_select == 0:
        chosen = np.zeros(0, dtype=np.int64)
        obj = _objective(X, w_np, fixed) if fixed.size else float("inf")
        return KMedoidsResult(chosen, obj, {})
    dev = _device(device)
    rng = np.random.default_rng(seed)
    geo = _Geometry(X, w_np, dev, dtype)
    group = _groups(X, fixed, n_select, dev)
    best = None
    with torch.no_grad():
        for start in range(n_init):
            if start == 0:
                medoids, Dm, priority = _build(geo, fixed, n_select, block_size, group)
            else:  # further starts: fixed + random medoids, to escape a poor local optimum
                free = np.setdiff1d(np.arange(n), fixed)
                medoids = np.r_[fixed, rng.choice(free, n_select, replace=False)]
                Dm = geo.columns(medoids, block_size)
                priority = torch.as_tensor(rng.random(n), dtype=dtype, device=dev)
            start_obj = _objective(X, w_np, medoids)
            medoids, swaps, passes = _swap(geo, list(medoids), Dm, fixed.size, block_size,
                                           max_passes, tol, group, priority)
            obj = _objective(X, w_np, medoids)
            if best is None or obj < best[1]:
                best = (np.asarray(medoids[fixed.size :], dtype=np.int64), obj,
                        {"start": start, "start_objective": start_obj, "swaps": swaps,
                         "passes": passes})
    return KMedoidsResult(*best)


def _groups(X: np.ndarray, fixed: np.ndarray, n_select: int, dev: torch.device) -> torch.Tensor:
    """Group id of every row, identical rows sharing one, so that only one of them is ever a
    candidate; every row its own group when too few distinct free rows remain for n_select."""
    _, group = np.unique(X, axis=0, return_inverse=True)
    group = group.ravel()
    if np.unique(group).size - np.unique(group[fixed]).size < n_select:
        group = np.arange(X.shape[0])
    return torch.as_tensor(group, dtype=torch.int64, device=dev)


def _objective(X: np.ndarray, w: np.ndarray, medoids: np.ndarray, block: int = 4096) -> float:
    """Exact float64 weighted total deviation of `medoids`, in row blocks: the nearest medoid
    from the norm trick, its distance recomputed directly (the trick loses digits near 0)."""
    M = X[np.asarray(medoids, dtype=np.int64)]
    m_sq = (M * M).sum(1)
    total = 0.0
    for s in range(0, X.shape[0], block):
        xb = X[s : s + block]
        nearest = np.argmin(m_sq[None, :] - 2.0 * xb @ M.T, axis=1)
        total += float(w[s : s + block] @ np.linalg.norm(xb - M[nearest], axis=1))
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

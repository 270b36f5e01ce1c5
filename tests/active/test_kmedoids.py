import itertools

import numpy as np
import pytest
import torch

from active import PoolState, RiskKMedoidsSelector, kmedoids, lipschitz_weights, weighted_kmedoids


def objective(X, w, medoids):
    d = np.linalg.norm(X[:, None, :] - X[np.asarray(medoids)][None, :, :], axis=2)
    return float(w @ d.min(1))


def problem(seed, n=12, d=3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(3, d))
    X = centres[rng.integers(3, size=n)] + rng.normal(size=(n, d))
    return X, rng.exponential(size=n), rng


def test_matches_brute_force_on_small_problems():
    gaps = []
    for seed in range(12):
        X, w, rng = problem(seed)
        fixed = rng.choice(len(X), seed % 3, replace=False)
        b = 1 + seed % 3
        chosen, obj = weighted_kmedoids(X, w, fixed=fixed, n_select=b, seed=seed,
                                        dtype=torch.float64)
        free = np.setdiff1d(np.arange(len(X)), fixed)
        best = min(objective(X, w, np.r_[fixed, list(c)]) for c in itertools.combinations(free, b))
        gaps.append(obj / best - 1)
    gaps = np.array(gaps)
    assert gaps.min() >= -1e-6
    assert gaps.max() <= 0.02
    assert np.mean(gaps < 1e-6) >= 0.8


def test_default_starts_escape_a_poor_single_swap_optimum():
    X, w, rng = problem(202)  # one start stops 6% above the optimum here
    fixed = rng.choice(len(X), 1, replace=False)
    free = np.setdiff1d(np.arange(len(X)), fixed)
    best = min(objective(X, w, np.r_[fixed, list(c)]) for c in itertools.combinations(free, 2))
    one = weighted_kmedoids(X, w, fixed=fixed, n_select=2, n_init=1, dtype=torch.float64)[1]
    default = weighted_kmedoids(X, w, fixed=fixed, n_select=2, dtype=torch.float64)[1]
    assert one > best * 1.02
    assert default == pytest.approx(best, rel=1e-9)


def clustered_problem(seed=8, n=400):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=8.0, size=(12, 5))
    X = centres[rng.integers(12, size=n)] + rng.normal(size=(n, 5))
    return X, rng.exponential(size=n), rng.choice(n, 6, replace=False)


def assert_single_swap_local_optimum(X, w, fixed, chosen, obj):
    medoids = np.r_[fixed, chosen]
    D = np.linalg.norm(X[:, None, :] - X[None, :, :], axis=2)
    assert obj == pytest.approx(float(w @ D[:, medoids].min(1)), rel=1e-6)
    free = np.setdiff1d(np.arange(len(X)), medoids)
    for slot in range(len(fixed), medoids.size):  # every swap of a new medoid for a free point
        rest = D[:, np.delete(medoids, slot)].min(1)
        swapped = w @ np.minimum(rest[:, None], D[:, free])
        assert swapped.min() >= obj * (1 - 1e-5)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_result_is_a_single_swap_local_optimum_on_clustered_data(dtype):
    # Well separated clusters: BUILD and SWAP prune most points; no improving swap may be missed.
    X, w, fixed = clustered_problem()
    chosen, obj = weighted_kmedoids(X, w, fixed=fixed, n_select=10, n_init=1, block_size=16,
                                    dtype=dtype)
    assert_single_swap_local_optimum(X, w, fixed, chosen, obj)


def test_swap_from_a_random_start_reaches_a_local_optimum():
    # From random medoids SWAP does most of the work, so pruning mistakes would show here.
    X, w, fixed = clustered_problem(seed=9)
    geo = kmedoids._Geometry(X, w, torch.device("cpu"), torch.float64)
    rng = np.random.default_rng(0)
    medoids = np.r_[fixed, rng.choice(np.setdiff1d(np.arange(len(X)), fixed), 10, replace=False)]
    group = torch.arange(len(X))
    result, swaps, _ = kmedoids._swap(geo, list(medoids), geo.columns(medoids, 16), fixed.size,
                                      16, 50, 1e-9, group, torch.as_tensor(rng.random(len(X))))
    assert swaps > 5
    chosen = np.asarray(result[fixed.size :])
    obj = kmedoids._objective(X, w, np.r_[fixed, chosen])
    assert_single_swap_local_optimum(X, w, fixed, chosen, obj)


def test_result_shape_fixed_kept_and_objective_consistent():
    X, w, rng = problem(1, n=60, d=4)
    fixed = np.array([3, 17, 40])
    chosen, obj = weighted_kmedoids(X, w, fixed=fixed, n_select=5, seed=0, block_size=7)
    assert chosen.shape == (5,)
    assert len(set(chosen)) == 5 and not set(chosen) & set(fixed)
    assert obj == pytest.approx(objective(X, w, np.r_[fixed, chosen]), rel=1e-7)


def test_block_size_does_not_change_the_answer():
    X, w, _ = problem(2, n=80, d=5)
    a = weighted_kmedoids(X, w, fixed=[0, 1], n_select=4, block_size=5, dtype=torch.float64)
    b = weighted_kmedoids(X, w, fixed=[0, 1], n_select=4, block_size=1000, dtype=torch.float64)
    assert a[1] == pytest.approx(b[1], rel=1e-9)


def test_swap_improves_on_build_and_never_worsens():
    X, w, _ = problem(3, n=200, d=6)
    result = weighted_kmedoids(X, w, fixed=np.arange(5), n_select=8)
    _, obj = result
    assert obj <= result.info["start_objective"] + 1e-9


def test_zero_weight_cluster_gets_no_medoid():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(size=(30, 2)), rng.normal(size=(30, 2)) + 50.0])
    w = np.r_[np.ones(30), np.zeros(30)]
    chosen, obj = weighted_kmedoids(X, w, fixed=None, n_select=3, seed=0)
    assert (chosen < 30).all()
    assert obj < objective(X, w, [0, 1, 2]) + 1e-9


def test_single_medoid_without_fixed_is_weighted_one_medoid():
    X, w, _ = problem(4, n=15)
    chosen, obj = weighted_kmedoids(X, w, n_select=1, dtype=torch.float64)
    costs = [objective(X, w, [c]) for c in range(len(X))]
    assert obj == pytest.approx(min(costs))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weights": [1.0, np.nan, 1.0, 1.0]}, "NaN"),
        ({"weights": [1.0, -1.0, 1.0, 1.0]}, ">= 0"),
        ({"weights": [1.0, 1.0]}, "entries"),
        ({"fixed": [0, 9]}, "out of range"),
        ({"fixed": [1, 1]}, "duplicated"),
        ({"fixed": [0, 1], "n_select": 3}, "larger than"),
        ({"n_select": -1}, "non-negative"),
    ],
)
def test_bad_input_gives_clear_errors(kwargs, match):
    args = {"X": np.eye(4), "weights": np.ones(4), "fixed": None, "n_select": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        weighted_kmedoids(**args)


def test_fixed_must_be_integers():
    with pytest.raises(TypeError, match="integer"):
        weighted_kmedoids(np.eye(4), np.ones(4), fixed=[0.5], n_select=1)


def test_lipschitz_weights():
    X = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0], [0.0, 0.0]])
    risk = np.array([0.5, 0.5, 1.0, 0.7])
    w = lipschitz_weights(X, risk, [0])
    assert w[1] == pytest.approx(0.5 / 5.0) and w[2] == pytest.approx(1.0 / 10.0)
    assert np.isfinite(w).all() and w[3] > w[1]  # a duplicate of a labelled pair stays finite
    assert np.array_equal(lipschitz_weights(X, risk, []), risk)
    with pytest.raises(ValueError, match="risk"):
        lipschitz_weights(X, -risk, [0])


def test_selector_picks_unlabeled_positions():
    X, _, rng = problem(5, n=50, d=4)
    state = PoolState(L=np.full((50, 2), -1), expert_labels={0: 1, 7: 0},
                      embeddings=X, risk=rng.random(50), skipped={3, 4})
    sel = RiskKMedoidsSelector(seed=0)
    picked = sel.select(state, 6)
    assert len(picked) == 6 and len(set(picked)) == 6
    assert not set(picked) & {0, 7, 3, 4}
    state.risk = None
    state.matcher_proba = rng.random(50)
    assert len(sel.select(state, 3)) == 3 and sel.diagnostics["weights"] == "uncertainty"
    state.embeddings = None
    with pytest.raises(ValueError, match="embeddings"):
        sel.select(state, 3)


def test_selector_returns_fewer_when_pool_is_exhausted():
    X, _, _ = problem(6, n=6, d=2)
    state = PoolState(L=np.full((6, 1), -1), expert_labels={0: 1, 1: 0, 2: 0},
                      embeddings=X, risk=np.ones(6), skipped={5})
    picked = RiskKMedoidsSelector().select(state, 10)
    assert sorted(picked) == [3, 4]


def test_lazy_build_equals_plain_greedy():
    X, w, _ = problem(7, n=150, d=3)
    fixed = [0, 1]
    medoids = list(fixed)
    for _ in range(6):  # plain greedy: add the point that lowers the objective most
        free = [c for c in range(len(X)) if c not in medoids]
        medoids.append(min(free, key=lambda c: objective(X, w, medoids + [c])))
    info = weighted_kmedoids(X, w, fixed=fixed, n_select=6, max_passes=0,
                             dtype=torch.float64).info
    assert info["start_objective"] == pytest.approx(objective(X, w, medoids), rel=1e-9)


def test_many_duplicate_points_terminate_with_distinct_medoids():
    # Standardized similarity features repeat exactly (many pairs share every score): float32
    # rounding once made swaps between twins look like gains and SWAP cycled forever.
    rng = np.random.default_rng(0)
    distinct = rng.normal(size=(150, 15)).astype(np.float32).astype(np.float64)
    X = distinct[rng.integers(150, size=1500)]
    fixed = rng.choice(len(X), 100, replace=False)
    w = lipschitz_weights(X, rng.random(len(X)), fixed)
    result = weighted_kmedoids(X, w, fixed=fixed, n_select=10, seed=0)
    (chosen, obj), info = result, result.info
    assert chosen.shape == (10,) and not set(chosen) & set(fixed)
    medoid_rows = {tuple(r) for r in X[np.r_[fixed, chosen]]}
    assert len(medoid_rows) == len({tuple(r) for r in X[fixed]}) + 10  # no twin picked twice
    assert obj == pytest.approx(objective(X, w, np.r_[fixed, chosen]), rel=1e-5)
    assert obj <= info["start_objective"] + 1e-9
    free = np.setdiff1d(np.arange(len(X)), fixed)
    random_obj = min(objective(X, w, np.r_[fixed, rng.choice(free, 10, replace=False)])
                     for _ in range(20))
    assert obj < random_obj


def test_only_duplicates_left_still_fills_the_batch():
    X = np.repeat(np.eye(3), 4, axis=0)
    chosen, obj = weighted_kmedoids(X, np.ones(12), fixed=[0, 4, 8], n_select=5, seed=0)
    assert chosen.shape == (5,) and len(set(chosen)) == 5 and not set(chosen) & {0, 4, 8}
    assert obj == pytest.approx(0.0, abs=1e-6)

"""Risk-weighted k-medoids: quality against brute force (small n) and against the `kmedoids`
package's FasterPAM (large n), and wall time against FasterPAM including its n x n matrix.

`kmedoids` (GPL) is a benchmark-only tool: `.venv/bin/pip install kmedoids`. The package never
imports it. FasterPAM has neither row weights nor fixed medoids, so it gets the equivalent
problem as an asymmetric dissimilarity matrix D'[i, j] = w'_i * ||x_i - x_j||, where
w'_i = w_i for a free point and w'_i = BIG for a fixed (labelled) point: dropping a fixed medoid
would cost BIG * its distance to the nearest other medoid, more than the whole objective, so
FasterPAM, started from fixed + random medoids, keeps them (checked), and its loss equals our
objective (checked).

    .venv/bin/python benchmarks/kmedoids_quality.py            # full run
    .venv/bin/python benchmarks/kmedoids_quality.py --quick    # small sizes
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from _common import RESULTS, command, timestamp

from active.kmedoids import _objective, lipschitz_weights, weighted_kmedoids


def clustered(rng: np.random.Generator, n: int, d: int, n_clusters: int) -> np.ndarray:
    """Points around `n_clusters` centres, like a matcher's embeddings of pairs."""
    centres = rng.normal(scale=3.0, size=(n_clusters, d))
    spread = rng.uniform(0.5, 1.5, size=n_clusters)
    which = rng.integers(n_clusters, size=n)
    return centres[which] + rng.normal(size=(n, d)) * spread[which, None]


def brute_force(trials: int, seed: int, n_init: int | None) -> dict:
    """Our objective over the exact optimum on small random problems (n_init=None: the
    default, as users call it)."""
    rng = np.random.default_rng(seed)
    gaps = []
    for t in range(trials):
        n = int(rng.integers(8, 17))
        X = clustered(rng, n, int(rng.integers(2, 6)), int(rng.integers(2, 5)))
        w = rng.exponential(size=n) * (rng.random(n) < 0.9)
        fixed = rng.choice(n, int(rng.integers(0, 4)), replace=False)
        b = int(rng.integers(1, 5))
        _, obj = weighted_kmedoids(X, w, fixed=fixed, n_select=b, seed=t, n_init=n_init)
        free = np.setdiff1d(np.arange(n), fixed)
        best = min(_objective(X, w, np.r_[fixed, list(c)])
                   for c in itertools.combinations(free, b))
        gaps.append(obj / best - 1.0 if best > 0 else float(obj > 0))
    gaps = np.asarray(gaps)
    return {"n_init": "default (5 here)" if n_init is None else n_init, "trials": trials,
            "equal": float(np.mean(gaps <= 1e-9)), "max_gap": float(gaps.max()),
            "mean_gap": float(gaps.mean())}


def fasterpam(X: np.ndarray, w: np.ndarray, fixed: np.ndarray, n_select: int, seed: int):
    """FasterPAM on the row-weighted matrix, timed including the matrix build."""
    import kmedoids
    from sklearn.metrics import pairwise_distances

    rng = np.random.default_rng(seed)
    t0, c0 = time.perf_counter(), time.process_time()
    D = pairwise_distances(X, n_jobs=1)
    row_w = w.copy()
    row_w[fixed] = 1e9 * max(float(w.max()), 1.0)
    D *= row_w[:, None]
    free = np.setdiff1d(np.arange(X.shape[0]), fixed)
    init = np.r_[fixed, rng.choice(free, n_select, replace=False)]
    t1 = time.perf_counter()
    res = kmedoids.fasterpam(D, init, max_iter=100, n_cpu=1)
    t2, c2 = time.perf_counter(), time.process_time()
    med = np.asarray(res.medoids, dtype=np.int64)
    if not np.isin(fixed, med).all():
        raise RuntimeError("FasterPAM dropped a fixed medoid: raise BIG")
    return {"medoids": med, "objective": _objective(X, w, med), "loss": float(res.loss),
            "matrix_s": t1 - t0, "total_s": t2 - t0, "cpu_s": c2 - c0, "swaps": int(res.n_swap),
            "iters": int(res.n_iter), "D": D}


def large(n: int, d: int, n_fixed: int, n_select: int, data: str, seed: int,
          repeats: int) -> dict:
    import kmedoids

    rng = np.random.default_rng(seed)
    X = clustered(rng, n, d, 100) if data == "clustered" else rng.normal(size=(n, d))
    fixed = rng.choice(n, n_fixed, replace=False)
    risk = rng.beta(0.5, 2.0, size=n)
    w = lipschitz_weights(X, risk, fixed)
    weighted_kmedoids(X[:500], w[:500], fixed=np.arange(5), n_select=5)  # warm up torch
    ours_times, fp_times, ours_cpu, fp_cpu = [], [], [], []
    for _ in range(repeats):  # alternate the two, so that both see the same machine load
        t0, c0 = time.perf_counter(), time.process_time()
        result = weighted_kmedoids(X, w, fixed=fixed, n_select=n_select, seed=seed)
        (chosen, obj), info = result, result.info
        ours_times.append(time.perf_counter() - t0)
        ours_cpu.append(time.process_time() - c0)
        fp = fasterpam(X, w, fixed, n_select, seed)
        fp_times.append(fp["total_s"])
        fp_cpu.append(fp["cpu_s"])
    ours_s, fp_s = float(np.median(ours_times)), float(np.median(fp_times))
    # Local-optimum check: FasterPAM started from our medoids.
    polish = kmedoids.fasterpam(fp.pop("D"), np.r_[fixed, chosen], max_iter=100, n_cpu=1)
    return {"data": data, "n": n, "d": d, "fixed": n_fixed, "select": n_select,
            "ours_obj": obj, "ours_s": ours_s, "build_obj": info["start_objective"],
            "swaps": info["swaps"], "passes": info["passes"], "fp_obj": fp["objective"],
            "fp_loss": fp["loss"], "fp_s": fp_s, "ratios": np.divide(ours_times, fp_times),
            "cpu_ratio": float(np.median(ours_cpu) / np.median(fp_cpu)),
            "fp_matrix_s": fp["matrix_s"],
            "fp_swaps": fp["swaps"], "fp_iters": fp["iters"],
            "polish_swaps": int(polish.n_swap),
            "polish_obj": _objective(X, w, np.asarray(polish.medoids, dtype=np.int64))}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, a short run")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=64)
    ap.add_argument("--fixed", type=int, default=100)
    ap.add_argument("--select", type=int, default=100)
    ap.add_argument("--trials", type=int, default=1000, help="brute-force problems")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (FasterPAM gets 1)")
    ap.add_argument("--data", nargs="+", default=["clustered", "gaussian"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each (median)")
    ap.add_argument("--out", default=str(RESULTS / "kmedoids_quality.md"))
    args = ap.parse_args(argv)
    try:
        import kmedoids  # noqa: F401
    except ImportError:
        print("the benchmark needs the `kmedoids` package: .venv/bin/pip install kmedoids",
              file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    if args.quick:
        args.n, args.fixed, args.select, args.trials = 2000, 20, 20, 40
    bfs = [brute_force(args.trials, args.seed, n_init) for n_init in (None, 1)]
    print(bfs, flush=True)
    rows = []
    for data in args.data:
        r = large(args.n, args.d, args.fixed, args.select, data, args.seed, args.repeats)
        print(r, flush=True)
        rows.append(r)
    lines = [
        "# Risk-weighted k-medoids",
        "",
        f"Command: `{command('kmedoids_quality.py', argv)}`  ",
        f"Date: {timestamp()}; torch threads: {args.threads}; "
        "FasterPAM: `kmedoids` package, n_cpu=1, started from fixed + random medoids. Ours: "
        "`weighted_kmedoids` with its defaults (n_init=None: 5 starts up to 500 points, 1 "
        "above). Times: median of the runs, ours and FasterPAM alternated, on a shared 2-core "
        "machine (load average at the end: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())}); the CPU-time ratio (process time, "
        "both single-threaded) is the one less disturbed by the other jobs on the machine.",
        "",
        "## Brute force (exhaustive optimum over all choices of the new medoids)",
        "",
        "| problems | n_init | objective equal to optimum | max excess | mean excess |",
        "|---|---|---|---|---|",
        *(f"| {bf['trials']} (n 8-16, 0-3 fixed, 1-4 new) | {bf['n_init']} | {bf['equal']:.1%} |"
          f" {bf['max_gap']:.2%} | {bf['mean_gap']:.3%} |" for bf in bfs),
        "",
        "## Against FasterPAM on the row-weighted n x n matrix",
        "",
        "| data | n | d | fixed | new | our objective | FasterPAM objective | ours / FP |"
        " our time (s) | FP time incl. matrix (s) | FP matrix (s) | time ratio ours / FP"
        " (per run) | CPU-time ratio ours / FP |"
        " our swaps | FP swaps | FP swaps from our result |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {r['n']} | {r['d']} | {r['fixed']} | {r['select']} | "
            f"{r['ours_obj']:.6g} | {r['fp_obj']:.6g} | {r['ours_obj'] / r['fp_obj']:.4f} | "
            f"{r['ours_s']:.2f} | {r['fp_s']:.2f} | {r['fp_matrix_s']:.2f} | "
            f"{r['ours_s'] / r['fp_s']:.2f} ({', '.join(f'{x:.2f}' for x in r['ratios'])}) | "
            f"{r['cpu_ratio']:.2f} | "
            f"{r['swaps']} | {r['fp_swaps']} | "
            f"{r['polish_swaps']} |")
    lines += ["", "Objectives are recomputed in float64 from the chosen medoids; FasterPAM's own"
              " loss agrees: " + ", ".join(f"{r['fp_loss']:.6g}" for r in rows) + ".", ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

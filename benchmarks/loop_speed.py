"""Speed of the in-loop matcher and of the shared featurizer on 2 cores.

Run: .venv/bin/python benchmarks/loop_speed.py [--pairs 1000000] [--loop-pairs 10000]
Writes benchmarks/results/loop_speed.md (loop_speed.<tag>.md with --tag).

1. Featurizing a pool once: `PairFeaturizer().fit(pool).transform(pool)` on random pairs of the
   two record tables of a shared data set (the cartesian product, sampled with a fixed seed),
   then the same pool again (served by the cache).
2. One loop round at `--loop-pairs` labelled pairs (soft labels 0.8 / 0.2 from the gold ones, as
   a label model gives): `SimilarityMatcher(featurizer=shared).fit` + `match_proba` on the pool,
   with the pool featurized once before the loop (cache on), with a shared featurizer whose
   cache is off, and the baseline: `SimilarityMatcher()` fitting its own featurizer every round.
3. Whole loop iterations at `--loop-pairs` pairs: `ActiveLoop` with the data set's example LFs,
   the default selector and matcher and a SimulatedOracle, `--loop-budget` labels in batches of
   10; per round the label model, matcher, risk and selection times (the person's wait between
   batches without `background=True`).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, add_datasets_argument, command, dataset_folder, timestamp
from _variants import load_variant

from blocking import join_pairs, load_exp_tables
from labeling_functions import apply_lfs, load_lfs
from labeling_functions.featurizer import PairFeaturizer
from matchers import SimilarityMatcher


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def random_pool(folder: Path, n: int, seed: int) -> pd.DataFrame:
    """`n` distinct random pairs of table A x table B, flattened."""
    A, B = load_exp_tables(folder)
    rng = np.random.default_rng(seed)
    n = min(n, len(A) * len(B))
    flat = rng.choice(len(A) * len(B), size=n, replace=False)
    ids = pd.DataFrame({"ltable_id": A["id"].to_numpy()[flat // len(B)],
                        "rtable_id": B["id"].to_numpy()[flat % len(B)]})
    return join_pairs(ids, A, B)


def featurize_once(folder: Path, n: int, seed: int) -> list[dict]:
    pool = random_pool(folder, n, seed)
    f = PairFeaturizer()
    _, fit_wall, fit_cpu = _timed(lambda: f.fit(pool))
    X, wall, cpu = _timed(lambda: f.transform(pool))
    _, again_wall, again_cpu = _timed(lambda: f.transform(pool))
    records = pool["ltable_id"].nunique() + pool["rtable_id"].nunique()
    return [
        {"step": f"fit on {len(pool):,} pairs ({records:,} records; it featurizes them, the "
                 "context margins need the whole pool)", "wall": fit_wall,
         "cpu": fit_cpu},
        {"step": f"transform {len(pool):,} pairs ({X.shape[1]} features)", "wall": wall,
         "cpu": cpu},
        {"step": f"transform the same {len(pool):,} pairs again (cache)", "wall": again_wall,
         "cpu": again_cpu},
        {"step": "fit + transform (the bar: <= 60 s)", "wall": fit_wall + wall,
         "cpu": fit_cpu + cpu},
    ]


def loop_round(folder: Path, n: int, seed: int, variant: str) -> list[dict]:
    splits = load_variant(folder, variant, seed)
    pool = pd.concat(list(splits.values()), ignore_index=True)
    pool = pool.sample(n=min(n, len(pool)), random_state=seed).reset_index(drop=True)
    y = np.where(pool["label"].to_numpy() == 1, 0.8, 0.2)
    shared = PairFeaturizer()
    _, pre_wall, pre_cpu = _timed(lambda: shared.fit(pool).transform(pool))
    rows = [{"step": f"fit + featurize the {len(pool):,}-pair pool before the loop ({variant})",
             "wall": pre_wall, "cpu": pre_cpu}]
    uncached = PairFeaturizer(cache=False).fit(pool)
    for label, make in (
        ("refit + score, shared featurizer (the bar: <= 5 s)",
         lambda: SimilarityMatcher(featurizer=shared)),
        ("refit + score, shared featurizer with its cache off",
         lambda: SimilarityMatcher(featurizer=uncached)),
        ("refit + score, baseline: own featurizer each round",
         lambda: SimilarityMatcher()),
    ):
        def run(make=make):
            m = make().fit(pool, y)
            return m.match_proba(pool)

        _, wall, cpu = _timed(run)
        rows.append({"step": label, "wall": wall, "cpu": cpu})
    return rows


def loop_iterations(folder: Path, name: str, n: int, seed: int, variant: str,
                    budget: int) -> list[dict]:
    """Per-round times of a whole ActiveLoop run (label model, matcher, risk, selection)."""
    from active import ActiveLoop, SimulatedOracle

    splits = load_variant(folder, variant, seed)
    pool = pd.concat(list(splits.values()), ignore_index=True)
    pool = pool.sample(n=min(n, len(pool)), random_state=seed).reset_index(drop=True)
    gold = pool["label"].to_numpy()
    lfs = load_lfs(Path(__file__).resolve().parents[1] / "examples" / "lfs" / f"{name}.py")
    loop = ActiveLoop(pool.drop(columns="label"), lfs=lfs,
                      L=apply_lfs(lfs, pool, progress=False), oracle=SimulatedOracle(gold),
                      batch_size=10, seed=seed)
    history = loop.run(budget=budget)
    parts = ["t_label_model", "t_matcher", "t_risk", "t_select"]
    rounds = history[history["n_labels"] > 0]
    total = rounds[parts].sum(axis=1)
    rows = [{"step": f"loop iteration at {len(pool):,} pairs, {len(rounds)} rounds to "
                     f"{int(history['n_labels'].iloc[-1])} labels: median (the bar: <= 8 s)",
             "wall": float(total.median()), "cpu": float("nan")},
            {"step": "loop iteration: slowest round", "wall": float(total.max()),
             "cpu": float("nan")}]
    rows += [{"step": f"loop iteration: {part[2:].replace('_', ' ')} (median)",
              "wall": float(rounds[part].median()), "cpu": float("nan")} for part in parts]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--dataset", default="amazon_google")
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--loop-pairs", type=int, default=10_000)
    parser.add_argument("--variant", default="dirty", choices=["clean", "dirty"])
    parser.add_argument("--loop-budget", type=int, default=100, help="labels in the timed loop")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    folder = dataset_folder(args.datasets, "loop_speed", args.dataset) / args.dataset
    load = os.getloadavg()
    rows = loop_round(folder, args.loop_pairs, args.seed, args.variant)
    rows += loop_iterations(folder, args.dataset, args.loop_pairs, args.seed, args.variant,
                            args.loop_budget)
    rows += featurize_once(folder, args.pairs, args.seed)
    end_load = os.getloadavg()
    lines = [
        "# Loop speed: in-loop matcher refit and pool featurizing",
        "",
        f"Command: `{command('loop_speed.py')}`  ",
        f"Date: {timestamp()}; data: {args.dataset}; machine: 2 CPU cores shared with other "
        f"agents, load average {load[0]:.1f} at the start and {end_load[0]:.1f} at the end "
        "(wall times inflated by the load; CPU = this process's CPU time, one thread).",
        "",
        "| step | wall s | CPU s |",
        "|---|---|---|",
        *(f"| {r['step']} | {r['wall']:.1f} | {r['cpu']:.1f} |".replace("| nan |", "| |")
          for r in rows),
    ]
    stem = f"loop_speed.{args.tag}" if args.tag else "loop_speed"
    Path(RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""F1 of a matcher on its whole pool from the labels an active-learning loop chose (biased)
plus an importance-sampled audit: `evaluation.estimate_f1` measured on the OASIS pool suite and
the shared sets' test splits.

The loop is played by an uncertainty selector: the `--chosen` pairs whose scores lie nearest
0.5, labelled with certainty (inclusion probability 1). The audit (`draw_audit`, 0 / 100 / 300
pairs) is drawn from the rest with known inclusion probabilities, one draw per seed. Baselines
with the same number of labels: the F1 of the chosen pairs alone (what a loop sees) and the F1
of a uniform random sample of the pool. Writes benchmarks/results/oasis_biased.md.

    .venv/bin/python benchmarks/oasis_biased.py [--seeds 30] [--datasets ../shared/datasets]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, add_datasets_argument, command, timestamp
from oasis_pools import POOLS, real_pool, synthetic_pool

from evaluation import draw_audit, estimate_f1, f_measure

AUDITS = [0, 100, 300]
REAL_SETS = ["abt_buy", "amazon_google", "dblp_acm"]


def evaluate(
    name: str, pool: tuple[np.ndarray, ...], chosen_sizes: list[int], seeds: int
) -> list[dict]:
    labels, scores, predictions = pool
    truth = f_measure(labels, predictions)
    rows = []
    for k in chosen_sizes:
        chosen = np.argsort(np.abs(scores - 0.5), kind="stable")[:k]
        for audit_size in AUDITS:
            for seed in range(seeds if audit_size else 1):
                audit, pi = draw_audit(predictions, scores, audit_size, exclude=chosen, seed=seed)
                idx = np.concatenate([chosen, audit])
                result = estimate_f1(
                    predictions, scores, idx, labels[idx], np.concatenate([np.ones(k), pi])
                )
                uniform = np.random.default_rng(seed).choice(labels.size, idx.size, replace=False)
                rows.append(
                    {
                        "pool": name,
                        "chosen": k,
                        "audit": audit_size,
                        "seed": seed,
                        "truth": truth,
                        "error": abs(result.estimate - truth),
                        "covered": float(result.interval[0] <= truth <= result.interval[1]),
                        "width": result.interval[1] - result.interval[0],
                        "error chosen only": abs(
                            f_measure(labels[chosen], predictions[chosen]) - truth
                        ),
                        "error uniform": abs(
                            f_measure(labels[uniform], predictions[uniform]) - truth
                        ),
                    }
                )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--seeds", type=int, default=30, help="audit draws per setting")
    parser.add_argument("--n-pairs", type=int, default=100_000, help="synthetic pool size")
    parser.add_argument("--chosen", type=int, nargs="+", default=[100, 300])
    args = parser.parse_args()
    start = time.perf_counter()
    rows = []
    for name, spec in POOLS.items():
        rows += evaluate(name, synthetic_pool(spec, args.n_pairs, 2024), args.chosen, args.seeds)
    datasets = Path(args.datasets)
    for name in REAL_SETS:
        if (datasets / name / "pairs" / "test.csv").is_file():
            rows += evaluate(f"real {name}", real_pool(datasets / name), args.chosen, args.seeds)
    frame = pd.DataFrame(rows)
    table = (
        frame.groupby(["pool", "chosen", "audit"], sort=False)
        .agg(
            F1=("truth", "first"),
            MAE=("error", "mean"),
            coverage=("covered", "mean"),
            width=("width", "mean"),
            chosen_only=("error chosen only", "mean"),
            uniform=("error uniform", "mean"),
        )
        .reset_index()
    )
    lines = [
        "| pool | true F1 | loop's labels | audit | MAE estimate_f1 | 95% coverage | width | "
        "MAE F1 of the loop's labels alone | MAE uniform sample, same labels |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.pool} | {r.F1:.3f} | {r.chosen} | {r.audit} | {r.MAE:.4f} | "
            f"{r.coverage:.0%} | {r.width:.3f} | {r.chosen_only:.4f} | {r.uniform:.4f} |"
        )
    text = "\n".join(
        [
            "# F1 from the loop's biased labels plus an audit (`evaluation.estimate_f1`)\n",
            f"`{command('oasis_biased.py')}` on {timestamp()} ({time.perf_counter() - start:.0f} "
            f"s); synthetic pools of {args.n_pairs:,} pairs (benchmarks/oasis_pools.py), real "
            "pools = test splits scored by a SimilarityMatcher trained on train. Loop's labels = "
            "the pairs scored nearest 0.5 (certain); audit = `draw_audit` from the rest, "
            f"{args.seeds} draws per setting (audit 0: one deterministic run, coverage 0 or "
            "100%).\n",
            "\n".join(lines),
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "oasis_biased.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

"""OASIS vs passive, stratified and static importance sampling for estimating a matcher's F1.

Part 1: synthetic pools of 100,000 pairs (0.5% and 5% positives) scored by a classifier of
known F1; 30 repetitions; OASIS with the paper's importance-weighted ratio estimate (default)
and with its doubly robust estimate ("OASIS DR"); mean and 90th percentile of |estimate - true F1|
and 95%-interval coverage at 250 ... 5,000 labels. Part 2: the entity-matching test splits in
--datasets scored by a real matcher trained on the train split: estimated vs true F1 after 200
and 500 labels.

    .venv/bin/python benchmarks/oasis.py [--quick] [--reps 30] [--datasets ../shared/datasets]

The OASIS authors' implementation runs beside ours as a named baseline when it is installed:
`.venv/bin/pip install --no-deps oasis==0.1.3` (see _reference_oasis.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, add_datasets_argument, command, timestamp
from _reference_oasis import REFERENCE as REFERENCE_PACKAGE
from _reference_oasis import ReferenceSampler
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from evaluation import (
    ImportanceSampler,
    OASISSampler,
    PassiveSampler,
    StratifiedSampler,
    f_measure,
    plot_estimate,
)

SAMPLERS = {
    "OASIS": OASISSampler,
    "OASIS DR": partial(OASISSampler, doubly_robust=True),
    "importance": ImportanceSampler,
    "stratified": StratifiedSampler,
    "passive": PassiveSampler,
}
if REFERENCE_PACKAGE is not None:
    # the authors' implementation on the same pools: the named baseline for the MAE bar
    SAMPLERS["authors' OASIS"] = partial(ReferenceSampler, "OASIS")
    SAMPLERS["authors' passive"] = partial(ReferenceSampler, "passive")
BUDGETS = [250, 500, 1000, 2000, 5000]
# reference OASIS / passive MAE on a pool with 0.49% positives (from the issue)
REFERENCE = {
    "OASIS": [0.083, 0.043, 0.028, 0.014, 0.0033],
    "passive": [0.377, 0.220, 0.158, 0.100, 0.057],
}


def synthetic_pool(n: int, positive_rate: float, seed: int = 2024) -> tuple[np.ndarray, ...]:
    """Labels, probability scores and 0/1 predictions of an imperfect classifier.

    Logits are normal per class (matches N(1.5, 1.5), non-matches N(mu, 1.5), mu chosen per
    rate so both pools have F1 near 0.75); the classifier predicts 1 above probability 0.5.
    """
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < positive_rate).astype(np.int8)
    negative_mean = -5.0 if positive_rate < 0.02 else -3.5
    logit = np.where(labels == 1, rng.normal(1.0, 1.5, n), rng.normal(negative_mean, 1.5, n))
    scores = 1.0 / (1.0 + np.exp(-logit))
    return labels, scores, (scores > 0.5).astype(np.int8)


def _run_one(task: tuple[str, float, int, int]) -> list[dict]:
    """One repetition of one sampler on one pool: errors and coverage at every budget."""
    name, rate, seed, n_pairs = task
    labels, scores, predictions = synthetic_pool(n_pairs, rate)
    truth = f_measure(labels, predictions)
    start = time.perf_counter()
    sampler = SAMPLERS[name](predictions, scores, lambda i: int(labels[i]), seed=seed)
    sampler.sample(max(BUDGETS))
    seconds = time.perf_counter() - start
    history = sampler.history.set_index("n_labels")
    # an undefined estimate (no match seen yet) counts as F1 = 0, what ours report there
    estimate = history["estimate"].fillna(0.0)
    covered = (history["low"] <= truth) & (truth <= history["high"])
    return [
        {
            "rate": rate,
            "sampler": name,
            "seed": seed,
            "budget": b,
            "truth": truth,
            "estimate": estimate[b],
            "covered": float(covered[b]) if np.isfinite(history.at[b, "low"]) else np.nan,
            "seconds": seconds,
        }
        for b in BUDGETS
    ]


def synthetic(reps: int, n_pairs: int, jobs: int) -> pd.DataFrame:
    tasks = [
        (name, rate, seed, n_pairs)
        for rate in (0.005, 0.05)
        for name in SAMPLERS
        for seed in range(reps)
    ]
    with ProcessPoolExecutor(jobs) as pool:
        rows = [row for chunk in pool.map(_run_one, tasks) for row in chunk]
    frame = pd.DataFrame(rows)
    frame["error"] = (frame["estimate"] - frame["truth"]).abs()
    return frame


def synthetic_table(frame: pd.DataFrame) -> str:
    lines = []
    for rate, part in frame.groupby("rate"):
        labels, _, predictions = synthetic_pool(100_000, rate)
        lines += [
            f"\n**{rate:.1%} positives** (pool: {labels.sum()} matches, {predictions.sum()} "
            f"predicted; true F1 = {part['truth'].iloc[0]:.4f})\n",
            "| sampler | "
            + " | ".join(f"MAE@{b}" for b in BUDGETS)
            + " | "
            + " | ".join(f"P90@{b}" for b in BUDGETS)
            + " | "
            + " | ".join(f"cov@{b}" for b in BUDGETS)
            + " | s/run |",
            "|---" * (3 * len(BUDGETS) + 2) + "|",
        ]
        for name in SAMPLERS:
            g = part[part["sampler"] == name].groupby("budget")
            mae, p90 = g["error"].mean(), g["error"].quantile(0.9)
            cover = g["covered"].mean()
            lines.append(
                f"| {name} | "
                + " | ".join(f"{mae[b]:.4f}" for b in BUDGETS)
                + " | "
                + " | ".join(f"{p90[b]:.4f}" for b in BUDGETS)
                + " | "
                + " | ".join(f"{cover[b]:.0%}" if np.isfinite(cover[b]) else "-" for b in BUDGETS)
                + " | "
                + f"{part[part['sampler'] == name]['seconds'].mean():.1f} |"
            )
    lines.append(
        "\nThe issue's figures for a reference implementation on its own pool (0.49% positives), "
        "MAE: OASIS "
        + " / ".join(map(str, REFERENCE["OASIS"]))
        + "; passive "
        + " / ".join(map(str, REFERENCE["passive"]))
    )
    return "\n".join(lines)


def plot_synthetic(frame: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(10, 4), layout="constrained")
    for ax, (rate, part) in zip(figure.subplots(1, 2), frame.groupby("rate"), strict=True):
        for name in SAMPLERS:
            mae = part[part["sampler"] == name].groupby("budget")["error"].mean()
            ax.loglog(mae.index, mae.values, marker="o", label=name)
        if rate < 0.01:
            for name, values in REFERENCE.items():
                ax.loglog(
                    BUDGETS, values, linestyle=":", marker="x", label=f"issue's {name} (its pool)"
                )
        ax.set(title=f"{rate:.1%} positives", xlabel="labels", ylabel="MAE of F1")
        ax.set_xticks(BUDGETS, labels=[str(b) for b in BUDGETS], minor=False)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize="small")
    figure.savefig(path, dpi=120)


# --- part 2: real test splits ------------------------------------------------------------------
def _features(pairs: pd.DataFrame) -> np.ndarray:
    """Simple per-attribute similarities: token-set ratio, plain ratio, token Jaccard."""
    from rapidfuzz import fuzz
    from rapidfuzz.process import cpdist

    attributes = [
        c[5:] for c in pairs.columns if c.startswith("left_") and f"right_{c[5:]}" in pairs.columns
    ]
    columns = []
    for a in attributes:
        left = pairs[f"left_{a}"].fillna("").astype(str).tolist()
        right = pairs[f"right_{a}"].fillna("").astype(str).tolist()
        columns.append(cpdist(left, right, scorer=fuzz.token_set_ratio) / 100)
        columns.append(cpdist(left, right, scorer=fuzz.ratio) / 100)
        tokens = [(set(x.split()), set(y.split())) for x, y in zip(left, right, strict=True)]
        columns.append(np.array([len(x & y) / max(1, len(x | y)) for x, y in tokens]))
    return np.column_stack(columns)


def _matcher_scores(folder: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """Test-split scores of a matcher trained on the train split, and the true labels."""
    train = pd.read_csv(folder / "pairs" / "train.csv")
    test = pd.read_csv(folder / "pairs" / "test.csv")
    try:
        from matchers import SimilarityMatcher
    except ImportError:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(max_iter=1000).fit(_features(train), train["label"])
        scores = model.predict_proba(_features(test))[:, 1]
        return scores, test["label"].to_numpy(), "logistic regression on similarity features"
    matcher = SimilarityMatcher(seed=0).fit(train, train["label"].to_numpy())
    return matcher.match_proba(test), test["label"].to_numpy(), "SimilarityMatcher"


def real(datasets: Path, reps: int, budgets: list[int]) -> tuple[str, Figure | None]:
    lines = [
        "| dataset | test pairs / matches | true F1 | matcher | "
        + " | ".join(
            f"OASIS@{b} (mean ± sd, cov) | OASIS DR@{b} (mean ± sd, cov) | passive@{b}"
            for b in budgets
        )
        + " |",
        "|---" * (4 + 3 * len(budgets)) + "|",
    ]
    figure, plotted = Figure(figsize=(6.4, 4), layout="constrained"), False
    for folder in sorted(p for p in datasets.iterdir() if (p / "pairs" / "test.csv").is_file()):
        scores, labels, matcher = _matcher_scores(folder)
        predictions = (scores > 0.5).astype(np.int8)
        truth = f_measure(labels, predictions)
        cells = []
        for b in budgets:
            if b >= len(labels):
                cells += ["pool too small", "-", "-"]
                continue
            for name in ("OASIS", "OASIS DR", "passive"):
                oracle = labels.__getitem__
                cls = SAMPLERS[name]
                runs = [cls(predictions, scores, oracle, seed=s).sample(b) for s in range(reps)]
                est = np.array([r.estimate for r in runs])
                cov = np.mean([lo <= truth <= hi for lo, hi in (r.interval(0.95) for r in runs)])
                cells.append(
                    f"{est.mean():.3f} ± {est.std():.3f}"
                    + (f" ({cov:.0%})" if name != "passive" else "")
                )
                if name == "OASIS" and not plotted and folder.name == "amazon_google":
                    plot_estimate(runs[0], truth, ax=figure.add_subplot(), label="OASIS")
                    figure.axes[0].set_title(f"{folder.name} test split, {matcher}")
                    plotted = True
        lines.append(
            f"| {folder.name} | {len(labels)} / {labels.sum()} | {truth:.3f} | "
            f"{matcher} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines), figure if plotted else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--quick", action="store_true", help="5 repetitions, 20,000-pair pools")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--reps", type=int, default=30, help="repetitions per synthetic pool (more pin coverage)"
    )
    args = parser.parse_args()
    reps, n_pairs = (5, 20_000) if args.quick else (args.reps, 100_000)
    RESULTS.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    frame = synthetic(reps, n_pairs, args.jobs)
    frame.to_csv(RESULTS / "oasis.runs.csv", index=False)
    table = synthetic_table(frame)
    print(table)
    plot_synthetic(frame, RESULTS / "oasis.png")
    sections = [
        f"# OASIS F1 estimation benchmark\n\n`{command('oasis.py')}` on {timestamp()} "
        "(2 shared CPU cores)\n",
        f"## Synthetic pools ({n_pairs:,} pairs, {reps} repetitions)\n"
        "MAE / P90 = mean / 90th percentile of |estimated - true F1|; cov = share of "
        "runs whose 95% interval holds the true F1.",
        table,
        "\n![MAE](oasis.png)\n",
    ]
    datasets = Path(args.datasets)
    if datasets.is_dir():
        real_table, figure = real(datasets, 5 if args.quick else 20, [200, 500])
        print(real_table)
        sections += [
            "## Real test splits\nOASIS (ratio and doubly robust estimates) and passive sampling, "
            f"{5 if args.quick else 20} seeds each; cov = 95% interval coverage.\n",
            real_table,
        ]
        if figure is not None:
            figure.savefig(RESULTS / "oasis.amazon_google.png", dpi=120)
            sections.append("\n![amazon_google](oasis.amazon_google.png)\n")
    else:
        print(
            f"datasets folder {datasets} not found: skipping the real test splits "
            "(pass --datasets PATH)",
            file=sys.stderr,
        )
    sections.append(f"\nTotal time {time.perf_counter() - start:.0f} s.")
    (RESULTS / "oasis.md").write_text("\n".join(sections) + "\n")


if __name__ == "__main__":
    main()

"""Our OASIS F1 estimate against the OASIS authors' implementation on a suite of pools.

Every pool of `oasis_pools.POOLS` (synthetic, 100,000 pairs: 0.1% to 10% matches; sharp,
blurred, over- and underconfident, shifted scores; ties; confident errors), optionally the
three held-out pools (`--held-out`, kept out of tuning, drawn from their own seed family), the
three fresh pools (`--fresh`, a third family, first run to confirm the v10 options) and
the shared sets' test splits scored by a SimilarityMatcher trained on their train split
(`--real`, `--datasets`). Each sampler runs `--seeds`
times per pool; at each budget: mean absolute error of F1 (MAE), its ratio ours / authors', and
the share of our 95% intervals holding the true F1. Writes benchmarks/results/<out>.md, .csv
and one plot per pool in <out>.png.

    .venv/bin/python benchmarks/oasis.py [--seeds 50] [--held-out] [--datasets ../shared/datasets]

The authors' implementation (PyPI `oasis` 0.1.3) is the named baseline:
`.venv/bin/pip install --no-deps oasis==0.1.3` (see _reference_oasis.py).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, add_datasets_argument, command, timestamp
from _reference_oasis import REFERENCE as REFERENCE_PACKAGE
from _reference_oasis import ReferenceSampler
from matplotlib.figure import Figure
from oasis_pools import FRESH, HELD_OUT, POOLS, household_pool, real_pool, synthetic_pool

from evaluation import OASISSampler, f_measure

OURS, AUTHORS = "ours", "authors'"
BUDGETS = [100, 250, 500, 1000, 2000, 5000]
REAL_SETS = ["abt_buy", "amazon_google", "dblp_acm", "household"]  # household: the demo's pool
POOL_SEED = 2024
HIDDEN_SCORE = 0.01  # the score of the confident errors' matches (oasis_pools.synthetic_pool)
HELD_OUT_SEED = 7  # the held-out pools come from another seed family as well as other specs
FRESH_SEED = 31  # and the fresh ones from a third


@cache
def _pool(name: str, n_pairs: int, datasets: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, scores and predictions of a named pool (cached per worker process)."""
    if name in POOLS:
        return synthetic_pool(POOLS[name], n_pairs, POOL_SEED)
    if name in HELD_OUT:
        return synthetic_pool(HELD_OUT[name], n_pairs, HELD_OUT_SEED)
    if name in FRESH:
        return synthetic_pool(FRESH[name], n_pairs, FRESH_SEED)
    if name == "real household":
        return household_pool()
    return real_pool(Path(datasets) / name.removeprefix("real "))


def _make(sampler: str, predictions: np.ndarray, scores: np.ndarray, oracle, seed: int, ours):
    if sampler == OURS:
        return OASISSampler(predictions, scores, oracle, seed=seed, **dict(ours))
    with contextlib.redirect_stdout(io.StringIO()):  # the reference prints its bin counts
        return ReferenceSampler("OASIS", predictions, scores, oracle, seed=seed)


def run_one(task: tuple[str, str, int, int, str, tuple[int, ...], tuple]) -> list[dict]:
    """One sampler, one pool, one seed: error and interval at every budget."""
    sampler, pool, seed, n_pairs, datasets, budgets, ours = task
    labels, scores, predictions = _pool(pool, n_pairs, datasets)
    truth = f_measure(labels, predictions)
    # the confident errors' false negatives (matches scored exactly 0.01, oasis_pools):
    # how many of them our sampler has labelled by each budget
    hidden = (scores == HIDDEN_SCORE) & (labels == 1)
    found = {}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = _make(sampler, predictions, scores, lambda i: int(labels[i]), seed, ours)
        if sampler == OURS and hidden.any():
            done = 0
            for b in budgets:
                # our draws do not depend on how sample() is split
                found[b] = int(np.sum(run.sample(b - done).labels[hidden] >= 0))
                done = b
        else:
            run.sample(max(budgets))
    seconds = time.perf_counter() - start
    history = run.history.set_index("n_labels")
    rows = []
    for b in budgets:
        estimate, low, high = history.loc[b, ["estimate", "low", "high"]]
        rows.append(
            {
                "pool": pool,
                "sampler": sampler,
                "seed": seed,
                "budget": b,
                "truth": truth,
                # an undefined estimate (no match seen yet) counts as F1 = 0
                "estimate": estimate if np.isfinite(estimate) else 0.0,
                "covered": float(low <= truth <= high) if np.isfinite(low) else np.nan,
                "width": high - low,
                "seconds": seconds,
                "hidden_found": found.get(b, np.nan),
            }
        )
    return rows


def pool_facts(pools: list[str], n_pairs: int, datasets: str) -> pd.DataFrame:
    rows = []
    for name in pools:
        labels, _, predictions = _pool(name, n_pairs, datasets)
        rows.append(
            {
                "pool": name,
                "pairs": labels.size,
                "matches": int(labels.sum()),
                "predicted": int(predictions.sum()),
                "F1": f_measure(labels, predictions),
            }
        )
    return pd.DataFrame(rows).set_index("pool")


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per pool and budget: MAE of both, their ratio, P90 and our coverage / mean width."""
    frame = frame.assign(error=(frame["estimate"] - frame["truth"]).abs())
    g = frame.groupby(["pool", "budget", "sampler"])
    table = g["error"].mean().unstack("sampler")
    out = pd.DataFrame(
        {
            "MAE ours": table[OURS],
            "MAE authors'": table.get(AUTHORS, np.nan),
            "ratio": table[OURS] / table.get(AUTHORS, np.nan),
            "P90 ours": g["error"].quantile(0.9).unstack("sampler")[OURS],
            "coverage": g["covered"].mean().unstack("sampler")[OURS],
            "width": g["width"].mean().unstack("sampler")[OURS],
            "seeds": g["error"].size().unstack("sampler")[OURS],
        }
    )
    return out.reset_index()


def markdown(summary_frame: pd.DataFrame, facts: pd.DataFrame) -> str:
    lines = []
    for pool, part in summary_frame.groupby("pool", sort=False, observed=True):
        f = facts.loc[pool]
        lines += [
            f"\n**{pool}** ({int(f['pairs']):,} pairs, {int(f['matches'])} matches, "
            f"{int(f['predicted'])} "
            f"predicted, true F1 {f['F1']:.4f})\n",
            "| labels | MAE ours | MAE authors' | ratio | P90 ours | 95% coverage | width "
            "| seeds |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in part.itertuples():
            lines.append(
                f"| {r.budget} | {r[3]:.4f} | {r[4]:.4f} | {r.ratio:.2f} | {r[6]:.4f} | "
                f"{r.coverage:.0%} | {r.width:.3f} | {r.seeds} |"
            )
    return "\n".join(lines)


def bar_table(summary_frame: pd.DataFrame) -> str:
    """One line per pool: the ratios at 500 and 2,000 labels and the coverage range >= 250."""
    lines = [
        "| pool | ratio@500 | ratio@2000 | coverage at 250+ labels (min-max) |",
        "|---|---|---|---|",
    ]
    for pool, part in summary_frame.groupby("pool", sort=False, observed=True):
        part = part.set_index("budget")
        ratios = [f"{part.at[b, 'ratio']:.2f}" if b in part.index else "-" for b in (500, 2000)]
        cover = part.loc[part.index >= 250, "coverage"]
        lines.append(
            f"| {pool} | {ratios[0]} | {ratios[1]} | {cover.min():.0%}-{cover.max():.0%} |"
        )
    return "\n".join(lines)


def detection_table(frame: pd.DataFrame) -> str:
    """Per pool with confident errors and budget: the share of our runs that labelled at least
    one of its hidden false negatives (matches scored 0.01), and our coverage in the runs that
    did and in those that did not."""
    if "hidden_found" not in frame or frame["hidden_found"].isna().all():
        return ""
    ours = frame[(frame["sampler"] == OURS) & frame["hidden_found"].notna()]
    ours = ours.assign(found=ours["hidden_found"] > 0)
    lines = [
        "\n## Hidden false negatives: found or not\n",
        "Runs (ours) that labelled at least one match scored 0.01 (a confident error) by that "
        "budget, and coverage in the runs that did / did not (n = runs).\n",
        "| pool | labels | found one | coverage if found (n) | coverage if not (n) |",
        "|---|---|---|---|---|",
    ]
    for (pool, budget), part in ours.groupby(["pool", "budget"], sort=False):
        cells = []
        for found in (True, False):
            sub = part[part["found"] == found]
            cells.append(f"{sub['covered'].mean():.0%} ({len(sub)})" if len(sub) else "- (0)")
        lines.append(f"| {pool} | {budget} | {part['found'].mean():.0%} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def detection_limit(pools: list[str], n_pairs: int, datasets: str) -> str:
    """Per pool with hidden false negatives (matches scored 0.01): their stratum in our
    sampler, the chance that a sampler spending every label evenly over the predicted
    non-match strata labels one of them by each budget, and how far F1 moves without them
    (what an interval must reach below an estimate that has not seen them)."""
    from scipy.stats import hypergeom

    lines = [
        "| pool | hidden matches | their stratum | predicted-0 strata | P(one labelled) at "
        "250 / 500 / 1,000 / 2,000 labels, even spread | labels for 90% | F1 gap |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in pools:
        labels, scores, predictions = _pool(name, n_pairs, datasets)
        hidden = (scores == HIDDEN_SCORE) & (labels == 1)
        if not hidden.any():
            continue
        strata = OASISSampler(predictions, scores, labels.__getitem__).strata
        size = int(strata.sizes[strata.index[hidden][0]])
        negative = int(np.sum(strata.mean_prediction == 0))
        found = [1 - hypergeom(size, int(hidden.sum()), b // negative).pmf(0) for b in BUDGETS[1:5]]
        most = next(
            m for m in range(1, size + 1) if hypergeom(size, int(hidden.sum()), m).pmf(0) <= 0.1
        )
        twin = np.where(hidden, 0, labels)
        gap = f_measure(twin, predictions) - f_measure(labels, predictions)
        lines.append(
            f"| {name} | {int(hidden.sum())} | {size} pairs | {negative} | "
            f"{' / '.join(f'{p:.0%}' for p in found)} | {most} ({most * negative:,} spread) | "
            f"{gap:.4f} |"
        )
    return "\n".join(lines) + "\n"


def plot(frame: pd.DataFrame, pools: list[str], path: Path) -> None:
    """Per pool: MAE against labels for ours and the authors', the 25-75% band of the
    seeds' absolute errors shaded."""
    frame = frame.assign(error=(frame["estimate"] - frame["truth"]).abs())
    columns = 4
    rows = -(-len(pools) // columns)
    figure = Figure(figsize=(4 * columns, 3.2 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, pool in zip(axes, pools, strict=False):
        part = frame[frame["pool"] == pool]
        for sampler, color in ((OURS, "tab:blue"), (AUTHORS, "tab:orange")):
            g = part[part["sampler"] == sampler].groupby("budget")["error"]
            if not len(g):
                continue
            mae, q1, q3 = g.mean(), g.quantile(0.25), g.quantile(0.75)
            ax.plot(mae.index, mae.values, marker="o", color=color, label=f"{sampler} MAE")
            ax.fill_between(mae.index, q1.values, q3.values, color=color, alpha=0.2)
        ax.set(xscale="log", yscale="log", title=pool, xlabel="labels", ylabel="|error| of F1")
        ax.legend(fontsize="small")
    for ax in axes[len(pools) :]:
        ax.set_visible(False)
    figure.savefig(path, dpi=100)


def _results_stem(value: str) -> str:
    """--out: a file stem written under benchmarks/results/; a path into that folder (with or
    without a suffix) is taken by its stem, so a long run does not fail when it writes."""
    path = Path(value)
    if path.parent != Path(".") and path.parent.resolve() != RESULTS.resolve():
        raise argparse.ArgumentTypeError(
            f"the results go to {RESULTS}; give a file stem such as oasis_v26, got {value!r}"
        )
    return path.stem if path.suffix in (".md", ".csv", ".png") else path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--seeds", type=int, default=50, help="runs per sampler and pool")
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first .. first+seeds-1")
    parser.add_argument("--n-pairs", type=int, default=100_000, help="synthetic pool size")
    parser.add_argument("--budgets", type=int, nargs="+", default=BUDGETS)
    parser.add_argument("--pools", nargs="+", help="a subset of the synthetic pools, by name")
    parser.add_argument("--held-out", action="store_true", help="add the three held-out pools")
    parser.add_argument("--fresh", action="store_true", help="add the three fresh pools")
    parser.add_argument("--no-synthetic", action="store_true", help="only the real test splits")
    parser.add_argument("--real", nargs="*", metavar="SET", choices=REAL_SETS,
                        help="add these shared sets' test splits (all without a name; household "
                        "is the demo's pool)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument(
        "--ours",
        type=json.loads,
        default={},
        help='OASISSampler options (JSON): {"estimator": "ratio"}',
    )
    parser.add_argument(
        "--out", type=_results_stem, default="oasis", help="results file stem (benchmarks/results)"
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        metavar="STEM",
        help="write <out>.md / .csv / .png from earlier runs' results (their stems), no sampling",
    )
    parser.add_argument(
        "--against",
        nargs="+",
        metavar="STEM",
        help="with --merge: compare our rows with our rows of these runs (e.g. the default's)",
    )
    parser.add_argument(
        "--detection-limit",
        action="store_true",
        help="print how many labels finding the hidden false negatives takes, no sampling",
    )
    args = parser.parse_args()
    if args.detection_limit:
        print(detection_limit(list(POOLS) + list(HELD_OUT) + list(FRESH), args.n_pairs, ""))
        return
    if args.merge:
        merge(args.merge, args.out, args.n_pairs, args.datasets, args.against)
        return
    if REFERENCE_PACKAGE is None:
        sys.exit("benchmarks/oasis.py: pip install --no-deps oasis==0.1.3 (the named baseline)")
    pools = [] if args.no_synthetic else list(args.pools or POOLS)
    if args.held_out:
        pools += list(HELD_OUT)
    if args.fresh:
        pools += list(FRESH)
    budgets = tuple(sorted(args.budgets))
    ours = tuple(sorted(args.ours.items()))
    tasks = [
        (sampler, pool, seed, args.n_pairs, args.datasets, budgets, ours)
        for pool in pools
        for sampler in (OURS, AUTHORS)
        for seed in range(args.first_seed, args.first_seed + args.seeds)
    ]
    real = [] if args.real is None else [f"real {name}" for name in args.real or REAL_SETS]
    for name in real:
        # a test split of ~2,000 pairs: budgets up to a half of it
        size = _pool(name, args.n_pairs, args.datasets)[0].size
        fit = tuple(b for b in budgets if b <= size // 2)
        tasks += [
            (sampler, name, seed, args.n_pairs, args.datasets, fit, ours)
            for sampler in (OURS, AUTHORS)
            for seed in range(args.first_seed, args.first_seed + args.seeds)
        ]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as executor:
        rows = [row for chunk in executor.map(run_one, tasks, chunksize=2) for row in chunk]
    seconds = time.perf_counter() - start
    run = (
        f"`{command('oasis.py')}` on {timestamp()} (2 shared CPU cores, {seconds:.0f} s); "
        f"{args.seeds} seeds per sampler and pool (seeds {args.first_seed}-"
        f"{args.first_seed + args.seeds - 1}); synthetic pools of {args.n_pairs:,} pairs.\n"
    )
    report(pd.DataFrame(rows), pools + real, [run], args.out, args.n_pairs, args.datasets)


def merge(
    stems: list[str], out: str, n_pairs: int, datasets: str, against: list[str] | None = None
) -> None:
    """One report from several runs (split by pools, seeds or budgets to fit the machine)."""
    frames = [pd.read_csv(RESULTS / f"{stem}.csv") for stem in stems]
    runs = [line for stem in stems for line in _run_lines((RESULTS / f"{stem}.md").read_text())]
    frame = pd.concat(frames, ignore_index=True)
    names = list(dict.fromkeys(frame["pool"]))
    extra = ""
    if against:
        other = pd.concat([pd.read_csv(RESULTS / f"{s}.csv") for s in against], ignore_index=True)
        extra = comparison(frame, other, names, against)
    report(frame, names, runs, out, n_pairs, datasets, extra)


def _run_lines(text: str) -> list[str]:
    """The command lines of the runs a report was made from (a lead paragraph may precede them;
    a merged report holds several), each with its newline."""
    head = text.split("\n## ", 1)[0].splitlines()
    return [line + "\n" for line in head if line.startswith("`") and "benchmarks/oasis.py" in line]


def comparison(frame: pd.DataFrame, other: pd.DataFrame, names: list[str], stems: list[str]) -> str:
    """Our rows against our rows of other runs (another configuration), on the pools, seeds and
    budgets both have: MAE ratio at 500 and 2,000 labels, both coverage ranges from 250 and both
    mean interval widths at 500 and 2,000."""
    keys = ["pool", "seed", "budget"]
    both = frame[frame["sampler"] == OURS].merge(
        other[other["sampler"] == OURS], on=keys, suffixes=("", "_other")
    )
    both = both.assign(
        error=(both["estimate"] - both["truth"]).abs(),
        error_other=(both["estimate_other"] - both["truth"]).abs(),
    )
    lines = [
        f"\n## This run's sampler against `{' '.join(stems)}` (ours there), same seeds\n",
        "| pool | seeds | MAE ratio@500 | MAE ratio@2000 | coverage 250+ here | there "
        "| width@500 here | there | width@2000 here | there |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for pool in names:
        part = both[both["pool"] == pool]
        if part.empty:
            continue
        g = part.groupby("budget")
        ratio = g["error"].mean() / g["error_other"].mean()
        cells = [f"{ratio[b]:.2f}" if b in ratio.index else "-" for b in (500, 2000)]
        cover = g[["covered", "covered_other"]].mean().loc[lambda c: c.index >= 250]
        ranges = [f"{cover[c].min():.0%}-{cover[c].max():.0%}" for c in cover.columns]
        width = g[["width", "width_other"]].mean()
        widths = [
            f"{width.at[b, c]:.3f}" if b in width.index else "-"
            for b in (500, 2000)
            for c in width.columns
        ]
        cells = cells + ranges + widths
        lines.append(f"| {pool} | {part['seed'].nunique()} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


def report(
    frame: pd.DataFrame,
    names: list[str],
    runs: list[str],
    out: str,
    n_pairs: int,
    datasets: str,
    extra: str = "",
) -> None:
    """Write <out>.csv, .md (bar table, per pool tables) and .png from the per-run rows."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.to_csv(RESULTS / f"{out}.csv", index=False)
    facts = pool_facts(names, n_pairs, datasets)
    table = summary(frame)
    table["pool"] = pd.Categorical(table["pool"], names, ordered=True)
    table = table.sort_values(["pool", "budget"])
    plot(frame, names, RESULTS / f"{out}.png")
    largest = frame.groupby(["sampler", "pool", "seed"])["budget"].transform("max")
    speed = frame.groupby(["sampler", largest.rename("to")])["seconds"].mean()
    text = "\n".join(
        [
            "# OASIS F1 estimation: ours against the authors' implementation\n",
            *runs,
            "MAE / P90 = mean / 90th percentile over seeds of |estimated - true F1|; ratio = MAE "
            "ours / MAE authors' (PyPI `oasis` 0.1.3, its defaults, same pool and budgets); "
            "coverage = share of our 95% intervals holding the true F1 (the authors' gives none); "
            "width = mean interval width; seeds = runs per sampler. Seconds per run (to the "
            "largest budget of that run): "
            + ", ".join(f"{k} {v:.1f} (to {b:,})" for (k, b), v in speed.items())
            + ".\n",
            "## The bar: ratio <= 1 at 500 and 2,000 labels, coverage 90-98% from 250 labels\n",
            bar_table(table),
            extra,
            detection_table(frame),
            "\n## Per pool\n",
            markdown(table, facts),
            f"\n![error against labels]({out}.png)\n",
        ]
    )
    (RESULTS / f"{out}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

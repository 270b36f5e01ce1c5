"""SimilarityMatcher with and without monotone constraints (and small-data regularization),
fully supervised and from few, noisy labels, on the clean and dirty shared data sets.

Run: .venv/bin/python benchmarks/matcher_monotone.py --names amazon_google abt_buy beer
Appends to benchmarks/results/matcher_monotone.jsonl (one row per fit) and writes
benchmarks/results/matcher_monotone.md from every row there (--tag: another stem).

Regimes: 'all' = every train label; 'n200' = 200 train pairs drawn at random (seeded);
'n200_noisy' = the same 200 with 10% of their labels flipped. The decision cut is chosen on the
valid split's F1 (`best_threshold`, with every valid label), test F1 reported. 'random pairs'
scores the test split's left records against a shuffled right side (almost all non-matches,
most fields disagreeing): the share called a match (P >= the valid-chosen cut, or >= 0.5)
measures how far the model extrapolates.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, add_datasets_argument, command, dataset_folder, timestamp
from _variants import load_variant

from blocking.metrics import best_threshold, f_measure
from labeling_functions.featurizer import PairFeaturizer
from matchers import SimilarityMatcher

CONFIGS = {  # name -> SimilarityMatcher arguments; the first is the baseline
    "base": {},
    "monotone": {"monotonic": True},
    "l2": {"l2_regularization": 1.0},
    "monotone_l2": {"monotonic": True, "l2_regularization": 1.0},
    "monotone_leaf7": {"monotonic": True, "max_leaf_nodes": 7},
}
REGIMES = ("all", "n200", "n200_noisy")
CHOSEN_ON = {("amazon_google", "clean"), ("abt_buy", "clean")}  # the rest confirms


def _training(train: pd.DataFrame, regime: str, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The training pairs and labels of a regime (a seeded draw for the small ones)."""
    y = train["label"].to_numpy(float)
    if regime == "all":
        return train, y
    rng = np.random.default_rng(seed)
    while True:  # a draw with both classes
        rows = rng.choice(len(train), size=min(200, len(train)), replace=False)
        if 0 < y[rows].sum() < len(rows):
            break
    y = y[rows].copy()
    if regime == "n200_noisy":
        flip = rng.random(len(y)) < 0.1
        y[flip] = 1 - y[flip]
    return train.iloc[rows], y


def _random_pairs(test: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The test pairs with their right sides shuffled: almost all non-matches."""
    right = [c for c in test.columns if c.startswith("right_")]
    order = np.random.default_rng(seed).permutation(len(test))
    out = test.copy()
    out[right] = test[right].iloc[order].to_numpy()
    return out


def run(folder: Path, name: str, variant: str, seed: int, regimes: list[str],
        configs: list[str], featurizers: dict) -> list[dict]:
    """Every regime x config on one data set variant; the featurizer is fitted once on the pool
    (the three splits' values, no labels) and kept in `featurizers` (the clean variant's serves
    every seed)."""
    splits = load_variant(folder / name, variant, seed)
    key = (name, variant, seed if variant == "dirty" else None)
    if key not in featurizers:
        featurizers.clear()
        featurizers[key] = PairFeaturizer().fit(pd.concat(list(splits.values()),
                                                          ignore_index=True))
    featurizer = featurizers[key]
    tr, va, te = (splits[s] for s in ("train", "valid", "test"))
    shuffled = _random_pairs(te, seed)
    y_va, y_te = va["label"].to_numpy(), te["label"].to_numpy()
    rows = []
    for regime in regimes:
        pairs, y = _training(tr, regime, seed)
        for config in configs:
            wall = time.perf_counter()
            m = SimilarityMatcher(seed=seed, featurizer=featurizer, **CONFIGS[config])
            m.fit(pairs, y)
            cut, _ = best_threshold(y_va, m.match_proba(va))
            p_te = m.match_proba(te)
            p_random = m.match_proba(shuffled)
            rows.append({
                "dataset": name, "variant": variant, "seed": seed, "regime": regime,
                "config": config,
                "test_f1": 100 * f_measure(y_te, p_te >= cut),
                "test_f1_at_half": 100 * f_measure(y_te, p_te >= 0.5),
                "random_over_half": 100 * float(np.mean(p_random >= 0.5)),
                "random_over_cut": 100 * float(np.mean(p_random >= cut)),
                "random_p99": float(np.quantile(p_random, 0.99)),
                "fit_score_s": time.perf_counter() - wall,
            })
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _arguments(options: dict) -> str:
    return ", ".join(f"{a}={v}" for a, v in options.items())


def write_report(rows: pd.DataFrame, out: Path, argv: str) -> None:
    """Per data set, variant and regime: test F1 (median over seeds) of every config; then the
    means over the data sets chosen on and over the others, and the random pairs called a
    match."""
    configs = [c for c in CONFIGS if c in set(rows["config"])]
    rows = rows.assign(**{c: np.nan for c in ("random_over_cut",) if c not in rows})  # older
    med = rows.groupby(["dataset", "variant", "regime", "config"])[
        ["test_f1", "test_f1_at_half", "random_over_cut", "random_over_half"]].median()
    seeds = rows.groupby(["dataset", "variant", "regime"])["seed"].nunique()
    f1 = med["test_f1"].unstack("config")[configs]
    f1["seeds"] = seeds
    lines = [
        "# SimilarityMatcher: monotone constraints and small-data regularization",
        "",
        f"Command (last run): `{argv}`  ",
        f"Date: {timestamp()}; shared 2-core machine (times not comparable across runs).",
        "",
        __doc__.split("\n\n")[2].strip(),
        "",
        "Chosen on: " + ", ".join(f"{d} ({v})" for d, v in sorted(CHOSEN_ON))
        + "; every other row confirms.",
        "",
        "Configs: " + "; ".join(f"`{k}` = SimilarityMatcher({_arguments(CONFIGS[k])})"
                                 for k in configs) + ".",
        "",
        "## Test F1 (valid-chosen cut), median over seeds",
        "",
        "| dataset | variant | regime | " + " | ".join(configs) + " | seeds |",
        "|---|---|---|" + "---|" * (len(configs) + 1),
    ]
    for (d, v, r), row in f1.iterrows():
        cells = " | ".join(f"{row[c]:.1f}" for c in configs)
        lines.append(f"| {d} | {v} | {r} | {cells} | {int(row['seeds'])} |")
    for title, column in (("Mean test F1 (valid-chosen cut)",
                           "test_f1"),
                          ("Mean test F1 at cut 0.5",
                           "test_f1_at_half"),
                          ("Random pairs called a match (P >= the valid-chosen cut, %), mean",
                           "random_over_cut"),
                          ("Random pairs scored >= 0.5 (%), mean",
                           "random_over_half")):
        table = med[column].unstack("config")[configs]
        group = ["chosen on" if (d, v) in CHOSEN_ON else "confirmed on"
                 for d, v, _ in table.index]
        mean = table.groupby([group, table.index.get_level_values("regime")]).mean()
        count = table.groupby([group, table.index.get_level_values("regime")]).size()
        lines += ["", f"## {title}", "", "| sets | regime | " + " | ".join(configs)
                  + " | sets |", "|---|---|" + "---|" * (len(configs) + 1)]
        lines += [f"| {g} | {r} | " + " | ".join(f"{mean.loc[(g, r), c]:.1f}" for c in configs)
                  + f" | {count.loc[(g, r)]} |" for g, r in mean.index]
    out.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_datasets_argument(parser)
    parser.add_argument("--names", nargs="+", default=["amazon_google", "abt_buy", "beer"])
    parser.add_argument("--variants", nargs="+", default=["clean"], choices=["clean", "dirty"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--regimes", nargs="+", default=list(REGIMES), choices=REGIMES)
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--tag", default="matcher_monotone")
    parser.add_argument("--report-only", action="store_true",
                        help="only write the .md from the .jsonl")
    args = parser.parse_args()
    folder = dataset_folder(args.datasets, "matcher_monotone.py")
    raw = RESULTS / f"{args.tag}.jsonl"
    featurizers: dict = {}
    if not args.report_only:
        with raw.open("a") as log:
            for name in args.names:
                for variant in args.variants:
                    for seed in args.seeds:
                        for row in run(folder, name, variant, seed, args.regimes, args.configs,
                                       featurizers):
                            log.write(json.dumps(row) + "\n")
    write_report(pd.read_json(raw, lines=True), RESULTS / f"{args.tag}.md",
                 command("matcher_monotone.py"))


if __name__ == "__main__":
    main()

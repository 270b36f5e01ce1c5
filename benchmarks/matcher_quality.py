"""Benchmark the matchers fully supervised on the DeepMatcher splits, their speed, and soft labels.

Run: .venv/bin/python benchmarks/matcher_quality.py [--quick] [--datasets ../shared/datasets]
Writes benchmarks/results/matcher_quality.md, .json and .png (matcher_quality.<tag>.* with --tag);
the SimilarityMatcher table (clean and dirty variants, feature sets) goes to the same stem, or to
<stem>.similarity.* when the RNN runs too.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import torch
from _common import RESULTS, add_datasets_argument, command, dataset_folder, timestamp
from _variants import VARIANTS, load_variant

from blocking.metrics import best_threshold, f_measure
from labeling_functions.featurizer import PairFeaturizer
from matchers import RNNMatcher, SimilarityMatcher
from matchers.embeddings import glove_available

PUBLISHED = {  # DeepMatcher RNN / Hybrid test F1 (SIGMOD 2018), from ../shared/datasets/README.md
    "dblp_acm": (98.3, 98.4),
    "amazon_google": (59.9, 69.3),
    "abt_buy": (39.4, 62.8),
    "beer": (72.2, None),
    "itunes_amazon": (88.5, None),
    "fodors_zagats": (100.0, None),
}
DIRTY_HYBRID = {"dblp_acm": 98.1, "itunes_amazon": 79.4}  # DeepMatcher Hybrid, dirty variants
TIMING_COLUMNS = (
    "threshold",
    "epochs_run",
    "best_epoch",
    "wall_per_epoch",
    "cpu_per_epoch",
    "seconds_to_best",
    "cpu_to_best",
)
DATASETS = ["beer", "itunes_amazon", "fodors_zagats", "dblp_acm", "amazon_google", "abt_buy"]


def load_split(folder: Path, name: str, split: str) -> tuple[pd.DataFrame, np.ndarray]:
    """One labelled split of a dataset in the flattened pair layout."""
    pairs = pd.read_csv(folder / name / "pairs" / f"{split}.csv")
    return pairs, pairs["label"].to_numpy(dtype=float)


def run_rnn(folder: Path, name: str, seed: int, embedding: str, args, noise: float = 0.0) -> dict:
    """Fit on train (optionally with labels flipped w.p. `noise`, given as soft targets),
    select on valid, report test F1 and timing."""
    (tr, ytr), (va, yva), (te, yte) = (
        load_split(folder, name, s) for s in ("train", "valid", "test")
    )
    if noise:
        rng = np.random.default_rng(1000 + seed)
        soften = lambda y: np.where(  # noqa: E731
            np.where(rng.random(len(y)) < noise, 1 - y, y) == 1, 1 - noise, noise
        )
        ytr, yva = soften(ytr), soften(yva)
    m = RNNMatcher(
        seed=seed,
        embedding=embedding,
        epochs=args.epochs,
        patience=args.patience,
        label_smoothing=args.label_smoothing,
        progress=True,
    )
    wall, cpu = time.perf_counter(), time.process_time()
    m.fit(tr, ytr, valid=(va, yva))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    hist = m.history_
    best = hist[m.best_epoch_ - 1]
    per_epoch_cpu = cpu / len(hist)  # includes encoding; process time, robust to sharing
    return {
        "dataset": name,
        "matcher": "RNNMatcher",
        "embedding": embedding,
        "seed": seed,
        "noise": noise,
        "test_f1": 100 * f_measure(yte, m.predict(te)),
        "threshold": float(1 / (1 + np.exp(-m.logit_shift_))),
        "epochs_run": len(hist),
        "best_epoch": m.best_epoch_,
        "seconds_to_best": best["seconds"],
        "cpu_to_best": per_epoch_cpu * m.best_epoch_,
        "wall_per_epoch": hist[-1]["seconds"] / len(hist),
        "cpu_per_epoch": per_epoch_cpu,
        "fit_wall": wall,
    }


FEATURE_SETS = {  # name -> PairFeaturizer arguments; the first is the default, the last the old
    "SimilarityMatcher": {},
    "no record views": {"record": False},
    "no cross-attribute": {"cross": False},
    "no missingness": {"missing": False},
    "no context": {"context": False},
    "old features": {"record": False, "cross": False, "missing": False, "context": False},
    "restore": {"restore": True},  # moved values put back into their attribute first
    # and values no record holds in place, read off the title's end (MovedValues(suffixes=True))
    "restore unseen": {"restore": True, "restore_unseen": True},
    # and values that read as title words left in the title (MovedValues(guard=True))
    "restore guard": {"restore": True, "restore_guard": True},
}


_ONE = {"n_models": 1, "subsample": 1.0, "max_features": 1.0}  # the matcher before ensembles
_BAG3MF = {"n_models": 3, "subsample": 0.8, "max_features": 0.5}
_LOOP = {"monotonic": True, "l2_regularization": 1.0}  # the active loop's options
MATCHER_CONFIGS = {  # name -> SimilarityMatcher options; "default" = SimilarityMatcher()
    "default": {},
    "one model": _ONE,
    "bag3mf": _BAG3MF,
    "loop one model": {**_LOOP, **_ONE},
    "loop bag3mf": {**_LOOP, **_BAG3MF},
    "words": {**_ONE, "difference_words": 1.0},  # + the cross-fitted difference-words column
    "loop words": {**_LOOP, **_ONE, "difference_words": 1.0},
    # the loop's one model with half the features per split, or one term per attribute
    "loop half features": {**_LOOP, **_ONE, "max_features": 0.5},
    "loop attribute terms": {**_LOOP, **_ONE, "interactions": "attribute"},
    # averaged models on their own 80% or 90% of the pairs, every feature (bag3mf less its
    # feature sampling), and five models with both
    "loop bag3": {**_LOOP, "n_models": 3, "subsample": 0.8, "max_features": 1.0},
    "loop bag3 90%": {**_LOOP, "n_models": 3, "subsample": 0.9, "max_features": 1.0},
    "loop bag5mf": {**_LOOP, "n_models": 5, "subsample": 0.8, "max_features": 0.5},
}


def run_similarity(folder: Path, name: str, variant: str, seed: int, feature_sets: list[str],
                   matcher_configs: tuple[str, ...] = ("default",)) -> list[dict]:
    """Fit `SimilarityMatcher` on train, cut on valid F1, report test F1, per feature set.

    The featurizer is fitted once on the values of all three splits (no labels: the pool, as in
    the loop) and shared by the fit and the scoring. The dirty variant is made with `seed`.
    """
    splits = load_variant(folder / name, variant, seed)
    pool = pd.concat(list(splits.values()), ignore_index=True)
    rows = []
    for feature_set in feature_sets:
        wall = time.perf_counter()
        featurizer = PairFeaturizer(**FEATURE_SETS[feature_set]).fit(pool)
        featurizer.transform(pool)
        featurize = time.perf_counter() - wall
        tr, va, te = (splits[s] for s in ("train", "valid", "test"))
        for config in matcher_configs:
            wall = time.perf_counter()
            m = SimilarityMatcher(seed=seed, featurizer=featurizer, **MATCHER_CONFIGS[config])
            m.fit(tr, tr["label"].to_numpy(float))
            cut, _ = best_threshold(va["label"].to_numpy(), m.match_proba(va))
            test = te["label"].to_numpy()
            rows.append({
                "dataset": name,
                "variant": variant,
                "matcher": feature_set if config == "default" else f"{feature_set} + {config}",
                "embedding": "-",
                "seed": seed,
                "noise": 0.0,
                "test_f1": 100 * f_measure(test, m.match_proba(te) >= cut),
                "test_f1_at_half": 100 * f_measure(test, m.predict(te)),
                "threshold": cut,
                "featurize_wall": featurize,
                "fit_wall": time.perf_counter() - wall,
                "n_features": len(m.columns_),
            })
    return rows


ENSEMBLES = {  # name -> (PairFeaturizer options, SimilarityMatcher options beside the loop's
    # monotonic, l2 1.0)
    "one model (the loop's default)": ({}, {}),
    "3 models, 80% of pairs": ({}, {"n_models": 3, "subsample": 0.8}),
    "3 models, 80% of pairs, half the features": ({}, {"n_models": 3, "subsample": 0.8,
                                                       "max_features": 0.5}),
    "one model + difference words": ({}, {"difference_words": 1.0}),
    "restore + one model": ({"restore": True}, {}),
    "restore + one model + difference words": ({"restore": True}, {"difference_words": 1.0}),
}


def ensemble_seconds(folder: Path, n: int, repeats: int = 3) -> list[dict]:
    """Refit + score times of the loop's matcher and its ensembles at `n` pairs of
    amazon_google (dirty, seed 0; soft labels 0.8 / 0.2 from the gold, as a label model
    gives), the pool featurized once before (the loop's shared featurizer): min over repeats."""
    splits = load_variant(folder / "amazon_google", "dirty", 0)
    pool = pd.concat(list(splits.values()), ignore_index=True)
    pool = pool.sample(n=min(n, len(pool)), random_state=0).reset_index(drop=True)
    soft = np.where(pool["label"].to_numpy() == 1, 0.8, 0.2)
    shared = {}
    rows = []
    for name, (featurizer_options, options) in ENSEMBLES.items():
        key = tuple(sorted(featurizer_options.items()))
        if key not in shared:
            shared[key] = PairFeaturizer(**featurizer_options).fit(pool)
            shared[key].transform(pool)
        times = []
        for _ in range(repeats):
            wall = time.perf_counter()
            SimilarityMatcher(featurizer=shared[key], monotonic=True, l2_regularization=1.0,
                              **options).fit(pool, soft).match_proba(pool)
            times.append(time.perf_counter() - wall)
        rows.append({"matcher": name, "pairs": len(pool), "refit_score_s": min(times),
                     "all_s": times})
        print(rows[-1], flush=True)
    return rows


def loop_fit_seconds(folder: Path, seed: int) -> dict:
    """Times of the active loop's fits on 5,000 dblp_acm pairs: the cold fit of
    `RNNMatcher()` defaults (no valid split), then a warm refit (`warm_epochs`)."""
    tr, y = load_split(folder, "dblp_acm", "train")
    tr, y = tr.iloc[:5000], y[:5000]
    times = {}
    m = RNNMatcher(seed=seed)
    for label, warm in (("cold_fit", False), ("warm_refit", True)):
        wall, cpu = time.perf_counter(), time.process_time()
        m.set_params(warm_start=warm).fit(tr, y)
        times[f"{label}_wall"] = time.perf_counter() - wall
        times[f"{label}_cpu"] = time.process_time() - cpu
    return times


def _median(group: pd.DataFrame, column: str) -> str:
    """Median of a column over seeds, '-' where the matcher does not report it."""
    if column not in group or group[column].isna().all():
        return "-"
    return f"{group[column].median():.{2 if column == 'threshold' else 1}f}"


def write_report(rows: list[dict], extra: dict, out: Path, stem: str) -> None:
    """Markdown table of medians over seeds next to the published DeepMatcher numbers."""
    df = pd.DataFrame(rows)
    (out / f"{stem}.json").write_text(json.dumps({"rows": rows, "extra": extra}, indent=1))
    lines = [
        "# Matchers: fully supervised on the DeepMatcher splits",
        "",
        f"Command: `{command('matcher_quality.py')}`  ",
        f"Date: {timestamp()}; torch threads: {torch.get_num_threads()}; "
        "machine: 2 CPU cores shared with other jobs (wall times are inflated; CPU times are "
        "process time).",
        "",
        "Test F1 of `match_proba >= 0.5`; the RNN's epoch and decision threshold are chosen on "
        "valid F1 (the threshold column, folded into its probabilities; 0.5 for the baseline and "
        "for soft labels); median over seeds, seeds listed. "
        "`--quick` = 1 seed, at most 8 epochs, patience 3. Label noise 0.2 = train and valid "
        "labels flipped with probability 0.2 and given as 0.8/0.2 soft targets (early stopping "
        "on the soft-label loss, since no gold labels exist in that setting).",
        "",
        "| dataset | matcher | embedding | label noise | test F1 (median) | per seed | "
        "DeepMatcher RNN | Hybrid | threshold | epochs run | best epoch | s/epoch wall | "
        "s/epoch CPU | s to best valid (wall) | CPU s to best valid |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    keys = ["dataset", "matcher", "embedding", "noise"]
    for key, g in df.groupby(keys, sort=False):
        rnn, hyb = PUBLISHED.get(key[0], (None, None))
        lines.append(
            f"| {key[0]} | {key[1]} | {key[2]} | {key[3]:g} | {g['test_f1'].median():.1f} | "
            + ", ".join(f"{v:.1f}" for v in g["test_f1"])
            + f" | {rnn if rnn is not None else '-'} | {hyb if hyb is not None else '-'} | "
            + " | ".join(_median(g, c) for c in TIMING_COLUMNS)
            + " |"
        )
    if extra:
        lines += [
            "",
            "Active-loop fits on 5,000 dblp_acm pairs (`RNNMatcher()` defaults, no valid split: "
            "cold fit, then a warm refit): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in extra.items()),
        ]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")


def _bar(name: str, variant: str) -> float | None:
    """The DeepMatcher figure to reach: Hybrid (dirty where published), else RNN."""
    rnn, hybrid = PUBLISHED.get(name, (None, None))
    if variant == "dirty" and name in DIRTY_HYBRID:
        return DIRTY_HYBRID[name]
    return hybrid if hybrid is not None else rnn


def write_similarity_report(rows: list[dict], out: Path, stem: str, note: str) -> None:
    """Markdown table of SimilarityMatcher test F1 (median over seeds) per set, variant and
    feature set, with the DeepMatcher bar and the dirty - clean gap of each feature set."""
    df = pd.DataFrame(rows)
    (out / f"{stem}.json").write_text(json.dumps({"rows": rows}, indent=1))
    lines = [
        "# SimilarityMatcher: fully supervised, clean and dirty variants",
        "",
        f"Command: `{command('matcher_quality.py')}`  ",
        f"Date: {timestamp()}; machine: 2 CPU cores shared with ~5 other agents (load average "
        f"{os.getloadavg()[0]:.1f} at the end; wall times inflated).",
        "",
        "Fit on train, decision cut chosen on valid F1 (`best_threshold`), test F1; median over "
        "seeds (seed = the boosting seed and, for the dirty variant, the seed that dirties the "
        "tables: each attribute but the first moved into it w.p. 0.5, as DeepMatcher did; 0.8 in "
        "`dirty80`, every value in `title_only`). The "
        "`PairFeaturizer` is fitted on the values of all three splits (the unlabelled pool). "
        "'old features' = the per-attribute similarities alone (the matcher before this change, "
        "`PairFeaturizer(record=False, cross=False, missing=False, context=False)`); 'no "
        "context' = all but the context margins (`context=False`); run in the same job. "
        "Bar = DeepMatcher Hybrid (the dirty figure where published), else DeepMatcher RNN. "
        + note,
        "",
        "| dataset | variant | features | test F1 (median) | per seed | F1 at cut 0.5 | bar | "
        "featurize s (pool) | fit+score s | features |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, variant, feats), g in df.groupby(["dataset", "variant", "matcher"], sort=False):
        bar = _bar(name, variant)
        lines.append(
            f"| {name} | {variant} | {feats} | {g['test_f1'].median():.1f} | "
            + ", ".join(f"{v:.1f}" for v in g["test_f1"])
            + f" | {g['test_f1_at_half'].median():.1f} | {'-' if bar is None else bar} | "
            f"{g['featurize_wall'].median():.1f} | {g['fit_wall'].median():.1f} | "
            f"{int(g['n_features'].iloc[0])} |"
        )
    med = df.groupby(["dataset", "matcher", "variant"], sort=False)["test_f1"].median().unstack()
    others = [v for v in VARIANTS if v != "clean" and v in med.columns]
    if "clean" in med.columns and others:
        lines += ["", "Each variant minus clean (median test F1):", "",
                  "| dataset | features | clean | " + " | ".join(f"{v} - clean" for v in others)
                  + " |", "|---|---|---|" + "---|" * len(others)]
        for (name, feats), r in med.iterrows():
            lines.append(f"| {name} | {feats} | {r['clean']:.1f} | "
                         + " | ".join(f"{r[v] - r['clean']:+.1f}" for v in others) + " |")
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")


def plot(rows: list[dict], path: Path) -> None:
    """Bars of median test F1 per data set and matcher, published DeepMatcher F1 as markers."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = pd.DataFrame(rows)
    df = df[df["noise"] == 0]
    df["label"] = np.where(
        df["matcher"] == "RNNMatcher", "RNN " + df["embedding"].astype(str), df["matcher"]
    )
    medians = df.groupby(["dataset", "label"], sort=False)["test_f1"].median().unstack()
    order = sorted(medians.columns, key=lambda c: (not c.startswith("RNN"), c != "RNN hash", c))
    medians = medians[order]
    names = list(medians.index)
    x = np.arange(len(names))
    width = 0.8 / max(len(medians.columns), 1)
    fig, ax = plt.subplots(figsize=(1.8 * len(names) + 3, 4))
    for j, label in enumerate(medians.columns):
        ax.bar(x - 0.4 + (j + 0.5) * width, medians[label], width, label=label)
    for k, (marker, text) in enumerate((("_", "DeepMatcher RNN"), ("x", "DeepMatcher Hybrid"))):
        ys = [PUBLISHED.get(n, (None, None))[k] for n in names]
        ax.scatter(
            x,
            [np.nan if v is None else v for v in ys],
            marker=marker,
            s=400 if k == 0 else 60,
            color="black" if k == 0 else "red",
            zorder=3,
            label=f"{text} (published)",
        )
    ax.set_xticks(x, names)
    ax.set_ylabel("test F1 (median over seeds)")
    ax.set_ylim(0, 100)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--names", nargs="+", default=DATASETS, help="data sets to run")
    parser.add_argument("--quick", action="store_true", help="1 seed, at most 8 epochs")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    parser.add_argument(
        "--label-smoothing", type=float, default=0.0, help="RNNMatcher(label_smoothing=...)"
    )
    parser.add_argument(
        "--embeddings", nargs="+", default=["hash", "glove"], choices=["hash", "glove"]
    )
    parser.add_argument(
        "--glove-on",
        nargs="+",
        default=["dblp_acm", "abt_buy", "amazon_google"],
        help="data sets on which GloVe is compared with hashing",
    )
    parser.add_argument(
        "--skip", nargs="*", default=[], choices=["rnn", "similarity", "noise", "warm"]
    )
    parser.add_argument("--variants", nargs="+", default=["clean", "dirty"],
                        choices=list(VARIANTS))
    parser.add_argument("--features", nargs="+", default=["SimilarityMatcher", "old features"],
                        choices=list(FEATURE_SETS), help="SimilarityMatcher feature sets")
    parser.add_argument("--matcher-configs", nargs="+", default=["default"],
                        choices=list(MATCHER_CONFIGS),
                        help="SimilarityMatcher options (MATCHER_CONFIGS) per feature set")
    parser.add_argument("--clean-seeds", type=int, default=1,
                        help="seeds for the clean variant (the boosting is deterministic without "
                             "early stopping: there the seed changes nothing)")
    parser.add_argument("--merge", nargs="+", default=[],
                        help="only write one SimilarityMatcher report from these .json results "
                             "(runs split over processes)")
    parser.add_argument("--ensemble-timing", type=int, default=0, metavar="PAIRS",
                        help="only time refit + score of the loop's matcher and its ensembles "
                             "at this many pairs (JSON to <out>/<stem>.timing.json)")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--tag", default="", help="results go to matcher_quality.<tag>.md / .json")
    args = parser.parse_args()
    if args.merge:
        rows = [r for path in args.merge for r in json.loads(Path(path).read_text())["rows"]]
        stem = f"matcher_quality.{args.tag}" if args.tag else "matcher_quality"
        write_similarity_report(rows, Path(args.out), stem,
                                "Merged from " + ", ".join(Path(p).name for p in args.merge)
                                + " (one run split over processes).")
        return
    folder = dataset_folder(args.datasets, "matcher_quality", "dblp_acm/pairs")
    if args.ensemble_timing:
        stem = f"matcher_quality.{args.tag}" if args.tag else "matcher_quality"
        rows = ensemble_seconds(folder, args.ensemble_timing)
        (Path(args.out) / f"{stem}.timing.json").write_text(json.dumps(
            {"command": command("matcher_quality.py"), "date": timestamp(),
             "load_average": os.getloadavg()[0], "rows": rows}, indent=1))
        return
    if args.quick:
        args.seeds, args.epochs, args.patience = 1, min(args.epochs, 8), min(args.patience, 3)
    if "rnn" not in args.skip:  # torch's threads also reach the boosting's OpenMP: 40-70 s
        torch.set_num_threads(args.threads)  # beer fits at 2 threads on a busy machine
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    embeddings = [e for e in args.embeddings if e == "hash" or glove_available()]
    stem = f"matcher_quality.{args.tag}" if args.tag else "matcher_quality"
    rows: list[dict] = []
    similarity: list[dict] = []
    sim_stem = stem if "rnn" in args.skip else f"{stem}.similarity"
    note = (f"Seeds: {args.seeds} for the dirty variant, {args.clean_seeds} for the clean one "
            "(without early stopping the boosting is deterministic, so there the seed changes "
            f"nothing); sets: {', '.join(args.names)}.")
    extra: dict = {}
    for name in args.names:
        for seed in range(args.seeds):
            for emb in [] if "rnn" in args.skip else embeddings:
                if emb == "glove" and name not in args.glove_on:
                    continue
                rows.append(run_rnn(folder, name, seed, emb, args))
                print(rows[-1], flush=True)
                write_report(rows, extra, out, stem)
            for variant in [] if "similarity" in args.skip else args.variants:
                if variant == "clean" and seed >= args.clean_seeds:
                    continue
                similarity += run_similarity(folder, name, variant, seed, args.features,
                                             tuple(args.matcher_configs))
                print(*similarity[-len(args.features) * len(args.matcher_configs):], sep="\n",
                      flush=True)
                write_similarity_report(similarity, out, sim_stem, note)
        if name == "dblp_acm" and not {"noise", "rnn"} & set(args.skip):
            for seed in range(args.seeds):
                rows.append(run_rnn(folder, name, seed, "hash", args, noise=0.2))
                print(rows[-1], flush=True)
        if rows:
            write_report(rows, extra, out, stem)
    if not {"warm", "rnn"} & set(args.skip):
        extra = loop_fit_seconds(folder, 0)
        write_report(rows, extra, out, stem)
    if rows:
        plot(rows, out / f"{stem}.png")


if __name__ == "__main__":
    main()

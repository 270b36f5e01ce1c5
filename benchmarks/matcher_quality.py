"""Benchmark the matchers fully supervised on the DeepMatcher splits, their speed, and soft labels.

Run: .venv/bin/python benchmarks/matcher_quality.py [--quick] [--datasets ../shared/datasets]
Writes benchmarks/results/matcher_quality.md, .json and .png (matcher_quality.<tag>.* with --tag).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import torch
from _common import RESULTS, add_datasets_argument, command, dataset_folder, timestamp

from blocking.metrics import f_measure
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


def run_similarity(folder: Path, name: str, seed: int) -> list[dict]:
    """Fit the gradient-boosting matcher on train and report test F1, with the rich similarity
    features (the default) and with the basic ones (the baseline they are measured against)."""
    (tr, ytr), (te, yte) = (load_split(folder, name, s) for s in ("train", "test"))
    rows = []
    for rich, label in ((True, "SimilarityMatcher"), (False, "SimilarityMatcher basic")):
        wall = time.perf_counter()
        s = SimilarityMatcher(seed=seed, rich_features=rich).fit(tr, ytr)
        rows.append({
            "dataset": name,
            "matcher": label,
            "embedding": "-",
            "seed": seed,
            "noise": 0.0,
            "test_f1": 100 * f_measure(yte, s.predict(te)),
            "fit_wall": time.perf_counter() - wall,
        })
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
        m.fit(tr, y, warm_start=warm)
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
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--tag", default="", help="results go to matcher_quality.<tag>.md / .json")
    args = parser.parse_args()
    folder = dataset_folder(args.datasets, "matcher_quality", "dblp_acm/pairs")
    if args.quick:
        args.seeds, args.epochs, args.patience = 1, min(args.epochs, 8), min(args.patience, 3)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    embeddings = [e for e in args.embeddings if e == "hash" or glove_available()]
    stem = f"matcher_quality.{args.tag}" if args.tag else "matcher_quality"
    rows: list[dict] = []
    extra: dict = {}
    for name in args.names:
        for seed in range(args.seeds):
            for emb in [] if "rnn" in args.skip else embeddings:
                if emb == "glove" and name not in args.glove_on:
                    continue
                rows.append(run_rnn(folder, name, seed, emb, args))
                print(rows[-1], flush=True)
                write_report(rows, extra, out, stem)
            if "similarity" not in args.skip and seed == 0:
                rows += run_similarity(folder, name, seed)
                print(*rows[-2:], sep="\n", flush=True)
        if name == "dblp_acm" and not {"noise", "rnn"} & set(args.skip):
            for seed in range(args.seeds):
                rows.append(run_rnn(folder, name, seed, "hash", args, noise=0.2))
                print(rows[-1], flush=True)
        write_report(rows, extra, out, stem)
    if not {"warm", "rnn"} & set(args.skip):
        extra = loop_fit_seconds(folder, 0)
        write_report(rows, extra, out, stem)
    plot(rows, out / f"{stem}.png")


if __name__ == "__main__":
    main()

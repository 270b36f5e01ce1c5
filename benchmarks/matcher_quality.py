"""Benchmark the matchers fully supervised on the DeepMatcher splits, their speed, and soft labels.

Run: .venv/bin/python benchmarks/matcher_quality.py [--quick] [--datasets ../shared/datasets]
Writes benchmarks/results/matcher_quality.md and .json (matcher_quality.<tag>.* with --tag).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import RESULTS, add_datasets_argument, command, dataset_folder, timestamp

from matchers import RNNMatcher, SimilarityMatcher
from matchers.embeddings import glove_available
from matchers.rnn import f1_at_half

PUBLISHED = {  # DeepMatcher RNN / Hybrid test F1 (SIGMOD 2018), from ../shared/datasets/README.md
    "dblp_acm": (98.3, 98.4),
    "amazon_google": (59.9, 69.3),
    "abt_buy": (39.4, 62.8),
    "beer": (72.2, None),
    "itunes_amazon": (88.5, None),
    "fodors_zagats": (100.0, None),
}
TIMING_COLUMNS = ("epochs_run", "best_epoch", "wall_per_epoch", "cpu_per_epoch", "seconds_to_best")
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
        seed=seed, embedding=embedding, epochs=args.epochs, patience=args.patience, progress=True
    )
    wall, cpu = time.perf_counter(), time.process_time()
    m.fit(tr, ytr, valid=(va, yva))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    hist = m.history_
    best = hist[m.best_epoch_ - 1]
    return {
        "dataset": name,
        "matcher": "RNNMatcher",
        "embedding": embedding,
        "seed": seed,
        "noise": noise,
        "test_f1": 100 * f1_at_half(yte, m.predict_proba(te)),
        "epochs_run": len(hist),
        "best_epoch": m.best_epoch_,
        "seconds_to_best": best["seconds"],
        "wall_per_epoch": hist[-1]["seconds"] / len(hist),
        "cpu_per_epoch": cpu / len(hist),  # includes encoding; process time, robust to sharing
        "fit_wall": wall,
    }


def run_similarity(folder: Path, name: str, seed: int) -> dict:
    """Fit the gradient-boosting baseline on train and report test F1."""
    (tr, ytr), (te, yte) = (load_split(folder, name, s) for s in ("train", "test"))
    wall = time.perf_counter()
    s = SimilarityMatcher(seed=seed).fit(tr, ytr)
    f1 = 100 * f1_at_half(yte, s.predict_proba(te))
    return {
        "dataset": name,
        "matcher": "SimilarityMatcher",
        "embedding": "-",
        "seed": seed,
        "noise": 0.0,
        "test_f1": f1,
        "fit_wall": time.perf_counter() - wall,
    }


def warm_refit_seconds(folder: Path, seed: int) -> dict:
    """Time of an active-loop style refit: 3 warm epochs on 5,000 dblp_acm pairs."""
    tr, y = load_split(folder, "dblp_acm", "train")
    m = RNNMatcher(seed=seed, epochs=1, warm_epochs=3).fit(tr.iloc[:5000], y[:5000])
    wall, cpu = time.perf_counter(), time.process_time()
    m.fit(tr.iloc[:5000], y[:5000], warm_start=True)
    return {
        "warm_refit_wall": time.perf_counter() - wall,
        "warm_refit_cpu": time.process_time() - cpu,
    }


def _median(group: pd.DataFrame, column: str) -> str:
    """Median of a column over seeds, '-' where the matcher does not report it."""
    if column not in group or group[column].isna().all():
        return "-"
    return f"{group[column].median():.1f}"


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
        "Test F1 at threshold 0.5 (model selected on valid F1; median over seeds, seeds listed). "
        "`--quick` = 1 seed, at most 8 epochs, patience 3. Label noise 0.2 = train and valid "
        "labels flipped with probability 0.2 and given as 0.8/0.2 soft targets (early stopping "
        "on the soft-label loss, since no gold labels exist in that setting).",
        "",
        "| dataset | matcher | embedding | label noise | test F1 (median) | per seed | "
        "DeepMatcher RNN | Hybrid | epochs run | best epoch | s/epoch wall | s/epoch CPU | "
        "s to best valid |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
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
            "Active-loop refit (3 warm epochs on 5,000 dblp_acm pairs): "
            + ", ".join(f"{k} {v:.1f} s" for k, v in extra.items()),
        ]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")


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
        "--embeddings", nargs="+", default=["hash", "glove"], choices=["hash", "glove"]
    )
    parser.add_argument(
        "--glove-on",
        nargs="+",
        default=["dblp_acm", "abt_buy", "amazon_google"],
        help="data sets on which GloVe is compared with hashing",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["similarity", "noise", "warm"])
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
            for emb in embeddings:
                if emb == "glove" and name not in args.glove_on:
                    continue
                rows.append(run_rnn(folder, name, seed, emb, args))
                print(rows[-1], flush=True)
                write_report(rows, extra, out, stem)
            if "similarity" not in args.skip and seed == 0:
                rows.append(run_similarity(folder, name, seed))
                print(rows[-1], flush=True)
        if name == "dblp_acm" and "noise" not in args.skip:
            for seed in range(args.seeds):
                rows.append(run_rnn(folder, name, seed, "hash", args, noise=0.2))
                print(rows[-1], flush=True)
        write_report(rows, extra, out, stem)
    if "warm" not in args.skip:
        extra = warm_refit_seconds(folder, 0)
        write_report(rows, extra, out, stem)


if __name__ == "__main__":
    main()

"""Fit time of PenalizedLabelModel with expert labels against Snorkel's plain LabelModel on the
same large label matrix and epochs (the penalty must only touch the labelled rows)."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import RESULTS, command, timestamp
from snorkel.labeling.model import LabelModel

from label_model import PenalizedLabelModel


def synthetic_votes(n: int, m: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    acc = rng.uniform(0.6, 0.9, m)
    L = np.where(rng.random((n, m)) < acc, y[:, None], 1 - y[:, None])
    L[rng.random((n, m)) < 0.5] = -1
    return L, y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--m", type=int, default=20)
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="100,000 rows, 1 repeat")
    args = parser.parse_args()
    if args.quick:
        args.n, args.repeats = 100_000, 1
    torch.set_num_threads(1)
    L, y = synthetic_votes(args.n, args.m, seed=0)
    rng = np.random.default_rng(1)
    rows = rng.choice(args.n, args.labels, replace=False)
    labels = {int(i): int(y[i]) for i in rows}
    snorkel_times, ours_times, refit_times = [], [], []
    for r in range(args.repeats):  # interleaved, so both see the same machine load
        t0 = time.perf_counter()
        LabelModel(verbose=False).fit(L, n_epochs=args.epochs, seed=r, progress_bar=False)
        snorkel_times.append(time.perf_counter() - t0)
        lm = PenalizedLabelModel(seed=r, n_epochs=args.epochs)
        t0 = time.perf_counter()
        lm.fit(L, labels)
        ours_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        lm.fit(L, labels)
        refit_times.append(time.perf_counter() - t0)
        print(r, snorkel_times[-1], ours_times[-1], refit_times[-1], flush=True)
    s, o, w = np.median(snorkel_times), np.median(ours_times), np.median(refit_times)
    text = "\n".join([
        "# Label-model fit time",
        "",
        f"Command: `{command('label_model_fit_time.py')}`  ({timestamp()})",
        "",
        f"L: {args.n:,} x {args.m} (half abstains), {args.labels} expert labels, "
        f"{args.epochs} epochs, 1 torch thread; median of {args.repeats} interleaved runs on a "
        "shared 2-core machine.",
        "",
        "| model | fit seconds | ratio to Snorkel |",
        "|---|---|---|",
        f"| Snorkel LabelModel.fit (no expert labels) | {s:.2f} | 1.00 |",
        f"| PenalizedLabelModel.fit (with expert labels, cold) | {o:.2f} | {o / s:.2f} |",
        f"| PenalizedLabelModel.fit (refit, warm start) | {w:.2f} | {w / s:.2f} |",
        "",
        f"All runs (s): Snorkel {np.round(snorkel_times, 2).tolist()}, "
        f"penalized {np.round(ours_times, 2).tolist()}, refit {np.round(refit_times, 2).tolist()}",
    ])
    (RESULTS / "label_model_fit_time.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()

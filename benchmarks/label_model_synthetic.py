"""Active WeaSuL's synthetic experiment: label-model test accuracy against expert labels for
Active WeaSuL (penalized label model + maxKL), Nashaat correction, margin, random-bucket
sampling and plain active learning (logistic regression + margin sampling)."""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import RESULTS, command, timestamp
from label_model_common import (
    adam_train_params,
    add_curve_arguments,
    margin_active_learning,
    mean_std_cells,
    plot_curves,
    weasul_curve,
)

from active.maxkl import MarginSelector, MaxKLSelector, RandomBucketSelector
from label_model import NashaatLabelModel, PenalizedLabelModel


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two Gaussian classes and the paper's three LFs (no abstains; the last two share x1)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.5).astype(int)
    centre = np.where(y[:, None] == 1, [0.1, 1.3], [-0.8, -0.5])
    X = centre + 0.5 * rng.standard_normal((n, 2))
    # each LF votes class 0 where its threshold rule holds, class 1 otherwise
    L = np.stack([X[:, 1] >= 0.4, X[:, 0] >= -0.3, X[:, 0] >= -1.0], axis=1).astype(int)
    return X, y, L


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=10)
    add_curve_arguments(parser)
    parser.add_argument("--cliques", default="", help="dependent LFs, e.g. '1,2' (the x1 LFs)")
    parser.add_argument("--quick", action="store_true", help="3 repetitions, 10 labels")
    args = parser.parse_args()
    if args.quick:
        args.reps, args.budget = 3, 10
    torch.set_num_threads(1)
    cliques = [tuple(int(j) for j in args.cliques.split(","))] if args.cliques else None

    def penalized(s: int) -> PenalizedLabelModel:
        return PenalizedLabelModel(penalty=args.penalty, seed=s, cliques=cliques, **train_params)

    X, y, L = make_data(10_000, seed=0)
    Xt, yt, Lt = make_data(3_000, seed=1)
    train_params = adam_train_params(args)

    def lm_accuracy(model, labels, proba) -> float:
        return float(((model.predict_proba(Lt)[:, 1] > 0.5) == yt).mean())

    def al_accuracy(model, guess) -> float:
        pred = np.full(yt.shape, guess) if model is None else model.predict(Xt)
        return float((pred == yt).mean())

    methods = {
        "active_weasul": lambda s: (
            penalized(s),
            MaxKLSelector(seed=s, prior_weight=args.prior_weight),
        ),
        "active_weasul_paper_q": lambda s: (
            penalized(s),
            MaxKLSelector(seed=s, prior_weight=0.0),
        ),
        "margin": lambda s: (penalized(s), MarginSelector(seed=s)),
        "random_bucket": lambda s: (
            penalized(s),
            RandomBucketSelector(seed=s),
        ),
        "nashaat": lambda s: (
            NashaatLabelModel(seed=s, cliques=cliques, **train_params),
            MarginSelector(seed=s),
        ),
    }
    wanted = [*methods, "active_learning"] if args.methods == "all" else args.methods.split(",")
    curves: dict[str, np.ndarray] = {}
    for name in wanted:
        t0 = time.time()
        runs = []
        for s in range(args.reps):
            if name == "active_learning":
                runs.append(margin_active_learning(X, y, args.budget, al_accuracy, seed=s))
            else:
                model, selector = methods[name](s)
                runs.append(
                    weasul_curve(L, y, model, selector, args.budget, lm_accuracy)
                )
        curves[name] = np.asarray(runs)
        print(f"{name}: {time.time() - t0:.1f}s", np.round(curves[name].mean(0)[:8], 3), flush=True)
    write_results(curves, args)


def first_reaching(mean: np.ndarray, level: float) -> str:
    hit = np.flatnonzero(mean >= level)
    return str(int(hit[0])) if hit.size else f"> {mean.size - 1}"


def write_results(curves: dict[str, np.ndarray], args: argparse.Namespace) -> None:
    stem = "label_model_synthetic" + (f"_{args.tag}" if args.tag else "")
    points = [b for b in (0, 1, 2, 3, 4, 5, 10, 20, 30) if b <= args.budget]
    lines = [
        "# Synthetic experiment (Active WeaSuL paper, 4.1): label-model test accuracy",
        "",
        f"Command: `{command('label_model_synthetic.py')}`  ({timestamp()})",
        "",
        f"10,000 train / 3,000 test points, {args.reps} repetitions (seeds 0..{args.reps - 1}: "
        f"label-model init and sampling), one expert label per iteration; label model "
        f"{args.epochs} Adam epochs, lr {args.lr}, penalty {args.penalty}, maxKL prior weight "
        f"{args.prior_weight}, cliques {args.cliques or 'none'}. Active learning = logistic "
        "regression on x with margin sampling (accuracy of that classifier). "
        "Mean (std) accuracy after b labels:",
        "",
        "| method | " + " | ".join(f"b={b}" for b in points) + " | labels to mean >= 0.95 |",
        "|---" * (len(points) + 2) + "|",
    ]
    for name, runs in curves.items():
        reached = first_reaching(runs.mean(0), 0.95)
        lines.append(f"| {name} | {mean_std_cells(runs, points)} | {reached} |")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    budgets = np.arange(args.budget + 1)
    plot_curves(curves, budgets, "test accuracy", RESULTS / f"{stem}.png", ylim=(0.5, 1.0))
    print((RESULTS / f"{stem}.md").read_text())


if __name__ == "__main__":
    main()

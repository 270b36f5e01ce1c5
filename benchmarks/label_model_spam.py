"""Active WeaSuL on YouTube spam (the paper's realistic benchmark): test F1 of a logistic
regression trained on probabilistic labels, against expert labels, for Active WeaSuL, weak
supervision alone, active learning alone and Nashaat's correction, over several seeds."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from _common import RESULTS, add_datasets_argument, command, dataset_folder, timestamp
from label_model_common import (
    adam_train_params,
    add_curve_arguments,
    fit_soft_logreg,
    margin_active_learning,
    mean_std_cells,
    plot_curves,
    weasul_curve,
)
from sklearn.metrics import f1_score

from active.maxkl import MarginSelector, MaxKLSelector
from label_model import NashaatLabelModel, PenalizedLabelModel

C = 1e3  # the Snorkel spam tutorial's logistic regression


def load(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    d = np.load(folder / f"{split}_L_Y.npz")
    return d["L"], d["Y"].astype(int), sp.load_npz(folder / f"{split}_X.npz").tocsr()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_datasets_argument(parser)
    parser.add_argument("--seeds", type=int, default=10)
    add_curve_arguments(parser)
    parser.add_argument("--quick", action="store_true", help="3 seeds, 10 labels")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.budget = 3, 10
    folder = dataset_folder(args.datasets, "label_model_spam", "youtube_spam") / "youtube_spam"
    torch.set_num_threads(1)
    L_all, y_all, X_all = load(folder, "train")
    _, y_test, X_test = load(folder, "test")
    covered = (L_all != -1).any(axis=1)  # rows where every LF abstains leave the pool
    L, y, X = L_all[covered], y_all[covered], X_all[covered]
    checkpoints = set(range(0, 11)) | set(range(15, args.budget + 1, 5))
    train_params = adam_train_params(args)

    def disc_f1(model, labels, proba) -> float:
        clf = fit_soft_logreg(X, proba, labels, C=C)
        return float(f1_score(y_test, clf.predict(X_test)))

    def al_f1(model, guess) -> float:
        pred = np.full(y_test.shape, guess) if model is None else model.predict(X_test)
        return float(f1_score(y_test, pred, zero_division=0))

    methods = {
        "active_weasul": lambda s: (
            PenalizedLabelModel(penalty=args.penalty, seed=s, **train_params),
            MaxKLSelector(seed=s, prior_weight=args.prior_weight),
        ),
        "active_weasul_paper_q": lambda s: (
            PenalizedLabelModel(penalty=args.penalty, seed=s, **train_params),
            MaxKLSelector(seed=s, prior_weight=0.0),
        ),
        "nashaat": lambda s: (NashaatLabelModel(seed=s, **train_params), MarginSelector(seed=s)),
    }
    names = list(methods) + ["weak_supervision", "active_learning"]
    wanted = names if args.methods == "all" else args.methods.split(",")
    curves: dict[str, np.ndarray] = {}
    for name in wanted:
        t0 = time.time()
        runs = []
        for s in range(args.seeds):
            if name == "active_learning":
                curve = margin_active_learning(
                    X, y, args.budget, al_f1, s, C=C, checkpoints=checkpoints
                )
                runs.append(curve)
            elif name == "weak_supervision":
                lm = PenalizedLabelModel(seed=s, **train_params).fit(L)
                f1 = disc_f1(lm, {}, lm.predict_proba(L)[:, 1])
                runs.append([f1] * (args.budget + 1))
            else:
                model, selector = methods[name](s)
                runs.append(
                    weasul_curve(
                        L, y, model, selector, args.budget, disc_f1,
                        checkpoints=checkpoints,
                    )
                )
        curves[name] = np.asarray(runs)
        print(f"{name}: {time.time() - t0:.0f}s", np.round(np.nanmean(curves[name], 0)[:11], 3),
              flush=True)
    write_results(curves, args, sorted(c for c in checkpoints if c <= args.budget))


def write_results(curves: dict[str, np.ndarray], args: argparse.Namespace, points: list[int]):
    stem = "label_model_spam" + (f"_{args.tag}" if args.tag else "")
    show = [b for b in points if b in (0, 1, 2, 3, 4, 5, 10, 15, 20, 25, 30)]
    lines = [
        "# YouTube spam (Active WeaSuL paper, 4.2): discriminative-model test F1",
        "",
        f"Command: `{command('label_model_spam.py')}`  ({timestamp()})",
        "",
        f"Pool = the train rows where some LF fires; {args.seeds} seeds (label-model init and "
        "sampling; for active learning, the random start). Logistic regression (C=1000) on the "
        "n-gram counts trained on the label model's probabilistic labels (expert labels as hard "
        f"labels); label model {args.epochs} Adam epochs, lr {args.lr}, penalty {args.penalty}, "
        f"maxKL prior weight {args.prior_weight}. Mean (std) test F1 after b expert labels:",
        "",
        "| method | " + " | ".join(f"b={b}" for b in show) + " |",
        "|---" * (len(show) + 1) + "|",
    ]
    lines += [f"| {name} | {mean_std_cells(runs, show)} |" for name, runs in curves.items()]
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    plot_curves(curves, points, "test F1", RESULTS / f"{stem}.png")
    print((RESULTS / f"{stem}.md").read_text())


if __name__ == "__main__":
    main()

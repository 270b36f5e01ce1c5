"""Active WeaSuL on YouTube spam (the paper's realistic benchmark): test F1 of a logistic
regression trained on probabilistic labels, against expert labels, for Active WeaSuL, weak
supervision alone, active learning alone and Nashaat's correction, over several seeds."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parent))
from label_model_common import (  # noqa: E402
    REPO,
    fit_soft_logreg,
    margin_active_learning,
    weasul_curve,
)

from active.maxkl import MarginSelector, MaxKLSelector  # noqa: E402
from label_model import NashaatLabelModel, PenalizedLabelModel  # noqa: E402

OUT = REPO / "benchmarks" / "results"
C = 1e3  # the Snorkel spam tutorial's logistic regression


def load(folder: Path, split: str) -> tuple[np.ndarray, np.ndarray, sp.csr_matrix]:
    d = np.load(folder / f"{split}_L_Y.npz")
    return d["L"], d["Y"].astype(int), sp.load_npz(folder / f"{split}_X.npz").tocsr()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--datasets", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--penalty", default="auto")
    parser.add_argument("--prior-weight", type=float, default=1.0)
    parser.add_argument("--methods", default="all")
    parser.add_argument("--quick", action="store_true", help="3 seeds, 10 labels")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.budget = 3, 10
    folder = Path(args.datasets) / "youtube_spam"
    if not folder.is_dir():
        sys.exit(f"youtube_spam not found under {args.datasets}: pass --datasets <folder>")
    torch.set_num_threads(1)
    penalty = args.penalty if args.penalty == "auto" else float(args.penalty)
    L_all, y_all, X_all = load(folder, "train")
    _, y_test, X_test = load(folder, "test")
    covered = (L_all != -1).any(axis=1)  # rows where every LF abstains leave the pool
    L, y, X = L_all[covered], y_all[covered], X_all[covered]
    checkpoints = set(range(0, 11)) | set(range(15, args.budget + 1, 5))
    fit_kwargs = {"n_epochs": args.epochs, "lr": args.lr, "optimizer": "adam"}

    def disc_f1(model, labels, proba) -> float:
        clf = fit_soft_logreg(X, proba, labels, C=C)
        return float(f1_score(y_test, clf.predict(X_test)))

    def al_f1(model, guess) -> float:
        pred = np.full(y_test.shape, guess) if model is None else model.predict(X_test)
        return float(f1_score(y_test, pred, zero_division=0))

    methods = {
        "active_weasul": lambda s: (
            PenalizedLabelModel(penalty=penalty, seed=s),
            MaxKLSelector(seed=s, prior_weight=args.prior_weight),
        ),
        "active_weasul_paper_q": lambda s: (
            PenalizedLabelModel(penalty=penalty, seed=s),
            MaxKLSelector(seed=s, prior_weight=0.0),
        ),
        "nashaat": lambda s: (NashaatLabelModel(seed=s), MarginSelector(seed=s)),
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
                lm = PenalizedLabelModel(seed=s).fit(L, **fit_kwargs)
                f1 = disc_f1(lm, {}, lm.predict_proba(L)[:, 1])
                runs.append([f1] * (args.budget + 1))
            else:
                model, selector = methods[name](s)
                runs.append(
                    weasul_curve(
                        L, y, model, selector, args.budget, disc_f1, fit_kwargs,
                        checkpoints=checkpoints,
                    )
                )
        curves[name] = np.asarray(runs)
        print(f"{name}: {time.time() - t0:.0f}s", np.round(np.nanmean(curves[name], 0)[:11], 3),
              flush=True)
    write_results(curves, args, sorted(c for c in checkpoints if c <= args.budget))


def write_results(curves: dict[str, np.ndarray], args: argparse.Namespace, points: list[int]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stem = "label_model_spam" + (f"_{args.tag}" if args.tag else "")
    show = [b for b in points if b in (0, 1, 2, 3, 4, 5, 10, 15, 20, 25, 30)]
    lines = [
        "# YouTube spam (Active WeaSuL paper, 4.2): discriminative-model test F1",
        "",
        f"Command: `.venv/bin/python benchmarks/label_model_spam.py {' '.join(sys.argv[1:])}`"
        f"  ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)",
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
    for name, runs in curves.items():
        mean, std = np.nanmean(runs, 0), np.nanstd(runs, 0)
        lines.append(f"| {name} | " + " | ".join(f"{mean[b]:.3f} ({std[b]:.3f})" for b in show)
                     + " |")
    (OUT / f"{stem}.md").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, runs in curves.items():
        mean, std = np.nanmean(runs, 0)[points], np.nanstd(runs, 0)[points]
        ax.plot(points, mean, marker=".", label=name)
        ax.fill_between(points, mean - std, mean + std, alpha=0.15)
    ax.set_xlabel("expert labels")
    ax.set_ylabel("test F1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(OUT / f"{stem}.png", dpi=110)
    print((OUT / f"{stem}.md").read_text())


if __name__ == "__main__":
    main()

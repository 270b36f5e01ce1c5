"""Shared pieces of the label-model benchmarks: the Active WeaSuL loop, plain active learning
(logistic regression + margin sampling), a logistic regression fit on probabilistic labels,
and the options and plot of the learning-curve benchmarks."""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
from matplotlib.figure import Figure
from sklearn.linear_model import LogisticRegression

from active.base import PoolState, Selector
from label_model import NashaatLabelModel, PenalizedLabelModel


def _penalty(value: str) -> str | float:
    return value if value == "auto" else float(value)


def add_curve_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the learning-curve benchmarks (expert labels vs quality, several methods)."""
    parser.add_argument("--budget", type=int, default=30, help="expert labels per run")
    parser.add_argument("--epochs", type=int, default=100, help="label-model epochs per fit")
    parser.add_argument("--lr", type=float, default=0.01, help="label-model Adam learning rate")
    parser.add_argument("--penalty", type=_penalty, default="auto", help="'auto' or a number")
    parser.add_argument("--prior-weight", type=float, default=1.0, help="maxKL prior weight")
    parser.add_argument("--methods", default="all", help="comma-separated methods, or all")
    parser.add_argument("--tag", default="", help="suffix for the result files")


def adam_train_params(args: argparse.Namespace) -> dict:
    """Label-model constructor training parameters from the parsed --epochs and --lr."""
    return {"n_epochs": args.epochs, "lr": args.lr, "optimizer": "adam"}


def mean_std_cells(runs: np.ndarray, points: list[int]) -> str:
    """Markdown cells 'mean (std)' over the runs (rows) at the given label counts."""
    mean, std = np.nanmean(runs, 0), np.nanstd(runs, 0)
    return " | ".join(f"{mean[b]:.3f} ({std[b]:.3f})" for b in points)


def plot_curves(
    curves: dict[str, np.ndarray],
    points: list[int] | np.ndarray,
    ylabel: str,
    path: Path,
    ylim: tuple[float, float] | None = None,
) -> None:
    """Mean +- std over runs of each method's curve at the given label counts, as a PNG."""
    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    for name, runs in curves.items():
        mean, std = np.nanmean(runs, 0)[points], np.nanstd(runs, 0)[points]
        ax.plot(points, mean, marker=".", label=name)
        ax.fill_between(points, mean - std, mean + std, alpha=0.15)
    ax.set_xlabel("expert labels")
    ax.set_ylabel(ylabel)
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def weasul_curve(
    L: np.ndarray,
    oracle: np.ndarray,
    model: PenalizedLabelModel,
    selector: Selector,
    budget: int,
    evaluate: Callable[[PenalizedLabelModel, dict[int, int], np.ndarray], float],
    class_balance: list[float] | None = None,
    checkpoints: set[int] | None = None,
) -> list[float]:
    """Label one pair per iteration, refit, and return evaluate(...) for 0..budget labels.

    `evaluate(model, expert_labels, train_proba)` gets the train-pool P(match) of the model.
    Nashaat's model is scored on its corrected pool votes. With `checkpoints`, only those
    label counts are scored (NaN elsewhere).
    """
    labels: dict[int, int] = {}

    def pool_proba() -> np.ndarray:
        votes = model.corrected_votes(L) if isinstance(model, NashaatLabelModel) else L
        return model.predict_proba(votes)[:, 1]

    model.fit(L, labels, class_balance=class_balance)
    initial = pool_proba()
    proba = initial
    scores = [evaluate(model, labels, proba)]
    for _ in range(budget):
        state = PoolState(L=L, expert_labels=labels, lm_proba=proba, lm_proba_initial=initial)
        for i in selector.select(state, 1):
            labels[int(i)] = int(oracle[i])
        model.fit(L, labels, class_balance=class_balance)
        proba = pool_proba()
        wanted = checkpoints is None or len(labels) in checkpoints
        scores.append(evaluate(model, labels, proba) if wanted else float("nan"))
    return scores


def margin_active_learning(
    X: np.ndarray | sp.spmatrix,
    oracle: np.ndarray,
    budget: int,
    evaluate: Callable[[LogisticRegression | None, int], float],
    seed: int,
    C: float = 1.0,
    checkpoints: set[int] | None = None,
) -> list[float]:
    """Plain active learning: logistic regression on X, next pair = smallest margin.

    Pairs are drawn at random until both classes have been seen (a classifier needs both);
    before that `evaluate(None, majority_label)` scores a constant guess.
    """
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    order = rng.permutation(n)
    labelled: list[int] = []
    model: LogisticRegression | None = None
    scores = [evaluate(None, 0)]
    for _ in range(budget):
        free = np.setdiff1d(order, labelled, assume_unique=True)
        if model is None:
            nxt = int(free[0])
        else:
            margin = np.abs(model.predict_proba(X[free])[:, 1] - 0.5)
            nxt = int(free[np.argmin(margin)])
        labelled.append(nxt)
        ys = oracle[labelled]
        if len(np.unique(ys)) == 2:
            model = LogisticRegression(C=C, solver="liblinear").fit(X[labelled], ys)
        if checkpoints is not None and len(labelled) not in checkpoints:
            scores.append(float("nan"))
        else:
            scores.append(evaluate(model, -1) if model is not None else evaluate(None, int(ys[0])))
    return scores


class SoftLogisticRegression:
    """L2-regularised logistic regression trained on soft targets in [0, 1] (full-batch
    L-BFGS in torch on a sparse X): the cross-entropy with probabilistic labels of the paper."""

    def __init__(self, C: float = 1.0, max_iter: int = 50) -> None:
        self.C = C
        self.max_iter = max_iter

    @staticmethod
    def _tensor(X: sp.spmatrix | np.ndarray) -> torch.Tensor:
        if sp.issparse(X):
            X = X.tocsr().astype(np.float32)
            warnings.filterwarnings("ignore", message="Sparse", category=UserWarning)
            return torch.sparse_csr_tensor(
                torch.from_numpy(X.indptr.astype(np.int64)),
                torch.from_numpy(X.indices.astype(np.int64)),
                torch.from_numpy(X.data),
                size=X.shape,
            )
        return torch.from_numpy(np.asarray(X, dtype=np.float32))

    def fit(self, X: sp.spmatrix | np.ndarray, target: np.ndarray) -> SoftLogisticRegression:
        Xt = self._tensor(X)
        t = torch.from_numpy(np.asarray(target, dtype=np.float32))
        w = torch.zeros(X.shape[1], requires_grad=True)
        b = torch.zeros(1, requires_grad=True)
        opt = torch.optim.LBFGS([w, b], max_iter=self.max_iter, line_search_fn="strong_wolfe")
        reg = 0.5 / (self.C * X.shape[0])

        def closure() -> torch.Tensor:
            opt.zero_grad()
            logits = Xt @ w + b
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, t)
            loss = loss + reg * (w @ w)
            loss.backward()
            return loss

        opt.step(closure)
        self.coef_, self.intercept_ = w.detach(), b.detach()
        return self

    def predict_proba(self, X: sp.spmatrix | np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.sigmoid(self._tensor(X) @ self.coef_ + self.intercept_).numpy()

    def predict(self, X: sp.spmatrix | np.ndarray) -> np.ndarray:
        return (self.predict_proba(X) > 0.5).astype(int)


def fit_soft_logreg(
    X: sp.spmatrix | np.ndarray,
    proba: np.ndarray,
    expert_labels: dict[int, int],
    C: float,
) -> SoftLogisticRegression:
    """Discriminative model on probabilistic labels; expert-labelled rows use the expert's
    label (paper, appendix A.2)."""
    target = proba.astype(float).copy()
    if expert_labels:
        rows = np.fromiter(expert_labels.keys(), dtype=np.int64)
        target[rows] = np.fromiter(expert_labels.values(), dtype=float)
    return SoftLogisticRegression(C=C).fit(X, target)

"""Shared pieces of the label-model benchmarks: the Active WeaSuL loop, plain active learning
(logistic regression + margin sampling) and a logistic regression fit on probabilistic labels."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from a checkout without installing
    sys.path.insert(0, str(REPO))

from active.base import PoolState, Selector  # noqa: E402
from label_model import NashaatLabelModel, PenalizedLabelModel  # noqa: E402


def weasul_curve(
    L: np.ndarray,
    oracle: np.ndarray,
    model: PenalizedLabelModel,
    selector: Selector,
    budget: int,
    evaluate: Callable[[PenalizedLabelModel, dict[int, int], np.ndarray], float],
    fit_kwargs: dict,
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

    model.fit(L, labels, class_balance=class_balance, **fit_kwargs)
    initial = pool_proba()
    proba = initial
    scores = [evaluate(model, labels, proba)]
    for _ in range(budget):
        state = PoolState(L=L, expert_labels=labels, lm_proba=proba, lm_proba_initial=initial)
        for i in selector.select(state, 1):
            labels[int(i)] = int(oracle[i])
        model.fit(L, labels, class_balance=class_balance, **fit_kwargs)
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
            model = LogisticRegression(C=C, max_iter=1000).fit(X[labelled], ys)
        if checkpoints is not None and len(labelled) not in checkpoints:
            scores.append(float("nan"))
        else:
            scores.append(evaluate(model, -1) if model is not None else evaluate(None, int(ys[0])))
    return scores


def fit_soft_logreg(
    X: sp.spmatrix | np.ndarray,
    proba: np.ndarray,
    expert_labels: dict[int, int],
    C: float,
    keep: np.ndarray | None = None,
) -> LogisticRegression:
    """Logistic regression trained on probabilistic labels (cross-entropy with soft targets).

    Each row appears once as a match weighted P(match) and once as a non-match weighted
    1 - P(match); expert-labelled rows use the expert's label (paper, appendix A.2).
    `keep` restricts training to some rows (e.g. those where an LF fired).
    """
    target = proba.astype(float).copy()
    if expert_labels:
        rows = np.fromiter(expert_labels.keys(), dtype=np.int64)
        target[rows] = np.fromiter(expert_labels.values(), dtype=float)
    idx = np.arange(X.shape[0]) if keep is None else np.flatnonzero(keep)
    if expert_labels:
        idx = np.union1d(idx, rows)
    stack = sp.vstack if sp.issparse(X) else np.vstack
    Xs = stack([X[idx], X[idx]])
    ys = np.r_[np.ones(idx.size), np.zeros(idx.size)]
    ws = np.r_[target[idx], 1 - target[idx]]
    nz = ws > 0
    return LogisticRegression(C=C, max_iter=2000).fit(Xs[nz], ys[nz], sample_weight=ws[nz])

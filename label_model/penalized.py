"""Active WeaSuL's label model: Snorkel's matrix completion plus a penalty that pulls
P(y | LF votes) towards the expert's labels, so a few labels re-weight the LFs for every pair."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import inspect
import numbers
import random
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from snorkel.labeling.model.label_model import LabelModel, TrainConfig
from snorkel.utils.config_utils import merge_config

from blocking.files import ModelFile
from blocking.progress import progress_bar
from label_model.buckets import bucket_ids, check_expert_labels, check_label_matrix
from label_model.groups import VoteGroups

MIN_LFS = 3


@contextlib.contextmanager
def _seeded_globals(seed: int) -> Iterator[None]:
    """Seed Python's, numpy's and torch's global generators inside the block, then restore
    them, so that a fit is repeatable without changing anybody else's random numbers."""
    python_state = random.getstate()
    numpy_state = np.random.get_state()  # noqa: NPY002
    with torch.random.fork_rng(devices=[]):
        random.seed(seed)
        np.random.seed(seed)  # noqa: NPY002
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)  # noqa: NPY002


def _real(value: Any) -> bool:
    """Whether value is a finite real number (bools excluded)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)


class PenalizedLabelModel(ModelFile, LabelModel):
    """Snorkel's LabelModel whose fit also takes expert labels (Active WeaSuL, eq. 3-4).

    The loss is Snorkel's matrix-completion loss plus
    ``penalty * sum_i (P(y=1 | L_i) - y_i) ** 2`` over the expert-labelled rows i, with P(y | L)
    computed exactly as `predict_proba` does. ``penalty="auto"`` sets the strength to the largest
    diagonal entry of the completion loss's Hessian at the parameters the first penalized fit
    starts from (the paper's curvature rule), divided by the number of expert labels: the
    penalty's curvature is a sum over the labelled rows, so the undivided rule lets a handful of
    labels (one per bucket, each standing in for the whole bucket) outweigh the completion loss
    and flip LFs that the labels never saw (measured: pool F1 0.73 -> 0.35 after 10 labels on
    the README example, 0.93 with the division). With ``warm_start`` a refit continues from the
    previous parameters instead of a fresh random start.

    With ``lf_direction`` (default) a fit with expert labels keeps every LF vote at least as
    likely under the class it votes for as under the other, P(vote v | y=v) >= P(vote v | y!=v),
    by projecting mu after each step. Without it the completion loss's label-swap symmetry (the
    class prior is uniform) lets a few labels that contradict some buckets flip the whole model:
    on amazon_google 10 random labels turned pool F1 0.28 into 0.13, and inside the loop the
    matcher trained on the flipped soft labels fell to valid F1 0.01-0.17.

    ``cliques`` lists groups of dependent LF columns (e.g. ``[(1, 2)]`` for two thresholds on
    one feature): each group's joint vote is modelled as one source, as Snorkel 0.9 did for
    higher-order cliques. Snorkel's ``get_weights``/``get_conditional_probs`` assume no cliques.

    ``seed`` fixes the random start (0 by default, as for every model here; None draws a fresh
    one). ``progress`` shows a rich bar over the epochs. Every training hyper-parameter lives
    here, `fit` takes data only: ``n_epochs``, ``lr``, ``l2`` and ``optimizer`` ("adam", not
    Snorkel's "sgd": the penalty's gradient grows like 1/mu, and plain SGD steps then oscillate,
    benchmarks/results/label_model_spam.md); ``train_options`` reaches Snorkel's other
    TrainConfig fields (e.g. ``{"prec_init": 0.8}``). `save(path)` /
    `PenalizedLabelModel.load(path)` use the project's one model-file format.
    """

    _fitted_attribute = "mu"
    _PARAMS = ("cardinality", "penalty", "seed", "warm_start", "cliques", "lf_direction",
               "n_epochs", "lr", "l2", "optimizer", "train_options", "progress")
    # Snorkel TrainConfig fields that are constructor parameters here, not train_options
    _TRAIN_PARAMS = ("n_epochs", "lr", "l2", "optimizer", "seed")
    # Snorkel keeps the torch optimizer in self.optimizer, so that parameter is stored aside
    _ATTRIBUTES = {"optimizer": "optimizer_name"}

    def __init__(
        self,
        cardinality: int = 2,
        penalty: float | str = "auto",
        seed: int | None = 0,
        warm_start: bool = True,
        cliques: list[tuple[int, ...]] | None = None,
        lf_direction: bool = True,
        n_epochs: int = 100,
        lr: float = 0.01,
        l2: float = 0.0,
        optimizer: str = "adam",
        train_options: dict[str, Any] | None = None,
        progress: bool = False,
    ) -> None:
        super().__init__(cardinality=cardinality, verbose=False)
        self.penalty = penalty
        self.seed = seed
        self.warm_start = warm_start
        self.cliques = cliques
        self.lf_direction = lf_direction
        self.n_epochs, self.lr, self.l2 = n_epochs, lr, l2
        self.optimizer_name = optimizer
        self.train_options = train_options
        self.progress = progress
        self.penalty_: float | None = None
        self.curvature_: float | None = None

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle; a model file written before a parameter existed gets its default."""
        for name, parameter in inspect.signature(PenalizedLabelModel.__init__).parameters.items():
            if name in self._PARAMS:
                state.setdefault(self._ATTRIBUTES.get(name, name), parameter.default)
        super().__setstate__(state)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters (scikit-learn's contract, so `clone` works)."""
        return {name: getattr(self, self._ATTRIBUTES.get(name, name)) for name in self._PARAMS}

    def set_params(self, **params: Any) -> PenalizedLabelModel:
        """Set constructor parameters (scikit-learn's contract)."""
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"{type(self).__name__} has no parameter {name!r}")
            setattr(self, self._ATTRIBUTES.get(name, name), value)
        return self

    def _validate(self) -> None:
        if self.cardinality != 2:
            raise ValueError(
                "PenalizedLabelModel supports binary labels only (cardinality=2), "
                f"got {self.cardinality}"
            )
        penalty = self.penalty
        if not (penalty == "auto" or (isinstance(penalty, int | float)
                                      and not isinstance(penalty, bool) and penalty >= 0)):
            raise ValueError(f"penalty must be 'auto' or a number >= 0, got {penalty!r}")
        name = type(self).__name__
        if not isinstance(self.n_epochs, int | np.integer) or self.n_epochs < 0:
            raise ValueError(f"{name}: n_epochs must be an integer >= 0, got {self.n_epochs!r}")
        for key, ok, rule in (("lr", _real(self.lr) and self.lr > 0, "> 0"),
                              ("l2", _real(self.l2) and self.l2 >= 0, ">= 0")):
            if not ok:
                raise ValueError(f"{name}: {key} must be a finite number {rule}, "
                                 f"got {getattr(self, key)!r}")
        if self.optimizer_name not in ("adam", "sgd", "adamax"):
            raise ValueError(f"{name}: optimizer must be 'adam', 'sgd' or 'adamax', "
                             f"got {self.optimizer_name!r}")
        options = self.train_options or {}
        if not isinstance(options, Mapping):
            raise TypeError(f"{name}: train_options must be a dict of Snorkel TrainConfig "
                            f"options, got {type(options).__name__}")
        allowed = [f for f in TrainConfig._fields if f not in self._TRAIN_PARAMS]
        for key in options:
            if key in self._TRAIN_PARAMS:
                raise ValueError(f"{name}: {key} is a constructor parameter, not a train option: "
                                 f"{name}({key}=...)")
            if key not in allowed:
                raise ValueError(f"{name}: unknown train option {key!r}; Snorkel's TrainConfig "
                                 f"options are {allowed}")

    def _refuse_fit_options(self, options: Mapping[str, Any]) -> None:
        """Raise a TypeError naming where each keyword that fit got belongs instead."""
        name = type(self).__name__
        for key, value in options.items():
            if key == "Y_dev":
                raise TypeError("pass expert labels as expert_labels={row: label}, not Y_dev")
            if key in ("progress", "progress_bar"):
                where = f"progress is a constructor parameter: {name}(progress=True)"
            elif key in self._PARAMS:
                where = f"{key} is a constructor parameter: {name}({key}={value!r})"
            elif key in TrainConfig._fields:
                where = (f"{key} is a training option: "
                         f"{name}(train_options={{{key!r}: {value!r}}})")
            else:
                where = f"unknown keyword {key!r}; fit takes L, expert_labels and class_balance"
            raise TypeError(f"{name}.fit: {where}")

    def __getstate__(self) -> dict[str, Any]:
        # the bucket and statistics caches of the last pool are not part of the model
        state = super().__getstate__()
        state.pop("_bucket_cache", None)
        state.pop("_stats_cache", None)
        return state

    # ---- statistics ---------------------------------------------------------------------------
    def _buckets(self, L: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """bucket_ids(L), remembered for the last L seen: the loop refits and predicts on the
        same pool after every label, and hashing L is far cheaper than grouping its rows."""
        key = (L.shape, hashlib.blake2b(np.ascontiguousarray(L).data, digest_size=16).digest())
        cached = getattr(self, "_bucket_cache", None)
        if cached is None or cached[0] != key:
            cached = (key, bucket_ids(L))
            self._bucket_cache = cached
        return cached[1]

    def _set_statistics(self, L: np.ndarray) -> None:
        """Overlap matrix O and coverage, computed once per bucket instead of once per row
        (and once per pool: a refit on the same L reuses them)."""
        _, unique, counts = self._buckets(L)
        key = (self._bucket_cache[0], tuple(self.groups_.groups))
        cached = getattr(self, "_stats_cache", None)
        if cached is None or cached[0] != key:
            U = self.groups_.indicators(unique)
            # float32 BLAS: the counts are integers, exact in float32 up to 2**24 rows per cell
            overlaps = torch.from_numpy(U.T @ (U * counts[:, None].astype(np.float32)) / self.n)
            coverage = ((unique != -1) * counts[:, None]).sum(axis=0) / self.n
            cached = (key, overlaps.float(), coverage)
            self._stats_cache = cached
        self.O = cached[1].to(self.config.device)
        self.coverage = cached[2]
        self.d = self.O.shape[0]

    def _build_mask(self) -> None:
        self.mask = torch.from_numpy(self.groups_.block_mask())

    def _init_params(self) -> None:
        if self.groups_.trivial:
            super()._init_params()  # Snorkel's own start, so no-clique fits match Snorkel
            return
        # Snorkel's rule per joint-vote column: P(column | y = its majority vote) from the
        # column's frequency and the prior precision of the group's first LF
        prec = np.broadcast_to(np.asarray(self.train_config.prec_init, dtype=float), (self.m,))
        lps = torch.diag(self.O).cpu().numpy()
        mu_init = np.zeros((self.d, 2))
        for g, members in enumerate(self.groups_.groups):
            cols = np.arange(self.groups_.offsets[g], self.groups_.offsets[g + 1])
            vote = self.groups_.column_vote[cols]
            keep = vote >= 0
            mu_init[cols[keep], vote[keep]] = np.clip(
                lps[cols[keep]] * prec[members[0]] / self.p[vote[keep]], 0, 1
            )
        self.mu_init = torch.from_numpy(mu_init).float()
        self.mu = torch.nn.Parameter(self.mu_init.clone() * np.random.random())  # noqa: NPY002
        self._build_mask()

    def _break_col_permutation_symmetry(self) -> None:
        if self.groups_.trivial:
            super()._break_col_permutation_symmetry()
            return
        # with equal class priors, prefer the labelling under which the LFs are more accurate
        if round(self.p[0], 3) != round(self.p[1], 3):
            return
        mu = self.mu.detach().cpu().numpy()
        vote = self.groups_.column_vote
        cols = np.flatnonzero(vote >= 0)
        if mu[cols, 1 - vote[cols]].sum() > mu[cols, vote[cols]].sum():
            self.mu = torch.nn.Parameter(torch.from_numpy(mu[:, ::-1].copy()).float())

    def _mu_eps(self) -> float:
        if self.train_config.mu_eps is not None:
            return float(self.train_config.mu_eps)
        return float(min(0.01, 1 / 10 ** np.ceil(np.log10(self.n))))

    def _completion_loss(self, mu: torch.Tensor) -> torch.Tensor:
        """Snorkel's matrix-completion loss (paper eq. 1) as a function of mu."""
        loss_1 = torch.norm((self.O - mu @ self.P @ mu.t())[self.mask]) ** 2
        loss_2 = torch.norm(torch.sum(mu @ self.P, 1) - torch.diag(self.O)) ** 2
        return loss_1 + loss_2

    def _match_proba_tensor(
        self, votes: torch.Tensor, mu: torch.Tensor, eps: float
    ) -> torch.Tensor:
        """P(y=1 | L) for one-hot vote rows, the same formula as predict_proba, differentiable."""
        logits = votes @ torch.log(mu.clamp(eps, 1 - eps)) + torch.log(torch.diagonal(self.P))
        # sigmoid of the logit gap equals the 2-class softmax (and is far cheaper in torch on CPU)
        return torch.sigmoid(logits[:, 1] - logits[:, 0])

    def curvature_penalty(self) -> float:
        """Largest diagonal entry of the completion loss's Hessian at the current parameters."""
        mu = self.mu.detach().clone()
        hessian = torch.autograd.functional.hessian(self._completion_loss, mu)
        diag = hessian.reshape(mu.numel(), mu.numel()).diagonal()
        return float(diag.max())

    # ---- fitting ------------------------------------------------------------------------------
    def fit(  # type: ignore[override]
        self,
        L: np.ndarray,
        expert_labels: Mapping[int, int] | None = None,
        class_balance: list[float] | np.ndarray | None = None,
        **refused: Any,
    ) -> PenalizedLabelModel:
        """Fit on L (n, m) in {-1, 0, 1} and expert labels {row: 0/1}; returns self.

        Data only: a training option passed here is refused with a TypeError naming the
        constructor parameter to use. The global random state of Python, numpy and torch is
        left as it was. A refit warm-starts from the previous parameters.
        """
        self._refuse_fit_options(refused)
        self._validate()
        L = check_label_matrix(L, "L", min_lfs=MIN_LFS)
        labels = check_expert_labels(expert_labels, L.shape[0])
        if L.shape[0] == 0:
            raise ValueError("L has no rows: nothing to fit")
        self.groups_ = VoteGroups(L.shape[1], [tuple(c) for c in self.cliques or []])
        previous = self.mu.detach().clone() if self._can_warm_start(L.shape[1]) else None

        seed = self.seed
        if seed is None:
            seed = int(np.random.default_rng().integers(1_000_000))
        # merge_config rewrites nested dicts in place: give it a copy of train_options
        self.train_config = merge_config(TrainConfig(), {
            **copy.deepcopy(self.train_options or {}), "optimizer": self.optimizer_name,
            "n_epochs": self.n_epochs, "lr": self.lr, "l2": self.l2, "seed": seed})
        # Snorkel's _init_params draws its random start from numpy's global generator: seed
        # the globals for the fit and give them back unchanged
        with _seeded_globals(self.train_config.seed):
            with progress_bar(self.progress) as bar:
                return self._fit_seeded(L, labels, class_balance, previous, bar)

    def _fit_seeded(self, L, labels, class_balance, previous, bar) -> PenalizedLabelModel:
        self._set_logger()
        self._set_constants(L)
        self._set_class_balance(None if class_balance is None else list(class_balance), None)
        self._set_statistics(L)
        self._init_params()
        if previous is not None:
            self.mu = torch.nn.Parameter(previous.to(self.config.device))
        self.train()
        self.to(self.config.device)
        self.mu_init = self.mu_init.to(self.config.device)
        self._set_optimizer()
        self._set_lr_scheduler()

        eps = self._mu_eps()
        strength = self._resolve_penalty(len(labels)) if labels else 0.0
        rows = np.fromiter(labels.keys(), dtype=np.int64, count=len(labels))
        votes = torch.from_numpy(self.groups_.indicators(L[rows])).to(self.config.device)
        target = torch.tensor(list(labels.values()), dtype=torch.float32, device=self.config.device)

        task = bar.add_task(type(self).__name__, total=self.train_config.n_epochs, status="")
        completion = penalty_term = torch.zeros(())
        for epoch in range(self.train_config.n_epochs):
            self.optimizer.zero_grad()
            completion = self._completion_loss(self.mu) + self._loss_l2(l2=self.train_config.l2)
            loss = completion
            if labels:
                proba = self._match_proba_tensor(votes, self.mu, eps)
                penalty_term = strength * torch.sum((proba - target) ** 2)
                loss = loss + penalty_term
            if torch.isnan(loss):
                raise RuntimeError("label model loss is NaN: lower the learning rate (lr=...)")
            loss.backward()
            self.optimizer.step()
            if labels:
                # the penalty's gradient grows like 1/mu: keep mu a probability so a step can't
                # throw it out of range (without labels this is Snorkel's unprojected descent)
                with torch.no_grad():
                    self.mu.clamp_(0.0, 1.0)
                    if self.lf_direction:
                        self._project_direction()
            self._update_lr_scheduler(epoch)
            if self.progress:
                bar.update(task, advance=1, status=f"loss {float(loss.detach()):.4f}")
        self.completion_loss_ = float(completion.detach())
        self.penalty_loss_ = float(penalty_term.detach())
        self.expert_labels_ = labels
        self._clamp_params()
        self._break_col_permutation_symmetry()
        self.eval()
        return self

    def _project_direction(self) -> None:
        """Where a column's P(vote | other class) exceeds P(vote | voted class), set both to
        their mean: the nearest mu (in squared distance) that keeps the LF's direction."""
        vote = self.groups_.column_vote
        cols = np.flatnonzero(vote >= 0)
        # mu's entries as a flat view: one index per (column, class), as tensors on mu's device
        right, wrong = (torch.as_tensor(cols * 2 + c, device=self.mu.device)
                        for c in (vote[cols], 1 - vote[cols]))
        flat = self.mu.data.view(-1)
        at_right, at_wrong = flat[right], flat[wrong]
        flipped = at_wrong > at_right
        if not bool(flipped.any()):
            return
        mean = ((at_wrong + at_right) / 2)[flipped]
        flat[right[flipped]] = mean
        flat[wrong[flipped]] = mean

    def _can_warm_start(self, m: int) -> bool:
        return (
            self.warm_start
            and hasattr(self, "mu")
            and getattr(self, "m", None) == m
            and self.mu.shape[0] == self.groups_.d
        )

    def _resolve_penalty(self, n_labels: int) -> float:
        """Per-label penalty strength: the given number, or for "auto" the curvature (measured
        once, at the first penalized fit) shared out over the n_labels expert labels."""
        if self.penalty != "auto":
            self.penalty_ = float(self.penalty)
            return self.penalty_
        if self.curvature_ is None:
            self.curvature_ = self.curvature_penalty()
        self.penalty_ = self.curvature_ / n_labels
        return self.penalty_

    # ---- inference ----------------------------------------------------------------------------
    def _check_fitted(self, L: np.ndarray) -> np.ndarray:
        if not hasattr(self, "mu"):
            raise NotFittedError("PenalizedLabelModel is not fitted yet: call fit(L) first")
        L = check_label_matrix(L, "L")
        if L.shape[1] != self.m:
            raise ValueError(f"L has {L.shape[1]} LF columns but the model was fit on {self.m}")
        return L

    def predict_proba(self, L: np.ndarray) -> np.ndarray:
        """P(y | L_i) for each row, (n, 2): Snorkel's formula, evaluated once per bucket."""
        L = self._check_fitted(L)
        ids, unique, _ = self._buckets(L)
        log_mu = np.log(self.mu.detach().cpu().numpy().astype(np.float64))
        logits = self.groups_.indicators(unique).astype(np.float64) @ log_mu + np.log(self.p)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        return proba[ids]

    def lf_precision(self, L: np.ndarray) -> np.ndarray:
        """Estimated P(y = the LF's vote | the LF fires) per LF, (m,), weighted by L's votes."""
        L = self._check_fitted(L)
        mu = self.mu.detach().cpu().numpy().astype(np.float64)
        # P(lf = vote | y), summing a clique's joint-vote columns; then P(lf = vote, y)
        joint = np.einsum("jvc,cy->jvy", self.groups_.lf_vote_map, mu) * self.p[None, None, :]
        vote_mass = joint.sum(axis=2)  # P(lf = vote)
        precision = np.stack([joint[:, 0, 0], joint[:, 1, 1]], axis=1) / vote_mass
        counts = np.stack([(L == 0).sum(axis=0), (L == 1).sum(axis=0)], axis=1).astype(float)
        weights = np.where(counts.sum(axis=1, keepdims=True) > 0, counts, vote_mass)
        return (precision * weights).sum(axis=1) / weights.sum(axis=1)

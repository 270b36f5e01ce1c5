"""The combined weak/active loop: LFs -> penalized label model -> in-loop matcher -> risk ->
selector -> oracle -> label store, repeated until the budget, the person or a stopping rule ends
it; then, off the person's path, the final (deep) matcher.

Data flows one way. The loop reads the store once at start (to resume), then only appends to
it: it is the store's only writer. An oracle only answers `ask(view) -> Answer`. Every fitted
round is a `RoundState`, a snapshot that selection reads while the next round may be fitting
in a background thread (`background=True`): batch k+1 is chosen from the model fitted on the
answers up to batch k-1, so a person never waits for a fit, and the picks do not depend on how
fast anybody answers (the same seed gives the same questions).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from active.base import PoolState, Selector
from active.oracles import Oracle, PairView, SessionProgress, as_oracle
from active.soft_weight import SOFT_WEIGHTS, label_model_trust, soft_weight_losses
from active.stopping import StopRule, parse_stop_rule
from active.store import AnswerLog, LabelStore, as_store
from blocking.answers import Answer, to_answer
from blocking.metrics import best_threshold, precision_recall_f1
from blocking.pairs import attribute_names, pair_fingerprints, pair_keys

# selectors that read PoolState.risk; others may set a `uses_risk` attribute
_RISK_SELECTORS = ("hybrid", "risk_kmedoids")


def _f1(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1 of 0/1 predictions against 0/1 gold (NaN gold rows ignored)."""
    known = ~np.isnan(gold)
    return precision_recall_f1(gold[known].astype(int), pred[known].astype(int))


def calibrate_threshold(proba: np.ndarray, labels: np.ndarray, min_labels: int = 30,
                        min_per_class: int = 5) -> float:
    """The P(match) cut-off with the best F1 on expert labels (`blocking.best_threshold`); 0.5
    stays while there are fewer than `min_labels` labels or `min_per_class` of either class
    (actively chosen labels are few and skewed: a cut-off fit on them is noisy)."""
    proba, labels = np.asarray(proba, dtype=float), np.asarray(labels, dtype=float)
    n_match = int(labels.sum())
    if labels.size < min_labels or min(n_match, labels.size - n_match) < min_per_class:
        return 0.5
    return best_threshold(labels.astype(int), proba, tolerance=1e-12)[0]


@dataclass(frozen=True)
class LabelSnapshot:
    """The expert labels at one moment in the order answered, with what the F1 estimate needs
    of the audit pairs among them: inclusion probability and frame (-1 for selector-chosen)."""

    positions: np.ndarray
    labels: np.ndarray
    inclusion_prob: np.ndarray
    frame: np.ndarray

    @classmethod
    def of(cls, log: AnswerLog) -> LabelSnapshot:
        """The snapshot of an answer log; an audit's frame (answers standing at its draw) is
        recounted in expert labels, as the 'unsure' answers carry no label."""
        order = np.asarray(log.order, dtype=np.int64)
        known = np.array([log.labels[i] is not None for i in order], dtype=bool)
        before = np.concatenate([[0], np.cumsum(known)])
        audit = [log.audit.get(int(i)) for i in order[known]]
        return cls(
            positions=order[known],
            labels=np.array([log.labels[i] for i in order[known]], dtype=np.int64),
            inclusion_prob=np.array([1.0 if a is None else a[0] for a in audit]),
            frame=np.array([-1 if a is None else before[min(a[1], order.size)] for a in audit],
                           dtype=np.int64),
        )

    @classmethod
    def from_labels(cls, labels: dict[int, int]) -> LabelSnapshot:
        """Labels all chosen with certainty (no audit)."""
        k = len(labels)
        return cls(np.fromiter(labels, dtype=np.int64, count=k),
                   np.fromiter(labels.values(), dtype=np.int64, count=k), np.ones(k),
                   np.full(k, -1, dtype=np.int64))

    @property
    def audit(self) -> np.ndarray:
        """Which labels an audit drew."""
        return self.frame >= 0

    def same_as(self, other: LabelSnapshot | None) -> bool:
        """Whether `other` holds the same answers (positions, labels and audit draws)."""
        return other is not None and all(
            np.array_equal(getattr(self, f), getattr(other, f))
            for f in ("positions", "labels", "inclusion_prob", "frame"))

    def training(self) -> dict[int, int]:
        """The labels the models learn from: the audit's are kept out, so that the matcher
        being measured never saw the pairs that measure it."""
        keep = ~self.audit
        return dict(zip(self.positions[keep].tolist(), self.labels[keep].tolist(), strict=True))


def _estimate_f1(scores: np.ndarray | None, threshold: float, snapshot: LabelSnapshot,
                 use_audit: bool = True, min_labels: int = 10):
    """F1 of `scores >= threshold` on the whole pool with a 95% interval, from the selector's
    labels (counted exactly), the scores recalibrated on the labels, and the audits' labels
    weighted by their inclusion probabilities (`evaluation.estimate_f1`); None with fewer than
    `min_labels` labels or one class only."""
    keep = np.ones(snapshot.positions.size, dtype=bool) if use_audit else ~snapshot.audit
    ys = snapshot.labels[keep]
    if scores is None or ys.size < min_labels or ys.min() == ys.max():
        return None
    from evaluation import estimate_f1

    return estimate_f1(scores >= threshold, scores, snapshot.positions[keep], ys,
                       snapshot.inclusion_prob[keep],
                       frame=np.where(snapshot.audit, snapshot.frame, 0)[keep])


def estimate_columns(scores: np.ndarray | None, threshold: float,
                     snapshot: LabelSnapshot) -> dict:
    """A round's history columns for the live estimate (f1_estimate, f1_low, f1_high) and,
    beside it, the one from the selector's labels alone (f1_noaudit...), and n_audit."""
    row: dict = {"n_audit": int(snapshot.audit.sum())}
    for prefix, use_audit in (("f1", True), ("f1_noaudit", False)):
        result = _estimate_f1(scores, threshold, snapshot, use_audit)
        if result is not None:
            row.update({f"{prefix}_estimate" if use_audit else prefix: result.estimate,
                        f"{prefix}_low": result.interval[0], f"{prefix}_high": result.interval[1]})
    return row


def default_matcher(seed: int):
    """The loop's in-loop matcher: boosting held monotone in every similarity (and l2) because
    its labels are few; chosen by benchmarks/active_loop.py, results/active_loop_monotone.md."""
    from matchers import SimilarityMatcher

    return SimilarityMatcher(seed=seed, monotonic=True, l2_regularization=1.0)


def _resolve_selector(selector: str | Selector, seed: int) -> Selector:
    if isinstance(selector, Selector):
        return selector
    if isinstance(selector, str):
        from active.selectors import make_selector

        return make_selector(selector, seed=seed)
    raise TypeError(
        f"selector: expected a Selector or a name such as 'hybrid', got {type(selector).__name__}"
    )


def _comparison_set(held: np.ndarray, labels: dict[int, int],
                    snapshot: LabelSnapshot) -> pd.DataFrame:
    """The labels that judge the final matcher against the in-loop one: the held-out
    selector's labels (weight 1, each stands for itself) and the audit's, each weighted by its
    draw's share of the audit over its inclusion probability (it stands for the unlabelled
    pairs it was drawn from)."""
    audit = snapshot.audit
    draws, draw_of, sizes = np.unique(snapshot.frame[audit], return_inverse=True,
                                      return_counts=True)
    share = sizes / max(audit.sum(), 1)
    return pd.DataFrame({
        "position": np.concatenate([held, snapshot.positions[audit]]),
        "label": np.concatenate([[labels[i] for i in held], snapshot.labels[audit]]).astype(int),
        "weight": np.concatenate([np.ones(held.size),
                                  share[draw_of] / snapshot.inclusion_prob[audit]]),
    })


def _paired_f1_bootstrap(compared: pd.DataFrame, seed: int, n_resamples: int = 2000
                         ) -> tuple[float, float, float]:
    """Weighted F1 of the `final` and `in_loop` predictions of `compared` and the share of
    paired bootstrap resamples (seeded) in which the final matcher's F1 is strictly higher."""
    y, w = compared["label"].to_numpy(float), compared["weight"].to_numpy(float)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(13,)))
    counts = rng.multinomial(y.size, np.full(y.size, 1.0 / y.size), size=n_resamples)
    counts = np.vstack([np.ones(y.size), counts])  # row 0: the sample itself

    def f1(pred: np.ndarray) -> np.ndarray:
        tp, fp, fn = (counts @ (w * v) for v in (pred * y, pred * (1 - y), (1 - pred) * y))
        return np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros_like(tp),
                         where=2 * tp + fp + fn > 0)

    final = f1(compared["final"].to_numpy(float))
    in_loop = f1(compared["in_loop"].to_numpy(float))
    return float(final[0]), float(in_loop[0]), float(np.mean(final[1:] > in_loop[1:]))


@dataclass
class RoundState:
    """What one fitted round knows: the models' outputs on the pool, frozen for selection."""

    labels: dict[int, int]
    lm_proba: np.ndarray | None = None
    matcher_proba: np.ndarray | None = None
    embeddings: np.ndarray | None = None
    risk: np.ndarray | None = None
    risk_model: object | None = None
    threshold: float = 0.5
    row: dict = field(default_factory=dict)
    snapshot: LabelSnapshot | None = None  # the labels behind the round's F1 estimate


class ActiveLoop:
    """Weak supervision and active learning in one loop; every answer is stored before use.

    Two matchers, two jobs: `matcher` (default: `default_matcher`, a monotone
    `SimilarityMatcher`) is refitted on every batch and must take seconds; `final_matcher` (e.g.
    `RNNMatcher`, default none) is trained once at the end (`finish`, called by `run`) on every
    probabilistic and expert label, and replaces the in-loop matcher only if it does better on
    expert labels it did not train on, with confidence and enough audit labels (the report is
    `loop.final`). `lfs` may be empty (active learning without LFs); `run(0)` is weak
    supervision alone. Answers already in `store` are used, not asked again, so a killed run
    resumes where it was. Matches are pairs scored at least 0.5, unless `calibrate=True`, which
    cuts at the best F1 on the expert labels (scored as the matcher saw them at selection). The
    matcher learns the label model's soft labels at weight `soft_weight` beside the expert
    labels at `expert_weight`. By default (`soft_weight='skill'`) that weight is set every round
    from the label model's Brier skill on every answer so far (`label_model_trust`, counting
    `skill_prior_labels` answers of full trust beside them), so LFs that explain the expert's
    answers poorly lose their say as answers arrive (benchmarks/results/active_loop_skill.md);
    a number fixes it; `soft_weight='cv'` chooses it from `SOFT_WEIGHTS` a few times a run by
    cross-validated log-loss on the expert training labels (never the audit's; mixed on the
    benchmarks: benchmarks/results/active_loop_softweight.md). """

    def __init__(
        self,
        pairs: pd.DataFrame,
        lfs: Sequence | None,
        oracle: Oracle | Callable[[int], int | None],
        selector: str | Selector = "hybrid",
        matcher=None,
        final_matcher=None,
        label_model=None,
        batch_size: int = 10,
        store: LabelStore | str | Path | None = None,
        gold: Sequence | np.ndarray | None = None,
        eval_pairs: pd.DataFrame | None = None,
        eval_labels: Sequence | np.ndarray | None = None,
        expert_weight: float = 5.0,
        soft_weight: float | str = "skill",
        skill_prior_labels: float = 20.0,
        pseudo_labels: bool = False,
        pseudo_threshold: float = 0.95,
        pseudo_weight: float = 0.5,
        stop_when_stable: float | None = None,
        stop_when: str | StopRule | None = None,
        calibrate: bool = False,
        background: bool = False,
        audit: int = 2,
        L: np.ndarray | None = None,
        on_status: Callable[[str], None] | None = None,
        seed: int = 0,
    ) -> None:
        if not isinstance(pairs, pd.DataFrame) or len(pairs) == 0:
            raise ValueError("ActiveLoop: pairs must be a non-empty DataFrame of record pairs")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"ActiveLoop: batch_size must be a positive integer, got {batch_size!r}"
            )
        self.pairs = pairs.reset_index(drop=True)
        self.attributes = tuple(attribute_names(self.pairs, where="ActiveLoop pairs"))
        self.keys = pair_keys(self.pairs)
        self.lfs = list(lfs or [])
        self.oracle = as_oracle(oracle)
        self.selector = _resolve_selector(selector, seed)
        self.matcher = matcher if matcher is not None else default_matcher(seed)
        self.final_matcher = final_matcher
        self.label_model = label_model
        self.batch_size = batch_size
        self.store = as_store(store)
        self.log = AnswerLog(self.store, self.keys, pair_fingerprints(self.pairs))
        self.gold = self._check_gold(gold, len(self.pairs), "gold")
        self.eval_pairs = eval_pairs
        self.eval_labels = None
        if eval_pairs is not None:
            self.eval_labels = self._check_gold(eval_labels, len(eval_pairs), "eval_labels")
        self.expert_weight = float(expert_weight)
        if not (soft_weight in ("cv", "skill") or (isinstance(soft_weight,
                                                              int | float | np.floating)
                                        and not isinstance(soft_weight, bool)
                                        and 0 <= soft_weight < np.inf)):
            raise ValueError(
                f"ActiveLoop: soft_weight must be a non-negative number (the label model's "
                f"soft labels' weight; expert labels weigh expert_weight), 'cv' (chosen from "
                f"{SOFT_WEIGHTS} by cross-validation on the expert labels) or 'skill' (the label "
                f"model's Brier skill on the expert labels), got {soft_weight!r}"
            )
        self.soft_weight = soft_weight
        if isinstance(skill_prior_labels, bool) or not (
                isinstance(skill_prior_labels, int | float | np.number)
                and 0 < skill_prior_labels < np.inf):
            raise ValueError(
                f"ActiveLoop: skill_prior_labels must be a positive number (how many answers "
                f"the label model's trust counts as before any is measured), got "
                f"{skill_prior_labels!r}"
            )
        self.skill_prior_labels = float(skill_prior_labels)
        self._soft_choice: tuple[int, float] = (0, 1.0)  # (labels when chosen, weight)
        self.pseudo_labels = pseudo_labels
        self.pseudo_threshold = pseudo_threshold
        self.pseudo_weight = pseudo_weight
        self.stop_when_stable = stop_when_stable
        self.stop_when = (parse_stop_rule(stop_when) if isinstance(stop_when, str)
                          else stop_when)
        self.stop_reason: str | None = None
        self.calibrate = calibrate
        self.background = background
        if isinstance(audit, bool) or not isinstance(audit, int | np.integer) or audit < 0:
            raise ValueError(
                f"ActiveLoop: audit must be a non-negative integer (audit pairs per batch; "
                f"0 = none), got {audit!r}"
            )
        self.audit = int(audit)
        self.on_status = on_status
        self.seed = seed
        self._L = L
        self.iteration = 0
        self.history: list[dict] = []
        self.state: RoundState | None = None
        self.lm_proba_initial: np.ndarray | None = None
        self.final: dict | None = None
        self._scorer = None
        self._stable_rounds = 0
        self._bucket_kl: list[dict] = []
        self._selected_at: dict[int, dict] = {}
        self.featurizer = None
        self._pool_features: pd.DataFrame | None = None

    @staticmethod
    def _check_gold(gold, n: int, name: str) -> np.ndarray | None:
        if gold is None:
            return None
        arr = np.asarray(gold, dtype=float).ravel()
        if arr.shape[0] != n:
            raise ValueError(f"ActiveLoop: {name} has {arr.shape[0]} labels for {n} pairs")
        return arr

    def _status(self, message: str) -> None:
        self._status_text = message
        if self.on_status is not None:
            self.on_status(message)

    # state --------------------------------------------------------------------------------

    @property
    def L(self) -> np.ndarray:
        """The LF votes on the pool, computed once."""
        if self._L is None:
            if self.lfs:
                from labeling_functions import apply_lfs

                self._L = np.asarray(apply_lfs(self.lfs, self.pairs), dtype=np.int8)
            else:
                self._L = np.zeros((len(self.pairs), 0), dtype=np.int8)
        if self._L.shape[0] != len(self.pairs):
            raise ValueError(
                f"ActiveLoop: L has {self._L.shape[0]} rows for {len(self.pairs)} pairs"
            )
        return self._L

    def _share_featurizer(self) -> None:
        """Featurize the pool once: a `PairFeaturizer` fitted on it (and caching every pair it
        has seen) is handed to the in-loop and final matchers when they take one and were given
        none, and to the risk model, so a round never recomputes a pair's features. A fitted
        featurizer given to the matcher (e.g. fitted on every candidate, the pool being a
        sample of them) is the one shared. The loop's own puts values that moved into the
        title back first (`restore=True`; chosen in benchmarks/results/active_loop_dirty.md)."""
        if self.featurizer is not None:
            return
        from labeling_functions.featurizer import PairFeaturizer

        params = self.matcher.get_params() if hasattr(self.matcher, "get_params") else {}
        given = params.get("featurizer")
        if isinstance(given, PairFeaturizer) and hasattr(given, "columns_"):
            self.featurizer = given
        else:
            self.featurizer = PairFeaturizer(restore=True).fit(self.pairs)
        for matcher in (self.matcher, self.final_matcher):
            params = matcher.get_params() if hasattr(matcher, "get_params") else {}
            if "featurizer" in params and params["featurizer"] is None:
                matcher.set_params(featurizer=self.featurizer)

    def _shared_features(self, model) -> pd.DataFrame | None:
        """The pool's features from the shared featurizer, computed once per loop, if `model`
        (a fitted matcher or risk model) uses that featurizer; else None. A round then reads
        them instead of having the featurizer look every pool pair up in its cache again."""
        if self.featurizer is None or getattr(model, "featurizer_", None) is not self.featurizer:
            return None
        if self._pool_features is None:
            self._pool_features = self.featurizer.transform(self.pairs)
        return self._pool_features

    def _pool_proba(self) -> np.ndarray:
        """The in-loop matcher's P(match) on the pool (from the shared features when it can
        take them: the same as `match_proba`)."""
        features = self._shared_features(self.matcher)
        if features is None or not hasattr(self.matcher, "proba_of_features"):
            return np.asarray(self.matcher.match_proba(self.pairs), dtype=float)
        return np.asarray(self.matcher.proba_of_features(features), dtype=float)

    def _fit_matcher(self, rows: np.ndarray, y: np.ndarray, w: np.ndarray) -> None:
        """Fit the in-loop matcher on pool `rows`; one that takes `features` and was given the
        shared featurizer reads their rows of the pool's features (the same fit)."""
        pairs = self.pairs.iloc[rows]
        given = getattr(self.matcher, "featurizer", None)
        if (given is None or given is not self.featurizer
                or "features" not in inspect.signature(self.matcher.fit).parameters):
            self.matcher.fit(pairs, y, sample_weight=w)
            return
        if self._pool_features is None:
            self._pool_features = self.featurizer.transform(self.pairs)
        self.matcher.fit(pairs, y, sample_weight=w, features=self._pool_features.iloc[rows])

    def _pool_embeddings(self) -> np.ndarray:
        """The in-loop matcher's embeddings of the pool (from the shared features when it can
        take them: the same as `embed`)."""
        features = self._shared_features(self.matcher)
        if features is None or not hasattr(self.matcher, "embed_of_features"):
            return self.matcher.embed(self.pairs)
        return self.matcher.embed_of_features(features)

    def _fresh_matcher(self):
        """An unfitted copy of the in-loop matcher that keeps the shared fitted featurizer
        (a plain clone would refit one, and its cache, on its training rows)."""
        from sklearn.base import clone

        fresh = clone(self.matcher)
        if "featurizer" in fresh.get_params() and self.featurizer is not None:
            fresh.set_params(featurizer=self.featurizer)
        return fresh

    def _quick_matcher(self, max_iter: int = 60):
        """A fresh in-loop matcher for the soft-weight choice's many small fits: a boosting
        matcher (with `max_iter` and `learning_rate`) gets fewer, larger steps."""
        fresh = self._fresh_matcher()
        params = fresh.get_params()
        if params.get("max_iter", 0) > max_iter and "learning_rate" in params:
            fresh.set_params(max_iter=max_iter, learning_rate=min(
                1.0, params["learning_rate"] * params["max_iter"] / max_iter))
        return fresh

    def answers(self) -> dict[int, int | None]:
        """Pool position -> answer (None = unsure), every session's."""
        return dict(self.log.labels)

    def expert_labels(self) -> dict[int, int]:
        """Pool position -> 0/1 for every answer that is not 'unsure'."""
        return self.log.expert_labels()

    def _snapshot(self) -> LabelSnapshot:
        return LabelSnapshot.of(self.log)

    # one round of model fitting -----------------------------------------------------------

    def _fit_label_model(self, labels: dict[int, int]) -> np.ndarray | None:
        if self.L.shape[1] == 0:
            return None
        from label_model import PenalizedLabelModel

        if self.label_model is None:
            self.label_model = PenalizedLabelModel(cardinality=2, penalty="auto", seed=self.seed)
        if self.lm_proba_initial is None and labels:  # a resumed run: fit the LFs alone too
            initial = PenalizedLabelModel(cardinality=2, penalty="auto", seed=self.seed)
            self.lm_proba_initial = initial.fit(self.L).predict_proba(self.L)[:, 1]
        proba = self.label_model.fit(self.L, expert_labels=labels).predict_proba(self.L)[:, 1]
        if self.lm_proba_initial is None:
            self.lm_proba_initial = proba
        return proba

    def _training_set(self, labels: dict[int, int], lm_proba: np.ndarray | None,
                      previous: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, targets and weights for a matcher: soft labels where any LF votes, expert
        labels (weighted) where answered, optionally confident pseudo-labels (CEAL)."""
        n = len(self.pairs)
        y = np.full(n, np.nan)
        w = np.zeros(n)
        if lm_proba is not None:
            voted = (self.L != -1).any(1)
            y[voted], w[voted] = lm_proba[voted], self._soft_weight_now()
        if self.pseudo_labels and previous is not None:
            t = self.pseudo_threshold
            confident = (previous >= t) | (previous <= 1 - t)
            if lm_proba is not None:  # only where the label model agrees
                confident &= (previous >= 0.5) == (lm_proba >= 0.5)
            y[confident] = (previous[confident] >= 0.5).astype(float)
            w[confident] = self.pseudo_weight
        if labels:
            rows = np.fromiter(labels, dtype=np.int64)
            y[rows] = np.fromiter(labels.values(), dtype=float)
            w[rows] = self.expert_weight
        rows = np.flatnonzero(w > 0)
        return rows, y[rows], w[rows]

    def _soft_weight_now(self) -> float:
        """The soft labels' weight: the fixed `soft_weight`, or the latest measured ('skill')
        or cross-validated ('cv') one (1 until there is something to measure)."""
        if self.soft_weight in ("cv", "skill"):
            return self._soft_choice[1]
        return float(self.soft_weight)

    def _choose_soft_weight(self, labels: dict[int, int], lm_proba: np.ndarray | None,
                            row: dict, min_labels: int = 30, min_per_class: int = 5,
                            growth: float = 1.5) -> None:
        """With `soft_weight='cv'`, re-choose the soft labels' weight once the expert labels
        have grown by `growth` since the last choice (a few times a run: each choice costs
        about one refit), from cross-validated log-loss on those labels alone."""
        if self.soft_weight != "cv" or lm_proba is None:
            return
        n = len(labels)
        n_match = sum(labels.values())
        if (n < max(min_labels, growth * self._soft_choice[0])
                or min(n_match, n - n_match) < min_per_class):
            row["soft_weight"] = self._soft_choice[1]
            return
        t0 = time.perf_counter()
        soft = np.flatnonzero((self.L != -1).any(1))
        losses = soft_weight_losses(self._quick_matcher, self.pairs, labels, soft,
                                    lm_proba[soft], self.expert_weight, seed=self.seed)
        self._soft_choice = (n, min(losses, key=losses.get))
        row.update(soft_weight=self._soft_choice[1], t_soft_weight=time.perf_counter() - t0,
                   **{f"soft_loss_{c:g}": v for c, v in losses.items()})

    def _measure_soft_weight(self, snapshot: LabelSnapshot, lm_proba: np.ndarray | None,
                             row: dict) -> None:
        """With `soft_weight='skill'`, set the soft labels' weight from the label model's
        Brier skill on every expert answer so far (`label_model_trust`; the audit's answers,
        drawn at random and kept out of the label model, measure it without bias)."""
        if self.soft_weight != "skill" or lm_proba is None:
            return
        trust = label_model_trust(lm_proba[snapshot.positions], snapshot.labels,
                                  self.skill_prior_labels)
        self._soft_choice = (snapshot.positions.size, trust)
        row["soft_weight"] = trust

    def _fit_risk(self, labels: dict[int, int], matcher_proba: np.ndarray):
        ys = np.fromiter(labels.values(), dtype=float, count=len(labels))
        if len(labels) < 4 or ys.min() == ys.max():
            return None, None
        from risk import RiskModel

        rows = np.fromiter(labels, dtype=np.int64)
        # Out-of-sample matcher scores: P(match) when each pair was selected, before training
        # on its label; pairs labelled without a recorded score fall back to the current one.
        at_selection = np.array([self._selected_at.get(int(i), {}).get("matcher_proba", np.nan)
                                 for i in rows], dtype=float)
        proba = np.where(np.isnan(at_selection), matcher_proba[rows], at_selection)
        L = self.L if self.L.shape[1] else None
        lf_precision = None
        if L is not None and self.label_model is not None:
            lf_precision = self.label_model.lf_precision(self.L)
        model = RiskModel(lfs=self.lfs or None, featurizer=self.featurizer, seed=self.seed).fit(
            self.pairs.iloc[rows], ys, proba, L=None if L is None else L[rows],
            lf_precision=lf_precision,
            features=None if self._pool_features is None else self._pool_features.iloc[rows],
        )
        if not model.rules_:
            return None, None  # no LF and no mined rule yet: k-medoids weighs by the doubt
        features = self._shared_features(model)
        return model, np.asarray(model.risk(self.pairs, matcher_proba, L=L, features=features),
                                 dtype=float)

    def _metrics(self, row: dict, state: RoundState) -> None:
        if self.gold is not None:
            if state.lm_proba is not None:
                p, r, f = _f1(state.lm_proba >= 0.5, self.gold)
                row.update(lm_precision=p, lm_recall=r, lm_f1=f)
            if state.matcher_proba is not None:
                p, r, f = _f1(state.matcher_proba >= state.threshold, self.gold)
                row.update(matcher_precision=p, matcher_recall=r, matcher_f1=f)
        if self.eval_pairs is not None and state.matcher_proba is not None:
            scores = np.asarray(self.matcher.match_proba(self.eval_pairs), dtype=float)
            p, r, f = _f1(scores >= state.threshold, self.eval_labels)
            row.update(eval_precision=p, eval_recall=r, eval_f1=f)

    def _estimate(self, row: dict, state: RoundState, snapshot: LabelSnapshot) -> None:
        row.update(estimate_columns(state.matcher_proba, state.threshold, snapshot))

    def f1_estimate(self):
        """The output's F1 on the whole pool with a 95% interval (an `evaluation.F1Estimate`)
        from every expert label, audits included, or None with fewer than 10 labels or only
        one class."""
        return _estimate_f1(self.matcher_proba, self.threshold, self._snapshot())

    def _threshold(self, labels: dict[int, int]) -> float:
        # Off by default: actively chosen labels crowd the boundary, and the cut-off fitted on
        # them lost 0.1-1.3 F1 points against 0.5 on the valid split (active_loop_notes.md).
        if not self.calibrate or not labels:
            return 0.5
        rows = [i for i in labels if "matcher_proba" in self._selected_at.get(i, {})]
        at_selection = np.array([self._selected_at[i]["matcher_proba"] for i in rows])
        ys = np.array([labels[i] for i in rows], dtype=float)
        return calibrate_threshold(at_selection, ys)

    def fit_round(self, labels: dict[int, int] | None = None,
                  previous: RoundState | None = None,
                  label_model_only: bool = False,
                  snapshot: LabelSnapshot | None = None) -> RoundState:
        """Fit label model, in-loop matcher and risk model on `labels` (default: every expert
        label so far but the audit's); return the round's frozen state, its history row
        included. `label_model_only` stops after the label model (a first question in
        seconds); `snapshot` (taken with `labels`) feeds the F1 estimate."""
        if snapshot is None:
            snapshot = self._snapshot() if labels is None else LabelSnapshot.from_labels(labels)
        labels = snapshot.training() if labels is None else dict(labels)
        self._share_featurizer()
        row: dict = {"iteration": self.iteration, "n_labels": snapshot.positions.size,
                     "n_answers": len(self.log)}
        t0 = time.perf_counter()
        lm_proba = self._fit_label_model(labels)
        state = RoundState(labels=labels, lm_proba=lm_proba)
        self._record_bucket_kl(state)
        t1 = time.perf_counter()
        before = None if previous is None else previous.matcher_proba
        if not label_model_only:
            self._choose_soft_weight(labels, lm_proba, row)
            self._measure_soft_weight(snapshot, lm_proba, row)
        rows, y, w = self._training_set(labels, lm_proba, before)
        if label_model_only:
            rows = rows[:0]
        if rows.size and (self.L.shape[1] or np.unique(y).size == 2):
            self._fit_matcher(rows, y, w)
            state.matcher_proba = self._pool_proba()
            if hasattr(self.matcher, "embed"):
                state.embeddings = np.asarray(self._pool_embeddings(), dtype=np.float32)
        elif previous is not None:  # nothing to learn from yet: keep what there was
            state.matcher_proba, state.embeddings = previous.matcher_proba, previous.embeddings
        t2 = time.perf_counter()
        uses_risk = getattr(self.selector, "uses_risk", self.selector.name in _RISK_SELECTORS)
        if uses_risk and state.matcher_proba is not None:
            state.risk_model, state.risk = self._fit_risk(labels, state.matcher_proba)
        t3 = time.perf_counter()
        state.threshold = self._threshold(labels)
        if before is not None and state.matcher_proba is not None:
            changed = (before >= previous.threshold) != (state.matcher_proba >= state.threshold)
            row["changed"] = float(np.mean(changed))
        row.update(threshold=state.threshold, t_label_model=t1 - t0, t_matcher=t2 - t1,
                   t_risk=t3 - t2)
        state.snapshot = snapshot
        self._estimate(row, state, snapshot)
        self._metrics(row, state)
        state.row = row
        return state

    def _record_bucket_kl(self, state: RoundState, top: int = 20) -> None:
        """Keep the KL divergence of the `top` largest LF-vote buckets for the bucket-KL plot."""
        if state.lm_proba is None:
            return
        from active.maxkl import bucket_divergence
        from label_model.buckets import bucket_ids, bucket_keys

        ids, unique, counts = bucket_ids(self.L)
        kl = bucket_divergence(ids, unique.shape[0], state.lm_proba, self.lm_proba_initial,
                               state.labels)
        kl[~np.isfinite(kl)] = np.nan  # the all-abstain bucket is never scored
        largest = np.argsort(-counts, kind="stable")[:top]
        names = bucket_keys(unique[largest])
        self._bucket_kl.extend(
            {"iteration": self.iteration, "n_labels": len(state.labels), "bucket": name,
             "size": int(counts[b]), "kl": float(kl[b])}
            for name, b in zip(names, largest, strict=True)
        )

    @property
    def bucket_kl(self) -> pd.DataFrame:
        """KL(label model || expert labels) per iteration for the largest buckets."""
        return pd.DataFrame(self._bucket_kl,
                            columns=["iteration", "n_labels", "bucket", "size", "kl"])

    # choosing and asking ------------------------------------------------------------------

    def _pool_state(self, state: RoundState, exclude: set[int]) -> PoolState:
        return PoolState(
            L=self.L,
            expert_labels=self._snapshot().training(),
            lm_proba=state.lm_proba,
            lm_proba_initial=self.lm_proba_initial,
            matcher_proba=state.matcher_proba,
            embeddings=state.embeddings,
            risk=state.risk,
            skipped=exclude | set(self.log.audit)
            | {i for i, y in self.log.labels.items() if y is None},
        )

    def _select(self, state: RoundState, n: int, exclude: set[int]) -> tuple[list[int], str, dict]:
        pool = self._pool_state(state, exclude)
        selector = self.selector
        if pool.matcher_proba is None and pool.lm_proba is None:
            from active.selectors import RandomSelector  # cold start without LFs

            selector = RandomSelector(seed=self.seed + self.iteration)
        chosen = np.asarray(selector.select(pool, n), dtype=np.int64)
        taken = set(pool.expert_labels) | pool.skipped
        if len(set(chosen.tolist())) != chosen.size or taken.intersection(chosen.tolist()):
            raise RuntimeError(
                f"selector {selector.name!r} returned a labelled, skipped or repeated position"
            )
        return chosen.tolist(), selector.name, dict(selector.diagnostics)

    def _reason(self, state: RoundState, position: int, rank: int, selector: str,
                diagnostics: dict) -> str:
        """Why a pair was asked, in words."""
        if rank < int(diagnostics.get("n_maxkl", 0)):
            return ("its LF-vote bucket: the expert's labels there disagree with the label "
                    "model (maxKL)")
        if state.risk_model is not None:
            lines = state.risk_model.explain(position)
            return "; ".join(lines[:2])
        if state.matcher_proba is not None:
            return (f"the matcher is unsure (P(match) {state.matcher_proba[position]:.2f}); "
                    f"chosen by the {selector} selector")
        return f"chosen by the {selector} selector before any model was fitted"

    def _view(self, position: int, reason: str, state: RoundState, budget: int | None,
              session_start: int) -> PairView:
        n_match, n_non, n_unsure = self.log.counts()
        curve = tuple((int(r["n_labels"]), float(r["f1_estimate"]))
                      for r in self.history if r.get("f1_estimate") is not None)
        row = state.row
        estimate = None if row.get("f1_estimate") is None else (
            row["f1_estimate"], row["f1_low"], row["f1_high"])
        progress = SessionProgress(
            n_answers=len(self.log), budget=budget, n_match=n_match, n_non_match=n_non,
            n_unsure=n_unsure, n_this_session=len(self.log) - session_start,
            status=getattr(self, "_status_text", ""), f1_estimate=estimate,
            learning_curve=curve, can_undo=bool(self.log.order),
        )
        score = None if state.matcher_proba is None else float(state.matcher_proba[position])
        return PairView.from_row(self.pairs.iloc[position], position, str(self.keys[position]),
                                 self.attributes, reason=reason, score=score, progress=progress)

    def _ask_batch(self, batch: list[int], reasons: dict[int, str], state: RoundState,
                   selector: str, budget: int, session_start: int,
                   skipped: set[int]) -> bool:
        """Ask about each pair of `batch`, storing every answer before the next question;
        undo re-asks the previous answer's pair. Returns True when the oracle quit."""
        todo = list(reversed(batch))
        while todo and len(self.log) < budget:
            position = todo[-1]
            view = self._view(position, reasons.get(position, ""), state, budget, session_start)
            asked_at = time.time()
            answer = to_answer(self.oracle.ask(view), where=f"oracle, pair {view.key}")
            if answer is Answer.QUIT:
                return True
            if answer is Answer.UNDO:
                undone = self.log.undo()
                if undone is not None:
                    todo.append(undone)
                    reasons.setdefault(undone, "you asked to undo your answer to this pair")
                continue
            todo.pop()
            if answer is Answer.SKIP:
                skipped.add(position)
                continue
            context = self._selected_at.get(position, {})
            self.log.add(position, answer.label, selector=context.get("selector", selector),
                         iteration=self.iteration, risk=context.get("risk"),
                         matcher_proba=context.get("matcher_proba"), asked_at=asked_at,
                         inclusion_prob=context.get("inclusion_prob"),
                         audit_frame=context.get("audit_frame"))
        return False

    # the session --------------------------------------------------------------------------

    def run(self, budget: int) -> pd.DataFrame:
        """Label until `budget` answers are stored (earlier sessions' answers count), then fit
        once more and train the final matcher, if any; returns the history, a row per round."""
        if isinstance(budget, bool) or not isinstance(budget, int | np.integer) or budget < 0:
            raise ValueError(
                f"ActiveLoop.run: budget must be a non-negative integer, got {budget!r}"
            )
        budget = int(budget)
        session_start = len(self.log)
        skipped: set[int] = set()
        executor = ThreadPoolExecutor(max_workers=1) if self.background else None
        pending: Future | None = None
        # with a person waiting, the first batch comes from the label model alone while the
        # matcher fits in the background (the LFs' buckets are all there is to ask about yet)
        quick_start = executor is not None and self.state is None and self.L.shape[1] > 0
        self._status(f"fitting the label model on {len(self.log.expert_labels())} labels"
                     if quick_start else
                     f"fitting the models on {len(self.log.expert_labels())} labels")
        state = self.state = self.fit_round(previous=self.state, label_model_only=quick_start)
        self.history.append(state.row)
        if quick_start:
            self._status("training the matcher in the background")
            snapshot = self._snapshot()
            pending = executor.submit(self.fit_round, snapshot.training(), state, False,
                                      snapshot)
        quit_ = False
        try:
            while not quit_ and len(self.log) < budget and not self._should_stop(state.row):
                t0 = time.perf_counter()
                n = min(self.batch_size, budget - len(self.log))
                audit = self._draw_audit(state, min(self.audit, n // 2))
                batch, name, diagnostics = self._select(state, n - len(audit),
                                                        skipped | set(audit))
                if not batch:
                    break
                reasons = {}
                for rank, i in enumerate(batch + list(audit)):
                    # an audit pair is shown like any other: the person cannot tell them apart
                    reasons[i] = self._reason(state, i, rank, name, diagnostics)
                    self._selected_at[i] = {
                        "selector": name,
                        "risk": None if state.risk is None else float(state.risk[i]),
                        "matcher_proba": None if state.matcher_proba is None
                        else float(state.matcher_proba[i]),
                        **audit.get(i, {}),
                    }
                batch = self._mix(batch, list(audit))
                t1 = time.perf_counter()
                quit_ = self._ask_batch(batch, reasons, state, name, budget, session_start,
                                        skipped)
                t2 = time.perf_counter()
                state.row.update(selector=name, n_selected=len(batch), t_select=t1 - t0,
                                 t_oracle=t2 - t1)
                state.row.update({f"sel_{k}": v for k, v in diagnostics.items()
                                  if np.isscalar(v)})
                self.iteration += 1
                if quit_:
                    break
                state, pending = self._next_state(state, pending, executor)
            if pending is not None:
                self._status("finishing the last fit")
                state = self._take(pending)
            if state.labels != self._snapshot().training():
                self._status(f"fitting the models on {len(self.log.expert_labels())} labels")
                state = self.fit_round(previous=state)
                self.history.append(state.row)
            self.state = state
        finally:
            if executor is not None:
                executor.shutdown(wait=True)
        if self.final_matcher is not None and not quit_:
            self.finish()
        return self.history_frame()

    def _next_state(self, state: RoundState, pending: Future | None,
                    executor: ThreadPoolExecutor | None) -> tuple[RoundState, Future | None]:
        """The state the next batch is chosen from, and the fit now running (if background);
        no new fit where the batch brought no answer (every pair skipped)."""
        snapshot = self._snapshot()
        labels = snapshot.training()
        if pending is not None:
            state = self._take(pending)
        if snapshot.same_as(state.snapshot):
            return state, None
        if executor is None:
            self._status(f"fitting the models on {len(labels)} labels")
            new = self.fit_round(labels, previous=state, snapshot=snapshot)
            self.history.append(new.row)
            return new, None
        self._status(f"training the models on {len(labels)} labels in the background")
        return state, executor.submit(self.fit_round, labels, state, False, snapshot)

    # the audit --------------------------------------------------------------------------

    def _draw_audit(self, state: RoundState, n: int) -> dict[int, dict]:
        """n pairs drawn at random from those without an answer, with known inclusion
        probabilities under this round's scores (`evaluation.draw_audit`), each with what the
        store keeps of it; none before the matcher has scored the pool."""
        answered = np.fromiter(self.log.labels, dtype=np.int64, count=len(self.log))
        frame = len(self.log)
        n = min(n, len(self.pairs) - frame)
        if n <= 0 or state.matcher_proba is None:
            return {}
        from evaluation import draw_audit

        rng = np.random.SeedSequence(self.seed, spawn_key=(11, frame))
        drawn, prob = draw_audit(state.matcher_proba >= state.threshold, state.matcher_proba,
                                 n, exclude=answered, seed=int(rng.generate_state(1)[0]))
        return {int(i): {"selector": "audit", "inclusion_prob": float(p), "audit_frame": frame}
                for i, p in zip(drawn, prob, strict=True)}

    def _mix(self, chosen: list[int], audit: list[int]) -> list[int]:
        """The batch in a seeded random order, so the audit pairs do not come last."""
        if not audit:
            return chosen
        seeds = np.random.SeedSequence(self.seed, spawn_key=(12, len(self.log)))
        rng = np.random.default_rng(seeds)
        batch = chosen + audit
        return [batch[i] for i in rng.permutation(len(batch))]

    def _take(self, pending: Future) -> RoundState:
        t0 = time.perf_counter()
        state = pending.result()
        state.row["t_wait"] = time.perf_counter() - t0
        self.history.append(state.row)
        return state

    def _should_stop(self, row: dict) -> bool:
        if self.stop_when is not None:
            self.stop_reason = self.stop_when.reason(self.history)
            if self.stop_reason is not None:
                row["stopped"] = True
                self._status(f"stopping: {self.stop_reason}")
                return True
        if self.stop_when_stable is None or "changed" not in row:
            return False
        stable = row["changed"] <= self.stop_when_stable
        self._stable_rounds = self._stable_rounds + 1 if stable else 0
        row["stopped"] = self._stable_rounds >= 2
        return row["stopped"]

    def history_frame(self) -> pd.DataFrame:
        """The history so far as a DataFrame, one row per fitted round."""
        return pd.DataFrame(self.history)

    # the final matcher --------------------------------------------------------------------

    def finish(self, holdout: float = 0.25, pseudo_labels: bool = False,
               confidence: float = 0.9, min_audit: int = 10) -> dict:
        """Train `final_matcher` on every probabilistic and expert label and keep whichever of
        it and the in-loop matcher is better on expert labels neither trained on.

        Compared on a seeded `holdout` share of the selector's labels (kept out of both
        comparison fits) and the audit's labels, each audit pair weighted by its draw's share
        over its inclusion probability, as the actively chosen pairs crowd the boundary and
        say little about the rest of the pool. The final matcher replaces the in-loop one only
        if its F1 there is higher in at least `confidence` of paired bootstrap resamples (a
        switch on noise costs what the loop has proven), and only with at least `min_audit`
        audit labels: on the selector's labels alone the final matcher looked better where the
        test split said the opposite (benchmarks/results/deep_after_loop.md), so without an
        audit the comparison is reported and the in-loop matcher stays. The report keeps the
        figures and the rival (the in-loop matcher fitted on the final matcher's rows). With
        `pseudo_labels=True` the final matcher also learns the in-loop matcher's confident
        decisions (CEAL; `pseudo_threshold`, `pseudo_weight`), taken from the rival fitted
        without the held-out labels so that none of them reaches the final matcher.
        """
        if self.state is None:
            raise RuntimeError("ActiveLoop.finish: call run(budget) first")
        if self.final_matcher is None:
            raise ValueError("ActiveLoop.finish: no final_matcher was given")
        if not 0.0 <= confidence <= 1.0:
            raise ValueError(f"ActiveLoop.finish: confidence must be in [0, 1], got {confidence}")
        if isinstance(min_audit, bool) or not isinstance(min_audit, int) or min_audit < 0:
            raise ValueError(
                f"ActiveLoop.finish: min_audit must be a non-negative integer, got {min_audit!r}")
        if self._scorer is not None:  # an earlier finish's winner: start from the loop's output
            self._scorer = None
            self.state.matcher_proba = np.asarray(self.matcher.match_proba(self.pairs),
                                                  dtype=float)
        snapshot = self._snapshot()
        labels = snapshot.training()  # the audit's labels measure, never train
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(7,)))
        positions = np.array(sorted(labels), dtype=np.int64)
        held = positions[rng.random(positions.size) < holdout]
        train = {i: y for i, y in labels.items() if i not in set(held.tolist())}
        report: dict = {"n_labels": len(self.log.expert_labels()), "n_audit": len(self.log.audit),
                        "n_holdout": int(held.size)}
        rows, y, w = self._training_set(train, self.state.lm_proba, None)
        rival = self._fresh_matcher().fit(self.pairs.iloc[rows], y, sample_weight=w)
        if pseudo_labels:
            rows, y, w, report["n_pseudo"] = self._with_pseudo_labels(
                rows, y, w, np.asarray(rival.match_proba(self.pairs), dtype=float))
        self._status(f"training the final matcher on {len(train)} labels")
        t0 = time.perf_counter()
        self.final_matcher.fit(self.pairs.iloc[rows], y, sample_weight=w)
        report["t_final"] = time.perf_counter() - t0
        report["rival"] = rival  # the in-loop matcher on the final matcher's rows
        compared = _comparison_set(held, labels, snapshot)
        ys = compared["label"].to_numpy()
        enough = len(compared) >= 5 and 0 < ys.sum() < ys.size
        use_final = False
        if enough:
            on = self.pairs.iloc[compared["position"].to_numpy()]
            compared["final"] = np.asarray(self.final_matcher.predict(on), dtype=int)
            compared["in_loop"] = np.asarray(rival.predict(on), dtype=int)
            report["final_f1"], report["in_loop_f1"], report["p_final_better"] = (
                _paired_f1_bootstrap(compared, self.seed))
            report["held_out"] = compared
            audited = int(snapshot.audit.sum())
            use_final = report["p_final_better"] >= confidence and audited >= min_audit
            report["why"] = (
                f"the final matcher's F1 on expert labels neither trained on was higher in "
                f"{report['p_final_better']:.0%} of bootstrap resamples (needed "
                f"{confidence:.0%}); {audited} audit labels (needed {min_audit})")
        else:
            report["why"] = ("too few held-out expert labels of both classes to compare; kept "
                             "the in-loop matcher")
        report["chosen"] = "final" if use_final else "in_loop"
        if use_final:
            self._scorer = self.final_matcher
            self.state.matcher_proba = np.asarray(
                self.final_matcher.match_proba(self.pairs), dtype=float)
        self.final = report
        self._status("done")
        return report

    def _with_pseudo_labels(self, rows: np.ndarray, y: np.ndarray, w: np.ndarray,
                            proba: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """The final fit's training set plus hard pseudo-labels where `proba` is confident and
        agrees with the label model; answered pairs (trained on, held out or audit) keep what
        they had."""
        n = len(self.pairs)
        targets, weights = np.full(n, np.nan), np.zeros(n)
        targets[rows], weights[rows] = y, w
        t = self.pseudo_threshold
        confident = (proba >= t) | (proba <= 1 - t)
        if self.state.lm_proba is not None:
            confident &= (proba >= 0.5) == (self.state.lm_proba >= 0.5)
        confident[np.fromiter(self.log.labels, dtype=np.int64, count=len(self.log))] = False
        targets[confident] = (proba[confident] >= 0.5).astype(float)
        weights[confident] = self.pseudo_weight
        keep = np.flatnonzero(weights > 0)
        return keep, targets[keep], weights[keep], int(confident.sum())

    # using the result ---------------------------------------------------------------------

    @property
    def scorer(self):
        """The matcher that scores the output: the final matcher if it won, else the in-loop."""
        return self._scorer if self._scorer is not None else self.matcher

    @property
    def threshold(self) -> float:
        """The cut-off of the output: 0.5, or the calibrated one with `calibrate=True`."""
        return 0.5 if self.state is None else self.state.threshold

    @property
    def matcher_proba(self) -> np.ndarray | None:
        """The output scores of the pool (None before the first fit)."""
        return None if self.state is None else self.state.matcher_proba

    @property
    def lm_proba(self) -> np.ndarray | None:
        """The label model's P(match) of the pool in the latest round."""
        return None if self.state is None else self.state.lm_proba

    def predict_proba(self, pairs: pd.DataFrame | None = None) -> np.ndarray:
        """P(match) from the best matcher available (`scorer`) for `pairs` (the pool when
        None), shape (n,)."""
        if self.matcher_proba is None:
            raise RuntimeError("ActiveLoop: no matcher trained yet; call run(budget) first")
        if pairs is None:
            return self.matcher_proba
        return np.asarray(self.scorer.match_proba(pairs), dtype=float)

    def predict(self, pairs: pd.DataFrame | None = None,
                threshold: float | None = None) -> np.ndarray:
        """0/1 predictions at `threshold` (default `self.threshold`: 0.5 unless calibrated)."""
        t = self.threshold if threshold is None else float(threshold)
        return (self.predict_proba(pairs) >= t).astype(np.int8)

    def scored_pairs(self) -> pd.DataFrame:
        """The pool with the output score, prediction and any expert answer."""
        out = self.pairs.copy()
        out["score"] = self.predict_proba()
        out["prediction"] = self.predict()
        answers = self.answers()
        out["expert_label"] = pd.array([answers.get(i) for i in range(len(out))], dtype="Int8")
        return out

"""The combined weak/active loop: LFs -> penalized label model -> matcher -> risk -> selector ->
oracle -> label store, repeated until the budget, the user or a stopping rule ends it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from active.base import PoolState, Selector
from active.oracles import OracleQuit, validate_answer
from active.store import LabelRecord, LabelStore, as_store, labels_by_position
from blocking.pairs import pair_keys
from evaluation import precision_recall_f1

# selectors that read PoolState.risk; others may set a `uses_risk` attribute
_RISK_SELECTORS = ("hybrid", "risk_kmedoids")


def _f1(pred: np.ndarray, gold: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1 of 0/1 predictions against 0/1 gold (NaN gold rows ignored)."""
    known = ~np.isnan(gold)
    return precision_recall_f1(gold[known].astype(int), pred[known].astype(int))


def calibrate_threshold(proba: np.ndarray, labels: np.ndarray, min_labels: int = 30,
                        min_per_class: int = 5) -> float:
    """The P(match) cut-off with the best F1 on expert labels; ties go to the cut-off nearest
    0.5, and 0.5 stays while there are fewer than `min_labels` labels or `min_per_class` of
    either class (actively chosen labels are few and skewed: a cut-off fit on them is noisy)."""
    proba, labels = np.asarray(proba, dtype=float), np.asarray(labels, dtype=float)
    n_match = int(labels.sum())
    if labels.size < min_labels or min(n_match, labels.size - n_match) < min_per_class:
        return 0.5
    grid = np.linspace(0.05, 0.95, 19)
    pred = proba[None, :] >= grid[:, None]
    gold = labels[None, :].astype(bool)
    tp = (pred & gold).sum(1)
    f1 = 2 * tp / np.maximum(pred.sum(1) + gold.sum(), 1)
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    return float(grid[best[np.argmin(np.abs(grid[best] - 0.5))]])


def _default_matcher(seed: int):
    from matchers import RNNMatcher

    return RNNMatcher(seed=seed)


def _resolve_selector(selector: str | Selector, seed: int) -> Selector:
    if isinstance(selector, Selector):
        return selector
    if isinstance(selector, str):
        from active.selectors import make_selector

        return make_selector(selector, seed=seed)
    raise TypeError(
        f"selector: expected a Selector or a name such as 'hybrid', got {type(selector).__name__}"
    )


class ActiveLoop:
    """Weak supervision and active learning in one loop; every answer is stored before use.

    `lfs` may be empty (active learning without LFs); `run(0)` is weak supervision alone.
    Labels already in `store` are used, not asked again, so a killed run resumes where it was.
    `predict` cuts at 0.5 unless `calibrate=True`, which picks the cut-off with the best F1 on
    the expert labels (scored as the matcher saw them at selection, see `calibrate_threshold`).
    """

    def __init__(
        self,
        pairs: pd.DataFrame,
        lfs: Sequence | None,
        oracle: Callable[[int], int | None],
        selector: str | Selector = "hybrid",
        matcher=None,
        label_model=None,
        batch_size: int = 10,
        store: LabelStore | str | Path | None = None,
        gold: Sequence | np.ndarray | None = None,
        eval_pairs: pd.DataFrame | None = None,
        eval_labels: Sequence | np.ndarray | None = None,
        expert_weight: float = 5.0,
        pseudo_labels: bool = False,
        pseudo_threshold: float = 0.95,
        pseudo_weight: float = 0.5,
        stop_when_stable: float | None = None,
        calibrate: bool = False,
        L: np.ndarray | None = None,
        progress: bool = False,
        seed: int = 0,
    ) -> None:
        if not isinstance(pairs, pd.DataFrame) or len(pairs) == 0:
            raise ValueError("ActiveLoop: pairs must be a non-empty DataFrame of record pairs")
        if not callable(oracle):
            raise TypeError("ActiveLoop: oracle must be callable as oracle(position) -> 0/1/None")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"ActiveLoop: batch_size must be a positive integer, got {batch_size!r}"
            )
        self.pairs = pairs.reset_index(drop=True)
        self.keys = pair_keys(self.pairs)
        self.lfs = list(lfs or [])
        self.oracle = oracle
        self.selector = _resolve_selector(selector, seed)
        self.matcher = matcher if matcher is not None else _default_matcher(seed)
        self.label_model = label_model
        self.batch_size = batch_size
        self.store = as_store(store)
        self.gold = self._check_gold(gold, len(self.pairs), "gold")
        self.eval_pairs = eval_pairs
        self.eval_labels = None
        if eval_pairs is not None:
            self.eval_labels = self._check_gold(eval_labels, len(eval_pairs), "eval_labels")
        self.expert_weight = float(expert_weight)
        self.pseudo_labels = pseudo_labels
        self.pseudo_threshold = pseudo_threshold
        self.pseudo_weight = pseudo_weight
        self.stop_when_stable = stop_when_stable
        self.calibrate = calibrate
        self.progress = progress
        self.seed = seed
        self._L = L
        self.iteration = 0
        self.history: list[dict] = []
        self.threshold = 0.5
        self.matcher_proba: np.ndarray | None = None
        self.lm_proba: np.ndarray | None = None
        self.risk_model = None
        self._fitted = False
        self._stable_rounds = 0
        self._bucket_kl: list[dict] = []
        if hasattr(oracle, "bind"):
            oracle.bind(pairs=self.pairs, keys=self.keys, store=self.store)

    @staticmethod
    def _check_gold(gold, n: int, name: str) -> np.ndarray | None:
        if gold is None:
            return None
        arr = np.asarray(gold, dtype=float).ravel()
        if arr.shape[0] != n:
            raise ValueError(f"ActiveLoop: {name} has {arr.shape[0]} labels for {n} pairs")
        return arr

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

    def answers(self) -> dict[int, int | None]:
        """Pool position -> stored answer (None = unsure), read from the label store."""
        return labels_by_position(self.store.labels(), self.keys)

    def expert_labels(self) -> dict[int, int]:
        """Pool position -> 0/1 for every stored answer that is not 'unsure'."""
        return {i: y for i, y in self.answers().items() if y is not None}

    # one round of model fitting -----------------------------------------------------------

    def _fit_label_model(self, labels: dict[int, int]) -> None:
        if self.L.shape[1] == 0:
            self.lm_proba = None
            self.lm_proba_initial = None
            return
        from label_model import PenalizedLabelModel

        if self.label_model is None:
            self.label_model = PenalizedLabelModel(cardinality=2, penalty="auto", seed=self.seed)
        if not hasattr(self, "lm_proba_initial"):
            initial = PenalizedLabelModel(cardinality=2, penalty="auto", seed=self.seed)
            self.lm_proba_initial = initial.fit(self.L).predict_proba(self.L)[:, 1]
        if labels or self.lm_proba is None:
            self.label_model.fit(self.L, expert_labels=labels)
        self.lm_proba = self.label_model.predict_proba(self.L)[:, 1]

    def _training_set(self, labels: dict[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, targets and weights for the matcher: soft labels where any LF votes, expert
        labels (weighted) where answered, optionally confident pseudo-labels (CEAL)."""
        n = len(self.pairs)
        y = np.full(n, np.nan)
        w = np.zeros(n)
        if self.lm_proba is not None:
            voted = (self.L != -1).any(1)
            y[voted], w[voted] = self.lm_proba[voted], 1.0
        if self.pseudo_labels and self.matcher_proba is not None:
            t = self.pseudo_threshold
            p = self.matcher_proba
            confident = (p >= t) | (p <= 1 - t)
            if self.lm_proba is not None:  # only where the label model agrees
                confident &= (p >= 0.5) == (self.lm_proba >= 0.5)
            y[confident], w[confident] = (p[confident] >= 0.5).astype(float), self.pseudo_weight
        if labels:
            rows = np.fromiter(labels, dtype=np.int64)
            y[rows] = np.fromiter(labels.values(), dtype=float)
            w[rows] = self.expert_weight
        rows = np.flatnonzero(w > 0)
        return rows, y[rows], w[rows]

    def _fit_matcher(self, labels: dict[int, int]) -> bool:
        rows, y, w = self._training_set(labels)
        if rows.size == 0 or (self.L.shape[1] == 0 and np.unique(y).size < 2):
            return False  # nothing to learn from yet: no LF votes and not both classes labelled
        self.matcher.fit(self.pairs.iloc[rows], y, sample_weight=w, warm_start=self._fitted)
        self._fitted = True
        return True

    def _fit_risk(self, labels: dict[int, int]) -> np.ndarray | None:
        ys = np.fromiter(labels.values(), dtype=float, count=len(labels))
        if len(labels) < 4 or ys.min() == ys.max():
            return None
        from risk import RiskModel

        rows = np.fromiter(labels, dtype=np.int64)
        # Out-of-sample matcher scores: P(match) when each pair was selected, before training
        # on its label; pairs labelled without a recorded score fall back to the current one.
        records = self.store.records().set_index("pair_key")["matcher_proba"]
        at_selection = records.reindex(self.keys[rows]).to_numpy(dtype=float)
        proba = np.where(np.isnan(at_selection), self.matcher_proba[rows], at_selection)
        L = self.L if self.L.shape[1] else None
        lf_precision = None
        if L is not None and self.label_model is not None:
            lf_precision = self.label_model.lf_precision(self.L)
        self.risk_model = RiskModel(lfs=self.lfs or None, seed=self.seed).fit(
            self.pairs.iloc[rows], ys, proba, L=None if L is None else L[rows],
            lf_precision=lf_precision,
        )
        if not self.risk_model.rules_:
            return None  # no LF and no mined rule yet: k-medoids weighs by the matcher's doubt
        return np.asarray(self.risk_model.risk(self.pairs, self.matcher_proba, L=L), dtype=float)

    def _metrics(self, row: dict, labels: dict[int, int]) -> None:
        if self.gold is not None:
            if self.lm_proba is not None:
                p, r, f = _f1(self.lm_proba >= 0.5, self.gold)
                row.update(lm_precision=p, lm_recall=r, lm_f1=f)
            if self.matcher_proba is not None:
                p, r, f = _f1(self.matcher_proba >= self.threshold, self.gold)
                row.update(matcher_precision=p, matcher_recall=r, matcher_f1=f)
        if self.eval_pairs is not None and self.matcher_proba is not None:
            p, r, f = _f1(self.predict_proba(self.eval_pairs) >= self.threshold, self.eval_labels)
            row.update(eval_precision=p, eval_recall=r, eval_f1=f)

    def _calibrate(self, labels: dict[int, int]) -> None:
        # Off by default: actively chosen labels crowd the boundary, and the cut-off fitted on
        # them lost 0.1-1.3 F1 points against 0.5 on the valid split (active_loop_notes.md).
        if not self.calibrate or self.matcher_proba is None or not labels:
            return
        rows = np.fromiter(labels, dtype=np.int64)
        records = self.store.records().set_index("pair_key")["matcher_proba"]
        at_selection = records.reindex(self.keys[rows]).to_numpy(dtype=float)
        known = ~np.isnan(at_selection)
        ys = np.fromiter(labels.values(), dtype=float)
        self.threshold = calibrate_threshold(at_selection[known], ys[known])

    def fit_round(self) -> dict:
        """Fit label model, matcher and risk model on the stored labels; return a history row."""
        labels = self.expert_labels()
        row: dict = {"iteration": self.iteration, "n_labels": len(labels),
                     "n_answers": len(self.answers())}
        t0 = time.perf_counter()
        self._fit_label_model(labels)
        self._record_bucket_kl(labels, len(labels))
        t1 = time.perf_counter()
        previous = None if self.matcher_proba is None else self.matcher_proba >= self.threshold
        self.embeddings = None
        if self._fit_matcher(labels):
            self.matcher_proba = np.asarray(self.matcher.match_proba(self.pairs), dtype=float)
            if hasattr(self.matcher, "embed"):
                self.embeddings = np.asarray(self.matcher.embed(self.pairs), dtype=np.float32)
        t2 = time.perf_counter()
        uses_risk = getattr(self.selector, "uses_risk", self.selector.name in _RISK_SELECTORS)
        self.risk = None
        if uses_risk and self.matcher_proba is not None:
            self.risk = self._fit_risk(labels)
        t3 = time.perf_counter()
        self._calibrate(labels)
        if previous is not None:
            row["changed"] = float(np.mean(previous != (self.matcher_proba >= self.threshold)))
        row.update(threshold=self.threshold, t_label_model=t1 - t0, t_matcher=t2 - t1,
                   t_risk=t3 - t2)
        self._metrics(row, labels)
        return row

    def _record_bucket_kl(self, labels: dict[int, int], n_labels: int, top: int = 20) -> None:
        """Keep the KL divergence of the `top` largest LF-vote buckets for the bucket-KL plot."""
        if self.lm_proba is None:
            return
        from active.maxkl import MaxKLSelector
        from label_model.buckets import bucket_ids, bucket_keys

        ids, unique, counts = bucket_ids(self.L)
        state = PoolState(L=self.L, expert_labels=labels, lm_proba=self.lm_proba,
                          lm_proba_initial=self.lm_proba_initial)
        kl = MaxKLSelector(seed=0).bucket_scores(state, ids, unique)
        kl[~np.isfinite(kl)] = np.nan  # the all-abstain bucket is never scored
        largest = np.argsort(-counts, kind="stable")[:top]
        names = bucket_keys(unique[largest])
        self._bucket_kl.extend(
            {"iteration": self.iteration, "n_labels": n_labels, "bucket": name,
             "size": int(counts[b]), "kl": float(kl[b])}
            for name, b in zip(names, largest, strict=True)
        )

    @property
    def bucket_kl(self) -> pd.DataFrame:
        """KL(label model || expert labels) per iteration for the largest buckets."""
        return pd.DataFrame(self._bucket_kl,
                            columns=["iteration", "n_labels", "bucket", "size", "kl"])

    def _state(self) -> PoolState:
        answers = self.answers()
        return PoolState(
            L=self.L,
            expert_labels={i: y for i, y in answers.items() if y is not None},
            lm_proba=self.lm_proba,
            lm_proba_initial=getattr(self, "lm_proba_initial", None),
            matcher_proba=self.matcher_proba,
            embeddings=self.embeddings,
            risk=self.risk,
            skipped={i for i, y in answers.items() if y is None},
        )

    def _select(self, state: PoolState, n: int) -> tuple[np.ndarray, str, dict]:
        selector = self.selector
        if state.matcher_proba is None and state.lm_proba is None:
            from active.selectors import RandomSelector  # cold start without LFs

            selector = RandomSelector(seed=self.seed + self.iteration)
        chosen = np.asarray(selector.select(state, n), dtype=np.int64)
        taken = set(state.expert_labels) | state.skipped
        if len(set(chosen.tolist())) != chosen.size or taken.intersection(chosen.tolist()):
            raise RuntimeError(
                f"selector {selector.name!r} returned a labelled, skipped or repeated position"
            )
        return chosen, selector.name, dict(selector.diagnostics)

    def _ask(self, chosen: np.ndarray, selector_name: str) -> tuple[int, bool]:
        """Ask the oracle about each chosen pair and commit every answer at once."""
        asked = 0
        for i in chosen.tolist():
            if hasattr(self.oracle, "bind") and self.matcher_proba is not None:
                self.oracle.bind(scores=self.matcher_proba)
            try:
                answer = validate_answer(self.oracle(i), i, self.keys[i])
            except OracleQuit:
                return asked, True
            asked += 1
            if getattr(self.oracle, "last_skipped", False):
                continue  # skipped, not unsure: not stored, may be asked in a later session
            self.store.add_many([LabelRecord(
                str(self.keys[i]), answer, selector=selector_name, iteration=self.iteration,
                position=i,
                score=None if self.risk is None else float(self.risk[i]),
                matcher_proba=None if self.matcher_proba is None else float(self.matcher_proba[i]),
            )])
        return asked, False

    def run(self, budget: int) -> pd.DataFrame:
        """Label until the store holds `budget` answers (stored answers count), then fit once
        more; returns the history, one row per fitted round."""
        if not isinstance(budget, int | np.integer) or budget < 0:
            raise ValueError(
                f"ActiveLoop.run: budget must be a non-negative integer, got {budget!r}"
            )
        progress = None
        if self.progress:
            from rich.progress import Progress

            progress = Progress(transient=True)
            progress.start()
            task = progress.add_task("labelling", total=budget)
        try:
            while True:
                t_start = time.perf_counter()
                row = self.fit_round()
                self.history.append(row)
                if progress is not None:
                    progress.update(task, completed=min(row["n_answers"], budget))
                remaining = budget - row["n_answers"]
                if self._should_stop(row) or remaining <= 0:
                    row["t_total"] = time.perf_counter() - t_start
                    break
                state = self._state()
                t0 = time.perf_counter()
                chosen, name, diagnostics = self._select(state, min(self.batch_size, remaining))
                t1 = time.perf_counter()
                asked, quit_ = self._ask(chosen, name)
                t2 = time.perf_counter()
                row.update(selector=name, n_selected=int(chosen.size), t_select=t1 - t0,
                           t_oracle=t2 - t1, t_total=t2 - t_start)
                row.update({f"sel_{k}": v for k, v in diagnostics.items() if np.isscalar(v)})
                self.iteration += 1
                if quit_ or chosen.size == 0:
                    if asked:
                        self.history.append(self.fit_round())
                    break
        finally:
            if progress is not None:
                progress.stop()
        return self.history_frame()

    def _should_stop(self, row: dict) -> bool:
        if self.stop_when_stable is None or "changed" not in row:
            return False
        stable = row["changed"] <= self.stop_when_stable
        self._stable_rounds = self._stable_rounds + 1 if stable else 0
        row["stopped"] = self._stable_rounds >= 2
        return row["stopped"]

    def history_frame(self) -> pd.DataFrame:
        """The history so far as a DataFrame, one row per fitted round."""
        return pd.DataFrame(self.history)

    # using the result ---------------------------------------------------------------------

    def predict_proba(self, pairs: pd.DataFrame | None = None) -> np.ndarray:
        """The final matcher's P(match) for `pairs` (the pool when None)."""
        if not self._fitted:
            raise RuntimeError("ActiveLoop: no matcher trained yet; call run(budget) first")
        if pairs is None:
            return self.matcher_proba
        return np.asarray(self.matcher.match_proba(pairs), dtype=float)

    def predict(self, pairs: pd.DataFrame | None = None,
                threshold: float | None = None) -> np.ndarray:
        """0/1 predictions at `threshold` (default: the cut-off calibrated on expert labels)."""
        t = self.threshold if threshold is None else float(threshold)
        return (self.predict_proba(pairs) >= t).astype(np.int8)

    def scored_pairs(self) -> pd.DataFrame:
        """The pool with the matcher's score, prediction and any expert answer."""
        out = self.pairs.copy()
        out["score"] = self.predict_proba()
        out["prediction"] = self.predict()
        answers = self.answers()
        out["expert_label"] = pd.array([answers.get(i) for i in range(len(out))], dtype="Int8")
        return out

    def clusters(self, dedup: bool = True, threshold: float | None = None) -> pd.DataFrame:
        """Records grouped by the predicted matches (connected components): one row per record
        with its cluster id and size; size 1 = unique, larger = duplicates. With `dedup=False`
        (two tables) record ids are prefixed 'l:' / 'r:'."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        if not {"ltable_id", "rtable_id"}.issubset(self.pairs.columns):
            raise ValueError("clusters: the pairs need ltable_id and rtable_id columns")
        left = self.pairs["ltable_id"].astype(str)
        right = self.pairs["rtable_id"].astype(str)
        if not dedup:
            left, right = "l:" + left, "r:" + right
        ids, codes = np.unique(np.concatenate([left, right]), return_inverse=True)
        a, b = codes[: len(left)], codes[len(left):]
        matched = self.predict(threshold=threshold).astype(bool)
        graph = coo_matrix((np.ones(matched.sum()), (a[matched], b[matched])),
                           shape=(ids.size, ids.size))
        _, comp = connected_components(graph, directed=False)
        size = np.bincount(comp)[comp]
        return pd.DataFrame({"record_id": ids, "cluster": comp, "cluster_size": size})

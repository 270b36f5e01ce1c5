"""LearnRisk: the misprediction risk of a matcher's predictions, learned from labelled pairs."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError

from blocking.files import ModelFile
from labeling_functions.featurizer import PairFeaturizer
from risk.distributions import portfolio, value_at_risk
from risk.rules import CLASS_NAMES, Rule, activations, lf_rules, mine_rules

__all__ = ["RiskModel"]

DEFAULT_LF_PRECISION = 0.8
"""An LF rule's prior precision when neither labelled support nor the label model's estimate
is available."""


def _check_proba(proba, n: int, where: str) -> np.ndarray:
    p = np.asarray(proba, dtype=np.float64).ravel()
    if p.shape[0] != n:
        raise ValueError(f"{where}: proba has {p.shape[0]} entries for {n} pairs")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError(f"{where}: proba must be probabilities in [0, 1] (the matcher's P(match))")
    return p


class RiskModel(ModelFile, BaseEstimator):
    """Misprediction risk of a matcher (LearnRisk): each pair's match probability is a normal
    distribution combining its risk features (expert LF rules, mined one-sided rules and the
    matcher's binned output); the risk is its Value-at-Risk against the predicted label.

    Rule expectations come from the labelled pairs (an LF's from the label model's precision
    until it has `min_support` labelled pairs); weights and variances are learned by ranking
    the labelled pairs the matcher got wrong above those it got right.

    `featurizer` gives the features rules are mined on: a fitted `PairFeaturizer` is used as it
    is (the loop shares the pool's), an unfitted one or None (`PairFeaturizer()`) is copied and
    fitted on the labelled pairs, and any other callable maps pairs to a numeric feature table.

    `save(path)` / `RiskModel.load(path)` use the project's one model-file format.
    """

    _fitted_attribute = "rules_"

    def __init__(
        self,
        lfs: list | None = None,
        n_bins: int = 10,
        confidence: float = 0.9,
        min_support: int | float = 5,
        min_purity: float = 0.95,
        max_conditions: int = 2,
        max_rules: int = 40,
        max_overlap: float = 0.8,
        featurizer: PairFeaturizer | Callable[[pd.DataFrame], pd.DataFrame] | None = None,
        epochs: int = 300,
        lr: float = 0.05,
        temperature: float = 0.05,
        l2: float = 0.1,
        max_rank_pairs: int = 100_000,
        seed: int | None = 0,
    ) -> None:
        self.lfs = lfs
        self.n_bins = n_bins
        self.confidence = confidence
        self.min_support = min_support
        self.min_purity = min_purity
        self.max_conditions = max_conditions
        self.max_rules = max_rules
        self.max_overlap = max_overlap
        self.featurizer = featurizer
        self.epochs = epochs
        self.lr = lr
        self.temperature = temperature
        self.l2 = l2
        self.max_rank_pairs = max_rank_pairs
        self.seed = seed

    def _validate(self) -> None:
        if not 0.5 <= self.confidence < 1.0:
            raise ValueError(f"confidence must be in [0.5, 1), got {self.confidence}")
        if self.n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {self.n_bins}")
        if not 0.5 < self.min_purity <= 1.0:
            raise ValueError(f"min_purity must be in (0.5, 1], got {self.min_purity}")
        if not 0.0 < self.max_overlap <= 1.0:
            raise ValueError(f"max_overlap must be in (0, 1] (1 keeps near-copy rules), got "
                             f"{self.max_overlap}")
        if self.max_conditions not in (0, 1, 2):
            raise ValueError(f"max_conditions must be 0 (no mined rules), 1 or 2, got "
                             f"{self.max_conditions}")

    def _check_fitted(self, where: str) -> None:
        if not hasattr(self, "rules_"):
            raise NotFittedError(f"RiskModel.{where}: not fitted; call fit(pairs, y, proba) first")

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model to one model file. LFs are code, not data: the file keeps the
        rules learned from them but not `lfs`, so after `load` pass `L` (the LF votes) to
        `risk`, as the run's model file keeps the LF file's fingerprint rather than the LFs."""
        self._check_fitted("save")
        kept = copy.copy(self)
        kept.lfs = None
        kept.__dict__.pop("_last", None)
        super(RiskModel, kept).save(path)

    # ----------------------------------------------------------------- features
    def _fit_featurizer(self, pairs: pd.DataFrame | None) -> None:
        """The featurizer risk() uses: the given one when fitted or a plain callable, else a
        copy fitted on the labelled pairs."""
        given = self.featurizer
        if self.max_conditions == 0 or not isinstance(pairs, pd.DataFrame):
            self.featurizer_ = given
        elif given is None:
            self.featurizer_ = PairFeaturizer().fit(pairs)
        elif isinstance(given, PairFeaturizer) and not hasattr(given, "columns_"):
            self.featurizer_ = clone(given).fit(pairs)
        else:
            self.featurizer_ = given

    def _features(self, pairs: pd.DataFrame | None) -> pd.DataFrame | None:
        if self.max_conditions == 0:
            return None
        if not isinstance(pairs, pd.DataFrame):
            raise TypeError(f"pairs must be a pandas DataFrame of record pairs, got "
                            f"{type(pairs).__name__}")
        if isinstance(self.featurizer_, PairFeaturizer):
            return self.featurizer_.transform(pairs)
        if not callable(self.featurizer_):
            raise TypeError(f"RiskModel: featurizer must be a PairFeaturizer, a callable or "
                            f"None, got {type(self.featurizer_).__name__}")
        return self.featurizer_(pairs)

    def _votes(self, pairs, L, n: int, where: str, n_lfs: int | None) -> np.ndarray | None:
        if L is None and self.lfs:
            from labeling_functions import apply_lfs

            L = apply_lfs(self.lfs, pairs)
        if L is None:
            return None
        L = np.asarray(L)
        if L.ndim != 2 or L.shape[0] != n:
            raise ValueError(f"{where}: L must be (n_pairs={n}, n_lfs), got shape {L.shape}")
        if self.lfs is not None and L.shape[1] != len(self.lfs):
            raise ValueError(f"{where}: L has {L.shape[1]} columns for {len(self.lfs)} lfs")
        if n_lfs is not None and L.shape[1] != n_lfs:
            raise ValueError(f"{where}: L has {L.shape[1]} columns, fit saw {n_lfs}")
        return L

    def _bins(self, p: np.ndarray) -> np.ndarray:
        return np.minimum((p * self.n_bins).astype(np.int64), self.n_bins - 1)

    # ----------------------------------------------------------------- fit
    def fit(self, pairs: pd.DataFrame | None, y, proba, L=None, lf_precision=None,
            features: pd.DataFrame | None = None) -> RiskModel:
        """Learn the risk features and their parameters from labelled pairs.

        pairs: the labelled record pairs; y: their 0/1 labels; proba: the matcher's
        (out-of-fold) P(match) on them; L: their LF votes (computed from `lfs` when None);
        lf_precision: (n_lfs,) the label model's precision estimate of each LF; features: the
        pairs' features from the given fitted featurizer, computed ahead (None: computed here).
        """
        self._validate()
        y = np.asarray(y).ravel()
        n = y.shape[0]
        if n == 0:
            raise ValueError("fit needs at least one labelled pair")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("y must hold 0/1 labels (NON_MATCH / MATCH)")
        y = y.astype(np.int64)
        p = _check_proba(proba, n, "RiskModel.fit")
        if isinstance(pairs, pd.DataFrame) and len(pairs) != n:
            raise ValueError(f"RiskModel.fit: pairs has {len(pairs)} rows, y has {n}")
        L = self._votes(pairs, L, n, "RiskModel.fit", None)
        self.n_lfs_ = 0 if L is None else L.shape[1]
        prec = self._check_precision(lf_precision)
        self._fit_featurizer(pairs)
        if features is None or self.max_conditions == 0:
            F = self._features(pairs)
        elif self.featurizer_ is not self.featurizer or len(features) != n:
            raise ValueError(f"RiskModel.fit: features must be the {n} labelled pairs' rows of "
                             f"the given fitted featurizer's features, or None")
        else:
            F = features
        min_support = self._support_count(n)
        rules = [] if L is None else lf_rules(L, self.lfs)
        if F is not None:
            rules += mine_rules(F, y, min_support, self.min_purity, self.max_conditions,
                                self.max_rules, self.max_overlap)
        self.feature_columns_ = None if F is None else list(F.columns)
        A = activations(rules, F, L, n)
        self._rule_stats(rules, A, y, prec, min_support)
        self.rules_ = rules
        self._train(A, y, p)
        return self

    def _check_precision(self, lf_precision) -> np.ndarray | None:
        if lf_precision is None:
            return None
        prec = np.asarray(lf_precision, dtype=np.float64).ravel()
        if prec.shape[0] != self.n_lfs_:
            raise ValueError(f"lf_precision has {prec.shape[0]} entries for {self.n_lfs_} LFs")
        if not np.isfinite(prec).all() or (prec < 0).any() or (prec > 1).any():
            raise ValueError("lf_precision must hold precisions in [0, 1]")
        return prec

    def _support_count(self, n: int) -> int:
        s = self.min_support
        return max(1, int(np.ceil(s * n)) if isinstance(s, float) and s < 1 else int(s))

    def _rule_stats(self, rules: list[Rule], A: np.ndarray, y: np.ndarray,
                    prec: np.ndarray | None, min_support: int) -> None:
        """Expectation mu and starting deviation of each rule from its labelled support."""
        support = A.sum(0)
        n_match = (A & (y == 1)[:, None]).sum(0)
        class_sizes = np.bincount(y, minlength=2)
        mu = np.empty(len(rules))
        for j, rule in enumerate(rules):
            rule.support, rule.n_match = int(support[j]), int(n_match[j])
            hits = n_match[j] if rule.label == 1 else support[j] - n_match[j]
            size = class_sizes[rule.label]
            rule.class_coverage = hits / size if size else float("nan")
            if rule.lf_index is not None:
                precision = DEFAULT_LF_PRECISION if prec is None else prec[rule.lf_index]
                rule.prior_mu = precision if rule.vote == 1 else 1.0 - precision
                # The prior counts as `min_support` pseudo-pairs: it dominates until the rule
                # has about that many labelled pairs of its own.
                mu[j] = (n_match[j] + min_support * rule.prior_mu) / (support[j] + min_support)
            else:
                mu[j] = (n_match[j] + 0.5) / (support[j] + 1.0)
        self.rule_mu_ = mu
        self.rule_sigma0_ = np.sqrt(mu * (1 - mu) / (support + 3.0)) + 0.02

    # ----------------------------------------------------------------- training
    def _forward(self, A: torch.Tensor, p: torch.Tensor, scales: dict,
                 fixed: tuple[torch.Tensor, ...] | None = None):
        """(risk, mean, std) of every pair from the exponentiated parameters `scales` (keyed like
        `params_`); `fixed` (from `_fixed(p)`) saves recomputing what does not depend on the
        parameters, once per training step."""
        bins, mu, predicted = self._fixed(p) if fixed is None else fixed
        mean, std = portfolio(
            A, scales["log_w"], mu, scales["log_sigma"],
            scales["log_w_bin"].index_select(0, bins), p,
            scales["log_sigma_bin"].index_select(0, bins),
        )
        return value_at_risk(mean, std, predicted, self.confidence), mean, std

    def _fixed(self, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each pair's matcher bin, the rules' expectations and the predicted labels."""
        return torch.as_tensor(self._bins(p.numpy())), torch.as_tensor(self.rule_mu_), p >= 0.5

    def _train(self, A: np.ndarray, y: np.ndarray, p: np.ndarray) -> None:
        """Rank the labelled pairs the matcher mispredicts above the others (pairwise logistic)."""
        m = len(self.rules_)
        start = {
            "log_w": torch.zeros(m, dtype=torch.float64),
            "log_sigma": torch.tensor(np.log(self.rule_sigma0_)),
            "log_w_bin": torch.zeros(self.n_bins, dtype=torch.float64),
            "log_sigma_bin": torch.full((self.n_bins,), float(np.log(0.1)), dtype=torch.float64),
        }
        self.params_ = {k: v.clone() for k, v in start.items()}
        wrong = (p >= 0.5).astype(np.int64) != y
        self.n_mispredicted_ = int(wrong.sum())
        self.loss_history_: list[float] = []
        if wrong.all() or not wrong.any():
            return  # nothing to rank: keep the prior parameters
        bad, good = np.flatnonzero(wrong), np.flatnonzero(~wrong)
        rng = np.random.default_rng(self.seed)
        if bad.size * good.size > self.max_rank_pairs:
            i = rng.choice(bad, self.max_rank_pairs)
            j = rng.choice(good, self.max_rank_pairs)
        else:
            i, j = (g.ravel() for g in np.meshgrid(bad, good, indexing="ij"))
        i, j = torch.as_tensor(i), torch.as_tensor(j)
        At = torch.as_tensor(A, dtype=torch.float64)
        pt = torch.as_tensor(p, dtype=torch.float64)
        # All parameters in one tensor: each step's exp, penalty and (fused) Adam update are
        # then one operation each instead of one per parameter group, which at a risk model's
        # size is most of a step's cost; the arithmetic per entry is the same.
        sizes = [v.numel() for v in start.values()]
        origin = torch.cat(list(start.values()))
        theta = origin.clone().requires_grad_(True)
        opt = torch.optim.Adam([theta], lr=self.lr, fused=True)
        fixed = self._fixed(pt)
        for _ in range(self.epochs):
            opt.zero_grad()
            scales = dict(zip(start, theta.exp().split(sizes), strict=True))
            r = self._forward(At, pt, scales, fixed)[0]
            margin = r.index_select(0, i) - r.index_select(0, j)
            loss = torch.nn.functional.softplus(-margin / self.temperature).mean()
            (loss + self.l2 * ((theta - origin) ** 2).sum()).backward()
            opt.step()
            self.loss_history_.append(loss.item())
        learned = theta.detach().split(sizes)
        self.params_ = {k: v.clone() for k, v in zip(start, learned, strict=True)}

    # ----------------------------------------------------------------- scoring
    def risk(self, pairs: pd.DataFrame | None, proba, L=None,
             features: pd.DataFrame | None = None) -> np.ndarray:
        """(n,) Value-at-Risk at `confidence` of each pair's predicted label (proba >= 0.5);
        `features`, if given, are the pairs' features from `featurizer_` (computed ahead)."""
        self._check_fitted("risk")
        n = len(pairs) if isinstance(pairs, pd.DataFrame) else np.asarray(proba).ravel().shape[0]
        p = _check_proba(proba, n, "RiskModel.risk")
        L = self._votes(pairs, L, n, "RiskModel.risk", self.n_lfs_) if self.n_lfs_ else None
        if self.n_lfs_ and L is None:
            raise ValueError("RiskModel.risk: the model has LF rules; pass L (the LF votes)")
        F = None
        if any(r.lf_index is None for r in self.rules_):
            F = self._features(pairs) if features is None else features
            if len(F) != n:
                raise ValueError(f"RiskModel.risk: features has {len(F)} rows for {n} pairs")
        if F is not None:
            missing = sorted({c.feature for r in self.rules_ for c in r.conditions} - set(F))
            if missing:
                raise ValueError(f"RiskModel.risk: features {missing} are missing from the pairs")
        A = activations(self.rules_, F, L, n)
        with torch.no_grad():
            pt = torch.as_tensor(p, dtype=torch.float64)
            scales = {k: v.exp() for k, v in self.params_.items()}
            r, mean, std = self._forward(torch.as_tensor(A, dtype=torch.float64), pt, scales)
        self._last = {"A": A, "p": p, "risk": r.numpy(), "mean": mean.numpy(),
                      "std": std.numpy()}
        return self._last["risk"].copy()

    # ----------------------------------------------------------------- explanations
    def rule_table(self) -> pd.DataFrame:
        """One row per risk rule: text, class, labelled support, mu, sigma and learned weight."""
        self._check_fitted("rule_table")
        w = self.params_["log_w"].detach().exp().numpy()
        s = self.params_["log_sigma"].detach().exp().numpy()
        return pd.DataFrame({
            "text": [r.text for r in self.rules_],
            "label": [r.label for r in self.rules_],
            "support": [r.support for r in self.rules_],
            "class_coverage": [r.class_coverage for r in self.rules_],
            "mu": self.rule_mu_, "sigma": s, "weight": w,
        })

    def explain(self, i: int) -> list[str]:
        """Why pair i of the last `risk()` call is risky: its predicted label and risk, then the
        matcher feature and every rule that fired, heaviest first, in words."""
        self._check_fitted("explain")
        if not hasattr(self, "_last"):
            raise RuntimeError("call risk(pairs, proba) before explain(i)")
        n = self._last["p"].shape[0]
        if not -n <= int(i) < n:
            raise IndexError(f"pair {i} is out of range for the last risk() call ({n} pairs)")
        a, p = self._last["A"][i], float(self._last["p"][i])
        pred = int(p >= 0.5)
        q = 1 - self.confidence if pred else self.confidence
        bound = "as low as" if pred else "as high as"
        lines = [
            f"predicted {CLASS_NAMES[pred]} (P(match) = {p:.2f}); risk {self._last['risk'][i]:.2f}:"
            f" the match probability may be {bound} "
            f"{1 - self._last['risk'][i] if pred else self._last['risk'][i]:.2f} "
            f"({q:.0%} quantile of N({self._last['mean'][i]:.2f}, "
            f"{self._last['std'][i]:.2f}^2) on [0, 1])"
        ]
        b = int(self._bins(np.array([p]))[0])
        wb = float(self.params_["log_w_bin"][b].detach().exp())
        sb = float(self.params_["log_sigma_bin"][b].detach().exp())
        lo, hi = b / self.n_bins, (b + 1) / self.n_bins
        lines.append(f"matcher output {p:.2f} (bin {lo:.1f}-{hi:.1f}): mu={p:.2f}, "
                     f"sigma={sb:.2f}, weight={wb:.2f}")
        table = self.rule_table()
        for j in np.flatnonzero(a)[np.argsort(-table["weight"].to_numpy()[a], kind="stable")]:
            lines.append(self._describe(j, table.iloc[j]))
        return lines

    def _describe(self, j: int, row: pd.Series) -> str:
        rule = self.rules_[j]
        cls = CLASS_NAMES[rule.label]
        head = f"{rule.text} (mu={row.mu:.2f}, sigma={row.sigma:.2f}, weight={row.weight:.2f})"
        if rule.support == 0:
            precision = rule.prior_mu if rule.label == 1 else 1.0 - rule.prior_mu
            return f"{head}: not yet seen on labelled pairs; prior precision {precision:.2f}"
        purity = (rule.n_match if rule.label == 1 else rule.support - rule.n_match) / rule.support
        return (f"{head}: seen on {rule.class_coverage:.0%} of labelled {cls}es; "
                f"{purity:.0%} of the {rule.support} labelled pairs where it fires are {cls}es")

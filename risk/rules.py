"""One-sided risk rules: an expert LF's votes, or thresholds on similarity features mined from
labelled pairs. A rule that fires is evidence for one class only; where it fires against the
matcher's prediction, the pair is risky.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Condition", "Rule", "mine_rules", "lf_rules", "activations"]

CLASS_NAMES = {0: "non-match", 1: "match"}


@dataclass(frozen=True)
class Condition:
    """`feature <= threshold` (op "<=") or `feature >= threshold` (op ">="); NaN never holds."""

    feature: str
    op: str
    threshold: float

    def holds(self, F: pd.DataFrame) -> np.ndarray:
        return self.test(F[self.feature].to_numpy(dtype=np.float64))

    def test(self, x: np.ndarray) -> np.ndarray:
        """Where the condition holds on the values `x` of its feature."""
        with np.errstate(invalid="ignore"):
            return x <= self.threshold if self.op == "<=" else x >= self.threshold

    def __str__(self) -> str:
        sign = "\u2264" if self.op == "<=" else "\u2265"
        return f"{self.feature.replace('__', ' ')} {sign} {self.threshold:.3g}"


@dataclass
class Rule:
    """A one-sided rule: where it fires, evidence that the pair's class is `label`.

    `conditions` for a mined rule; `lf_index`/`vote` for an expert LF (fires where L[:, j] == vote).
    Support statistics are filled in by the risk model from its labelled pairs.
    """

    label: int
    conditions: tuple[Condition, ...] = ()
    lf_index: int | None = None
    vote: int | None = None
    name: str = ""
    support: int = 0
    n_match: int = 0
    class_coverage: float = float("nan")
    prior_mu: float | None = None

    @property
    def text(self) -> str:
        lhs = self.name if self.lf_index is not None else " and ".join(map(str, self.conditions))
        return f"{lhs} -> {CLASS_NAMES[self.label]}"


def activations(rules: list[Rule], F: pd.DataFrame | None, L: np.ndarray | None,
                n: int | None = None) -> np.ndarray:
    """(n, len(rules)) boolean matrix: where each rule fires; `n` sets the row count when
    neither F nor L is given (no rules: an (n, 0) matrix)."""
    n = len(F) if F is not None else (L.shape[0] if L is not None else n or 0)
    out = np.zeros((n, len(rules)), dtype=bool)
    columns: dict[str, np.ndarray] = {}  # each feature read once: thousands of rules share few
    for j, rule in enumerate(rules):
        if rule.lf_index is not None:
            out[:, j] = L[:, rule.lf_index] == rule.vote
        else:
            fires = np.ones(n, dtype=bool)
            for cond in rule.conditions:
                if cond.feature not in columns:
                    columns[cond.feature] = F[cond.feature].to_numpy(dtype=np.float64)
                fires &= cond.test(columns[cond.feature])
            out[:, j] = fires
    return out


def lf_rules(L: np.ndarray, lfs: list | None) -> list[Rule]:
    """One rule per LF and vote: its declared polarity, or both votes when it has none."""
    rules = []
    for j in range(L.shape[1]):
        lf = lfs[j] if lfs is not None else None
        name = getattr(lf, "name", None) or f"LF {j}"
        polarity = getattr(lf, "polarity", None)
        votes = [int(polarity)] if polarity is not None else [1, 0]
        for vote in votes:
            label = f"{name} votes {CLASS_NAMES[vote]}" if polarity is None else name
            rules.append(Rule(label=vote, lf_index=j, vote=vote, name=label))
    return rules


def _scan(V: np.ndarray, target: np.ndarray, min_support: int, min_purity: float):
    """For every column of V: the largest threshold t whose side `x <= t` holds at least
    `min_support` rows of which a fraction >= `min_purity` are target, by one sorted scan.

    Returns (threshold, support, hits) per column; support is 0 where no threshold qualifies.
    """
    n, f = V.shape
    order = np.argsort(V, axis=0, kind="stable")  # NaN sort last
    Vs = np.take_along_axis(V, order, axis=0)
    hits = np.cumsum(target[order], axis=0)
    count = np.arange(1, n + 1)[:, None]
    boundary = np.ones_like(Vs, dtype=bool)
    boundary[:-1] = Vs[:-1] < Vs[1:]  # cut only between distinct values
    boundary[:-1] |= np.isnan(Vs[1:]) & ~np.isnan(Vs[:-1])
    ok = boundary & ~np.isnan(Vs) & (count >= min_support) & (hits >= min_purity * count)
    any_ok = ok.any(axis=0)
    last = n - 1 - np.argmax(ok[::-1], axis=0)
    cols = np.arange(f)
    thr = np.where(any_ok, Vs[last, cols], np.nan)
    support = np.where(any_ok, last + 1, 0)
    return thr, support, np.where(any_ok, hits[last, cols], 0)


def _one_condition_rules(V: np.ndarray, cols: list[str], rows: np.ndarray, y: np.ndarray,
                         label: int, min_support: int, min_purity: float) -> list[Condition]:
    """Single-threshold conditions on the columns `cols` of V (their values, float64) over
    `rows` that are at least `min_purity` pure for `label`."""
    V = V[rows]
    target = (y[rows] == label).astype(np.int64)
    out = []
    for sign, op in ((1.0, "<="), (-1.0, ">=")):
        thr, support, _ = _scan(sign * V, target, min_support, min_purity)
        out += [Condition(cols[c], op, float(sign * thr[c])) for c in np.flatnonzero(support)]
    return out


def mine_rules(
    F: pd.DataFrame,
    y: np.ndarray,
    min_support: int = 5,
    min_purity: float = 0.95,
    max_conditions: int = 2,
    max_rules: int = 40,
    max_overlap: float = 0.8,
) -> list[Rule]:
    """Mine one-sided rules of one or two threshold conditions over the feature columns of F.

    A rule for class c fires on at least `min_support` labelled pairs, at least `min_purity` of
    them of class c. Two-condition rules refine a looser first condition (purity halfway between
    the class rate and `min_purity`) by a second one on another feature. Rules with the same
    coverage are merged; a rule is dropped when another rule of its class covers a superset of
    its pairs at least as purely, or when its pairs overlap those of a wider rule of its class
    kept before it by more than `max_overlap` (Jaccard): near copies would be counted as
    independent evidence and drown the matcher's output. At most `max_rules` per class, widest
    first.
    """
    y = np.asarray(y).astype(int)
    cols = [c for c in F.columns if pd.api.types.is_numeric_dtype(F[c])]
    if not cols or len(y) == 0 or max_conditions < 1:
        return []
    all_rows = np.arange(len(y))
    V = F[cols].to_numpy(dtype=np.float64)  # once: every scan below reads its columns
    rules: list[Rule] = []
    for label in (0, 1):
        rate = float(np.mean(y == label))
        if rate == 0.0:
            continue
        found = [(c,) for c in _one_condition_rules(V, cols, all_rows, y, label,
                                                     min_support, min_purity)]
        if max_conditions >= 2:
            loose = (rate + min_purity) / 2.0
            for first in _one_condition_rules(V, cols, all_rows, y, label, min_support, loose):
                rows = np.flatnonzero(first.holds(F))
                others = [k for k, c in enumerate(cols) if c != first.feature]
                if rows.size < min_support or not others:
                    continue
                found += [(first, second) for second in _one_condition_rules(
                    V[:, others], [cols[k] for k in others], rows, y, label, min_support,
                    min_purity)]
        rules += _select(F, y, [Rule(label=label, conditions=c) for c in found], max_rules,
                         max_overlap)
    return rules


def _select(F: pd.DataFrame, y: np.ndarray, rules: list[Rule], max_rules: int,
            max_overlap: float) -> list[Rule]:
    """Merge rules of one class with equal coverage, drop dominated ones and near copies."""
    if not rules:
        return []
    A = activations(rules, F, None)
    support = A.sum(0)
    purity = (A & (y == rules[0].label)[:, None]).sum(0) / np.maximum(support, 1)
    size = np.array([len(r.conditions) for r in rules])
    order = np.lexsort((-purity, -support, size))  # simplest, then widest, then purest first
    # rules firing on exactly the same pairs: only the first in this order could survive (it
    # dominates the others), so keep it alone before the (rules x rules) comparisons below;
    # on a few labelled pairs thousands of two-condition rules share a handful of patterns
    _, first = np.unique(np.packbits(A[:, order], axis=0), axis=1, return_index=True)
    order = order[np.sort(first)]
    A, support, purity = A[:, order], support[order], purity[order]
    rules = [rules[i] for i in order]
    # co-firing counts through a float BLAS product (exact below 2**53 rows); numpy's integer
    # matmul has no BLAS
    Af = A.astype(np.float64)
    inter = np.rint(Af.T @ Af).astype(np.int64)
    covers = inter == support[None, :]  # covers[a, b]: rule a fires wherever rule b does
    better = covers & (purity[:, None] >= purity[None, :] - 1e-12)
    earlier = np.tri(len(rules), k=-1, dtype=bool).T  # earlier[a, b]: a comes before b
    same = covers & covers.T
    # b goes when another rule a dominates it: a strictly wider one, or an equal earlier one.
    dominated = (better & (~same | earlier)).any(0)
    overlap = inter / np.maximum(support[:, None] + support[None, :] - inter, 1)
    kept: list[int] = []
    for i in sorted(np.flatnonzero(~dominated), key=lambda i: -support[i]):  # over rules
        if len(kept) == max_rules:
            break
        if not kept or overlap[i, kept].max() <= max_overlap:
            kept.append(i)
    return [rules[i] for i in kept]

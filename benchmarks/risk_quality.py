"""Risk quality: how well LearnRisk's risk finds a matcher's mispredictions on each benchmark.

Per data set and seed: a SimilarityMatcher is trained on 200 random labelled train pairs; the
risk model is fitted on a further labelled sample (up to 500 other train/valid pairs, on which
the matcher's predictions are out-of-sample) with the data set's expert LFs
(examples/lfs/<dataset>.py, with the Snorkel label model's LF accuracies as priors) plus mined
rules; then the AUROC of the risk for the matcher's mispredictions on the test split is compared
with the uncertainty baselines 1 - |2p - 1| and p (1 - p) (the label-free reading of |label - p|).

Where a matcher makes few test errors, per-seed AUROCs rest on a handful of pairs, so the
summary also pools the test pairs of all seeds and gives a paired bootstrap 95% interval for
the pooled AUROC difference, risk minus baseline: a data set is decided only when it has at
least --min-errors test errors over all seeds (below that the bootstrap itself is unreliable)
and the interval excludes 0.

    .venv/bin/python benchmarks/risk_quality.py [--datasets ../shared/datasets] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (
    RESULTS,
    ROOT,
    add_datasets_argument,
    command,
    dataset_folder,
    markdown_table,
    timestamp,
)
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score


def identity(df: pd.DataFrame) -> pd.DataFrame:
    return df


def lf_priors(L: np.ndarray, seed: int) -> np.ndarray:
    """The label model's estimate of each LF's precision (Snorkel LabelModel accuracies)."""
    from snorkel.labeling.model import LabelModel

    lm = LabelModel(cardinality=2, verbose=False)
    lm.fit(L, n_epochs=200, seed=seed, progress_bar=False)
    return np.clip(lm.get_weights(), 0.0, 1.0)


def auroc(wrong: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(wrong, score)) if 0 < wrong.sum() < wrong.size else float("nan")


def run_dataset(folder: Path, seeds: list[int], n_matcher: int,
                n_risk: int) -> tuple[list[dict], dict]:
    """Per-seed rows, and the test arrays pooled over seeds (wrong, risk, uncertainty)."""
    from labeling_functions import apply_lfs, load_lfs, similarity_features
    from matchers import SimilarityMatcher
    from risk import RiskModel

    pool = pd.concat([pd.read_csv(folder / "pairs" / f"{s}.csv") for s in ("train", "valid")],
                     ignore_index=True)
    test = pd.read_csv(folder / "pairs" / "test.csv")
    # One call, so that pool and test get the same feature columns.
    F_all = similarity_features(pd.concat([pool, test], ignore_index=True))
    F_pool = F_all.iloc[: len(pool)].reset_index(drop=True)
    F_test = F_all.iloc[len(pool) :].reset_index(drop=True)
    lf_file = ROOT / "examples" / "lfs" / f"{folder.name}.py"
    lfs = load_lfs(lf_file) if lf_file.is_file() else None
    if lfs:
        L_pool, L_test = apply_lfs(lfs, pool), apply_lfs(lfs, test)
        prec = lf_priors(np.vstack([L_pool, L_test]), 0)
    y_pool, y_test = pool.label.to_numpy(), test.label.to_numpy()
    rows, pooled = [], {"wrong": [], "risk": [], "uncertainty": []}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(pool))
        m_idx, r_idx = order[:n_matcher], order[n_matcher : n_matcher + n_risk]
        t0 = time.perf_counter()
        try:
            matcher = SimilarityMatcher(seed=seed).fit(pool.iloc[m_idx], y_pool[m_idx])
            p_r, p_t = matcher.match_proba(pool.iloc[r_idx]), matcher.match_proba(test)
            matcher_name = "SimilarityMatcher"
        except ValueError as err:  # e.g. an all-missing feature column in the sample
            print(f"SimilarityMatcher failed on {folder.name} ({err}); using the same "
                  "gradient boosting on the non-empty similarity features", file=sys.stderr)
            keep = F_pool.columns[F_pool.iloc[m_idx].notna().any()]
            hgb = HistGradientBoostingClassifier(random_state=seed)
            hgb.fit(F_pool.iloc[m_idx][keep], y_pool[m_idx])
            p_r = hgb.predict_proba(F_pool.iloc[r_idx][keep])[:, 1]
            p_t = hgb.predict_proba(F_test[keep])[:, 1]
            matcher_name = "HistGradientBoosting"
        wrong = (p_t >= 0.5) != y_test
        row = {"dataset": folder.name, "seed": seed, "matcher": matcher_name,
               "lfs": len(lfs) if lfs else 0,
               "risk_pairs": len(r_idx), "test_errors": int(wrong.sum()),
               "auc_uncertainty": auroc(wrong, 1 - np.abs(2 * p_t - 1)),
               "auc_p1mp": auroc(wrong, p_t * (1 - p_t))}
        variants = {"mined": dict(lfs=None, L=None, Lt=None, prec=None)}
        if lfs:
            variants["lfs+mined"] = dict(lfs=lfs, L=L_pool[r_idx], Lt=L_test, prec=prec)
        risks = {}
        for name, v in variants.items():
            rm = RiskModel(lfs=v["lfs"], featurizer=identity, seed=seed)
            rm.fit(F_pool.iloc[r_idx].reset_index(drop=True), y_pool[r_idx], p_r, L=v["L"],
                   lf_precision=v["prec"])
            r = risks[name] = rm.risk(F_test, p_t, L=v["Lt"])
            row[f"auc_{name}"] = auroc(wrong, r)
            row[f"rules_{name}"] = len(rm.rules_)
        pooled["wrong"].append(wrong)
        pooled["risk"].append(risks["lfs+mined" if lfs else "mined"])
        pooled["uncertainty"].append(1 - np.abs(2 * p_t - 1))
        row["seconds"] = time.perf_counter() - t0
        print(row, flush=True)
        rows.append(row)
    return rows, {k: np.concatenate(v) for k, v in pooled.items()}


def pooled_comparison(wrong: np.ndarray, risk: np.ndarray, base: np.ndarray,
                      n_boot: int, seed: int = 0) -> dict:
    """Pooled AUROCs and a paired bootstrap 95% interval of their difference (risk - base)."""
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        idx = rng.integers(wrong.size, size=wrong.size)
        if 0 < wrong[idx].sum() < idx.size:
            diffs.append(roc_auc_score(wrong[idx], risk[idx])
                         - roc_auc_score(wrong[idx], base[idx]))
    low, high = np.percentile(diffs, [2.5, 97.5]) if diffs else (np.nan, np.nan)
    return {"risk": auroc(wrong, risk), "base": auroc(wrong, base), "low": float(low),
            "high": float(high), "errors": int(wrong.sum())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_datasets_argument(ap)
    ap.add_argument("--quick", action="store_true", help="one seed, two small data sets")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--bootstrap", type=int, default=1000, help="resamples for the interval")
    ap.add_argument("--min-errors", type=int, default=20,
                    help="fewer test errors over all seeds than this: too few to decide")
    ap.add_argument("--matcher-pairs", type=int, default=200)
    ap.add_argument("--risk-pairs", type=int, default=500)
    ap.add_argument("--out", default=str(RESULTS / "risk_quality.md"))
    args = ap.parse_args(argv)
    root = dataset_folder(args.datasets, "risk_quality")
    folders = sorted(p for p in root.iterdir() if (p / "pairs" / "test.csv").is_file())
    if args.quick:
        folders = [f for f in folders if f.name in ("beer", "fodors_zagats")]
        args.seeds = 1
    rows, pooled = [], {}
    for folder in folders:
        seed_rows, arrays = run_dataset(folder, list(range(args.seeds)), args.matcher_pairs,
                                        args.risk_pairs)
        rows += seed_rows
        pooled[folder.name] = pooled_comparison(arrays["wrong"], arrays["risk"],
                                                arrays["uncertainty"], args.bootstrap)
    df = pd.DataFrame(rows)
    summary = write(df, pooled, args, argv)
    print(summary)
    return 0


def verdict(c: dict, min_errors: int) -> str:
    if c["errors"] < min_errors:
        return f"too few errors to decide ({c['errors']} < {min_errors})"
    if c["low"] > 0:
        return "risk better"
    if c["high"] < 0:
        return "baseline better"
    return f"undecided: the interval holds 0 ({c['errors']} errors in all seeds)"


def write(df: pd.DataFrame, pooled: dict, args, argv) -> str:
    cols = ["auc_lfs+mined", "auc_mined", "auc_uncertainty", "auc_p1mp"]
    cols = [c for c in cols if c in df]
    g = df.groupby("dataset")
    mean, sd = g[cols].mean(), g[cols].std().fillna(0.0)
    best = "auc_lfs+mined" if "auc_lfs+mined" in df else "auc_mined"
    lines = [
        "# Risk quality: AUROC of risk for the matcher's test mispredictions",
        "",
        f"Command: `{command('risk_quality.py', argv)}`  ",
        f"Date: {timestamp()}. Matcher: SimilarityMatcher on "
        f"{args.matcher_pairs} random train/valid pairs; risk model fitted on up to "
        f"{args.risk_pairs} further labelled pairs; mean (sd) over {df.seed.nunique()} seeds. "
        "Machine: shared 2-core, load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (the AUROCs do not depend on it).",
        "The two uncertainty baselines are monotone in |2p - 1|, so their AUROCs coincide. "
        "'risk beats both' counts the seeds (with at least one test misprediction) where "
        "risk with LFs + mined rules has the higher AUROC.",
        "",
        "| dataset | LFs | test errors | risk: LFs + mined | risk: mined only | "
        "1 - abs(2p - 1) | p (1 - p) | risk beats both |",
        "|---|---|---|---|---|---|---|---|",
    ]
    pooled_lines = [
        "",
        f"Pooled over the {df.seed.nunique()} seeds' test pairs (risk: LFs + mined where the "
        "data set has LFs; baseline: 1 - abs(2p - 1), which ranks as p (1 - p) does); interval: "
        f"paired bootstrap over the pooled pairs, {args.bootstrap} resamples.",
        "",
        "| dataset | test errors (all seeds) | pooled AUROC risk | pooled AUROC baseline | "
        "difference [95% interval] | verdict |",
        "|---|---|---|---|---|---|",
        *(f"| {ds} | {c['errors']} | {c['risk']:.4f} | {c['base']:.4f} | "
          f"{c['risk'] - c['base']:+.4f} [{c['low']:+.4f}, {c['high']:+.4f}] | "
          f"{verdict(c, args.min_errors)} |"
          for ds, c in pooled.items()),
    ]
    for ds in mean.index:
        sub = df[df.dataset == ds]
        cell = {c: f"{mean.loc[ds, c]:.3f} ({sd.loc[ds, c]:.3f})" for c in cols}
        scored = sub[sub.test_errors > 0]  # AUROC needs at least one misprediction
        wins = int((scored[best] > scored[["auc_uncertainty", "auc_p1mp"]].max(axis=1)).sum())
        lines.append(
            f"| {ds} | {int(sub.lfs.iloc[0])} | {sub.test_errors.mean():.1f} | "
            f"{cell.get('auc_lfs+mined', 'n/a')} | {cell['auc_mined']} | "
            f"{cell['auc_uncertainty']} | {cell['auc_p1mp']} | "
            f"{wins}/{len(scored)} seeds |")
    lines += [*pooled_lines, "", "Per seed:", "", markdown_table(df), ""]
    text = "\n".join(lines)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text)
    plot(mean, cols, Path(args.out).with_suffix(".png"))
    return text


def plot(mean: pd.DataFrame, cols: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = mean[cols].plot.bar(figsize=(9, 4), ylim=(0.4, 1.0), rot=20)
    ax.set_ylabel("AUROC for mispredictions (test)")
    ax.legend(["risk: LFs + mined", "risk: mined", "1 - |2p - 1|", "p (1 - p)"][-len(cols):]
              if len(cols) == 4 else cols, fontsize=8)
    plt.tight_layout()
    plt.savefig(path, dpi=120)
    plt.close()


if __name__ == "__main__":
    sys.exit(main())

"""Cross-validated quality of the loop's SimilarityMatcher per featurizer option, on small sets.

The test splits of beer (14 matches) and itunes_amazon (27) move by 2-4 F1 points per pair, too
coarse to choose a featurizer option on; this pools out-of-fold scores of repeated stratified
5-fold CV over all labelled pairs (train, valid and test) instead.
Run: .venv/bin/python benchmarks/matcher_cv.py --names beer itunes_amazon \
    --variants clean dirty title_only --seeds 0 1 2 --configs base "restore unseen"
Writes <out>/matcher_cv.<tag>.md and .json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (
    RESULTS,
    add_datasets_argument,
    command,
    dataset_folder,
    markdown_table,
    timestamp,
)
from _variants import VARIANTS, load_variant
from sklearn.metrics import average_precision_score, precision_recall_curve
from sklearn.model_selection import StratifiedKFold

from labeling_functions.featurizer import PairFeaturizer
from matchers import SimilarityMatcher

CONFIGS = {  # name -> PairFeaturizer options on top of restore=True (the loop's featurizer)
    "base": {},
    "no context": {"context": False},
    "restore unseen": {"restore_unseen": True},
}
LOOP_MATCHER = {"monotonic": True, "l2_regularization": 1.0}


def cross_validated(pairs: pd.DataFrame, options: dict, seed: int, repeats: int) -> dict:
    """Mean over `repeats` of the pooled out-of-fold average precision and best F1 (x100)."""
    y = pairs["label"].to_numpy()
    featurizer = PairFeaturizer(restore=True, **options).fit(pairs)
    features = featurizer.transform(pairs)
    ap, f1 = [], []
    for repeat in range(repeats):
        scores = np.zeros(len(y))
        folds = StratifiedKFold(5, shuffle=True, random_state=repeat).split(features, y)
        for train, test in folds:
            m = SimilarityMatcher(seed=seed, featurizer=featurizer, **LOOP_MATCHER)
            m.fit(pairs.iloc[train], y[train].astype(float), features=features.iloc[train])
            scores[test] = m.proba_of_features(features.iloc[test], pairs.iloc[test])
        precision, recall, _ = precision_recall_curve(y, scores)
        ap.append(100 * average_precision_score(y, scores))
        f1.append(100 * np.max(2 * precision * recall / np.maximum(precision + recall, 1e-12)))
    return {"ap": float(np.mean(ap)), "f1": float(np.mean(f1))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--names", nargs="+", default=["beer", "itunes_amazon"])
    parser.add_argument("--variants", nargs="+", default=["clean", "dirty", "title_only"],
                        choices=list(VARIANTS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="dirtying and boosting seeds (clean and title_only use the first)")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--tag", default="cv")
    args = parser.parse_args()
    folder = dataset_folder(args.datasets, "matcher_cv", "beer")
    rows = []
    for name in args.names:
        for variant in args.variants:
            seeds = args.seeds[:1] if variant in ("clean", "title_only") else args.seeds
            for seed in seeds:
                splits = load_variant(folder / name, variant, seed)
                pairs = pd.concat(list(splits.values()), ignore_index=True)
                for config in args.configs:
                    wall = time.perf_counter()
                    row = {"dataset": name, "variant": variant, "seed": seed, "config": config,
                           **cross_validated(pairs, CONFIGS[config], seed, args.repeats),
                           "seconds": time.perf_counter() - wall}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    out = Path(args.out)
    stem = f"matcher_cv.{args.tag}"
    (out / f"{stem}.json").write_text(json.dumps({"command": command("matcher_cv.py"),
                                                  "rows": rows}, indent=1))
    table = (pd.DataFrame(rows).groupby(["dataset", "config", "variant"], sort=False)[["ap", "f1"]]
             .mean().unstack("variant"))
    table.columns = [f"{metric} {variant}" for metric, variant in table.columns]
    table = table.map(lambda v: f"{v:.1f}").reset_index()
    lines = [f"# SimilarityMatcher ({LOOP_MATCHER}): {args.repeats}x 5-fold CV over all labelled "
             "pairs", "", f"Command: `{command('matcher_cv.py')}`  ", f"Date: {timestamp()}", "",
             "Pooled out-of-fold average precision (ap) and best-cut F1 (f1), x100, mean over the "
             "seeds (dirty: the dirtying seed too). Featurizer: PairFeaturizer(restore=True, "
             "<config>).", "", markdown_table(table)]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

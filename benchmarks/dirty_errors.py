"""The test pairs the dirty variant gets wrong and the clean one right, with their records and
the features that changed (the loop's matcher: fit on train, cut on valid, per seed).

Run: .venv/bin/python benchmarks/dirty_errors.py --name beer --seeds 3 [--options '{...}']
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
from _common import add_dirty_analysis_arguments, dataset_folder
from _variants import load_variant
from matcher_cv import LOOP_MATCHER

from blocking.metrics import best_threshold
from labeling_functions.featurizer import PairFeaturizer
from matchers import SimilarityMatcher


def scored(folder, variant: str, seed: int, options: dict
           ) -> tuple[pd.DataFrame, np.ndarray, float, pd.DataFrame, np.ndarray]:
    """(test pairs, their P(match), the cut chosen on valid, their features, valid P(match))."""
    splits = load_variant(folder, variant, seed)
    pool = pd.concat(list(splits.values()), ignore_index=True)
    featurizer = PairFeaturizer(restore=True, **options).fit(pool)
    m = SimilarityMatcher(seed=seed, featurizer=featurizer, **LOOP_MATCHER)
    m.fit(splits["train"], splits["train"]["label"].to_numpy(float))
    valid = m.match_proba(splits["valid"])
    cut, _ = best_threshold(splits["valid"]["label"].to_numpy(), valid)
    test = splits["test"]
    return test, m.match_proba(test), cut, featurizer.transform(test), valid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dirty_analysis_arguments(parser)
    args = parser.parse_args()
    folder = dataset_folder(args.datasets, "dirty_errors", args.name) / args.name
    options = json.loads(args.options)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 100)
    test, clean_p, clean_cut, clean_x, _ = scored(folder, "clean", 0, options)
    y = test["label"].to_numpy()
    values = [c for c in test.columns if c.startswith(("left_", "right_"))]
    for seed in range(args.seeds):
        dirty, dirty_p, dirty_cut, dirty_x, _ = scored(folder, "dirty", seed, options)
        right_clean = (clean_p >= clean_cut) == y
        right_dirty = (dirty_p >= dirty_cut) == y
        print(f"seed {seed}: cut clean {clean_cut:.2f}, dirty {dirty_cut:.2f}; lost "
              f"{int((right_clean & ~right_dirty).sum())}, gained "
              f"{int((~right_clean & right_dirty).sum())}")
        for i in np.flatnonzero(right_clean != right_dirty):
            print(f"--- {'lost' if right_clean[i] else 'gained'}: label {y[i]}, P(match) clean "
                  f"{clean_p[i]:.3f}, dirty {dirty_p[i]:.3f}")
            print(pd.DataFrame({"clean": test.iloc[i][values], "dirty": dirty.iloc[i][values]}))
            changed = pd.DataFrame({"clean": clean_x.iloc[i], "dirty": dirty_x.iloc[i]})
            print(changed[~np.isclose(changed["clean"].fillna(-9), changed["dirty"].fillna(-9))])


if __name__ == "__main__":
    main()

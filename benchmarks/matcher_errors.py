"""The test pairs the loop's matcher gets wrong in one variant, with their records, P(match), the
cut chosen on valid and the valid scores on either side of that cut (fit on train, per seed).

Run: .venv/bin/python benchmarks/matcher_errors.py --name fodors_zagats --variant clean --seeds 1
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
from _common import add_dirty_analysis_arguments, dataset_folder
from dirty_errors import scored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dirty_analysis_arguments(parser)
    parser.add_argument("--variant", default="clean", help="clean, dirty, dirty80 or title_only")
    args = parser.parse_args()
    folder = dataset_folder(args.datasets, "matcher_errors", args.name) / args.name
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 100)
    for seed in range(args.seeds):
        test, p, cut, features, valid_p = scored(folder, args.variant, seed,
                                                 json.loads(args.options))
        y = test["label"].to_numpy()
        below, above = valid_p[valid_p < cut], valid_p[valid_p >= cut]
        print(f"seed {seed}: cut {cut:.3f} (valid scores beside it: {below.max(initial=0):.3f}, "
              f"{above.min(initial=1):.3f}); test: lowest match {p[y == 1].min(initial=1):.3f}, "
              f"highest non-match {p[y == 0].max(initial=0):.3f}")
        values = [c for c in test.columns if c.startswith(("left_", "right_"))]
        for i in np.flatnonzero((p >= cut) != (y == 1)):
            print(f"--- label {y[i]}, P(match) {p[i]:.3f}")
            print(test.iloc[i][values].to_string())
            print(features.iloc[i].dropna().to_string())


if __name__ == "__main__":
    main()

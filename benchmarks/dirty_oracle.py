"""Which moved attribute costs a data set its dirty-variant quality: move only some attributes.

Each mode makes the dirty variant (`_variants.make_dirty`'s recipe, p = 0.5, seeded) with only
the named attributes touched, and how: 'move' (into the title, attribute emptied: the dirty
recipe), 'dup' (appended to the title, attribute kept), 'drop' (attribute emptied, title kept);
'none' is the clean set. Per seed: test F1 of the loop's matcher (fit on train, cut on valid)
and the 2x 5-fold CV of `matcher_cv.cross_validated`.
Run: .venv/bin/python benchmarks/dirty_oracle.py --name beer --modes none move:all \
    move:Brew_Factory_Name move:Style,ABV dup:Brew_Factory_Name drop:Brew_Factory_Name
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
from _common import add_dirty_analysis_arguments, dataset_folder
from matcher_cv import LOOP_MATCHER, cross_validated

from blocking import load_exp_tables, load_pairs
from blocking.metrics import best_threshold, f_measure
from labeling_functions.featurizer import PairFeaturizer
from matchers import SimilarityMatcher


def touched(table: pd.DataFrame, seed: int, how: str, attrs: list[str] | None,
            p: float = 0.5) -> pd.DataFrame:
    """`table` with the named attributes (None: all but the title) moved, duplicated or
    dropped w.p. `p` per record, the draws made as in `make_dirty` for every attribute."""
    out = table.copy()
    title, *others = [c for c in table.columns if c != "id"]
    rng = np.random.default_rng(seed)
    text = out[title].astype("string").fillna("")
    for column in others:
        hit = (rng.random(len(out)) < p) & out[column].notna().to_numpy()
        if attrs is not None and column not in attrs:
            continue
        if how in ("move", "dup"):
            value = out[column].astype("string").fillna("")
            text = text.where(~hit, (text + " " + value).str.strip())
        if how in ("move", "drop"):
            out[column] = out[column].astype(object).where(~hit, np.nan)
    out[title] = text.astype(object)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_dirty_analysis_arguments(parser)
    parser.add_argument("--modes", nargs="+", default=["none", "move:all"])
    args = parser.parse_args()
    folder = dataset_folder(args.datasets, "dirty_oracle", args.name) / args.name
    options = json.loads(args.options)
    for mode in args.modes:
        how, _, names = mode.partition(":")
        rows = []
        for seed in range(args.seeds):
            A, B = load_exp_tables(folder)
            if how != "none":
                attrs = None if names == "all" else names.split(",")
                A, B = touched(A, seed, how, attrs), touched(B, seed + 1, how, attrs)
            splits = {s: load_pairs(folder / f"{s}.csv", A, B) for s in ("train", "valid", "test")}
            pool = pd.concat(list(splits.values()), ignore_index=True)
            featurizer = PairFeaturizer(restore=True, **options).fit(pool)
            tr, va, te = (splits[s] for s in ("train", "valid", "test"))
            m = SimilarityMatcher(seed=seed, featurizer=featurizer, **LOOP_MATCHER)
            m.fit(tr, tr["label"].to_numpy(float))
            cut, _ = best_threshold(va["label"].to_numpy(), m.match_proba(va))
            test = 100 * f_measure(te["label"].to_numpy(), m.match_proba(te) >= cut)
            rows.append({"test_f1": test, **cross_validated(pool, options, seed, 2)})
            print(json.dumps({"mode": mode, "seed": seed, **rows[-1]}), flush=True)
        df = pd.DataFrame(rows)
        print(f"{mode}: test F1 median {df['test_f1'].median():.1f} "
              f"({', '.join(f'{v:.1f}' for v in df['test_f1'])}); CV ap {df['ap'].mean():.1f}, "
              f"CV f1 {df['f1'].mean():.1f}", flush=True)


if __name__ == "__main__":
    main()

"""Does the loop's matcher learn a different function from a dirty pool, and do training-side
changes close the clean-dirty gap? Two parts, both with the loop's SimilarityMatcher over
`PairFeaturizer(restore=True)` fitted on the split pool.

transfer: repeated stratified 5-fold CV over all labelled pairs (the clean and the dirty
variant hold the same pairs in the same order), the model fitted on one variant's fold-train
features and scored on either variant's fold-test features: clean->dirty is the clean-trained
function on dirty features, the most a train-side change can reach.
options: training-side changes (feature groups, imputation, sample weights, moved-value copies,
boosting settings): test F1 (fit on train, cut on valid) per seed and the CV of matcher_cv.py.

Run: .venv/bin/python benchmarks/dirty_training.py --names beer itunes_amazon --seeds 0 1 2
Writes <out>/dirty_training.<tag>.md and .json.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, add_datasets_argument, command, dataset_folder, timestamp
from _variants import load_variant
from matcher_cv import LOOP_MATCHER
from sklearn.metrics import average_precision_score, precision_recall_curve
from sklearn.model_selection import StratifiedKFold

from blocking.metrics import best_threshold, f_measure
from blocking.pairs import side_columns
from labeling_functions.featurizer import PairFeaturizer, feature_directions
from matchers import SimilarityMatcher

SPLITS = ("train", "valid", "test")
# (features, pairs, labels, featurizer, seed) -> (features, pairs, labels, sample weights)
Training = Callable[[pd.DataFrame, pd.DataFrame, np.ndarray, PairFeaturizer, int],
                    tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]]


def _group(column: str) -> str:
    """The feature group of a column: margin, record, cross, missing or attribute."""
    if column.endswith("_margin"):
        return "margin"
    if column.startswith("record__"):
        return "record"
    if column.endswith(("_in_right_record", "_in_left_record")):
        return "cross"
    return "missing" if column.endswith("__n_missing") else "attribute"


def _cross_filled(features: pd.DataFrame, featurizer: PairFeaturizer) -> pd.DataFrame:
    """Every missing similarity (+1 direction) of an attribute filled with the larger share of
    its tokens found in the other whole record (the attribute's cross features)."""
    out = features.copy()
    for attr in featurizer.attributes_:
        cross = [f"{attr}__left_in_right_record", f"{attr}__right_in_left_record"]
        if cross[0] not in out:
            continue
        found = out[cross].max(axis=1)
        own = [c for c in out.columns if c.startswith(f"{attr}__") and _group(c) == "attribute"]
        for column, direction in zip(own, feature_directions(own), strict=True):
            if direction == 1:
                out[column] = out[column].fillna(found)
    return out


def _missing_count(features: pd.DataFrame) -> np.ndarray:
    """Per pair, how many attribute sides are empty."""
    return features[[c for c in features.columns if _group(c) == "missing"]].sum(axis=1).to_numpy()


def _pattern_balanced(features: pd.DataFrame, y: np.ndarray) -> np.ndarray:
    """Weights that give every missingness pattern the overall match rate (the pattern's own
    rate shrunk towards it by 5 pairs; weights clipped to [0.2, 5])."""
    missing = features[[c for c in features.columns if _group(c) == "missing"]].fillna(-1)
    frame = pd.DataFrame({"pattern": pd.factorize(pd.MultiIndex.from_frame(missing))[0], "y": y})
    groups = frame.groupby("pattern")["y"]
    prior = y.mean()
    rate = ((groups.transform("sum") + 5 * prior) / (groups.transform("size") + 5)).to_numpy()
    return np.clip(np.where(y == 1, prior / rate, (1 - prior) / (1 - rate)), 0.2, 5.0)


def _moved_copy(pairs: pd.DataFrame, attributes: list[str], rng: np.random.Generator
                ) -> pd.DataFrame:
    """The pairs with each non-first attribute of each side moved into the first w.p. 0.5."""
    out = pairs.copy()
    for side in (0, 1):
        title = side_columns(attributes[0])[side]
        text = out[title].astype("string").fillna("")
        for attr in attributes[1:]:
            column = side_columns(attr)[side]
            value = out[column].astype("string").fillna("")
            moved = (rng.random(len(out)) < 0.5) & (value.str.strip() != "").to_numpy()
            text = text.where(~moved, (text + " " + value).str.strip())
            out[column] = out[column].astype(object).where(~moved, np.nan)
        out[title] = text.astype(object)
    return out


def _with_moved_copies(features: pd.DataFrame, pairs: pd.DataFrame, y: np.ndarray,
                       featurizer: PairFeaturizer, seed: int
                       ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """The pairs plus one copy with values moved (`_moved_copy`), featurized by the pool's
    featurizer; the copy keeps its pair's context margins (the records' place in the pool)."""
    copy = _moved_copy(pairs.reset_index(drop=True), featurizer.attributes_,
                       np.random.default_rng(seed))
    copied = featurizer.transform(copy)
    margins = [c for c in features.columns if _group(c) == "margin"]
    copied[margins] = features[margins].to_numpy()
    return (pd.concat([features, copied], ignore_index=True),
            pd.concat([pairs.reset_index(drop=True), copy], ignore_index=True),
            np.concatenate([y, y]), np.ones(2 * len(y)))


def _only(groups: set[str]) -> Training:
    """Training on the columns of the named feature groups only."""
    def train(features, pairs, y, featurizer, seed):
        kept = [c for c in features.columns if _group(c) in groups]
        return features[kept], pairs, y, np.ones(len(y))
    return train


def _plain(features: pd.DataFrame, pairs: pd.DataFrame, y: np.ndarray,
           featurizer: PairFeaturizer, seed: int
           ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
    """Training as it is."""
    return features, pairs, y, np.ones(len(y))


OPTIONS: dict[str, tuple[Training, Callable[[pd.DataFrame, PairFeaturizer], pd.DataFrame],
                         dict]] = {
    # name -> (training change, the same change applied to scored features, matcher options)
    "base": (_plain, lambda x, f: x, {}),
    "attribute + cross + missing": (_only({"attribute", "cross", "missing"}), lambda x, f: x, {}),
    "record + margins": (_only({"record", "margin"}), lambda x, f: x, {}),
    "cross-filled attributes": (
        lambda x, p, y, f, s: (_cross_filled(x, f), p, y, np.ones(len(y))), _cross_filled, {}),
    "complete pairs weighted": (
        lambda x, p, y, f, s: (x, p, y, 1.0 / (1.0 + _missing_count(x)) ** 2),
        lambda x, f: x, {}),
    "missingness balanced": (
        lambda x, p, y, f, s: (x, p, y, _pattern_balanced(x, y)), lambda x, f: x, {}),
    "moved copies": (_with_moved_copies, lambda x, f: x, {}),
    "one term per feature": (_plain, lambda x, f: x, {"interactions": "none"}),
    "l2 10": (_plain, lambda x, f: x, {"l2_regularization": 10.0}),
}


def _fitted(option: str, features: pd.DataFrame, pairs: pd.DataFrame, y: np.ndarray,
            featurizer: PairFeaturizer, seed: int) -> SimilarityMatcher:
    """The loop's matcher fitted with a training option."""
    train, _, options = OPTIONS[option]
    features, pairs, y, weights = train(features, pairs, y, featurizer, seed)
    matcher = SimilarityMatcher(seed=seed, featurizer=featurizer, **{**LOOP_MATCHER, **options})
    return matcher.fit(pairs, y.astype(float), sample_weight=weights, features=features)


def _scores(option: str, matcher: SimilarityMatcher, features: pd.DataFrame,
            pairs: pd.DataFrame) -> np.ndarray:
    """P(match) of scored pairs under a training option (its change to scored features)."""
    changed = OPTIONS[option][1](features, matcher.featurizer_)
    return matcher.proba_of_features(changed.reindex(columns=matcher.columns_), pairs)


def _pool(folder: Path, variant: str, seed: int
          ) -> tuple[dict[str, pd.DataFrame], PairFeaturizer, dict[str, pd.DataFrame]]:
    """(splits, the featurizer fitted on their pool, each split's features)."""
    splits = load_variant(folder, variant, seed)
    featurizer = PairFeaturizer(restore=True).fit(pd.concat(list(splits.values()),
                                                            ignore_index=True))
    return splits, featurizer, {s: featurizer.transform(splits[s]) for s in SPLITS}


def _pr(y: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """(average precision, best-cut F1), x100."""
    precision, recall, _ = precision_recall_curve(y, scores)
    best = np.max(2 * precision * recall / np.maximum(precision + recall, 1e-12))
    return 100 * average_precision_score(y, scores), 100 * best


def _cv(y: np.ndarray, repeats: int, fit_score: Callable[[np.ndarray, np.ndarray], np.ndarray]
        ) -> tuple[float, float]:
    """Mean over repeats of the pooled out-of-fold (ap, f1); fit_score(train, test) scores."""
    results = []
    for repeat in range(repeats):
        scores = np.zeros(len(y))
        for train, test in StratifiedKFold(5, shuffle=True, random_state=repeat).split(y, y):
            scores[test] = fit_score(train, test)
        results.append(_pr(y, scores))
    ap, f1 = np.mean(results, axis=0)
    return float(ap), float(f1)


def transfer(folder: Path, seed: int, repeats: int) -> list[dict]:
    """The four train -> scored variant cells of one dirtying seed: CV (ap, f1) and test F1
    (fit on the fitted variant's train split, cut on the scored variant's valid split)."""
    held = {}
    for variant in ("clean", "dirty"):
        splits, featurizer, features = _pool(folder, variant, seed if variant == "dirty" else 0)
        ends = np.cumsum([len(splits[s]) for s in SPLITS])
        at = dict(zip(SPLITS, np.split(np.arange(ends[-1]), ends[:-1]), strict=True))
        held[variant] = (featurizer, pd.concat([splits[s] for s in SPLITS], ignore_index=True),
                         pd.concat([features[s] for s in SPLITS], ignore_index=True))
    y = held["clean"][1]["label"].to_numpy()
    if not (held["dirty"][1]["label"].to_numpy() == y).all():
        raise ValueError("the clean and dirty variants hold different pairs")
    rows = []
    for fitted_on, (featurizer, pairs, features) in held.items():
        for scored_on, (_, scored_pairs, scored) in held.items():
            def fit_score(train, test, fitted=(featurizer, pairs, features),
                          held_out=(scored_pairs, scored)):
                m = _fitted("base", fitted[2].iloc[train], fitted[1].iloc[train], y[train],
                            fitted[0], seed)
                return _scores("base", m, held_out[1].iloc[test], held_out[0].iloc[test])
            ap, f1 = _cv(y, repeats, fit_score)
            valid, test = (fit_score(at["train"], at[s]) for s in ("valid", "test"))
            cut, _ = best_threshold(y[at["valid"]], valid)
            rows.append({"part": "transfer", "dataset": folder.name, "seed": seed,
                         "cell": f"{fitted_on}->{scored_on}", "ap": ap, "f1": f1,
                         "test_f1": 100 * f_measure(y[at["test"]], test >= cut)})
            print(json.dumps(rows[-1]), flush=True)
    return rows


def options(folder: Path, variant: str, seed: int, names: list[str], repeats: int
            ) -> list[dict]:
    """Test F1 (fit on train, cut on valid) and CV (ap, f1) of each training option."""
    splits, featurizer, features = _pool(folder, variant, seed)
    pairs = pd.concat([splits[s] for s in SPLITS], ignore_index=True)
    table = pd.concat([features[s] for s in SPLITS], ignore_index=True)
    y = pairs["label"].to_numpy()
    rows = []
    for option in names:
        m = _fitted(option, features["train"], splits["train"],
                    splits["train"]["label"].to_numpy(), featurizer, seed)
        cut, _ = best_threshold(splits["valid"]["label"].to_numpy(),
                                _scores(option, m, features["valid"], splits["valid"]))
        test = _scores(option, m, features["test"], splits["test"]) >= cut

        def fit_score(train, held_out, option=option):
            fold = _fitted(option, table.iloc[train], pairs.iloc[train], y[train], featurizer,
                           seed)
            return _scores(option, fold, table.iloc[held_out], pairs.iloc[held_out])
        ap, f1 = _cv(y, repeats, fit_score)
        rows.append({"part": "options", "dataset": folder.name, "variant": variant,
                     "seed": seed, "option": option, "cut": cut,
                     "test_f1": 100 * f_measure(splits["test"]["label"].to_numpy(), test),
                     "ap": ap, "f1": f1})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def report(rows: list[dict]) -> list[str]:
    """Markdown tables of both parts (CV: mean over seeds; test F1: per seed)."""
    frame = pd.DataFrame(rows)
    lines = []
    if "cell" in frame:
        cells = frame[frame["part"] == "transfer"]
        if len(cells):
            lines += ["## transfer (CV ap / f1, mean over dirtying seeds; f1 and test F1 per "
                      "seed)", "", "| dataset | cell | CV ap | CV f1 | CV f1 per seed | test F1 "
                      "per seed | test F1 median |", "|---|---|---|---|---|---|---|"]
            for (name, cell), g in cells.groupby(["dataset", "cell"], sort=False):
                lines.append(f"| {name} | {cell} | {g['ap'].mean():.1f} | {g['f1'].mean():.1f} "
                             f"| {', '.join(f'{v:.1f}' for v in g['f1'])} | "
                             f"{', '.join(f'{v:.1f}' for v in g['test_f1'])} | "
                             f"{g['test_f1'].median():.1f} |")
            lines.append("")
    if "option" in frame:
        part = frame[frame["part"] == "options"]
        if len(part):
            lines += ["## options (test F1 per seed, its median; CV ap / f1, mean over seeds)",
                      "", "| dataset | option | variant | test F1 (seeds) | median | CV ap "
                      "| CV f1 |",
                      "|---|---|---|---|---|---|---|"]
            for (name, option, variant), g in part.groupby(["dataset", "option", "variant"],
                                                           sort=False):
                lines.append(f"| {name} | {option} | {variant} | "
                             f"{', '.join(f'{v:.1f}' for v in g['test_f1'])} | "
                             f"{g['test_f1'].median():.1f} | {g['ap'].mean():.1f} | "
                             f"{g['f1'].mean():.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--names", nargs="+", default=["beer", "itunes_amazon"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--parts", nargs="+", default=["transfer", "options"],
                        choices=["transfer", "options"])
    parser.add_argument("--options", nargs="+", default=list(OPTIONS), choices=list(OPTIONS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--tag", default="v19")
    args = parser.parse_args()
    folder = dataset_folder(args.datasets, "dirty_training", *args.names)
    rows = []
    for name in args.names:
        if "transfer" in args.parts:
            for seed in args.seeds:
                rows += transfer(folder / name, seed, args.repeats)
        if "options" in args.parts:
            rows += options(folder / name, "clean", 0, args.options, args.repeats)
            for seed in args.seeds:
                rows += options(folder / name, "dirty", seed, args.options, args.repeats)
    out = Path(args.out)
    stem = f"dirty_training.{args.tag}"
    (out / f"{stem}.json").write_text(json.dumps({"command": command("dirty_training.py"),
                                                  "rows": rows}, indent=1))
    lines = [f"# Training-side changes on dirty pools ({LOOP_MATCHER}, restore=True)", "",
             f"Command: `{command('dirty_training.py')}`  ", f"Date: {timestamp()}", "",
             *report(rows)]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Clusters from scored pairs against the truth: plain connected components against the split
at the size the matches support (`max_size="auto"`) and, for two tables, a one-to-one matching.

Data: synthetic person records (`make_dirty_records`, default person blocker) and the shared
dblp_acm, abt_buy, amazon_google and fodors_zagats (restaurants) tables (TF-IDF blocking of
the full tables). A `SimilarityMatcher` is trained on labelled pairs (synthetic: `--train`
seeded candidates, as few as a labelling run gathers; shared sets: all of train.csv, and a
seeded `--train` of them) and scores every candidate pair; the truth is the entity of
each record (synthetic) or the connected components of the known matches over all three splits
(shared sets).

Measured per method: pairwise precision / recall / F1 (record pairs put in one cluster), exact
cluster precision / recall / F1 (predicted clusters of 2+ records equal to a true one), and the
cluster sizes. Usage: python benchmarks/clustering.py [--datasets ../shared/datasets]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from active.clustering import cluster_records  # noqa: E402
from benchmarks._common import (  # noqa: E402
    RESULTS,
    add_datasets_argument,
    command,
    dataset_folder,
    markdown_table,
    timestamp,
)

# the shared sets with the blocking the README recommends for their kind of data
SHARED = [
    ("dblp_acm", ["title", "authors"], 5, "word"),
    ("abt_buy", ["name"], 10, "char_wb"),
    ("amazon_google", ["title"], 10, "word"),
    ("fodors_zagats", ["name", "addr"], 5, "word"),
]


QUANTILES = (0.9, 0.99)


def _pairs_within(sizes: np.ndarray) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def cluster_scores(predicted: pd.Series, truth: pd.Series) -> dict:
    """Pairwise and exact-cluster precision / recall / F1 of `predicted` against `truth`
    (both: record id -> cluster label, on the same records)."""
    frame = pd.DataFrame({"pred": predicted.to_numpy(), "true": truth.to_numpy()})
    pred_size = frame.groupby("pred").size()
    true_size = frame.groupby("true").size()
    joint = frame.groupby(["pred", "true"]).size()
    tp = _pairs_within(joint.to_numpy())
    n_pred, n_true = _pairs_within(pred_size.to_numpy()), _pairs_within(true_size.to_numpy())
    count = joint.to_numpy()
    whole_pred = count == pred_size.reindex(joint.index.get_level_values(0)).to_numpy()
    whole_true = count == true_size.reindex(joint.index.get_level_values(1)).to_numpy()
    exact = joint[whole_pred & whole_true & (count > 1)]
    n_pred_clusters, n_true_clusters = int((pred_size > 1).sum()), int((true_size > 1).sum())

    def f1(p: float, r: float) -> float:
        return 2 * p * r / (p + r) if p + r else 0.0

    p, r = tp / max(n_pred, 1), tp / max(n_true, 1)
    cp, cr = len(exact) / max(n_pred_clusters, 1), len(exact) / max(n_true_clusters, 1)
    sizes = pred_size.to_numpy()
    return {"pair P": p, "pair R": r, "pair F1": f1(p, r), "cluster P": cp, "cluster R": cr,
            "cluster F1": f1(cp, cr), "clusters 2+": n_pred_clusters,
            "largest": int(sizes.max()), "largest true": int(true_size.max()),
            "99% size": float(np.quantile(sizes[sizes > 1], 0.99)) if (sizes > 1).any() else 1.0}


def _truth_components(ids: pd.Series, matches: pd.DataFrame, dedup: bool) -> pd.Series:
    """Record id -> true entity: connected components of the known matches."""
    left, right = matches["ltable_id"].astype(str), matches["rtable_id"].astype(str)
    if not dedup:
        left, right = "l:" + left, "r:" + right
    true = cluster_records(pd.DataFrame({"ltable_id": left, "rtable_id": right}),
                           np.ones(len(matches)), 0.5, dedup=True)
    label = dict(zip(true["record_id"], true["cluster"], strict=True))
    offset = len(true)
    return pd.Series([label.get(i, offset + k) for k, i in enumerate(ids)], index=ids.to_numpy())


def evaluate(name: str, pairs: pd.DataFrame, scores: np.ndarray, truth_of, dedup: bool,
             rows: list[dict]) -> None:
    """Every method on one scored candidate set; a row per method appended to `rows`."""
    methods = {"connected components": {}, "split at auto size": {"max_size": "auto"}}
    for q in QUANTILES:  # the default quantile against its neighbours
        methods[f"auto size, quantile {q}"] = {"max_size": "auto", "size_quantile": q}
    if not dedup:
        methods["one-to-one"] = {"one_to_one": True}
    for method, kwargs in methods.items():
        t0 = time.perf_counter()
        clusters = cluster_records(pairs, scores, 0.5, dedup=dedup, **kwargs)
        seconds = time.perf_counter() - t0
        truth = truth_of(clusters["record_id"])
        row = {"data": name, "method": method, **cluster_scores(clusters["cluster"], truth),
               "size limit": clusters.attrs["split"]["max_size"], "seconds": seconds}
        rows.append(row)
        print(row, flush=True)


def synthetic(rows: list[dict], n_entities: int, n_train: int, seed: int,
              max_duplicates: int = 3, max_corruptions: int = 2) -> None:
    from blocking import default_person_blocker, join_pairs, make_dirty_records
    from matchers import SimilarityMatcher

    records, matches = make_dirty_records(n_entities=n_entities, seed=seed,
                                          max_duplicates=max_duplicates,
                                          max_corruptions=max_corruptions)
    candidates = default_person_blocker().block(records)
    pairs = join_pairs(candidates, records, matches=matches)
    rng = np.random.default_rng(seed)
    train = np.zeros(len(pairs), dtype=bool)
    train[rng.choice(len(pairs), size=min(n_train, len(pairs)), replace=False)] = True
    matcher = SimilarityMatcher(seed=seed).fit(pairs[train], pairs.loc[train, "label"])
    scores = matcher.match_proba(pairs)
    entity = records["id"].astype(str).str.extract(r"^rec-(\d+)-")[0]
    by_id = dict(zip(records["id"].astype(str), entity, strict=True))
    evaluate(f"synthetic people ({len(records)} records, up to {max_duplicates} duplicates with "
             f"up to {max_corruptions} corruptions, {n_train} training pairs)", pairs, scores,
             lambda ids: pd.Series([by_id[i] for i in ids]), True, rows)


def shared(rows: list[dict], folder: Path, name: str, on: list[str], k: int,
           analyzer: str, n_train: int, seed: int) -> None:
    from blocking import TfidfKNNBlocker, blocking_quality, join_pairs
    from blocking.io import known_matches, load_exp_data, load_exp_tables
    from matchers import SimilarityMatcher

    splits = load_exp_data(folder / name)
    A, B = load_exp_tables(folder / name)
    matches = known_matches(splits)
    ngrams = (3, 3) if analyzer == "char_wb" else (1, 1)
    candidates = TfidfKNNBlocker(on, k=k, analyzer=analyzer, ngram_range=ngrams).block(A, B)
    pairs = join_pairs(candidates, A, B, matches=matches)
    completeness = blocking_quality(candidates, matches, len(A), len(B))["pair_completeness"]
    for size in (len(splits["train"]), min(n_train, len(splits["train"]))):
        train = splits["train"].sample(n=size, random_state=np.random.default_rng(seed))
        scores = SimilarityMatcher(seed=seed).fit(train, train["label"]).match_proba(pairs)
        evaluate(f"{name} ({len(pairs)} candidates: tfidf {analyzer} k={k} on {'+'.join(on)}, "
                 f"pair completeness {completeness:.4f}; {size} training pairs)", pairs,
                 scores, lambda ids: _truth_components(ids, matches, dedup=False), False, rows)


def main(argv: list[str] | None = None) -> None:
    """Run every data set and write benchmarks/results/clustering.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--entities", type=int, default=2000, help="synthetic entities")
    parser.add_argument("--train", type=int, default=300,
                        help="labelled pairs the matcher learns from (synthetic; shared sets: "
                             "besides all of train.csv)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=str(RESULTS / "clustering.md"))
    args = parser.parse_args(argv)
    folder = dataset_folder(args.datasets, "clustering.py", *(d[0] for d in SHARED))
    rows: list[dict] = []
    synthetic(rows, args.entities, args.train, args.seed)
    synthetic(rows, args.entities, args.train // 5, args.seed, max_duplicates=6,
              max_corruptions=4)
    for name, on, k, analyzer in SHARED:
        shared(rows, folder, name, on, k, analyzer, args.train, args.seed)
    table = pd.DataFrame(rows)
    bars = []
    for data, group in table.groupby("data", sort=False):
        cc = group[group["method"] == "connected components"].iloc[0]
        for _, row in group.iterrows():
            bars.append({
                "data": data, "method": row["method"],
                "largest <= 2 x largest true": row["largest"] <= 2 * row["largest true"],
                "cluster F1 >= components'": row["cluster F1"] >= cc["cluster F1"] - 1e-12,
            })
    text = (f"# Clustering: connected components against size-limited and one-to-one clusters\n\n"
            f"`{command('clustering.py', argv)}`, {timestamp()}.\n\n"
            "Pairwise: record pairs in one predicted cluster against pairs in one true cluster. "
            "Cluster: predicted clusters of 2+ records that equal a true cluster exactly. "
            "Threshold 0.5 throughout; `size limit` is the data-driven `max_size=\"auto\"` (1 + "
            "the 95% quantile of the matched records' partner counts; 0.9 and 0.99 for "
            "comparison: the default was chosen on these same sets).\n\n"
            f"{markdown_table(table)}\n\n## Bars\n\n{markdown_table(pd.DataFrame(bars))}\n")
    Path(args.output).write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()

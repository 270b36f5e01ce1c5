"""The `lm` extra on CPU: sentence-embedding blocking beside TF-IDF, and the embeddings' cosine
as a matcher feature, on clean and dirty tables.

For each data set and variant (benchmarks/_variants.py), all attributes of both tables are
joined into one text per record; TfidfKNNBlocker (word, k) and EmbeddingKNNBlocker (the `lm`
extra's SentenceEncoder, k) each keep every left record's k nearest right records, and their
union is measured too. Pair completeness is against every labelled match of the three splits.
Encoding time is reported apart (it is cached per table afterwards). `--matcher` adds full
supervision as in benchmarks/matcher_quality.py (SimilarityMatcher fitted on train, cut on
valid, F1 on test) with the default PairFeaturizer and with the cosine of the two records'
embeddings as one more feature. Needs the `lm` extra.

    .venv/bin/python benchmarks/lm_extra.py --names amazon_google,abt_buy --k 5,10
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from _common import add_datasets_argument, append_results, command, markdown_table, timestamp
from _variants import load_variant, unlabelled_records, variant_tables

from blocking import (
    EmbeddingKNNBlocker,
    TfidfKNNBlocker,
    blocking_quality,
    known_matches,
)
from blocking.language_model import SentenceEncoder, lm_available
from blocking.metrics import best_threshold, f_measure
from labeling_functions.featurizer import PairFeaturizer
from matchers import RNNMatcher, SimilarityMatcher

RESULTS = Path(__file__).resolve().parent / "results"


def measure(name: str, variant: str, folder: Path, ks: list[int], encoder) -> list[dict]:
    A, B = variant_tables(folder, variant, seed=0)
    matches = known_matches(load_variant(folder, variant, seed=0))
    on = [c for c in A.columns if c != "id" and c in B.columns]
    start = time.perf_counter()
    EmbeddingKNNBlocker(on, k=1, encoder=encoder).block(A, B)  # fills the cache
    encode_s = time.perf_counter() - start
    rows = []
    for k in ks:
        found = {}
        for label, blocker in (("tfidf", TfidfKNNBlocker(on, k=k)),
                               ("embedding", EmbeddingKNNBlocker(on, k=k, encoder=encoder))):
            t0 = time.perf_counter()
            found[label] = blocker.block(A, B)
            found[label + "_s"] = time.perf_counter() - t0
        found["union"] = pd.concat([found["tfidf"], found["embedding"]]).drop_duplicates()
        for label in ("tfidf", "embedding", "union"):
            q = blocking_quality(found[label], matches, len(A), len(B))
            rows.append({
                "data set": name, "variant": variant, "k": k, "blocker": label,
                "candidates": q["n_candidates"],
                "pair completeness": round(q["pair_completeness"], 4),
                "seconds": round(found.get(label + "_s", float("nan")), 2),
            })
    print(f"{name} {variant}: encoded {len(A) + len(B)} records in {encode_s:.1f} s", flush=True)
    rows.append({"data set": name, "variant": variant, "k": "-", "blocker": "encode (once)",
                 "candidates": len(A) + len(B), "pair completeness": float("nan"),
                 "seconds": round(encode_s, 1)})
    return rows


class CosineFeaturizer(PairFeaturizer):
    """The default features plus `record__lm_cosine`, the cosine of the records' embeddings."""

    def __init__(self, encoder=None) -> None:
        super().__init__()
        self.encoder = encoder

    def _compute_all(self, pairs: pd.DataFrame) -> pd.DataFrame:
        out = super()._compute_all(pairs)
        left, right = self._records(pairs)
        vectors = self.encoder.encode(list(left) + list(right))
        out["record__lm_cosine"] = (vectors[: len(left)] * vectors[len(left):]).sum(axis=1)
        return out


def matcher_f1(name: str, variant: str, folder: Path, encoder, matcher: str = "similarity",
               seeds: int = 1) -> list[dict]:
    """Test F1 of a matcher fitted on train with and without the embeddings' cosine (cut or
    epoch chosen on valid): SimilarityMatcher, or RNNMatcher with serialized input and
    pretraining as in benchmarks/deep_matcher.py (its 'new' configuration)."""
    splits = load_variant(folder, variant, seed=0)
    pool = pd.concat(list(splits.values()), ignore_index=True)
    train, valid, test = (splits[s] for s in ("train", "valid", "test"))
    records = unlabelled_records(folder, variant, 0) if matcher == "rnn" else None
    rows = []
    for label, featurizer in (("default features", PairFeaturizer()),
                              ("+ embedding cosine", CosineFeaturizer(encoder))):
        featurizer.fit(pool)
        for seed in range(seeds):
            if matcher == "rnn":
                m = RNNMatcher(seed=seed, serialized=True, pretrain=True, featurizer=featurizer,
                               epochs=3 if len(train) > 3000 else 10)
                m.fit(train, train["label"].to_numpy(float),
                      valid=(valid, valid["label"].to_numpy(float)), records=records)
                predicted = m.predict(test)
            else:
                m = SimilarityMatcher(seed=seed, featurizer=featurizer)
                m.fit(train, train["label"].to_numpy(float))
                cut, _ = best_threshold(valid["label"].to_numpy(), m.match_proba(valid))
                predicted = m.match_proba(test) >= cut
            f1 = f_measure(test["label"].to_numpy(), predicted)
            rows.append({"data set": name, "variant": variant, "matcher": matcher,
                         "seed": seed, "features": label, "test F1": round(100 * f1, 1)})
    return rows


def f1_table(f1: pd.DataFrame) -> pd.DataFrame:
    """One row per data set and variant, one column per feature set: median (per seed)."""
    cells = f1.groupby(["data set", "variant", "features"])["test F1"].agg(
        lambda v: f"{v.median():.1f} ({', '.join(f'{x:.1f}' for x in v)})")
    return cells.unstack("features").reset_index()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--names", default="amazon_google,abt_buy")
    parser.add_argument("--variants", default="clean,dirty")
    parser.add_argument("--k", default="5,10")
    parser.add_argument("--matcher", action="store_true",
                        help="also full supervision with and without the embeddings' cosine")
    parser.add_argument("--matcher-kind", choices=["similarity", "rnn"], default="similarity",
                        help="with --matcher: which matcher gets the cosine")
    parser.add_argument("--seeds", type=int, default=1, help="with --matcher: seeds per set")
    parser.add_argument("--cache", help="embedding cache folder to reuse (default: a fresh one, "
                                        "so the encoding time is measured)")
    parser.add_argument("--out", default=str(RESULTS / "lm_extra.md"))
    args = parser.parse_args(argv)
    if not lm_available():
        print("benchmarks/lm_extra.py needs the `lm` extra: pip install -e '.[lm]'",
              file=sys.stderr)
        return 2
    encoder = SentenceEncoder(cache_dir=args.cache or tempfile.mkdtemp(prefix="lm_extra_"),
                              progress=False)
    ks = [int(k) for k in args.k.split(",")]
    rows, f1 = [], []
    for name in args.names.split(","):
        for variant in args.variants.split(","):
            rows += measure(name, variant, Path(args.datasets) / name, ks, encoder)
            if args.matcher:
                f1 += matcher_f1(name, variant, Path(args.datasets) / name, encoder,
                                 args.matcher_kind, args.seeds)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    text = (f"Command: `{command('lm_extra.py', argv)}`, {timestamp()}.\n\n"
            "Pair completeness against every labelled match (train, valid, test); each left "
            "record's k nearest right records on all attributes joined; union = both blockers' "
            "pairs. The embedding blocker's seconds exclude encoding (cached), which is the "
            "'encode (once)' row (CPU, 1 thread).\n\n" + markdown_table(table))
    if f1:
        text += (f"\n\nFull supervision ({args.matcher_kind} matcher, train / valid / test, "
                 f"seeds 0-{args.seeds - 1}), median test F1 with and without the embeddings' "
                 "cosine (per seed in brackets):\n\n" + markdown_table(f1_table(pd.DataFrame(f1))))
    append_results(args.out, "# The `lm` extra: embedding blocking beside TF-IDF\n\n", text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

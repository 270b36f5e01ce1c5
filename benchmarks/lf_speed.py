"""Speed of 10 typical vectorized LFs on 1,000,000 pairs versus Snorkel's PandasLFApplier.

    .venv/bin/python benchmarks/lf_speed.py [--datasets ../shared/datasets] [--quick]

Pairs are drawn at random from the DBLP-ACM tables (2,616 x 2,294 records, so each record
occurs in hundreds of pairs, as in a blocked candidate set). `--distinct` appends a unique
token to every title and author list, so that no value repeats (the worst case for the
per-distinct-value work), and `--variants K` tags each record with one of K variants (a
middle ground: about K times more distinct values). The row-wise LFs compute the same votes
in plain Python per pair (rapidfuzz's scalar functions for edit distances); Snorkel's applier
is timed on a random subsample and extrapolated linearly to the full size (Snorkel's cost per
row is constant).
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import RESULTS, add_datasets_argument, command, dataset_folder, timestamp
from rapidfuzz.distance import JaroWinkler, Levenshtein
from snorkel.labeling import PandasLFApplier

from labeling_functions import (
    ABSTAIN,
    MATCH,
    NON_MATCH,
    apply_lfs,
    labeling_function,
    similarity_at_least,
    similarity_below,
    values_differ,
    values_equal,
)

WORD = re.compile(r"\w+")


def make_pairs(
    datasets: Path, n: int, distinct: bool, seed: int = 0, variants: int = 0
) -> pd.DataFrame:
    folder = dataset_folder(datasets, "lf_speed", "dblp_acm/tableA.csv") / "dblp_acm"
    A, B = pd.read_csv(folder / "tableA.csv"), pd.read_csv(folder / "tableB.csv")
    rng = np.random.default_rng(seed)
    left = A.iloc[rng.integers(0, len(A), n)].drop(columns="id").reset_index(drop=True)
    right = B.iloc[rng.integers(0, len(B), n)].drop(columns="id").reset_index(drop=True)
    if distinct or variants:
        tags = np.arange(n) if distinct else rng.integers(0, variants, n)
        tag = pd.Series(tags.astype(str))
        for side in (left, right):
            for col in ("title", "authors"):
                side[col] = side[col].fillna("") + " x" + tag
    return pd.concat([left.add_prefix("left_"), right.add_prefix("right_")], axis=1)


def vectorized_lfs() -> list:
    return [
        similarity_at_least("title", 0.8, metric="jaccard"),
        similarity_below("title", 0.3, metric="jaccard"),
        similarity_at_least("title", 0.8, metric="tfidf_cosine"),
        similarity_at_least("title", 0.9, metric="levenshtein"),
        similarity_below("title", 0.6, metric="jaro_winkler"),
        values_equal("title"),
        similarity_at_least("authors", 0.5, metric="overlap"),
        similarity_below("authors", 0.1, metric="jaccard"),
        values_differ("year"),
        values_equal("venue"),
    ]


def _norm(v) -> str:
    if not isinstance(v, str):
        return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
    return " ".join(WORD.findall(v.lower()))


def _tokens(v) -> set:
    return set(_norm(v).split())


def rowwise_lfs(idf: dict, default_idf: float) -> list:
    """The same 10 rules, one pair at a time, as a Snorkel user would write them."""

    def jac(a, b):
        sa, sb = _tokens(a), _tokens(b)
        return len(sa & sb) / len(sa | sb) if sa and sb else None

    def tfidf(a, b):
        ca, cb = WORD.findall(_norm(a)), WORD.findall(_norm(b))
        if not ca or not cb:
            return None
        wa, wb = {}, {}
        for t in ca:
            wa[t] = wa.get(t, 0.0) + idf.get(t, default_idf)
        for t in cb:
            wb[t] = wb.get(t, 0.0) + idf.get(t, default_idf)
        dot = sum(w * wb.get(t, 0.0) for t, w in wa.items())
        na = math.sqrt(sum(w * w for w in wa.values()))
        nb = math.sqrt(sum(w * w for w in wb.values()))
        return dot / (na * nb)

    def string(scorer, a, b):
        na, nb = _norm(a), _norm(b)
        return scorer(na, nb) if na and nb else None

    def vote(value, test, label):
        return label if value is not None and test(value) else ABSTAIN

    @labeling_function(polarity=MATCH)
    def r_title_jaccard_high(x):
        return vote(jac(x.left_title, x.right_title), lambda s: s >= 0.8, MATCH)

    @labeling_function(polarity=NON_MATCH)
    def r_title_jaccard_low(x):
        return vote(jac(x.left_title, x.right_title), lambda s: s < 0.3, NON_MATCH)

    @labeling_function(polarity=MATCH)
    def r_title_tfidf_high(x):
        return vote(tfidf(x.left_title, x.right_title), lambda s: s >= 0.8 - 1e-12, MATCH)

    @labeling_function(polarity=MATCH)
    def r_title_levenshtein_high(x):
        s = string(Levenshtein.normalized_similarity, x.left_title, x.right_title)
        return vote(s, lambda v: v >= 0.9, MATCH)

    @labeling_function(polarity=NON_MATCH)
    def r_title_jaro_winkler_low(x):
        s = string(JaroWinkler.normalized_similarity, x.left_title, x.right_title)
        return vote(s, lambda v: v < 0.6, NON_MATCH)

    @labeling_function(polarity=MATCH)
    def r_title_equal(x):
        a, b = _norm(x.left_title), _norm(x.right_title)
        return MATCH if a and a == b else ABSTAIN

    @labeling_function(polarity=MATCH)
    def r_authors_overlap_high(x):
        sa, sb = _tokens(x.left_authors), _tokens(x.right_authors)
        if not sa or not sb:
            return ABSTAIN
        return MATCH if len(sa & sb) / min(len(sa), len(sb)) >= 0.5 else ABSTAIN

    @labeling_function(polarity=NON_MATCH)
    def r_authors_jaccard_low(x):
        return vote(jac(x.left_authors, x.right_authors), lambda s: s < 0.1, NON_MATCH)

    @labeling_function(polarity=NON_MATCH)
    def r_year_differs(x):
        if pd.isna(x.left_year) or pd.isna(x.right_year):
            return ABSTAIN
        return NON_MATCH if x.left_year != x.right_year else ABSTAIN

    @labeling_function(polarity=MATCH)
    def r_venue_equal(x):
        a, b = _norm(x.left_venue), _norm(x.right_venue)
        return MATCH if a and a == b else ABSTAIN

    return [
        r_title_jaccard_high, r_title_jaccard_low, r_title_tfidf_high, r_title_levenshtein_high,
        r_title_jaro_winkler_low, r_title_equal, r_authors_overlap_high, r_authors_jaccard_low,
        r_year_differs, r_venue_equal,
    ]


def title_idf(pairs: pd.DataFrame) -> tuple[dict, float]:
    """The IDF the vectorized tfidf_cosine uses: each distinct title counted once."""
    titles = pd.unique(pd.concat([pairs.left_title, pairs.right_title]).dropna())
    df: dict[str, int] = {}
    for t in titles:
        for tok in set(WORD.findall(str(t).lower())):
            df[tok] = df.get(tok, 0) + 1
    n = len(titles)
    return {t: math.log((1 + n) / (1 + c)) + 1 for t, c in df.items()}, math.log(1 + n) + 1


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--subsample", type=int, default=20_000,
                        help="rows on which Snorkel's row-wise applier is timed")
    parser.add_argument("--distinct", action="store_true", help="make every value distinct")
    parser.add_argument("--variants", type=int, default=0,
                        help="append one of K tags to each title / author list (K variants of "
                        "each record: fewer repeats than the plain tables)")
    parser.add_argument("--quick", action="store_true", help="100k pairs, 5k-row subsample")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.quick:
        args.pairs, args.subsample = 100_000, 5_000
    datasets = dataset_folder(args.datasets, "lf_speed")
    pairs = make_pairs(datasets, args.pairs, args.distinct, variants=args.variants)
    rss_before = peak_rss_mb()
    lfs = vectorized_lfs()
    start = time.perf_counter()
    L = apply_lfs(lfs, pairs, progress=False)
    t_vec = time.perf_counter() - start
    rss_after = peak_rss_mb()
    print(f"vectorized: {len(lfs)} LFs on {len(pairs):,} pairs in {t_vec:.2f} s", flush=True)

    sub = pairs.sample(min(args.subsample, len(pairs)), random_state=0)
    idf, default_idf = title_idf(pairs)
    applier = PandasLFApplier(rowwise_lfs(idf, default_idf))
    start = time.perf_counter()
    L_row = applier.apply(sub, progress_bar=False)
    t_row_sub = time.perf_counter() - start
    t_row = t_row_sub * len(pairs) / len(sub)
    agreement = (L_row == L[pairs.index.get_indexer(sub.index)]).mean()
    ratio = t_row / t_vec
    print(f"Snorkel PandasLFApplier: {t_row_sub:.2f} s on {len(sub):,} rows -> "
          f"{t_row:.1f} s extrapolated to {len(pairs):,}; ratio {ratio:.1f}x; "
          f"vote agreement {agreement:.5f}", flush=True)

    name = ("lf_speed_distinct" if args.distinct
            else f"lf_speed_variants{args.variants}" if args.variants else "lf_speed")
    out = Path(args.out or RESULTS / f"{name}.md")
    out.parent.mkdir(parents=True, exist_ok=True)
    n_distinct = pd.concat([pairs.left_title, pairs.right_title]).nunique()
    data = ("every title / author list made distinct (--distinct)" if args.distinct
            else f"each record in {args.variants} tagged variants (--variants)" if args.variants
            else "records repeat across pairs, as after blocking")
    data += f"; {n_distinct:,} distinct titles over both sides"
    out.write_text(
        f"# LF application speed: vectorized vs Snorkel's PandasLFApplier\n\n"
        f"Command: `{command('lf_speed.py')}`, run {timestamp()} on a shared 2-core "
        f"machine (other jobs running; load average {os.getloadavg()[0]:.1f} at the end; "
        "timings are noisy).\n"
        f"Data: {len(pairs):,} random DBLP-ACM pairs ({data}). 10 LFs: jaccard >= 0.8 / < 0.3, "
        "tfidf >= 0.8, levenshtein >= 0.9, jaro-winkler < 0.6, exact title; authors overlap "
        ">= 0.5 / jaccard < 0.1; year differs; venue equal.\n"
        f"Row-wise time: Snorkel's applier timed on {len(sub):,} random rows, extrapolated "
        "linearly.\n\n"
        "| what | value |\n|---|---|\n"
        f"| vectorized apply_lfs, {len(pairs):,} pairs | {t_vec:.2f} s |\n"
        f"| Snorkel PandasLFApplier, {len(sub):,} rows (measured) | {t_row_sub:.2f} s |\n"
        f"| Snorkel PandasLFApplier, {len(pairs):,} pairs (extrapolated) | {t_row:.1f} s |\n"
        f"| speed-up | {ratio:.1f}x |\n"
        f"| peak RSS before / after the vectorized run | {rss_before:.0f} MB / "
        f"{rss_after:.0f} MB (+{rss_after - rss_before:.0f} MB) |\n"
        f"| votes equal between the two (subsample) | {agreement:.5f} |\n"
    )
    print(f"written {out}")


if __name__ == "__main__":
    main()

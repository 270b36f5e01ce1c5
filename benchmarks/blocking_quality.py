"""Blocking benchmark: pair completeness, candidates per record and time of the blockers.

DBLP-ACM and Abt-Buy (full tables, known matches = label-1 pairs of train/valid/test),
synthetic dirty person records and FEBRL. Writes benchmarks/results/blocking_quality.md and .png.

    .venv/bin/python benchmarks/blocking_quality.py [--datasets ../shared/datasets] [--quick]
        [--scale N]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

from _common import RESULTS, add_datasets_argument, command, dataset_folder, timestamp
from matplotlib.figure import Figure

from blocking import (
    AttributeEquivalenceBlocker,
    SortedNeighbourhoodBlocker,
    TfidfKNNBlocker,
    TokenOverlapBlocker,
    blocking_quality,
    default_person_blocker,
    known_matches,
    large_person_blocker,
    load_exp_data,
    load_exp_tables,
    load_febrl,
    load_febrl_linkage,
    make_dirty_records,
    prefix,
)

HEADER = (
    "| data | blocker | blocks on | candidates | per left record | pair completeness "
    "| reduction ratio | seconds |"
)


def timed(blocker, A, B=None, repeats: int = 3):
    """Candidates and the best wall time of `repeats` runs (the machine is shared and noisy)."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        cands = blocker.block(A, B)
        best = min(best, time.perf_counter() - start)
    return cands, best


def row(data, name, on, blocker, A, B, matches, repeats):
    cands, seconds = timed(blocker, A, B, repeats)
    q = blocking_quality(cands, matches, len(A), None if B is None else len(B))
    print(
        f"{data:12s} {name:34s} pc={q['pair_completeness']:.4f} n={q['n_candidates']:>8,} "
        f"({q['candidates_per_left']:.2f}/left) {seconds:.2f}s",
        flush=True,
    )
    line = (
        f"| {data} | {name} | {on} | {q['n_candidates']:,} | {q['candidates_per_left']:.2f} | "
        f"{q['pair_completeness']:.4f} | {q['reduction_ratio']:.5f} | {seconds:.2f} |"
    )
    return q, line


def recall_at_k(A, B, matches, on, ks, **params):
    """Pair completeness of the TF-IDF top-k blocker for each k (one blocking run at max k
    would also do, but separate runs keep the figure honest about what each k costs)."""
    return [
        blocking_quality(TfidfKNNBlocker(on, k=k, **params).block(A, B), matches, len(A), len(B))[
            "pair_completeness"
        ]
        for k in ks
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_datasets_argument(parser)
    parser.add_argument(
        "--quick", action="store_true", help="one timing run each, smaller synthetic data"
    )
    parser.add_argument(
        "--scale",
        type=int,
        default=0,
        help="also generate and block about this many synthetic records (e.g. 1000000)",
    )
    parser.add_argument("--out", default=str(RESULTS), help="results folder")
    args = parser.parse_args()
    datasets = dataset_folder(args.datasets, "blocking_quality", "dblp_acm", "abt_buy")
    repeats = 1 if args.quick else 3
    lines, notes = [HEADER, "|" + "---|" * 8], []

    # DBLP-ACM: the bar is >= 99% of the known matches with <= 20 candidates per left record
    A, B = load_exp_tables(datasets / "dblp_acm")
    matches = known_matches(load_exp_data(datasets / "dblp_acm"))
    notes.append(f"DBLP-ACM: {len(A):,} x {len(B):,} records, {len(matches):,} known matches.")
    for k in (5, 10, 20):
        _, line = row(
            "dblp_acm",
            f"TfidfKNN word k={k}",
            "title + authors",
            TfidfKNNBlocker(["title", "authors"], k=k),
            A,
            B,
            matches,
            repeats,
        )
        lines.append(line)
    for name, on, blocker in [
        ("TfidfKNN word k=10", "title", TfidfKNNBlocker("title", k=10)),
        (
            "TokenOverlap >= 3 shared, max_df 0.05",
            "title",
            TokenOverlapBlocker("title", min_shared=3, max_df=0.05),
        ),
        ("SortedNeighbourhood window 10", "title", SortedNeighbourhoodBlocker("title", window=10)),
        ("AttributeEquivalence (baseline)", "year", AttributeEquivalenceBlocker("year")),
        (
            "AttributeEquivalence prefix(5)",
            "title",
            AttributeEquivalenceBlocker("title", key=prefix(5)),
        ),
    ]:
        lines.append(row("dblp_acm", name, on, blocker, A, B, matches, repeats)[1])

    # Abt-Buy: recall at k
    ks = [1, 2, 5, 10, 20, 50]
    A2, B2 = load_exp_tables(datasets / "abt_buy")
    matches2 = known_matches(load_exp_data(datasets / "abt_buy"))
    notes.append(f"Abt-Buy: {len(A2):,} x {len(B2):,} records, {len(matches2):,} known matches.")
    for k in (10, 20, 50):
        for label, params in [
            ("word", {}),
            ("char_wb 3-grams", {"analyzer": "char_wb", "ngram_range": (3, 3)}),
        ]:
            lines.append(
                row(
                    "abt_buy",
                    f"TfidfKNN {label} k={k}",
                    "name",
                    TfidfKNNBlocker("name", k=k, **params),
                    A2,
                    B2,
                    matches2,
                    repeats,
                )[1]
            )

    curves = {
        "DBLP-ACM title+authors, word": recall_at_k(A, B, matches, ["title", "authors"], ks),
        "Abt-Buy name, word": recall_at_k(A2, B2, matches2, "name", ks),
        "Abt-Buy name, char_wb 3-grams": recall_at_k(
            A2, B2, matches2, "name", ks, analyzer="char_wb", ngram_range=(3, 3)
        ),
    }

    # synthetic dirty records and FEBRL (de-duplication), FEBRL4 (linkage)
    n_entities = 1000 if args.quick else 5000
    start = time.perf_counter()
    records, smatches = make_dirty_records(n_entities=n_entities, seed=0)
    notes.append(
        f"Synthetic: make_dirty_records(n_entities={n_entities}, seed=0) gave {len(records):,} "
        f"records, {len(smatches):,} matching pairs in {time.perf_counter() - start:.2f} s."
    )
    on_default = "given_name+surname (char 2-3-grams, k=3), date_of_birth (window 2), soc_sec_id"
    on_large = (
        "surname+given_name, date_of_birth, soc_sec_id, address_1+street_number (windows); "
        "soc_sec_id, postcode+surname[:3] (equal)"
    )
    for name, on, blocker in [
        ("default_person_blocker", on_default, default_person_blocker()),
        ("large_person_blocker", on_large, large_person_blocker()),
    ]:
        lines.append(row("synthetic", name, on, blocker, records, None, smatches, repeats)[1])
    for which in ("febrl1", "febrl3"):
        frecords, fmatches = load_febrl(which)
        for name, on, blocker in [
            ("default_person_blocker", on_default, default_person_blocker()),
            ("large_person_blocker", on_large, large_person_blocker()),
        ]:
            lines.append(row(which, name, on, blocker, frecords, None, fmatches, repeats)[1])
    FA, FB, flinks = load_febrl_linkage()
    lines.append(
        row(
            "febrl4",
            "default_person_blocker",
            on_default,
            default_person_blocker(),
            FA,
            FB,
            flinks,
            repeats,
        )[1]
    )

    if args.scale:
        start = time.perf_counter()
        big, big_matches = make_dirty_records(n_entities=int(args.scale / 1.8), seed=0)
        made = time.perf_counter() - start
        q, line = row(
            "synthetic",
            "large_person_blocker",
            on_large,
            large_person_blocker(),
            big,
            None,
            big_matches,
            1,
        )
        lines.append(line.replace("| synthetic |", f"| synthetic {len(big):,} |"))
        notes.append(
            f"Scale: generating {len(big):,} records ({len(big_matches):,} matching pairs) took "
            f"{made:.1f} s; blocking time is in the table (one run)."
        )

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    for label, values in curves.items():
        ax.plot(ks, values, marker="o", label=label)
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_xlabel("k (candidates per left record)")
    ax.set_ylabel("pair completeness")
    ax.set_title("TF-IDF top-k blocking: recall at k")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "blocking_quality.png", dpi=120)
    recall_table = [
        "| data | " + " | ".join(f"k={k}" for k in ks) + " |",
        "|---|" + "---|" * len(ks),
    ]
    recall_table += [
        f"| {label} | " + " | ".join(f"{v:.4f}" for v in values) + " |"
        for label, values in curves.items()
    ]
    runs = "1 run" if repeats == 1 else f"best of {repeats} runs"
    text = "\n".join(
        [
            "# Blocking benchmark",
            "",
            f"`{command('blocking_quality.py')}`, {timestamp()}, "
            f"{platform.machine()}, {runs} per timing (shared, busy 2-core machine).",
            "",
            *[f"- {n}" for n in notes],
            "",
            *lines,
            "",
            "## Recall (pair completeness) at k, TF-IDF top-k nearest neighbours",
            "",
            *recall_table,
            "",
            "![recall at k](blocking_quality.png)",
            "",
        ]
    )
    (out / "blocking_quality.md").write_text(text, encoding="utf-8")
    print(f"wrote {out / 'blocking_quality.md'} and {out / 'blocking_quality.png'}")


if __name__ == "__main__":
    main()

"""The `lm` extra on CPU: sentence-embedding blocking beside TF-IDF, clean and dirty tables.

For each data set and variant (benchmarks/_variants.py), all attributes of both tables are
joined into one text per record; TfidfKNNBlocker (word, k) and EmbeddingKNNBlocker (the `lm`
extra's SentenceEncoder, k) each keep every left record's k nearest right records, and their
union is measured too. Pair completeness is against every labelled match of the three splits.
Encoding time is reported apart (it is cached per table afterwards). Needs the `lm` extra.

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
from _variants import load_variant, make_dirty

from blocking import (
    EmbeddingKNNBlocker,
    TfidfKNNBlocker,
    blocking_quality,
    known_matches,
    load_exp_tables,
)
from blocking.language_model import SentenceEncoder, lm_available

RESULTS = Path(__file__).resolve().parent / "results"


def tables(folder: Path, variant: str, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    A, B = load_exp_tables(folder)
    if variant == "dirty":
        A, B = make_dirty(A, seed), make_dirty(B, seed + 1)
    return A, B


def measure(name: str, variant: str, folder: Path, ks: list[int], encoder) -> list[dict]:
    A, B = tables(folder, variant, seed=0)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--names", default="amazon_google,abt_buy")
    parser.add_argument("--variants", default="clean,dirty")
    parser.add_argument("--k", default="5,10")
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
    rows = []
    for name in args.names.split(","):
        for variant in args.variants.split(","):
            rows += measure(name, variant, Path(args.datasets) / name, ks, encoder)
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    text = (f"Command: `{command('lm_extra.py', argv)}`, {timestamp()}.\n\n"
            "Pair completeness against every labelled match (train, valid, test); each left "
            "record's k nearest right records on all attributes joined; union = both blockers' "
            "pairs. The embedding blocker's seconds exclude encoding (cached), which is the "
            "'encode (once)' row (CPU, 1 thread).\n\n" + markdown_table(table))
    append_results(args.out, "# The `lm` extra: embedding blocking beside TF-IDF", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

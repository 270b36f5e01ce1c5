"""Coverage and accuracy of the ready-made LF sets (examples/lfs) on each data set's train split.

    .venv/bin/python benchmarks/lf_sets.py [--datasets ../shared/datasets] [--quick]

The LF sets were written from domain knowledge, not tuned on these labels; this table is the
first look at them with labels. FEBRL (FEBRL1 dedup) and the synthetic demo data use
`blocking.demo.demo_dataset` candidate pairs (labels from the known matches).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import (
    RESULTS,
    ROOT,
    add_datasets_argument,
    command,
    dataset_folder,
    markdown_table,
    timestamp,
)

from labeling_functions import ABSTAIN, MATCH, NON_MATCH, apply_lfs, lf_summary, load_lfs

EM_SETS = ["dblp_acm", "abt_buy", "amazon_google", "beer", "fodors_zagats", "itunes_amazon"]


def lf_file(name: str) -> Path:
    """The LF set of a data set: the demo's FEBRL set ships inside the package."""
    if name in ("febrl", "synthetic"):
        return ROOT / "active" / "demo_lfs.py"
    return ROOT / "examples" / "lfs" / f"{name}.py"


def load_pairs(name: str, datasets: Path) -> pd.DataFrame:
    """Train pairs (with `label`) of an EM data set, or the blocked FEBRL / synthetic demo pool."""
    if name in ("febrl", "synthetic"):
        from blocking.demo import demo_dataset

        return demo_dataset(name, seed=0).pairs
    train = Path(name, "pairs", "train.csv")
    return pd.read_csv(dataset_folder(datasets, "lf_sets", train) / train)


def set_row(name: str, L: np.ndarray, y: np.ndarray, seconds: float) -> dict:
    """Set-level figures: coverage, per-vote accuracy by polarity, majority-vote quality."""
    voted = L != ABSTAIN
    correct = voted & (L == y[:, None])
    n_match = (L == MATCH).sum(axis=1)
    n_non = (L == NON_MATCH).sum(axis=1)
    covered = voted.any(axis=1)
    decided = n_match != n_non
    mv = np.where(n_match > n_non, MATCH, NON_MATCH)
    pred = decided & (mv == MATCH)
    tp = int((pred & (y == MATCH)).sum())
    precision = tp / max(int(pred.sum()), 1)
    recall = tp / max(int((y == MATCH).sum()), 1)
    def acc(mask):
        return correct[mask].sum() / max(int(voted[mask].sum()), 1)
    return {
        "data set": name,
        "pairs": len(L),
        "positives": int((y == MATCH).sum()),
        "LFs": L.shape[1],
        "coverage": covered.mean(),
        "vote accuracy": correct.sum() / max(int(voted.sum()), 1),
        "MATCH-vote precision": acc(L == MATCH),
        "NON_MATCH-vote precision": acc(L == NON_MATCH),
        "majority-vote accuracy (decided rows)": (mv[decided] == y[decided]).mean(),
        "majority-vote F1 (ties/uncovered = non-match)": 2 * precision * recall
        / max(precision + recall, 1e-12),
        "apply seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--quick", action="store_true", help="EM data sets only, 1000 pairs each")
    parser.add_argument("--out", default=str(RESULTS / "lf_sets.md"))
    args = parser.parse_args()
    datasets = dataset_folder(args.datasets, "lf_sets")
    names = EM_SETS if args.quick else EM_SETS + ["febrl", "synthetic"]
    rows, details = [], []
    for name in names:
        pairs = load_pairs(name, datasets)
        if args.quick:
            pairs = pairs.sample(min(len(pairs), 1000), random_state=0)
        lfs = load_lfs(lf_file(name))
        start = time.perf_counter()
        L = apply_lfs(lfs, pairs, engine="pandas", progress=False)
        seconds = time.perf_counter() - start
        y = pairs["label"].to_numpy().astype(int)
        rows.append(set_row(name, L, y, seconds))
        table = lf_summary(lfs, L, expert_labels=y)
        table = table[["declared_polarity", "Coverage", "expert_accuracy"]].reset_index()
        table.columns = ["LF", "polarity", "coverage", "accuracy"]
        table.insert(0, "data set", name)
        details.append(table)
        print(f"{name}: {rows[-1]['coverage']:.2f} coverage, "
              f"{rows[-1]['vote accuracy']:.3f} vote accuracy", flush=True)
    summary = pd.DataFrame(rows)
    per_lf = pd.concat(details, ignore_index=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        "# Ready-made LF sets on the train splits\n\n"
        f"Command: `{command('lf_sets.py')}`, run {timestamp()}. "
        "LF sets: `examples/lfs/<data set>.py` (written without looking at labels; the "
        "synthetic demo uses `active/demo_lfs.py`). FEBRL = FEBRL1 dedup, synthetic = "
        "`make_dirty_records(1000, seed=0)`, both blocked by `blocking.demo`.\n"
        "Coverage = share of pairs with at least one non-abstain vote; vote accuracy = share of "
        "all non-abstain votes that agree with the label.\n\n"
        + markdown_table(summary)
        + "\n\n## Per LF (coverage and accuracy of its votes)\n\n"
        + markdown_table(per_lf)
        + "\n"
    )
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"written {out}")


if __name__ == "__main__":
    main()

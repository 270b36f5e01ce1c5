"""How well `MovedValues` puts a dirty table's moved values back: against the clean table.

Per data set and dirtying seed, the pool (train, valid and test pairs) of the dirty variant
(benchmarks/_variants.py) is restored with `MovedValues` (values found in place elsewhere, and
numbers by shape) and with `MovedValues(suffixes=True)` (also the title's trailing run that reads
like an empty short attribute's values); each distinct record of each side is compared with the
same record of the clean variant (values lower-cased, whitespace collapsed). Reported: the share
of records whose every attribute is right, and per attribute the share right. The clean variant
is restored too (a restoration should leave clean tables alone; amazon_google's and abt_buy's
clean tables have empty attributes of their own, so there 'right' means 'left as it was').

    PYTHONPATH=. .venv/bin/python benchmarks/moved_values_quality.py --names beer itunes_amazon
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO)] + [p for p in sys.path if Path(p or ".").resolve() != REPO]
sys.path.append(str(REPO / "benchmarks"))

from _variants import load_variant  # noqa: E402

from blocking.pairs import attribute_names  # noqa: E402
from labeling_functions.moved_values import MovedValues  # noqa: E402

METHODS = {"as dirtied": None, "restore": {}, "restore + guard": {"guard": True},
           "restore + unseen": {"suffixes": True}}


def _normal(values: pd.DataFrame) -> np.ndarray:
    """Values lower-cased with whitespace collapsed; missing as ''."""
    return values.map(lambda v: "" if not isinstance(v, str) and pd.isna(v)
                      else " ".join(str(v).lower().split())).to_numpy(dtype=object)


def score(folder: Path, name: str, variant: str, seed: int) -> list[dict]:
    """Per method: the share of distinct records restored exactly, and per attribute."""
    pool = pd.concat(list(load_variant(folder / name, variant, seed).values()), ignore_index=True)
    clean = pd.concat(list(load_variant(folder / name, "clean", seed).values()),
                      ignore_index=True)
    attributes = attribute_names(pool)
    rows = []
    for method, options in METHODS.items():
        restored = pool if options is None else MovedValues(pool, attributes, **options).restore(
            pool)
        right = []
        for side in ("left_", "right_"):
            columns = [side + a for a in attributes]
            distinct = restored[columns].astype(str).drop_duplicates().index
            right.append(_normal(restored.loc[distinct, columns])
                         == _normal(clean.loc[distinct, columns]))
        right = np.concatenate(right)
        rows.append({"dataset": name, "variant": variant, "seed": seed, "method": method,
                     "records": len(right), "all right %": 100 * right.all(axis=1).mean(),
                     **{f"{a} %": 100 * v for a, v in zip(attributes, right.mean(axis=0),
                                                           strict=True)}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--names", nargs="+", default=["beer", "itunes_amazon", "amazon_google",
                                                         "abt_buy"])
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"
                                             / "moved_values_quality.md"))
    args = parser.parse_args()
    lines = [f"# {__doc__.splitlines()[0]}", "",
             f"Command: `PYTHONPATH=. .venv/bin/python benchmarks/moved_values_quality.py "
             f"--names {' '.join(args.names)} --seeds {args.seeds}`  ",
             f"Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
             " ".join(__doc__.split("\n\n")[1].split()), ""]
    for name in args.names:
        rows = [r for variant in ("dirty", "clean") for seed in range(args.seeds)
                for r in score(Path(args.datasets), name, variant, seed)]
        table = pd.DataFrame(rows).round(1)
        header = "| " + " | ".join(table.columns) + " |"
        lines += [f"## {name}", "", header, "|" + "---|" * len(table.columns),
                  *("| " + " | ".join(str(v) for v in row) + " |"
                    for row in table.itertuples(index=False)), ""]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

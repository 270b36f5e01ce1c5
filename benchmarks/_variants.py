"""Clean and dirty variants of the shared data sets, made on the fly (never stored).

The dirty variant is made the way DeepMatcher made theirs (SIGMOD 2018): in both tables, every
attribute other than the first (the title or name) is, independently for each record with
probability 0.5, appended to the first attribute and emptied. A fixed seed makes it repeatable.
Two harder variants that no default was chosen on check that the choices carry over: `dirty80`
moves each value with probability 0.8, `title_only` moves every value (one text per record).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from blocking import load_exp_tables, load_pairs

# variant -> probability that a value moves into the title
VARIANTS = {"clean": 0.0, "dirty": 0.5, "dirty80": 0.8, "title_only": 1.0}


def make_dirty(table: pd.DataFrame, seed: int, p: float = 0.5, id_column: str = "id"
               ) -> pd.DataFrame:
    """The dirty variant of one record table (a copy; the input is unchanged)."""
    out = table.copy()
    attrs = [c for c in table.columns if c != id_column]
    title, others = attrs[0], attrs[1:]
    rng = np.random.default_rng(seed)
    text = out[title].astype("string").fillna("")
    for column in others:
        moved = (rng.random(len(out)) < p) & out[column].notna().to_numpy()
        value = out[column].astype("string").fillna("")
        text = text.where(~moved, (text + " " + value).str.strip())
        out[column] = out[column].astype(object).where(~moved, np.nan)
    out[title] = text.astype(object)
    return out


def split_name(name: str) -> tuple[str, str]:
    """(data set, variant) of a benchmark name such as 'beer' or 'beer_dirty80'."""
    for variant in VARIANTS:
        if variant != "clean" and name.endswith(f"_{variant}"):
            return name.removesuffix(f"_{variant}"), variant
    return name, "clean"


def variant_tables(folder: str | Path, variant: str = "clean", seed: int = 0
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both record tables of one data set folder in the named variant (`VARIANTS`, seeded)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
    A, B = load_exp_tables(Path(folder))
    p = VARIANTS[variant]
    if p > 0:
        A, B = make_dirty(A, seed, p), make_dirty(B, seed + 1, p)
    return A, B


def load_variant(folder: str | Path, variant: str = "clean", seed: int = 0,
                 splits: tuple[str, ...] = ("train", "valid", "test")) -> dict[str, pd.DataFrame]:
    """{split: flattened labelled pairs} of one data set folder in the named variant (seeded)."""
    A, B = variant_tables(folder, variant, seed)
    return {s: load_pairs(Path(folder) / f"{s}.csv", A, B) for s in splits}


def unlabelled_records(folder: Path, variant: str, seed: int) -> pd.DataFrame:
    """Both record tables of a data set (the variant made as in `load_variant`)."""
    return pd.concat(variant_tables(folder, variant, seed), ignore_index=True).drop(columns="id")

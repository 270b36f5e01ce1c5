"""Clean and dirty variants of the shared data sets, made on the fly (never stored).

The dirty variant is made the way DeepMatcher made theirs (SIGMOD 2018): in both tables, every
attribute other than the first (the title or name) is, independently for each record with
probability 0.5, appended to the first attribute and emptied. A fixed seed makes it repeatable.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from blocking import load_exp_tables, load_pairs

VARIANTS = ("clean", "dirty")


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


def load_variant(folder: str | Path, variant: str = "clean", seed: int = 0,
                 splits: tuple[str, ...] = ("train", "valid", "test")) -> dict[str, pd.DataFrame]:
    """{split: flattened labelled pairs} of one data set folder, clean or dirty (seeded)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    folder = Path(folder)
    A, B = load_exp_tables(folder)
    if variant == "dirty":
        A, B = make_dirty(A, seed), make_dirty(B, seed + 1)
    return {s: load_pairs(folder / f"{s}.csv", A, B) for s in splits}


def unlabelled_records(folder: Path, variant: str, seed: int) -> pd.DataFrame:
    """Both record tables of a data set (the dirty variant made as in `load_variant`)."""
    a, b = load_exp_tables(folder)
    if variant == "dirty":
        a, b = make_dirty(a, seed), make_dirty(b, seed + 1)
    return pd.concat([a, b], ignore_index=True).drop(columns="id")

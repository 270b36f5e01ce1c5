"""The flattened record-pair layout: `left_<attr>` / `right_<attr>` columns, one row per pair."""

from __future__ import annotations

import pandas as pd

LEFT, RIGHT = "left_", "right_"


def attribute_names(pairs: pd.DataFrame, where: str = "pairs") -> list[str]:
    """Return the attributes present as both `left_<attr>` and `right_<attr>`, in column order.

    Raises a ValueError naming the offending columns when the table is not in the pair layout.
    """
    if not isinstance(pairs, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame of record pairs, got {type(pairs).__name__}")
    left = [c[len(LEFT):] for c in pairs.columns if isinstance(c, str) and c.startswith(LEFT)]
    right = {c[len(RIGHT):] for c in pairs.columns if isinstance(c, str) and c.startswith(RIGHT)}
    if not left and not right:
        raise ValueError(
            f"{where}: no 'left_<attr>' / 'right_<attr>' columns among {list(pairs.columns)[:10]}; "
            "record pairs must be flattened as left_title, right_title, ... "
            "(see blocking.load_pairs or blocking.join_pairs)"
        )
    only_left = [a for a in left if a not in right]
    only_right = sorted(right.difference(left))
    if only_left or only_right:
        raise ValueError(
            f"{where}: attributes must appear on both sides; unmatched columns: "
            + ", ".join([LEFT + a for a in only_left] + [RIGHT + a for a in only_right])
            + ". Rename them so that every left_<attr> has a right_<attr>."
        )
    return [a for a in left if a not in ("id",)]

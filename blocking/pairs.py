"""The flattened record-pair layout: `left_<attr>` / `right_<attr>` columns, one row per pair."""

from __future__ import annotations

import numpy as np
import pandas as pd

LEFT, RIGHT = "left_", "right_"
ID_COLUMNS = ("ltable_id", "rtable_id")


def side_columns(attribute: str) -> tuple[str, str]:
    """The two columns of an attribute in a pair table: (`left_<attr>`, `right_<attr>`)."""
    return LEFT + attribute, RIGHT + attribute


def pair_keys(pairs: pd.DataFrame) -> np.ndarray:
    """Stable string keys for the rows of a pair table: ``ltable_id|rtable_id``, else ``id``,
    else the row index. Raises a ValueError when two rows share a key."""
    if {"ltable_id", "rtable_id"}.issubset(pairs.columns):
        for column in ID_COLUMNS:  # 'a|b' + 'c' and 'a' + 'b|c' would share a key
            ids = pairs[column].astype(str)
            piped = ids[ids.str.contains("|", regex=False)]
            if len(piped):
                raise ValueError(
                    f"pairs: {column} {piped.iloc[0]!r} contains '|', which joins the two ids "
                    "of a pair key; replace '|' in the record ids (e.g. by '/') and load again"
                )
        keys = pairs["ltable_id"].astype(str) + "|" + pairs["rtable_id"].astype(str)
        source = "ltable_id|rtable_id"
    elif "id" in pairs.columns:
        keys, source = pairs["id"].astype(str), "id"
    else:
        keys, source = pd.Series(pairs.index.astype(str), index=pairs.index), "the row index"
    duplicated = keys[keys.duplicated()]
    if len(duplicated):
        raise ValueError(
            f"pairs: {len(duplicated)} rows share a key built from {source} "
            f"(e.g. {duplicated.iloc[0]!r}); the label store needs one key per pair. "
            "Drop duplicate pairs or give each row a unique 'id' column."
        )
    return keys.to_numpy(dtype=object)


def attribute_names(pairs: pd.DataFrame, where: str = "pairs") -> list[str]:
    """Return the attributes present as both `left_<attr>` and `right_<attr>`, in column order.

    Raises a ValueError naming the offending columns when the table is not in the pair layout.
    """
    if not isinstance(pairs, pd.DataFrame):
        raise TypeError(
            f"{where}: expected a pandas DataFrame of record pairs, got {type(pairs).__name__}"
        )
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


def join_pairs(
    candidates: pd.DataFrame,
    A: pd.DataFrame,
    B: pd.DataFrame | None = None,
    matches: pd.DataFrame | None = None,
    id_column: str = "id",
    where: str = "join_pairs",
) -> pd.DataFrame:
    """Flatten candidate id pairs into the pair layout: ltable_id, rtable_id, left_<attr>...,
    right_<attr>... (+ `label` = 1 for pairs in `matches`, else 0, when `matches` is given).

    B=None means both sides come from A (de-duplication; matches count in either order).
    """
    import numpy as np

    from blocking._arrays import check_table
    from blocking.quality import pairs_in

    check_table(A, id_column, f"{where}: table A")
    right = A if B is None else B
    if B is not None:
        check_table(B, id_column, f"{where}: table B")
    attrs = [c for c in A.columns if c != id_column]
    other = [c for c in right.columns if c != id_column]
    if set(attrs) != set(other):
        raise ValueError(
            f"{where}: tables A and B must have the same attributes; only in A: "
            f"{sorted(set(attrs) - set(other))}, only in B: {sorted(set(other) - set(attrs))}"
        )
    for col in ("ltable_id", "rtable_id"):
        if not isinstance(candidates, pd.DataFrame) or col not in candidates.columns:
            raise ValueError(f"{where}: the candidate pairs need columns ltable_id and rtable_id")
    positions = []
    sides = (("ltable_id", A, "A"), ("rtable_id", right, "A" if B is None else "B"))
    for col, table, name in sides:
        pos = pd.Index(table[id_column]).get_indexer(candidates[col])
        if (pos < 0).any():
            unknown = candidates[col].to_numpy()[pos < 0]
            raise ValueError(
                f"{where}: {int((pos < 0).sum())} {col} value(s) are not ids of table {name}, "
                f"e.g. {list(unknown[:5])}; check that the pairs belong to these tables"
            )
        positions.append(pos)
    left = A.iloc[positions[0]][attrs].add_prefix(LEFT).reset_index(drop=True)
    right_part = right.iloc[positions[1]][attrs].add_prefix(RIGHT).reset_index(drop=True)
    ids = pd.DataFrame(
        {
            "ltable_id": candidates["ltable_id"].to_numpy(),
            "rtable_id": candidates["rtable_id"].to_numpy(),
        }
    )
    out = pd.concat([ids, left, right_part], axis=1)
    if matches is not None:
        out["label"] = pairs_in(ids, matches, dedup=B is None).astype(np.int64)
    return out


def pair_fingerprints(pairs: pd.DataFrame) -> np.ndarray:
    """A hex fingerprint of each row's two records (its left_/right_ values), so answers stored
    under a pair key are never applied to other records that happen to share the ids."""
    columns = [c for c in pairs.columns if isinstance(c, str) and c.startswith((LEFT, RIGHT))]
    if not columns:  # ids only: nothing to fingerprint
        return np.full(len(pairs), None, dtype=object)
    hashed = pd.util.hash_pandas_object(pairs[sorted(columns)].astype(str), index=False)
    return np.char.mod("%016x", hashed.to_numpy(dtype=np.uint64)).astype(object)

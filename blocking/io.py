"""Reading record tables (CSV, Parquet), labelled pairs and DeepMatcher "exp_data" folders."""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import pandas as pd

from blocking.pairs import LEFT, RIGHT, attribute_names, join_pairs

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SPLITS = ("train", "valid", "test")


def _check_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what}: no such file {str(path.resolve())!r}; check the path")
    if path.is_dir():
        raise IsADirectoryError(f"{what}: {str(path)!r} is a folder; give the path of a file")
    return path


def _utf8_error(path: Path, err: UnicodeDecodeError, encoding: str) -> ValueError:
    data = path.read_bytes()
    # pandas reports offsets inside its read buffer, so locate the first bad byte ourselves
    try:
        data.decode(encoding)
        start = err.start
    except UnicodeDecodeError as exact:
        start = exact.start
    line = data.count(b"\n", 0, start) + 1
    return ValueError(
        f"{path}: line {line} holds bytes that are not valid {encoding} "
        f"(byte {data[start : start + 1]!r} at offset {start}); re-save the file as UTF-8 "
        "(e.g. `iconv -f latin1 -t utf-8`) or pass encoding='latin-1' to read_table"
    )


def _read_raw(path: Path, encoding: str) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            return pd.read_parquet(path)
        except Exception as err:  # pyarrow raises several types for a damaged or foreign file
            raise ValueError(f"{path}: cannot be read as Parquet ({err})") from None
    if suffix not in CSV_SUFFIXES:
        raise ValueError(
            f"{path}: unknown table format {suffix!r}; give a .csv, .tsv or .parquet file"
        )
    try:
        return pd.read_csv(
            path, sep="\t" if suffix == ".tsv" else ",", encoding=encoding, skipinitialspace=False
        )
    except UnicodeDecodeError as err:
        raise _utf8_error(path, err, encoding) from None
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty; it needs a header line and records") from None
    except pd.errors.ParserError as err:
        raise ValueError(
            f"{path}: malformed CSV ({err}); check quoting and the number of fields on that line"
        ) from None


def read_table(path: str | Path, id_column: str = "id", encoding: str = "utf-8") -> pd.DataFrame:
    """Read a record table (CSV/TSV or Parquet) with a unique `id_column`, rows kept in order.

    Missing attribute values stay NaN (blockers treat them as missing); bad input raises an
    error naming the file and what to do.
    """
    path = _check_file(path, "read_table")
    df = _read_raw(path, encoding)
    if len(df.columns) == 0 or len(df) == 0:
        raise ValueError(f"{path}: the table has no records; it needs a header line and records")
    if id_column not in df.columns:
        lowered = {str(c).lower(): str(c) for c in df.columns}
        close = difflib.get_close_matches(id_column.lower(), list(lowered), n=1)
        hint = f"did you mean {lowered[close[0]]!r}? " if close else ""
        raise ValueError(
            f"{path}: no id column {id_column!r} among {list(df.columns)}; {hint}"
            "pass id_column= naming the column that identifies records"
        )
    ids = df[id_column]
    if ids.isna().any():
        lines = (np.flatnonzero(ids.isna().to_numpy()) + 2)[:5].tolist()
        raise ValueError(
            f"{path}: id column {id_column!r} is empty on line(s) {lines}; every record needs an id"
        )
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        first = ids[dup].iloc[0]
        lines = (np.flatnonzero((ids == first).to_numpy()) + 2).tolist()
        raise ValueError(
            f"{path}: {int(ids.duplicated().sum())} duplicate id(s) in column {id_column!r}, "
            f"e.g. {first!r} on lines {lines[:5]}; ids must be unique: fix or drop the repeats"
        )
    return df


def load_pairs(
    path: str | Path,
    A: pd.DataFrame | None = None,
    B: pd.DataFrame | None = None,
    id_column: str = "id",
) -> pd.DataFrame:
    """Read labelled pairs: an already flattened file, or ltable_id/rtable_id(/label) ids that
    are joined with tables `A` and `B` (B=None: both sides from A) into the flattened layout.
    """
    path = _check_file(path, "load_pairs")
    df = _read_raw(path, "utf-8")
    if len(df) == 0:
        raise ValueError(f"{path}: no pairs in the file")
    if any(str(c).startswith((LEFT, RIGHT)) for c in df.columns):
        attribute_names(df, where=str(path))
        return df
    missing = [c for c in ("ltable_id", "rtable_id") if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: no column(s) {missing} among {list(df.columns)}; a pairs file needs "
            "ltable_id, rtable_id (and label), or flattened left_<attr>/right_<attr> columns"
        )
    if A is None:
        raise ValueError(f"{path}: holds record ids only; pass the tables A (and B) to join them")
    matches = None
    if "label" in df.columns:
        if df["label"].isna().any() or not df["label"].isin([0, 1]).all():
            bad = (np.flatnonzero(~df["label"].isin([0, 1]).to_numpy()) + 2)[:5].tolist()
            raise ValueError(f"{path}: label must be 0 or 1; bad value(s) on line(s) {bad}")
        matches = df.loc[df["label"] == 1, ["ltable_id", "rtable_id"]]
    out = join_pairs(
        df[["ltable_id", "rtable_id"]], A, B, matches=matches, id_column=id_column, where=str(path)
    )
    if "label" in df.columns:
        out["label"] = df["label"].astype(int).to_numpy()
    return out


def load_exp_data(
    folder: str | Path, id_column: str = "id", splits: tuple[str, ...] = SPLITS
) -> dict[str, pd.DataFrame]:
    """Load a DeepMatcher "exp_data" folder (tableA/tableB.csv + train/valid/test id files) as
    {split: flattened labelled pairs}; `load_exp_tables` gives the two tables themselves.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"load_exp_data: no folder {str(folder.resolve())!r}; it must hold tableA.csv, "
            "tableB.csv and train/valid/test.csv"
        )
    A, B = load_exp_tables(folder, id_column)
    return {s: load_pairs(folder / f"{s}.csv", A, B, id_column) for s in splits}


def load_exp_tables(folder: str | Path, id_column: str = "id") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two record tables (tableA.csv, tableB.csv) of a DeepMatcher "exp_data" folder."""
    folder = Path(folder)
    return (
        read_table(folder / "tableA.csv", id_column),
        read_table(folder / "tableB.csv", id_column),
    )


def known_matches(splits: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The union of label == 1 pairs over all splits, as DataFrame[ltable_id, rtable_id]."""
    parts = [p.loc[p["label"] == 1, ["ltable_id", "rtable_id"]] for p in splits.values()]
    return pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)

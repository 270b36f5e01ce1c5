"""Reading record tables (CSV, Parquet), labelled pairs and DeepMatcher "exp_data" folders.

Record ids are read as text, so that they keep their spelling ('00117' stays '00117').
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pandas._libs.parsers import STR_NA_VALUES

from blocking.pairs import ID_COLUMNS, LEFT, RIGHT, attribute_names, join_pairs
from blocking.validation import InputError, InputFileNotFoundError, InputIsADirectoryError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
SPLITS = ("train", "valid", "test")
SEPARATORS = {",": "comma (',')", ";": "semicolon (';')", "\t": "tab ('\\t')", "|": "pipe ('|')"}
_HEAD_BYTES = 1 << 16


def _check_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(
            f"{what}: no such file {str(path.resolve())!r}; check the path"
        )
    if path.is_dir():
        raise InputIsADirectoryError(
            f"{what}: {str(path)!r} is a folder; give the path of a table file (.csv, .parquet)"
        )
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes); it needs a header line and records")
    return path


def _utf8_error(path: Path, err: UnicodeDecodeError, encoding: str) -> InputError:
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return InputError(
            f"{path}: the file is UTF-16 (it starts with a UTF-16 byte-order mark); re-save it "
            "as UTF-8 or pass encoding='utf-16' to read_table"
        )
    # pandas reports offsets inside its read buffer, so locate the first bad byte ourselves
    try:
        data.decode(encoding)
        start = err.start
    except UnicodeDecodeError as exact:
        start = exact.start
    line = data.count(b"\n", 0, start) + 1
    return InputError(
        f"{path}: line {line} holds bytes that are not valid {encoding} "
        f"(byte {data[start : start + 1]!r} at offset {start}); re-save the file as UTF-8 "
        "(e.g. `iconv -f latin1 -t utf-8`) or pass encoding='latin-1' to read_table"
    )


def _codec(encoding: str) -> str:
    """utf-8 also strips a leading byte-order mark (Excel writes one), else the first column
    name would start with an invisible '\\ufeff'."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def _header(path: Path, encoding: str) -> str:
    with open(path, "rb") as file:
        head = file.read(_HEAD_BYTES)
    # a file whose lines end in a bare '\r' (old Mac) has no '\n' at all
    first = head.split(b"\n", 1)[0] if b"\n" in head else head.split(b"\r", 1)[0]
    return first.rstrip(b"\r").decode(_codec(encoding), errors="replace")


def _with_line_feeds(path: Path) -> io.BytesIO | None:
    """The file with '\r\n' made '\n', when its lines end in '\n' yet it also holds a bare
    '\r' (pandas would end a record there, splitting a field in two); else None."""
    data = path.read_bytes()
    if b"\n" not in data or data.count(b"\r") == data.count(b"\r\n") or b'"' in data:
        return None  # with quotes, a '\r\n' may belong to a value: `_short_records` checks
    return io.BytesIO(data.replace(b"\r\n", b"\n"))


def _short_records(path: Path, df: pd.DataFrame, names: list[str], sep: str,
                   encoding: str) -> None:
    """Refuse records with fewer fields than the header line, which pandas fills with NaN
    without a word (typically a line written with another separator), and records that pandas
    split at a '\r' inside an unquoted field."""
    if not len(df) or not df.iloc[:, -1].isna().any():  # a short record leaves the last empty
        return
    text = path.read_bytes().decode(_codec(encoding), errors="replace")
    text = text.replace("\r\n", "\n")
    lines = text.split("\n") if "\n" in text else text.split("\r")
    reader = csv.reader((line.replace("\r", " ") for line in lines), delimiter=sep)
    next(reader, None)
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))  # 1 MB values
    try:
        records = [(reader.line_num, record) for record in reader if record]
    finally:
        csv.field_size_limit(limit)
    if len(records) != len(df):
        line = next((i + 1 for i, text in enumerate(lines) if "\r" in text.rstrip("\r")), 0)
        raise InputError(
            f"{path}: line {line} holds a carriage return ('\\r') inside a field that is not "
            "quoted, which reads as a line break; quote that field or remove the character"
        )
    short = next(((n, r) for n, r in records if any(r) and len(r) < len(names)), None)
    if short is not None:
        line, record = short
        raw = lines[line - 1] if line - 1 < len(lines) else ""
        others = [SEPARATORS[s] for s in SEPARATORS if s != sep and s in raw]
        hint = (f"; it holds a {others[0]}: write every line with the same separator"
                if others else "; add the missing fields (empty ones are fine: a,,c)")
        raise InputError(
            f"{path}: line {line} has {len(record)} field(s) where the header line has "
            f"{len(names)} (fields read as separated by {SEPARATORS.get(sep, repr(sep))})"
            f"{hint}"
        )


def _separator(path: Path, header: str, sep: str | None) -> str:
    """The field separator: `sep`, else tab for .tsv, else the one the header line uses."""
    if sep is not None:
        if not isinstance(sep, str) or len(sep) != 1:
            raise InputError(f"{path}: sep must be one character such as ',' or ';', got {sep!r}")
        return sep
    if path.suffix.lower() == ".tsv":
        return "\t"
    if "," in header:
        return ","
    used = [s for s in SEPARATORS if s != "," and s in header]
    return used[0] if len(used) == 1 else ","


def _other_separators(header: str, sep: str) -> str:
    """A hint when the header holds another separator than the one the file is read with."""
    others = [s for s in SEPARATORS if s != sep and s in header]
    if not others:
        return ""
    name = SEPARATORS[others[0]]
    return (
        f"; the header line holds a {name}: if the file is {others[0]!r}-separated, "
        f"pass sep={others[0]!r}"
    )


def _header_names(path: Path, header: str, sep: str) -> list[str]:
    names = next(csv.reader([header], delimiter=sep), [])
    seen: set[str] = set()
    twice = sorted({n for n in names if n in seen or seen.add(n)})
    if twice:
        raise InputError(
            f"{path}: column name(s) {twice} appear more than once in the header line; "
            "give every column its own name"
        )
    return names


def _parse_error(path: Path, err: Exception, header: str, sep: str) -> InputError:
    message = str(err).strip()
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        want, line, saw = found.groups()
        what = f"line {line} has {saw} fields where the header line has {want}"
    else:
        what = f"malformed CSV ({message.removeprefix('Error tokenizing data. C error: ')})"
    return InputError(
        f"{path}: {what} (fields read as separated by {SEPARATORS.get(sep, repr(sep))}); check the "
        f"quoting and the number of fields on that line{_other_separators(header, sep)}"
    )


def _read_raw(
    path: Path, encoding: str, sep: str | None = None, text_columns: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, str]:
    """The table at `path` and its header line ('' for Parquet); `text_columns` are read as
    text with only empty fields missing (an id 'NA' stays 'NA')."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            return pd.read_parquet(path), ""
        except Exception as err:  # pyarrow raises several types for a damaged or foreign file
            raise InputError(f"{path}: cannot be read as Parquet ({err})") from None
    if suffix not in CSV_SUFFIXES:
        raise InputError(
            f"{path}: unknown table format {suffix!r}; give a .csv, .tsv or .parquet file"
        )
    header = _header(path, encoding)
    sep = _separator(path, header, sep)
    names = _header_names(path, header, sep)
    na_values = {c: ([""] if c in text_columns else list(STR_NA_VALUES)) for c in names}
    normalised = _with_line_feeds(path)
    try:
        df = pd.read_csv(
            path if normalised is None else normalised,
            sep=sep,
            lineterminator=None if normalised is None else "\n",
            encoding=_codec(encoding),
            dtype=str,
            keep_default_na=False,
            na_values=na_values,
        )
    except UnicodeDecodeError as err:
        raise _utf8_error(path, err, encoding) from None
    except pd.errors.EmptyDataError:
        raise InputError(
            f"{path}: the file is empty; it needs a header line and records"
        ) from None
    except (pd.errors.ParserError, csv.Error) as err:
        raise _parse_error(path, err, header, sep) from None
    _short_records(path, df, names, sep, encoding)
    return _numbers(df, text_columns), header


_CODE = re.compile(r"[+-]?0\d|\d{16}")


def _numbers(df: pd.DataFrame, text_columns: tuple[str, ...]) -> pd.DataFrame:
    """Columns whose every value is a number become numeric, as pandas would read them, except
    codes that a number would change: a leading zero (postcode '02134', phone '0049...') or
    more than 15 digits (an EAN or card number past float precision) keep their text."""
    for column in df.columns:
        values = df[column]
        if column in text_columns or values.isna().all():
            continue
        text = values.dropna().str.strip()
        if pd.to_numeric(text.iloc[:64], errors="coerce").isna().any():  # text: decided early
            continue
        if pd.to_numeric(text, errors="coerce").notna().all() and not text.str.match(_CODE).any():
            df[column] = pd.to_numeric(values.str.strip())
    return df


def _places(path: Path, positions: np.ndarray, n_rows: int, limit: int = 5) -> str:
    """Where rows sit in the file: 'line(s) [3, 9]' when every record is one line of a CSV
    file (counted only on this error path), else record numbers."""
    positions = np.asarray(positions)[:limit]
    if _one_line_per_record(path, n_rows):
        return f"line(s) {(positions + 2).tolist()}"
    return f"record(s) {(positions + 1).tolist()} (counting from 1 after the header)"


def _one_line_per_record(path: Path, n_rows: int) -> bool:
    """Whether record i of a CSV file sits on line i + 2 (a header line, no multi-line field)."""
    if path.suffix.lower() not in CSV_SUFFIXES:
        return False
    data = path.read_bytes()
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1) == n_rows + 1


def _check_filled(path: Path, ids: pd.Series, column: str, what: str) -> None:
    """Refuse empty ids, naming where they are."""
    empty = np.flatnonzero(ids.isna().to_numpy())
    if len(empty):
        raise InputError(
            f"{path}: id column {column!r} is empty on {_places(path, empty, len(ids))}; "
            f"{what} needs an id"
        )


def _check_unique(path: Path, ids: pd.Series, column: str) -> None:
    """Refuse repeated ids, naming the values and where they are."""
    dup = ids.duplicated(keep=False).to_numpy()
    if dup.any():
        examples = []
        for value in pd.unique(ids[dup])[:3]:
            where = _places(path, np.flatnonzero((ids == value).to_numpy()), len(ids))
            examples.append(f"{value!r} on {where}")
        raise InputError(
            f"{path}: {int(ids.duplicated().sum())} repeated id(s) in column {column!r}: "
            f"{'; '.join(examples)}; ids must be unique: fix or drop the repeats"
        )


def read_table(
    path: str | Path, id_column: str = "id", encoding: str = "utf-8", sep: str | None = None
) -> pd.DataFrame:
    """Read a record table (CSV/TSV or Parquet) with a unique `id_column`, rows kept in order.

    CSV ids are read as text, exactly as written. `sep=None` takes tab for .tsv files, else the
    separator the header line uses (',' ';' tab '|'). Missing attribute values stay NaN
    (blockers treat them as missing); bad input raises an InputError naming the file and fix.
    """
    path = _check_file(path, "read_table")
    df, header = _read_raw(path, encoding, sep, text_columns=(id_column,))
    if len(df.columns) == 0 or len(df) == 0:
        raise InputError(
            f"{path}: the table has no records; it needs a header line and records"
        )
    if id_column not in df.columns:
        lowered = {str(c).lower(): str(c) for c in df.columns}
        close = difflib.get_close_matches(id_column.lower(), list(lowered), n=1)
        hint = f"did you mean {lowered[close[0]]!r}? " if close else ""
        used = _separator(path, header, sep) if header else ","
        raise InputError(
            f"{path}: no id column {id_column!r} among {list(df.columns)[:10]}; {hint}"
            f"pass id_column= naming the column that identifies records"
            f"{_other_separators(header, used) if len(df.columns) == 1 else ''}"
        )
    ids = df[id_column]
    if pd.api.types.is_float_dtype(ids):  # Parquet: CSV ids are always read as text
        raise InputError(
            f"{path}: id column {id_column!r} holds decimal numbers ({ids.iloc[0]!r}, ...); "
            "store ids as whole numbers or text"
        )
    _check_filled(path, ids, id_column, "every record")
    _check_unique(path, ids, id_column)
    return df


def _normal_id(values: pd.Series) -> pd.Series:
    """A loose spelling of ids (no spaces, leading zeros or '.0'), only for 'did you mean'."""
    text = values.astype(str).str.strip().str.replace(r"\.0+$", "", regex=True)
    return text.str.lstrip("0").replace("", "0")


def _table_ids(path: Path, written: pd.Series, column: str, table: pd.DataFrame,
               id_column: str, name: str) -> np.ndarray:
    """The ids of `table` that the ids `written` in a pairs file spell, exactly as text."""
    ids = table[id_column]
    spelled = ids.astype(str)
    if spelled.duplicated().any():
        raise InputError(
            f"table {name}: ids {spelled[spelled.duplicated()].unique()[:3].tolist()} are "
            "repeated once written as text; give each record a distinct id"
        )
    pos = pd.Index(spelled).get_indexer(written.astype(str))
    unknown = np.flatnonzero(pos < 0)
    if len(unknown):
        values = written.iloc[unknown]
        loose = dict(zip(_normal_id(spelled), spelled, strict=True))
        guesses = [
            f"{v!r} -> {loose[n]!r}" for v, n in zip(values, _normal_id(values), strict=True)
            if n in loose
        ][:3]
        hint = f" (did you mean {', '.join(guesses)}?)" if guesses else ""
        raise InputError(
            f"{path}: {len(unknown)} {column} value(s) are not ids of table {name}, e.g. "
            f"{values.iloc[:5].tolist()} on {_places(path, unknown, len(written))}{hint}; ids "
            "are compared exactly as written: check that the pairs belong to these tables"
        )
    return ids.to_numpy()[pos]


def _repeated_pairs(path: Path, df: pd.DataFrame, drop: bool) -> pd.DataFrame:
    """Refuse a pair given twice with different labels; repeats with the same label are
    dropped (drop=True) or kept, with a warning either way."""
    cols = [c for c in (*ID_COLUMNS, "label") if c in df.columns]
    again = df.duplicated(list(ID_COLUMNS), keep=False).to_numpy()
    if not again.any():
        return df
    same = df.duplicated(cols, keep=False).to_numpy()
    conflict = again & ~same
    if conflict.any():
        first = df.loc[conflict, list(ID_COLUMNS)].iloc[0]
        rows = np.flatnonzero(
            (df["ltable_id"] == first["ltable_id"]).to_numpy()
            & (df["rtable_id"] == first["rtable_id"]).to_numpy()
        )
        raise InputError(
            f"{path}: {int(conflict.sum())} rows give a pair twice with different labels, e.g. "
            f"({first['ltable_id']!r}, {first['rtable_id']!r}) on {_places(path, rows, len(df))}"
            "; keep one label per pair"
        )
    repeats = np.flatnonzero(df.duplicated(cols).to_numpy())
    action = "dropped" if drop else "kept (pass drop_duplicates=True to drop them)"
    warnings.warn(
        f"{path}: {len(repeats)} repeated pair row(s) on {_places(path, repeats, len(df))}; "
        f"{action}",
        UserWarning,
        stacklevel=3,
    )
    return df.drop_duplicates(cols, ignore_index=True) if drop else df


def _one_order(path: Path, df: pd.DataFrame) -> None:
    """De-duplication (one table): refuse a record paired with itself, and a pair given in
    both orders, which would be scored and counted twice."""
    left, right = df["ltable_id"], df["rtable_id"]
    same = np.flatnonzero((left == right).to_numpy())
    if len(same):
        raise InputError(
            f"{path}: record {left.iloc[same[0]]!r} is paired with itself on "
            f"{_places(path, same, len(df))}; in de-duplication a pair joins two records: "
            "drop those rows"
        )
    low = pd.Series(np.where(left < right, left, right))
    high = pd.Series(np.where(left < right, right, left))
    twice = np.flatnonzero(  # exact repeats are _repeated_pairs' business
        pd.DataFrame({"l": low, "h": high}).duplicated(keep=False).to_numpy()
        & ~df.duplicated(list(ID_COLUMNS), keep=False).to_numpy()
    )
    if len(twice):
        a, b = low.iloc[twice[0]], high.iloc[twice[0]]
        rows = np.flatnonzero(((low == a) & (high == b)).to_numpy())
        raise InputError(
            f"{path}: the pair ({a!r}, {b!r}) is given in both orders on "
            f"{_places(path, rows, len(df))}; in de-duplication that is one pair: keep one row"
        )


def load_pairs(
    path: str | Path,
    A: pd.DataFrame | None = None,
    B: pd.DataFrame | None = None,
    id_column: str = "id",
    sep: str | None = None,
    drop_duplicates: bool = False,
) -> pd.DataFrame:
    """Read labelled pairs: an already flattened file, or ltable_id/rtable_id(/label) ids that
    are joined with tables `A` and `B` (B=None: both sides from A) into the flattened layout.

    Ids are read as text and must match the tables' ids as written. A pair given twice with
    different labels is refused; exact repeats warn and are kept or, with drop_duplicates, dropped.
    """
    path = _check_file(path, "load_pairs")
    df, header = _read_raw(path, "utf-8", sep, text_columns=ID_COLUMNS)
    if len(df) == 0:
        raise InputError(f"{path}: no pairs in the file; it needs a header line and pairs")
    has_ids = set(ID_COLUMNS).issubset(df.columns)
    for col in ID_COLUMNS if has_ids else ():
        _check_filled(path, df[col], col, "every pair")
    flattened = any(str(c).startswith((LEFT, RIGHT)) for c in df.columns)
    if "label" in df.columns:
        label = df["label"]
        # a flattened pool may leave labels empty; an id file's labels are all given
        bad = ~label.isin([0, 1]).to_numpy() & (label.notna().to_numpy() | (not flattened))
        if bad.any():
            raise InputError(
                f"{path}: label must be 0 or 1{'' if flattened else ' on every line'}; bad "
                f"value(s) {label[bad].iloc[:3].tolist()} on "
                f"{_places(path, np.flatnonzero(bad), len(df))}"
            )
        if label.notna().all():
            df["label"] = label.astype(np.int64)
    if has_ids:
        df = _repeated_pairs(path, df, drop_duplicates)
    if flattened:
        attribute_names(df, where=str(path))
        return df
    if not has_ids:
        missing = [c for c in ID_COLUMNS if c not in df.columns]
        raise InputError(
            f"{path}: no column(s) {missing} among {list(df.columns)[:10]}; a pairs file needs "
            "ltable_id, rtable_id (and label), or flattened left_<attr>/right_<attr> columns"
            f"{_other_separators(header, _separator(path, header, sep)) if header else ''}"
        )
    if A is None:
        raise InputError(
            f"{path}: holds record ids only; pass the tables A (and B) to join them"
        )
    if B is None:
        _one_order(path, df)
    from blocking._arrays import check_table

    check_table(A, id_column, f"{path}: table A")
    if B is not None:
        check_table(B, id_column, f"{path}: table B")
    ids = pd.DataFrame({
        "ltable_id": _table_ids(path, df["ltable_id"], "ltable_id", A, id_column, "A"),
        "rtable_id": _table_ids(
            path, df["rtable_id"], "rtable_id", A if B is None else B, id_column,
            "A" if B is None else "B",
        ),
    })
    matches = ids[df["label"].to_numpy() == 1] if "label" in df.columns else None
    out = join_pairs(ids, A, B, matches=matches, id_column=id_column, where=str(path))
    if "label" in df.columns:
        out["label"] = df["label"].to_numpy()
    return out


def read_answers(path: str | Path, what: str = "answer file") -> pd.DataFrame:
    """The answers of a label file as a frame of (key, label, line): `label` is the text as
    written, `key` the pair key ('ltable_id|rtable_id', or the file's `key` / `id` column) and
    `line` where the answer sits. Read like `read_table` (separator, line ends, encodings);
    a missing column, an empty id or label, or a pair answered twice is refused, naming the
    file and the lines."""
    if not Path(path).exists():
        raise InputFileNotFoundError(f"{what} {str(path)!r} does not exist; check the path")
    path = _check_file(path, what)
    columns = ("label", "key", "id", *ID_COLUMNS)
    df, header = _read_raw(path, "utf-8", None, text_columns=columns)
    hint = _other_separators(header, _separator(path, header, None)) if header else ""
    if "label" not in df.columns:
        raise InputError(
            f"{path}: no 'label' column among {list(df.columns)[:10]}; an answer file needs "
            f"label plus ltable_id and rtable_id (or key, or id){hint}"
        )
    if "key" in df.columns:
        parts = [df["key"]]
    elif set(ID_COLUMNS).issubset(df.columns):
        parts = [df[c] for c in ID_COLUMNS]
    elif "id" in df.columns:
        parts = [df["id"]]
    else:
        raise InputError(
            f"{path}: needs ltable_id and rtable_id (or key, or id) columns to name the pairs; "
            f"it has {list(df.columns)[:10]}{hint}"
        )
    if len(df) == 0:
        raise InputError(f"{path}: holds no answers, only a header line; add answers")
    for part in parts:
        _check_filled(path, part, str(part.name), "every answer")
    unit = "line" if _one_line_per_record(path, len(df)) else "record"
    where = np.arange(len(df)) + (2 if unit == "line" else 1)
    empty = np.flatnonzero(df["label"].isna().to_numpy())
    if len(empty):
        raise InputError(
            f"{path}: {unit} {where[empty[0]]}: the label is empty ({len(empty)} answers in "
            "all); give 0/1, match/non-match or unsure"
        )
    keys = parts[0].str.strip()
    for part in parts[1:]:
        keys = keys + "|" + part.str.strip()
    again = keys.duplicated(keep=False).to_numpy()
    if again.any():
        first = keys[again].iloc[0]
        rows = where[(keys == first).to_numpy()].tolist()
        raise InputError(
            f"{path}: answers pair {first!r} more than once ({unit}s {rows}; "
            f"{int(keys.duplicated().sum())} repeated answers in all); keep one answer per pair"
        )
    where = [f"{unit} {i}" for i in where]
    return pd.DataFrame({"key": keys.to_numpy(), "label": df["label"].str.strip().to_numpy(),
                         "line": where})


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

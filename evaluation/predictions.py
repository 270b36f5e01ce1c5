"""Reading a matcher's predictions file (CSV or Parquet) for evaluation."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def read_predictions(
    path: str | Path,
    prediction_column: str = "prediction",
    score_column: str | Sequence[str] = "score",
) -> pd.DataFrame:
    """Read a predictions table (.csv, .parquet/.pq) and check its prediction and score columns.

    `score_column` may list several columns (several classifiers' scores). Every column of the
    file is kept, e.g. pair ids or records to show an oracle. Predictions must be 0/1 and scores
    finite numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"predictions file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path)
    elif suffix in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        raise ValueError(f"{path}: unsupported predictions format {suffix!r}; use .csv or .parquet")
    scores = [score_column] if isinstance(score_column, str) else list(score_column)
    missing = [c for c in [prediction_column, *scores] if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{path} has no column(s) {missing}; available: {list(frame.columns)}. Name the "
            "columns with prediction_column= / score_column= (CLI: --prediction-column, "
            "--score-column)"
        )
    if frame.empty:
        raise ValueError(f"{path} holds no rows")
    bad = ~frame[prediction_column].isin([0, 1])
    if bad.any():
        raise ValueError(
            f"{path}: column {prediction_column!r} must hold 0/1 predictions; row "
            f"{int(np.argmax(bad))} has {frame[prediction_column][bad].tolist()[0]!r}"
        )
    for column in scores:
        values = pd.to_numeric(frame[column], errors="coerce")
        if not np.isfinite(values.to_numpy(dtype=float)).all():
            row = int(np.argmax(~np.isfinite(values.to_numpy(dtype=float))))
            raise ValueError(
                f"{path}: score column {column!r} must hold finite numbers; row {row} has "
                f"{frame[column].tolist()[row]!r}"
            )
        frame[column] = values.astype(float)
    frame[prediction_column] = frame[prediction_column].astype(np.int8)
    return frame

"""Apply LFs to record pairs: vectorized LFs as column operations, row-wise ones via Snorkel."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from snorkel.labeling import LabelingFunction, PandasLFApplier

from blocking.progress import progress_bar
from labeling_functions import ABSTAIN
from labeling_functions.cache import similarity_cache
from labeling_functions.core import (
    ExpertLF,
    LFError,
    LFVoteError,
    LFWarning,
    as_expert_lf,
    copy_on_write,
)

logger = logging.getLogger(__name__)

ENGINES = ("auto", "pandas", "dask")
# Internal vote of a fault-tolerant wrapper that caught an exception; never leaves apply_lfs.
_FAULT = 2
# Above this many row-wise LF calls, engine="auto" uses Dask and progress=None shows a bar.
_BIG = 1_000_000


class _FaultTolerant(LabelingFunction):
    """Row-wise wrapper: an LF that raises votes _FAULT (counted, then abstains) instead."""

    def __init__(self, lf: ExpertLF):
        super().__init__(name=lf.name, f=lf)

    def __call__(self, x: Any) -> int:
        try:
            return self._f(x)
        except LFVoteError:
            raise
        except LFError:
            return _FAULT


def _check_lfs(lfs: Iterable[Any]) -> list[ExpertLF]:
    if isinstance(lfs, LabelingFunction):
        lfs = [lfs]
    lfs = [as_expert_lf(lf) for lf in lfs]
    if not lfs:
        raise ValueError("apply_lfs: no labeling functions given")
    names = [lf.name for lf in lfs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"apply_lfs: LF names must be unique; repeated: {dup}")
    return lfs


def _locate(lf: ExpertLF, frame: pd.DataFrame, fault_tolerant: bool) -> tuple[np.ndarray, int]:
    """Votes of a vectorized LF that raised on the whole frame, found by bisection.

    Chunks that run are kept; a failing chunk is halved until single failing rows remain,
    which abstain (fault_tolerant) or are reported by position.
    """
    votes = np.full(len(frame), ABSTAIN, np.int64)
    faults = 0
    stack = [(0, len(frame))]
    while stack:
        lo, hi = stack.pop()
        try:
            votes[lo:hi] = lf.apply_to_view(frame.iloc[lo:hi])
        except LFVoteError:
            raise
        except LFError as err:
            if hi - lo > 1:
                mid = (lo + hi) // 2
                stack += [(mid, hi), (lo, mid)]
            elif fault_tolerant:
                faults += 1
            else:
                raise LFError(f"{err} (first failing row: position {lo})", lf.name, lo) from err
    return votes, faults


def _run_vectorized(lf: ExpertLF, frame: pd.DataFrame, fault_tolerant: bool) -> tuple:
    try:
        return lf.apply_to_view(frame), 0
    except LFVoteError:
        raise
    except LFError:
        return _locate(lf, frame, fault_tolerant)


def _run_rowwise(
    lfs: list[ExpertLF],
    frame: pd.DataFrame,
    engine: str,
    fault_tolerant: bool,
    n_partitions: int | None,
) -> np.ndarray:
    wrapped = [_FaultTolerant(lf) for lf in lfs] if fault_tolerant else lfs
    if engine == "pandas":
        return PandasLFApplier(wrapped).apply(frame, progress_bar=False)
    import dask
    from dask import dataframe as dd
    from snorkel.labeling.apply.dask import DaskLFApplier

    # Snorkel's Dask applier returns rows sorted by index: the caller's fresh RangeIndex
    # keeps that order equal to the input's row order.
    parts = n_partitions or max(1, min(64, len(frame) // 10_000))
    # keep object strings, so that row-wise LFs see NaN for missing values as with pandas
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(frame, npartitions=parts, sort=True)
    return DaskLFApplier(wrapped).apply(ddf, scheduler=_dask_scheduler())


def _dask_scheduler() -> str | None:
    """The running dask.distributed client's cluster if there is one, else local processes."""
    try:
        from distributed import Client

        Client.current(allow_global=True)
    except (ImportError, ValueError):
        return "processes"
    return None


def apply_lfs(
    lfs: Iterable[Any],
    pairs: pd.DataFrame,
    engine: str = "auto",
    progress: bool | None = None,
    fault_tolerant: bool = False,
    return_faults: bool = False,
    n_partitions: int | None = None,
    warn_abstaining: bool = True,
) -> np.ndarray | tuple[np.ndarray, dict[str, int]]:
    """The label matrix L (n pairs x m LFs) of -1/0/1 votes, rows in the order of `pairs`.

    Vectorized LFs run as whole-column operations (similarity results shared between LFs);
    row-wise LFs run through Snorkel's PandasLFApplier (engine="pandas") or DaskLFApplier
    (engine="dask"; "auto" picks Dask for more than a million row-wise LF calls). With
    `fault_tolerant=True` an LF that raises abstains on that row, and the per-LF fault
    counts are logged, warned and returned when `return_faults=True`; otherwise the error
    names the LF and the row. Invalid votes (outside -1/0/1, against the LF's polarity, of the
    wrong length, a Series whose index is not the rows') always raise. LFs run on a
    copy-on-write view: an LF that edits its input changes neither `pairs` nor what the other
    LFs see. LFs that abstain on every pair are warned about (LFWarning) unless
    `warn_abstaining=False`.
    """
    if engine not in ENGINES:
        raise ValueError(f"apply_lfs: engine must be one of {ENGINES}, got {engine!r}")
    if not isinstance(pairs, pd.DataFrame):
        raise TypeError(f"apply_lfs: pairs must be a pandas DataFrame, got {type(pairs).__name__}")
    lfs = _check_lfs(lfs)
    n = len(pairs)
    L = np.full((n, len(lfs)), ABSTAIN, dtype=np.int64)
    faults = {lf.name: 0 for lf in lfs}
    row_cols = [j for j, lf in enumerate(lfs) if not lf.vectorized]
    vec_cols = [j for j, lf in enumerate(lfs) if lf.vectorized]
    calls = n * len(row_cols)
    show = (n * len(lfs) >= _BIG) if progress is None else bool(progress)
    if engine == "auto":
        engine = "dask" if calls >= _BIG and _has_dask() else "pandas"
    try:
        with copy_on_write(), similarity_cache(), progress_bar(show) as bar:
            frame = _view(pairs)
            state = _state(frame)
            if vec_cols:
                task = bar.add_task("vectorized LFs", total=len(vec_cols), status="")
            for j in vec_cols:
                L[:, j], faults[lfs[j].name] = _run_vectorized(lfs[j], frame, fault_tolerant)
                bar.update(task, advance=1, status=lfs[j].name)
                if _state(frame) != state:  # the LF changed its view: the next LFs get a new one
                    frame = _view(pairs)
                    state = _state(frame)
            if row_cols and n:
                rowwise = bar.add_task(f"{len(row_cols)} row-wise LFs ({engine})", total=None,
                                       status="")
                R = _run_rowwise(
                    [lfs[j] for j in row_cols], frame, engine, fault_tolerant, n_partitions
                )
                bar.update(rowwise, total=1, completed=1)
                hit = R == _FAULT
                for k, j in enumerate(row_cols):
                    faults[lfs[j].name] = int(hit[:, k].sum())
                L[:, row_cols] = np.where(hit, ABSTAIN, R)
    except LFError as err:
        where = ""
        if err.position is not None and isinstance(err.position, (int, np.integer)):
            if 0 <= err.position < n:
                where = f" [row position {err.position}, index label {pairs.index[err.position]!r}]"
        raise type(err)(f"{err}{where}", err.lf_name, err.position) from err
    if warn_abstaining:
        _warn_silent(lfs, L, faults)
    faulty = {name: c for name, c in faults.items() if c}
    if faulty:
        msg = f"apply_lfs: faults (rows where the LF raised and abstained): {faulty}"
        logger.warning(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    return (L, faults) if return_faults else L


def _view(pairs: pd.DataFrame) -> pd.DataFrame:
    """A shallow copy of `pairs` with a positional index (no data copied; used under CoW)."""
    frame = pairs.copy(deep=False)
    frame.index = pd.RangeIndex(len(pairs))
    return frame


def _state(frame: pd.DataFrame) -> tuple:
    """What identifies the frame's data: under copy-on-write, any write into it (or a column
    replaced, added or dropped, a new index) changes this."""

    def address(column: pd.Series) -> int:
        values = column.array
        if isinstance(values, pd.arrays.NumpyExtensionArray):
            return np.asarray(values).__array_interface__["data"][0]
        return id(values)

    return id(frame.index), tuple(frame.columns), tuple(address(frame[c]) for c in frame.columns)


def _warn_silent(lfs: list[ExpertLF], L: np.ndarray, faults: dict[str, int]) -> None:
    """Warn about LFs that abstained on every pair (other than by raising, warned about apart)."""
    if not len(L):
        return
    silent = [
        lf.name for j, lf in enumerate(lfs) if (L[:, j] == ABSTAIN).all() and not faults[lf.name]
    ]
    if silent:
        msg = (
            f"apply_lfs: LF(s) {silent} abstained on all {len(L)} pairs, so they add nothing; "
            "check the attribute names and thresholds they use"
        )
        warnings.warn(msg, LFWarning, stacklevel=3)


def _has_dask() -> bool:
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True

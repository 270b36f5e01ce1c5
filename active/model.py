"""The model a run keeps: the scoring matcher, the label model, the LFs' fingerprint, the pair
attributes, the threshold and how the candidates were made, in one versioned model file.

`save_run_model(loop, path, lf_file)` writes it at the end of `riskweasul run`;
`load_run_model(path)` reads it back (the header is checked before anything is unpickled), and
`RunModel.match_proba` scores any pairs with exactly the scores the run produced.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from blocking.files import load_model, save_model
from blocking.pairs import attribute_names

KIND = "RunModel"
FILE_NAME = "model.riskweasul"


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes (the LFs' fingerprint: which LF file the run used)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class RunModel:
    """What `riskweasul score` needs to score new pairs as the run did."""

    matcher: object
    threshold: float
    attributes: tuple[str, ...]
    label_model: object | None = None
    lfs_sha256: str | None = None
    n_labels: int = 0
    options: dict = field(default_factory=dict)

    def _check_pairs(self, pairs: pd.DataFrame, where: str) -> None:
        present = set(attribute_names(pairs, where=where))
        missing = [a for a in self.attributes if a not in present]
        if missing:
            raise ValueError(
                f"{where}: the pairs lack the attribute(s) {missing} the model was trained on "
                f"({list(self.attributes)}); give tables with the run's columns"
            )

    def match_proba(self, pairs: pd.DataFrame) -> np.ndarray:
        """P(match) of every pair, shape (n,), from the matcher that scored the run."""
        self._check_pairs(pairs, "RunModel.match_proba")
        return np.asarray(self.matcher.match_proba(pairs), dtype=float)

    def predict(self, pairs: pd.DataFrame) -> np.ndarray:
        """0/1 predictions at the run's threshold."""
        return (self.match_proba(pairs) >= self.threshold).astype(np.int8)

    def label_proba(self, pairs: pd.DataFrame, lf_file: str | os.PathLike) -> np.ndarray:
        """The label model's P(match) from the run's LFs; refused if `lf_file` is not the file
        the run used (other LFs would feed the label model votes it never saw)."""
        if self.label_model is None:
            raise ValueError("RunModel.label_proba: the run had no LFs, so no label model")
        digest = file_sha256(lf_file)
        if digest != self.lfs_sha256:
            raise ValueError(
                f"RunModel.label_proba: {str(lf_file)!r} is not the LF file of the run (its "
                f"SHA-256 {digest[:12]}... differs from {str(self.lfs_sha256)[:12]}...); give "
                "the LF file the run used"
            )
        from labeling_functions import apply_lfs, load_lfs

        L = np.asarray(apply_lfs(load_lfs(lf_file), pairs), dtype=np.int8)
        return np.asarray(self.label_model.predict_proba(L), dtype=float)[:, 1]


def run_model(loop, lf_file: str | os.PathLike | None = None,
              options: dict | None = None) -> RunModel:
    """The `RunModel` of a fitted `ActiveLoop`: its `scorer`, label model and threshold."""
    if loop.matcher_proba is None:
        raise RuntimeError("run_model: the loop has no fitted matcher yet; call run first")
    return RunModel(
        matcher=loop.scorer, threshold=float(loop.threshold), attributes=tuple(loop.attributes),
        label_model=loop.label_model if loop.lfs else None,
        lfs_sha256=None if lf_file is None else file_sha256(lf_file),
        n_labels=len(loop.expert_labels()), options=dict(options or {}),
    )


def save_run_model(loop, path: str | os.PathLike, lf_file: str | os.PathLike | None = None,
                   options: dict | None = None, check: int = 500) -> RunModel:
    """Write the loop's `RunModel` to `path` (atomically) and return it.

    Before writing, up to `check` pool pairs (evenly spread) are scored again and compared with
    the loop's output scores: a model that would not reproduce the run (e.g. a matcher refitted
    after the scores were taken) is refused with a RuntimeError instead of being kept.
    """
    model = run_model(loop, lf_file, options)
    n = len(loop.pairs)
    rows = np.unique(np.linspace(0, n - 1, num=min(check, n)).astype(np.int64))
    again = model.match_proba(loop.pairs.iloc[rows])
    worst = float(np.max(np.abs(again - loop.matcher_proba[rows]))) if rows.size else 0.0
    if worst > 1e-9:
        raise RuntimeError(
            f"save_run_model: the scoring matcher no longer gives the run's scores (differences "
            f"up to {worst:.3g}); the model was not saved"
        )
    save_model(model, path, kind=KIND)
    return model


def load_run_model(path: str | os.PathLike) -> RunModel:
    """Read a model file written by `save_run_model`; files of another kind are refused."""
    return load_model(path, kind=KIND, where="load_run_model")

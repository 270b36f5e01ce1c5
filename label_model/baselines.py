"""Baselines for Active WeaSuL: Nashaat et al. (2019) style correction of the LF votes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from label_model.buckets import check_expert_labels, check_label_matrix
from label_model.penalized import MIN_LFS, PenalizedLabelModel


def nashaat_correct(L: np.ndarray, expert_labels: Mapping[int, int] | None) -> np.ndarray:
    """Copy of L where, on each expert-labelled row, every vote that fired becomes the expert label.

    Abstains stay abstains: the correction fixes wrong LF outputs, it does not make LFs fire.
    """
    L = check_label_matrix(L, "L")
    labels = check_expert_labels(expert_labels, L.shape[0])
    corrected = L.copy()
    if labels:
        rows = np.fromiter(labels.keys(), dtype=np.int64, count=len(labels))
        ys = np.fromiter(labels.values(), dtype=np.int8, count=len(labels))
        block = corrected[rows]
        corrected[rows] = np.where(block == -1, -1, ys[:, None])
    return corrected


class NashaatLabelModel(PenalizedLabelModel):
    """Nashaat et al. (2019): expert labels overwrite the labelled rows' LF votes; no penalty.

    `predict_proba(L)` scores L as given; pass `corrected_votes(L)` to score the training pool
    with its corrections applied.
    """

    _PARAMS = tuple(name for name in PenalizedLabelModel._PARAMS if name != "penalty")

    def __init__(
        self,
        cardinality: int = 2,
        seed: int | None = 0,
        warm_start: bool = True,
        cliques: list[tuple[int, ...]] | None = None,
        lf_direction: bool = True,
        n_epochs: int = 100,
        lr: float = 0.01,
        l2: float = 0.0,
        optimizer: str = "adam",
        train_options: dict[str, Any] | None = None,
        progress: bool = False,
    ) -> None:
        super().__init__(cardinality=cardinality, penalty=0.0, seed=seed, warm_start=warm_start,
                         cliques=cliques, lf_direction=lf_direction, n_epochs=n_epochs, lr=lr,
                         l2=l2, optimizer=optimizer, train_options=train_options,
                         progress=progress)

    def fit(  # type: ignore[override]
        self,
        L: np.ndarray,
        expert_labels: Mapping[int, int] | None = None,
        class_balance: list[float] | np.ndarray | None = None,
        **refused: Any,
    ) -> NashaatLabelModel:
        """Fit Snorkel's label model on the corrected votes; returns self (data only, as for
        PenalizedLabelModel.fit)."""
        self._refuse_fit_options(refused)
        L = check_label_matrix(L, "L", min_lfs=MIN_LFS)
        self.corrections_ = check_expert_labels(expert_labels, L.shape[0])
        corrected = nashaat_correct(L, self.corrections_)
        super().fit(corrected, None, class_balance)
        self.expert_labels_ = self.corrections_
        return self

    def corrected_votes(self, L: np.ndarray) -> np.ndarray:
        """The training pool's votes with the expert corrections of the last fit applied."""
        return nashaat_correct(L, self.corrections_)

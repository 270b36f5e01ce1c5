"""The end-to-end dedup write-up's two-stage refit: each round fits model k+1/2 on the soft and
expert labels, adds the pairs it is confident about as pseudo-labels, and fits model k+1 on
the extended set (the loop's own `pseudo_labels` option takes them from the previous round's
model instead)."""

from __future__ import annotations

import numpy as np

from active.loop import ActiveLoop


class TwoStageLoop(ActiveLoop):
    """`ActiveLoop` whose matcher is fitted twice per round: first (k+1/2) on the soft and
    expert labels, then (k+1) on those plus the pairs the first fit scores at least
    `pseudo_threshold` sure, where the label model agrees, at weight `pseudo_weight`.

    Takes every `ActiveLoop` argument; `pseudo_labels` is always on.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs["pseudo_labels"] = True
        super().__init__(*args, **kwargs)

    def _training_set(self, labels: dict[int, int], lm_proba: np.ndarray | None,
                      previous: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, targets and weights for model k+1: pseudo-labels from a fresh model k+1/2."""
        rows, y, w = super()._training_set(labels, lm_proba, None)
        if rows.size == 0 or (lm_proba is None and np.unique(y).size < 2):
            return rows, y, w
        half = self._fresh_matcher().fit(self.pairs.iloc[rows], y, sample_weight=w)
        proba = np.asarray(half.match_proba(self.pairs), dtype=float)
        return super()._training_set(labels, lm_proba, proba)

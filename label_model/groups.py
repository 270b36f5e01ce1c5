"""LF vote groups: each LF alone, or a clique of LFs known to be dependent (e.g. two thresholds
on the same feature) whose joint vote the label model treats as one categorical source."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

MAX_CLIQUE = 6  # 3**6 - 1 = 728 joint-vote columns


class VoteGroups:
    """Column layout of the label model's indicator matrix.

    A group of k LFs has one column per joint vote in {-1, 0, 1}^k except all-abstain; a lone
    LF therefore has Snorkel's two columns (vote 0, vote 1), so without cliques the layout is
    Snorkel's. Groups are ordered by their smallest LF.
    """

    def __init__(self, m: int, cliques: Sequence[Sequence[int]] | None = None) -> None:
        seen: set[int] = set()
        groups: list[tuple[int, ...]] = []
        for clique in cliques or []:
            members = tuple(int(j) for j in clique)
            if len(members) < 2 or len(members) > MAX_CLIQUE:
                raise ValueError(
                    f"clique {members} must name 2 to {MAX_CLIQUE} LF columns"
                )
            bad = [j for j in members if not 0 <= j < m]
            if bad:
                raise ValueError(f"clique {members} names LF column(s) {bad}; L has {m} LFs")
            if seen & set(members) or len(set(members)) != len(members):
                raise ValueError(f"cliques must be disjoint; LF(s) {sorted(seen & set(members))} "
                                 "appear twice: merge those cliques")
            seen |= set(members)
            groups.append(members)
        groups += [(j,) for j in range(m) if j not in seen]
        self.m = m
        self.groups = sorted(groups, key=min)
        sizes = [3 ** len(g) - 1 for g in self.groups]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.d = int(self.offsets[-1])
        self.trivial = all(len(g) == 1 for g in self.groups)
        # decoded joint votes of every column: votes[c, t] is member t's vote (-1/0/1)
        self.column_vote = np.full(self.d, -1, dtype=np.int64)
        self.lf_vote_map = np.zeros((m, 2, self.d), dtype=np.float64)
        for g, members in enumerate(self.groups):
            codes = np.arange(1, 3 ** len(members))
            votes = (codes[:, None] // 3 ** np.arange(len(members))) % 3 - 1
            cols = self.offsets[g] + codes - 1
            ones, zeros = (votes == 1).sum(1), (votes == 0).sum(1)
            self.column_vote[cols] = np.where(ones > zeros, 1, np.where(zeros > ones, 0, -1))
            for t, j in enumerate(members):
                for v in (0, 1):
                    self.lf_vote_map[j, v, cols[votes[:, t] == v]] = 1.0

    def indicators(self, L: np.ndarray) -> np.ndarray:
        """(n, d) 0/1 matrix: the column of each group's joint vote on each row (none if all
        the group's LFs abstain)."""
        n = L.shape[0]
        out = np.zeros((n, self.d), dtype=np.float32)
        rows = np.arange(n)
        for g, members in enumerate(self.groups):
            code = (L[:, list(members)].astype(np.int64) + 1) @ (3 ** np.arange(len(members)))
            fired = code > 0
            out[rows[fired], self.offsets[g] + code[fired] - 1] = 1.0
        return out

    def block_mask(self) -> np.ndarray:
        """(d, d) bool: False inside each group's block (its statistics are not low-rank)."""
        mask = np.ones((self.d, self.d), dtype=bool)
        for g in range(len(self.groups)):
            s, e = self.offsets[g], self.offsets[g + 1]
            mask[s:e, s:e] = False
        return mask

"""Quadtree blocking on coordinates: cut the map into cells of at most `max_block` records and
widen every cell by a margin, so that a record near a border also joins the neighbouring block."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from blocking._arrays import check_table, expand_ranges
from blocking.base import Blocker

MAX_LEVEL = 28  # leaf codes (ix << level | iy) << LEVEL_BITS | level stay within int64
LEVEL_BITS = 5
NEIGHBOURS = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]


def _coordinates(df: pd.DataFrame, lat: str, lon: str, where: str) -> tuple[np.ndarray, ...]:
    """The (lat, lon) columns as float arrays; a clear error for missing or impossible values."""
    missing = [c for c in (lat, lon) if c not in df.columns]
    if missing:
        raise ValueError(
            f"{where}: no coordinate column {', '.join(map(repr, missing))} among "
            f"{list(df.columns)}; pass lat= and lon= with the names of your latitude and "
            "longitude columns"
        )
    out = []
    for col, bound in ((lat, 90.0), (lon, 180.0)):
        try:
            values = pd.to_numeric(df[col], errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as err:
            raise ValueError(
                f"{where}: column {col!r} must hold numbers (degrees); {err}"
            ) from None
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad):
            raise ValueError(
                f"{where}: column {col!r} is missing or not finite in {len(bad)} record(s), at "
                f"row positions {bad[:5].tolist()}; geocode or drop those records before blocking"
            )
        outside = np.flatnonzero(np.abs(values) > bound)
        if len(outside):
            raise ValueError(
                f"{where}: column {col!r} has {len(outside)} value(s) outside [-{bound:g}, "
                f"{bound:g}] degrees, e.g. {values[outside[:3]].tolist()} at row positions "
                f"{outside[:3].tolist()}; are latitude and longitude swapped, or not in degrees?"
            )
        out.append(values)
    return out[0], out[1]


class QuadtreeBlocker(Blocker):
    """Candidates are the record pairs inside a quadtree cell, each pair once.

    The bounding square of all records is split into four until every cell holds at most
    `max_block` records (cells of identical coordinates that cannot be split stay larger; see
    `blocks_["oversized"]`). Each cell is then widened on every side by `overlap` times its
    side, and every record inside a widened cell joins that block too, so that two listings
    of one place on either side of a border still meet. `overlap=0` gives disjoint cells.
    Coordinates are degrees; cells are squares in degrees.

    After `block`, `blocks_` is a DataFrame with one row per block: level, its box in degrees
    (before widening), `size` (records in the cell) and `widened_size` (records in the block).
    """

    def __init__(
        self,
        lat: str = "lat",
        lon: str = "lon",
        max_block: int = 300,
        overlap: float = 0.1,
        id_column: str = "id",
    ):
        if not isinstance(max_block, int | np.integer) or max_block < 2:
            raise ValueError(
                f"QuadtreeBlocker: max_block must be an integer >= 2, got {max_block!r}"
            )
        if not isinstance(overlap, int | float | np.number) or not 0.0 <= overlap < 1.0:
            raise ValueError(
                "QuadtreeBlocker: overlap is a fraction of a cell's side, in [0, 1); "
                f"got {overlap!r}"
            )
        for name, value in (("lat", lat), ("lon", lon)):
            if not isinstance(value, str):
                raise TypeError(f"QuadtreeBlocker: {name} must be a column name, got {value!r}")
        self.lat = lat
        self.lon = lon
        self.max_block = max_block
        self.overlap = overlap
        self.id_column = id_column

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.lat, self.lon)

    def _check(self, A: pd.DataFrame, B: pd.DataFrame | None) -> None:
        tables = [("A", A)] if B is None else [("A", A), ("B", B)]
        for name, table in tables:
            where = f"QuadtreeBlocker: table {name}"
            if isinstance(table, pd.DataFrame):
                _coordinates(table, self.lat, self.lon, where)
            check_table(table, self.id_column, where, self.columns)

    def block_positions(self, A: pd.DataFrame, B: pd.DataFrame | None = None):
        """Return sorted unique candidate pairs as two arrays of row positions (left, right)."""
        self._check(A, B)
        return super().block_positions(A, B)

    def iter_positions(
        self, A: pd.DataFrame, B: pd.DataFrame | None = None, chunk_pairs: int = 20_000_000
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The candidates of `block(A, B)` as row-position arrays (left, right), a group of
        blocks at a time of about `chunk_pairs` pairs (more if one block alone is larger):
        memory stays bounded, and each pair comes once, from the first block holding both."""
        if not isinstance(chunk_pairs, int | np.integer) or chunk_pairs < 1:
            raise ValueError(
                f"QuadtreeBlocker: chunk_pairs must be a positive integer, got {chunk_pairs!r}"
            )
        self._check(A, B)
        record, block, n_left = self._assign(A, B)
        order = np.argsort(block, kind="stable")
        record, block = record[order], block[order]
        n_blocks = len(self.blocks_)
        start = np.searchsorted(block, np.arange(n_blocks + 1))
        if B is None:
            size = np.diff(start)
            work = size * (size - 1) // 2
        else:
            n_a = np.bincount(block[record < n_left], minlength=n_blocks)
            work = n_a * (np.diff(start) - n_a)
        group = np.cumsum(work) // chunk_pairs
        cuts = np.flatnonzero(np.diff(group)) + 1
        firsts = _first_common_blocks(record, block, len(A) + (0 if B is None else len(B)))
        for lo_block, hi_block in zip(
            np.concatenate([[0], cuts]), np.concatenate([cuts, [n_blocks]]), strict=True
        ):
            lo, hi = start[lo_block], start[hi_block]
            li, ri = firsts(*_block_pairs(record[lo:hi], block[lo:hi], n_left, B is None))
            yield li, (ri if B is None else ri - n_left)

    def covers(
        self, pairs: pd.DataFrame, A: pd.DataFrame, B: pd.DataFrame | None = None
    ) -> np.ndarray:
        """Per row of `pairs` (ltable_id, rtable_id), whether `block(A, B)` yields it: do its
        two records share a block? The pair completeness of the quadtree without listing its
        candidates (a record sits in a few blocks; checking a pair is a lookup)."""
        self._check(A, B)
        where = "QuadtreeBlocker.covers"
        if not isinstance(pairs, pd.DataFrame) or not {"ltable_id", "rtable_id"} <= set(
            pairs.columns
        ):
            raise ValueError(f"{where}: pairs must be a DataFrame with ltable_id and rtable_id")
        record, block, n_left = self._assign(A, B)
        li = pd.Index(A[self.id_column]).get_indexer(pairs["ltable_id"])
        right = A if B is None else B
        ri = pd.Index(right[self.id_column]).get_indexer(pairs["rtable_id"])
        unknown = np.flatnonzero((li < 0) | (ri < 0))
        if len(unknown):
            raise ValueError(
                f"{where}: {len(unknown)} pair(s) name ids that are not in the tables, e.g. row "
                f"{unknown[0]} ({pairs['ltable_id'].iloc[unknown[0]]!r}, "
                f"{pairs['rtable_id'].iloc[unknown[0]]!r})"
            )
        if B is not None:
            ri = ri + n_left
        _, table = _block_table(record, block, len(A) + (0 if B is None else len(B)))
        left, right_blocks = table[li], table[ri]
        found = np.zeros(len(li), bool)
        for w in range(table.shape[1]):
            found |= (left[:, w : w + 1] == right_blocks).any(axis=1) & (left[:, w] >= 0)
        return found

    def _assign(self, A, B) -> tuple[np.ndarray, np.ndarray, int]:
        """(record, block) memberships over A's rows then B's, and A's length."""
        y, x = _coordinates(A, self.lat, self.lon, "QuadtreeBlocker: table A")
        if B is not None:
            yb, xb = _coordinates(B, self.lat, self.lon, "QuadtreeBlocker: table B")
            x, y = np.concatenate([x, xb]), np.concatenate([y, yb])
        leaves, leaf_of = self._split(x, y)
        record, block = self._memberships(x, y, leaves, leaf_of)
        self.blocks_ = self._statistics(leaves, block)
        return record, block, len(A)

    def _positions(self, A, B):
        parts = list(self.iter_positions(A, B, chunk_pairs=np.iinfo(np.int64).max))
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _grid(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
        """The origin and side of the root square (slightly larger than the data's extent)."""
        x0, y0 = float(x.min()), float(y.min())
        side = max(float(x.max()) - x0, float(y.max()) - y0, 1e-9) * (1 + 1e-9)
        self._origin = (x0, y0, side)
        return x0, y0, side

    def _split(self, x: np.ndarray, y: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
        """Each record's leaf (index into the returned leaves table: level, ix, iy, size).

        Split level by level (a loop over levels, not records) until cells hold at most
        `max_block` records (records sharing one point stop at MAX_LEVEL), then split leaves
        until neighbouring leaves differ by at most one level, so that a widened cell never
        reaches deep into a much denser neighbour."""
        x0, y0, side = self._grid(x, y)
        level = np.full(len(x), -1, dtype=np.int64)
        active = np.arange(len(x))
        for depth in range(MAX_LEVEL + 1):
            keys = _cell(x[active], x0, side, depth) << depth | _cell(y[active], y0, side, depth)
            _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
            done = counts[inverse] <= self.max_block if depth < MAX_LEVEL else inverse >= 0
            level[active[done]] = depth
            active = active[level[active] < 0]
            if len(active) == 0:
                break
        for _ in range(MAX_LEVEL):
            codes = _leaf_codes(x, y, level, self._origin)
            leaf_codes, first = np.unique(codes, return_index=True)
            split = _unbalanced(leaf_codes, level[first])
            if not split.any():
                break
            level[np.isin(codes, leaf_codes[split])] += 1
        codes = _leaf_codes(x, y, level, self._origin)
        leaf_codes, first, leaf_of, size = np.unique(
            codes, return_index=True, return_inverse=True, return_counts=True
        )
        lv = level[first]
        keys = leaf_codes >> LEVEL_BITS
        leaves = pd.DataFrame(
            {"level": lv, "ix": keys >> lv, "iy": keys & ((1 << lv) - 1), "size": size}
        )
        return leaves, leaf_of.astype(np.int64)

    def _memberships(self, x, y, leaves: pd.DataFrame, leaf_of: np.ndarray):
        """(record, block) pairs: every record in its own leaf, plus every leaf whose widened
        box holds it. A widened box reaches only into the 8 same-level neighbours of its cell,
        so per level each record probes the neighbours it lies within `overlap` of."""
        records, blocks = [np.arange(len(x))], [leaf_of]
        if self.overlap == 0:
            return records[0], blocks[0]
        x0, y0, side = self._origin
        level_of = leaves["level"].to_numpy()
        leaf_keys = (leaves["ix"].to_numpy() << level_of) | leaves["iy"].to_numpy()
        for level in np.unique(level_of):
            at = np.flatnonzero(level_of == level)
            at = at[np.argsort(leaf_keys[at])]
            keys = leaf_keys[at]
            ix, iy = _cell(x, x0, side, level), _cell(y, y0, side, level)
            fx = (x - x0) / side * (1 << int(level)) - ix
            fy = (y - y0) / side * (1 << int(level)) - iy
            near_x = {-1: fx < self.overlap, 0: True, 1: fx > 1 - self.overlap}
            near_y = {-1: fy < self.overlap, 0: True, 1: fy > 1 - self.overlap}
            for dx, dy in NEIGHBOURS:
                who = np.flatnonzero(near_x[dx] & near_y[dy])
                nx, ny = ix[who] + dx, iy[who] + dy
                inside = (nx >= 0) & (nx < 1 << int(level)) & (ny >= 0) & (ny < 1 << int(level))
                who, probe = who[inside], (nx[inside] << level) | ny[inside]
                pos = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
                hit = keys[pos] == probe
                records.append(who[hit])
                blocks.append(at[pos[hit]])
        return np.concatenate(records), np.concatenate(blocks)

    def _statistics(self, leaves: pd.DataFrame, block: np.ndarray) -> pd.DataFrame:
        x0, y0, side = self._origin
        cell = side / (1 << leaves["level"].to_numpy())
        lon_min = x0 + leaves["ix"].to_numpy() * cell
        lat_min = y0 + leaves["iy"].to_numpy() * cell
        size = leaves["size"].to_numpy()
        return pd.DataFrame(
            {
                "level": leaves["level"].to_numpy(),
                "lat_min": lat_min,
                "lat_max": lat_min + cell,
                "lon_min": lon_min,
                "lon_max": lon_min + cell,
                "size": size,
                "widened_size": np.bincount(block, minlength=len(leaves)),
                "oversized": size > self.max_block,
            }
        )


def _leaf_codes(x, y, level: np.ndarray, origin: tuple[float, float, float]) -> np.ndarray:
    """One int64 per record naming its leaf: the cell key at the record's level, and the level."""
    x0, y0, side = origin
    cells = np.left_shift(1, level)
    ix = np.minimum(((x - x0) / side * cells).astype(np.int64), cells - 1)
    iy = np.minimum(((y - y0) / side * cells).astype(np.int64), cells - 1)
    return ((ix << level | iy) << LEVEL_BITS) | level


def _unbalanced(leaf_codes: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Per leaf (sorted codes): must it split because a neighbour leaf is 2+ levels deeper?

    For every leaf at level m >= 2, the 8 neighbours of its parent cell (level m - 1) must not
    lie inside a leaf coarser than m - 1; a loop over directions and coarser levels only."""
    split = np.zeros(len(leaf_codes), bool)
    keys = leaf_codes >> LEVEL_BITS
    deep = level >= 2
    px, py = (keys[deep] >> level[deep]) >> 1, (keys[deep] & ((1 << level[deep]) - 1)) >> 1
    parent_level = level[deep] - 1
    for dx, dy in NEIGHBOURS:
        nx, ny = px + dx, py + dy
        inside = (nx >= 0) & (ny >= 0) & (nx < 1 << parent_level) & (ny < 1 << parent_level)
        for coarse in range(int(parent_level.max(initial=0))):
            ok = inside & (parent_level > coarse)
            shift = parent_level[ok] - coarse
            probe = (((nx[ok] >> shift) << coarse | (ny[ok] >> shift)) << LEVEL_BITS) | coarse
            pos = np.minimum(np.searchsorted(leaf_codes, probe), len(leaf_codes) - 1)
            hit = leaf_codes[pos] == probe
            split[pos[hit]] = True
    return split


def _cell(values: np.ndarray, origin: float, side: float, level: int) -> np.ndarray:
    """The cell index of each value along one axis at `level` (2**level cells per axis)."""
    cells = 1 << int(level)
    return np.minimum(((values - origin) / side * cells).astype(np.int64), cells - 1)


def _block_pairs(record: np.ndarray, block: np.ndarray, n_left: int, dedup: bool):
    """Record pairs sharing a block, with that block: within one table (`dedup`, smaller
    position first) or (A row, B row) across two. Input sorted by block."""
    idx = np.arange(len(record))
    if dedup:
        hi = np.searchsorted(block, block, side="right")
        p, q = expand_ranges(idx, idx + 1, hi, idx)
        li, ri = record[p], record[q]
        return np.minimum(li, ri), np.maximum(li, ri), block[p]
    is_a = record < n_left
    a, b = idx[is_a], idx[~is_a]
    lo = np.searchsorted(block[b], block[a], side="left")
    hi = np.searchsorted(block[b], block[a], side="right")
    p, q = expand_ranges(a, lo, hi, b)
    return record[p], record[q], block[p]


def _block_table(record: np.ndarray, block: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(blocks per record, an (n, most blocks of a record) table of each record's blocks in
    increasing order, -1 padded)."""
    count = np.bincount(record, minlength=n)
    width = int(count.max(initial=1))
    table = np.full((n, width), -1, dtype=np.int64)
    order = np.lexsort((block, record))
    rec, blk = record[order], block[order]
    slot = np.arange(len(rec)) - np.searchsorted(rec, rec, side="left")
    table[rec, slot] = blk
    return count, table


def _first_common_blocks(record: np.ndarray, block: np.ndarray, n: int):
    """A filter keeping a pair found in block b only if b is the first block of both records.

    A record in one block only pairs there alone; for pairs of records in several blocks,
    compare their (few, sorted) block lists."""
    count, table = _block_table(record, block, n)
    width = table.shape[1]

    def keep(li: np.ndarray, ri: np.ndarray, blocks: np.ndarray):
        shared = np.flatnonzero((count[li] > 1) & (count[ri] > 1))
        left, right = table[li[shared]], table[ri[shared]]
        first = np.full(len(shared), -1, dtype=np.int64)
        for w in range(width - 1, -1, -1):  # a loop over slots: the smallest common block wins
            common = (left[:, w : w + 1] == right).any(axis=1) & (left[:, w] >= 0)
            first = np.where(common, left[:, w], first)
        ok = np.ones(len(li), bool)
        ok[shared] = first == blocks[shared]
        return li[ok], ri[ok]

    return keep

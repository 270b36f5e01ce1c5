"""QuadtreeBlocker: cell sizes, overlap, each pair once, linkage and bad input."""

import numpy as np
import pandas as pd
import pytest

from blocking import QuadtreeBlocker, blocking_quality, make_restaurants


def points(n, seed=0):
    """A dense cluster and a sparse scatter, so that cell sizes vary a lot."""
    rng = np.random.default_rng(seed)
    dense = rng.normal([40.0, -74.0], 0.02, size=(n // 2, 2))
    sparse = np.column_stack([rng.uniform(35, 45, n - n // 2), rng.uniform(-80, -70, n - n // 2)])
    xy = np.vstack([dense, sparse])
    return pd.DataFrame({"id": np.arange(n) + 100, "lat": xy[:, 0], "lon": xy[:, 1]})


def brute_force(table, blocker, other=None):
    """The reference: pairs of records inside one widened leaf box, from blocks_."""
    right = table if other is None else other
    pairs = set()
    for box in blocker.blocks_.itertuples():
        margin = blocker.overlap * (box.lat_max - box.lat_min)

        def inside(t, box=box, margin=margin):
            return t["id"].to_numpy()[
                (t.lat >= box.lat_min - margin) & (t.lat < box.lat_max + margin)
                & (t.lon >= box.lon_min - margin) & (t.lon < box.lon_max + margin)
            ]

        left_ids, right_ids = inside(table), inside(right)
        for a in left_ids:
            for b in right_ids:
                if other is not None:
                    pairs.add((a, b))
                elif a != b:
                    pairs.add((min(a, b), max(a, b)))
    return pairs


def test_cells_hold_at_most_max_block_before_widening():
    blocker = QuadtreeBlocker(max_block=25, overlap=0.1)
    blocker.block(points(2000))
    blocks = blocker.blocks_
    assert blocks["size"].max() <= 25
    assert blocks["size"].sum() == 2000  # every record in exactly one cell
    assert (blocks["widened_size"] >= blocks["size"]).all()
    assert (blocks["widened_size"] > blocks["size"]).any()
    assert blocks["size"].min() < 5 and len(blocks) > 2000 // 25  # sizes vary


def test_identical_points_form_one_oversized_block():
    table = pd.DataFrame({"id": range(12), "lat": [10.0] * 8 + list(range(4)), "lon": 20.0})
    blocker = QuadtreeBlocker(max_block=3, overlap=0.0)
    cands = blocker.block(table)
    assert blocker.blocks_["oversized"].sum() == 1
    assert len(cands) >= 8 * 7 // 2


@pytest.mark.parametrize("overlap", [0.0, 0.2])
def test_candidates_equal_pairs_in_widened_boxes_each_once(overlap):
    table = points(600, seed=1)
    blocker = QuadtreeBlocker(max_block=20, overlap=overlap)
    cands = blocker.block(table)
    got = list(zip(cands.ltable_id, cands.rtable_id, strict=True))
    assert len(got) == len(set(got))
    assert set(got) == brute_force(table, blocker)
    chunks = list(blocker.iter_positions(table, chunk_pairs=500))
    assert len(chunks) > 1
    li = np.concatenate([c[0] for c in chunks])
    ri = np.concatenate([c[1] for c in chunks])
    assert len(li) == len(cands)  # every pair once across chunks, without a final sort
    ids = table["id"].to_numpy()
    assert set(zip(ids[li], ids[ri], strict=True)) == set(got)


def test_overlap_finds_more_true_pairs():
    records, matches = make_restaurants(6000, seed=3)
    disjoint = blocking_quality(QuadtreeBlocker(max_block=50, overlap=0.0).block(records), matches,
                                len(records))
    widened = blocking_quality(QuadtreeBlocker(max_block=50, overlap=0.1).block(records), matches,
                               len(records))
    assert widened["pair_completeness"] > disjoint["pair_completeness"]
    assert widened["pair_completeness"] >= 0.99


def test_linkage_pairs_across_tables():
    A, B = points(300, seed=2), points(200, seed=3)
    B["id"] = B["id"] + 10_000
    blocker = QuadtreeBlocker(max_block=15, overlap=0.1)
    cands = blocker.block(A, B)
    assert cands.ltable_id.isin(A.id).all() and cands.rtable_id.isin(B.id).all()
    got = set(zip(cands.ltable_id, cands.rtable_id, strict=True))
    assert len(got) == len(cands)
    assert got == brute_force(A, blocker, B)


def test_covers_says_which_pairs_the_blocks_yield():
    rng = np.random.default_rng(4)
    for A, B in ((points(400, seed=5), None), (points(300, seed=2), points(200, seed=3))):
        right = A if B is None else B.assign(id=B["id"] + 10_000)
        blocker = QuadtreeBlocker(max_block=20, overlap=0.1)
        cands = blocker.block(A, None if B is None else right)
        some = pd.DataFrame({"ltable_id": rng.choice(A["id"], 3000),
                             "rtable_id": rng.choice(right["id"], 3000)})
        if B is None:
            some = some[some.ltable_id != some.rtable_id]
        asked = pd.concat([some, cands.sample(500, random_state=0)], ignore_index=True)
        found = blocker.covers(asked, A, None if B is None else right)
        key = set(zip(cands.ltable_id, cands.rtable_id, strict=True))
        expected = [(a, b) in key or (B is None and (b, a) in key)
                    for a, b in zip(asked.ltable_id, asked.rtable_id, strict=True)]
        assert found.tolist() == expected and 0 < found.mean() < 1
    with pytest.raises(ValueError, match="not in the tables"):
        blocker.covers(pd.DataFrame({"ltable_id": [-5], "rtable_id": [100]}), A, right)


def test_bad_input_is_explained():
    table = points(50)
    with pytest.raises(ValueError, match="no coordinate column 'latitude'.*lat="):
        QuadtreeBlocker(lat="latitude").block(table)
    nan = table.copy()
    nan.loc[3, "lon"] = np.nan
    with pytest.raises(ValueError, match="'lon' is missing or not finite.*positions \\[3\\]"):
        QuadtreeBlocker().block(nan)
    far = table.copy()
    far.loc[5, "lat"] = 123.0
    with pytest.raises(ValueError, match="outside \\[-90, 90\\].*swapped"):
        QuadtreeBlocker().block(far)
    text = table.assign(lat="north")
    with pytest.raises(ValueError, match="'lat' must hold numbers"):
        QuadtreeBlocker().block(text)
    with pytest.raises(ValueError, match="max_block"):
        QuadtreeBlocker(max_block=1)
    with pytest.raises(ValueError, match="overlap"):
        QuadtreeBlocker(overlap=1.5)

"""make_restaurants: schema, size, truth, noise and repeatability."""

import numpy as np
import pytest

from blocking import make_restaurants
from blocking.restaurants import RESTAURANT_COLUMNS


def test_schema_truth_and_noise():
    records, matches = make_restaurants(4000, seed=1)
    assert list(records.columns) == RESTAURANT_COLUMNS
    assert len(records) == 4000 and records["id"].is_unique
    ids = set(records["id"])
    assert set(matches.ltable_id) <= ids and set(matches.rtable_id) <= ids
    by_id = records.set_index("id")
    left, right = by_id.loc[matches.ltable_id], by_id.loc[matches.rtable_id]
    # duplicates: nearby (tens to hundreds of metres), on different marketplaces
    metres = np.hypot(
        (left.lat.to_numpy() - right.lat.to_numpy()) * 111_320,
        (left.lon.to_numpy() - right.lon.to_numpy()) * 111_320 * np.cos(np.radians(left.lat)),
    )
    assert np.median(metres) > 10 and metres.max() < 1300
    assert (left.marketplace.to_numpy() != right.marketplace.to_numpy()).all()
    # noisy: names often differ, phones are sometimes missing; no shared key
    assert (left.name.to_numpy() != right.name.to_numpy()).mean() > 0.4
    assert 0.2 < records.phone.isna().mean() < 0.4
    sizes = records.groupby(records.city.str.lower()).size()
    assert sizes.max() > 5 * sizes.median()  # dense cities, sparse countryside


def test_repeatable_and_checked():
    a, ma = make_restaurants(500, seed=4)
    b, mb = make_restaurants(500, seed=4)
    assert a.equals(b) and ma.equals(mb)
    assert not a.equals(make_restaurants(500, seed=5)[0])
    with pytest.raises(ValueError, match="n_records"):
        make_restaurants(1)
    with pytest.raises(ValueError, match="countryside"):
        make_restaurants(100, countryside=2.0)

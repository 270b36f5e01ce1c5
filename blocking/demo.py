"""Small ready-made demo data: person records, their true matches and a blocked candidate pool."""

from __future__ import annotations

from dataclasses import dataclass

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


def large_person_blocker(window: int = 3) -> UnionBlocker:
    """A linear-time blocker for FEBRL-style person records at 100k-1M rows: equal
    social-security ids and their sorted neighbourhood (`window`, for typos), plus equality
    on combinations of fields that are rarely all corrupted at once (birth date with a name or
    the postcode, full name with postcode, street with number and surname or suburb, suburb
    with postcode and number). Each combination is rare, so blocks stay small."""

    def eq(*columns: str) -> AttributeEquivalenceBlocker:
        return AttributeEquivalenceBlocker(list(columns))

    return UnionBlocker(
        [
            eq("soc_sec_id"),
            SortedNeighbourhoodBlocker("soc_sec_id", window=window),
            eq("date_of_birth", "surname"),
            eq("date_of_birth", "given_name"),
            eq("date_of_birth", "postcode"),
            eq("surname", "given_name", "postcode"),
            eq("address_1", "street_number", "surname"),
            eq("suburb", "postcode", "street_number"),
            eq("address_1", "suburb"),
        ]
    )


def demo_dataset(name: str = "synthetic", seed: int = 0, n_entities: int = 1000) -> DemoDataset:
    """Block a demo set ("synthetic": `make_dirty_records(n_entities, seed=seed)`; "febrl":
    FEBRL1, needs the `febrl` extra) and return it with labelled candidate pairs and quality."""
    if name == "synthetic":
        records, matches = make_dirty_records(n_entities=n_entities, seed=seed)
    elif name == "febrl":
        records, matches = load_febrl("febrl1")
    else:
        raise ValueError(f"demo_dataset: name must be 'synthetic' or 'febrl', got {name!r}")
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

"""Reading record tables and labelled pairs, candidate-pair generation (blocking) for two tables
or for de-duplicating one, blocking quality, and demo data (synthetic and FEBRL)."""

from blocking._arrays import shared_codes, value_codes
from blocking.base import Blocker
from blocking.demo import DemoDataset, default_person_blocker, demo_dataset, large_person_blocker
from blocking.equivalence import AttributeEquivalenceBlocker, prefix
from blocking.febrl import load_febrl, load_febrl_linkage
from blocking.io import known_matches, load_exp_data, load_exp_tables, load_pairs, read_table
from blocking.pairs import attribute_names, join_pairs
from blocking.quadtree import QuadtreeBlocker
from blocking.quality import BlockingQuality, blocking_quality
from blocking.restaurants import make_restaurants
from blocking.similarity import EmbeddingKNNBlocker, TfidfKNNBlocker, TokenOverlapBlocker
from blocking.sorted_neighbourhood import SortedNeighbourhoodBlocker
from blocking.synthetic import FEBRL_COLUMNS, make_dirty_records
from blocking.union import UnionBlocker

__all__ = [
    "AttributeEquivalenceBlocker",
    "Blocker",
    "BlockingQuality",
    "DemoDataset",
    "EmbeddingKNNBlocker",
    "FEBRL_COLUMNS",
    "QuadtreeBlocker",
    "SortedNeighbourhoodBlocker",
    "TfidfKNNBlocker",
    "TokenOverlapBlocker",
    "UnionBlocker",
    "attribute_names",
    "blocking_quality",
    "default_person_blocker",
    "demo_dataset",
    "join_pairs",
    "known_matches",
    "large_person_blocker",
    "load_exp_data",
    "load_exp_tables",
    "load_febrl",
    "load_febrl_linkage",
    "load_pairs",
    "make_dirty_records",
    "make_restaurants",
    "prefix",
    "read_table",
    "shared_codes",
    "value_codes",
]

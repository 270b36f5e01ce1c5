"""Expert LFs for DBLP-ACM (bibliographic records: title, authors, venue, year).

Written from domain knowledge only: the same paper keeps its title and year across the two
digital libraries, and both index the same five venues under different spellings.
"""

import numpy as np
import pandas as pd

from labeling_functions import (
    ABSTAIN,
    MATCH,
    NON_MATCH,
    labeling_function,
    pair_similarity,
    rule,
    similarity_at_least,
    similarity_below,
    values_equal,
    years_differ,
)

# Canonical venue for each spelling used by DBLP or ACM.
VENUES = {
    "sigmod": ("sigmod conference", "management of data"),
    "sigmod_record": ("sigmod record",),
    "vldb_journal": ("vldb j", "vldb journal"),
    "vldb": ("vldb", "very large data bases"),
    "tods": ("tods", "database syst", "transactions on database systems"),
}


def canonical_venue(venue: pd.Series) -> pd.Series:
    """First matching canonical venue (the order above resolves 'vldb j' before 'vldb')."""
    text = venue.fillna("").str.lower().str.replace(r"[^a-z ]", " ", regex=True)
    text = text.str.replace(r"\s+", " ", regex=True)
    out = pd.Series(np.nan, index=venue.index, dtype=object)
    for name, spellings in VENUES.items():
        hit = out.isna() & text.str.contains("|".join(spellings), regex=True)
        out[hit] = name
    return out


@labeling_function(polarity=NON_MATCH, vectorized=True)
def venues_differ(df):
    """Different venues (after mapping spellings) mean different papers."""
    left, right = canonical_venue(df.left_venue), canonical_venue(df.right_venue)
    differ = left.notna() & right.notna() & (left != right)
    return np.where(differ, NON_MATCH, ABSTAIN)


@labeling_function(polarity=NON_MATCH)
def no_shared_author_surname(x):
    """Author lists with no surname in common (row-wise: splits on commas)."""
    if not isinstance(x.left_authors, str) or not isinstance(x.right_authors, str):
        return ABSTAIN
    surnames = [
        {a.split()[-1] for a in s.split(",") if a.split()}
        for s in (x.left_authors, x.right_authors)
    ]
    if not surnames[0] or not surnames[1]:
        return ABSTAIN
    return NON_MATCH if not surnames[0] & surnames[1] else ABSTAIN


lfs = [
    values_equal("title", name="same_title"),
    similarity_at_least("title", 0.8, metric="jaccard", name="title_jaccard_high"),
    similarity_below("title", 0.3, metric="jaccard", name="title_jaccard_low"),
    years_differ("year", name="year_differs"),
    venues_differ,
    no_shared_author_surname,
    rule(
        "title_and_authors_similar",
        MATCH,
        lambda df: (pair_similarity(df, "title", "jaccard") >= 0.6)
        & (pair_similarity(df, "authors", "overlap") >= 0.5),
    ),
]

"""Expert LFs for FEBRL person records (given_name, surname, street_number, address_1,
address_2, suburb, postcode, state, date_of_birth, soc_sec_id).

FEBRL duplicates carry typos, swapped or missing fields: a few characters may change in any
field, but not the whole identity. Also fits the project's synthetic generator (same columns).
"""

from labeling_functions import (
    MATCH,
    NON_MATCH,
    pair_similarity,
    rule,
    similarity_at_least,
    similarity_below,
    similarity_vote,
    values_equal,
)

lfs = [
    values_equal("soc_sec_id", name="same_soc_sec_id"),
    similarity_below("soc_sec_id", 0.6, metric="levenshtein", name="soc_sec_id_differs"),
    similarity_below("date_of_birth", 0.6, metric="levenshtein", name="date_of_birth_differs"),
    similarity_below("surname", 0.6, metric="jaro_winkler", name="surname_differs"),
    similarity_below("given_name", 0.5, metric="jaro_winkler", name="given_name_differs"),
    rule(
        "same_name_and_birth_date",
        MATCH,
        lambda df: (pair_similarity(df, "surname", "jaro_winkler") >= 0.9)
        & (pair_similarity(df, "given_name", "jaro_winkler") >= 0.9)
        & (pair_similarity(df, "date_of_birth", "levenshtein") >= 0.75),
    ),
    similarity_at_least("address_1", 0.9, metric="levenshtein", name="same_address"),
    similarity_vote("suburb", 0.85, 0.5, metric="jaro_winkler", name="suburb_vote"),
    rule(
        "postcode_and_street_number_differ",
        NON_MATCH,
        lambda df: (pair_similarity(df, "postcode", "exact") == 0)
        & (pair_similarity(df, "street_number", "exact") == 0),
    ),
]

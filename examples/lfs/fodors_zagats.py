"""Expert LFs for Fodors-Zagats (restaurants: name, addr, city, phone, type).

A restaurant's phone number and street number identify it; guides spell names and cuisine
types differently, so type is not used.
"""

import numpy as np

from labeling_functions import (
    ABSTAIN,
    MATCH,
    NON_MATCH,
    labeling_function,
    numbers_differ,
    pair_similarity,
    rule,
    similarity_at_least,
    similarity_below,
)


def phone_digits(phone):
    return phone.fillna("").str.replace(r"\D", "", regex=True)


@labeling_function(vectorized=True)
def phone_vote(df):
    """Two-sided: the same 10-digit phone number -> MATCH, a different one -> NON_MATCH."""
    left, right = phone_digits(df.left_phone), phone_digits(df.right_phone)
    valid = (left.str.len() == 10) & (right.str.len() == 10)
    return np.select([valid & (left == right), valid & (left != right)], [MATCH, NON_MATCH],
                     ABSTAIN)


lfs = [
    phone_vote,
    similarity_at_least("name", 0.9, metric="jaro_winkler", name="name_jaro_winkler_high"),
    similarity_below("name", 0.5, metric="jaro_winkler", name="name_jaro_winkler_low"),
    numbers_differ("addr", name="street_number_differs"),
    similarity_below("city", 0.3, metric="jaccard", name="city_differs"),
    rule(
        "same_street_similar_name",
        MATCH,
        lambda df: (pair_similarity(df, "addr", "jaccard") >= 0.6)
        & (pair_similarity(df, "name", "jaccard") >= 0.5),
    ),
]

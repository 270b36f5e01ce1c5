"""Expert LFs for Abt-Buy (consumer electronics: name, description, price).

Product names carry the manufacturer's model number; the same product from two shops shares
it, and its price rarely differs by more than half.
"""

import re

import numpy as np

from labeling_functions import (
    ABSTAIN,
    MATCH,
    NON_MATCH,
    labeling_function,
    model_numbers_conflict,
    model_numbers_shared,
    numbers_differ,
    pair_similarity,
    rule,
    similarity_at_least,
    similarity_below,
)


@labeling_function(polarity=NON_MATCH, vectorized=True)
def brands_differ(df):
    """The first word of a product name is its brand; different brands, different products."""
    left = df.left_name.fillna("").str.split().str[0]
    right = df.right_name.fillna("").str.split().str[0]
    differ = left.notna() & right.notna() & (left.str.lower() != right.str.lower())
    return np.where(differ, NON_MATCH, ABSTAIN)


MODEL = re.compile(r"\b(?=[a-z-]*\d)(?=[\d-]*[a-z])[a-z\d-]{4,}\b")


@labeling_function(polarity=MATCH)
def model_number_in_other_description(x):
    """Row-wise: a model number of the Abt name that Buy's name or description mentions."""
    if not isinstance(x.left_name, str):
        return ABSTAIN
    other = f"{x.right_name} {x.right_description}".lower().replace("-", "")
    codes = {m.replace("-", "") for m in MODEL.findall(x.left_name.lower())}
    return MATCH if any(code in other for code in codes) else ABSTAIN


lfs = [
    model_numbers_shared("name", name="name_model_numbers_shared"),
    model_numbers_conflict("name", name="name_model_numbers_conflict"),
    model_number_in_other_description,
    similarity_at_least("name", 0.7, metric="tfidf_cosine", name="name_tfidf_high"),
    similarity_below("name", 0.1, metric="jaccard", name="name_jaccard_low"),
    numbers_differ("price", tolerance=0.5, name="price_differs_by_half"),
    brands_differ,
    rule(
        "names_similar_prices_close",
        MATCH,
        lambda df: (pair_similarity(df, "name", "jaccard") >= 0.4)
        & (pair_similarity(df, "price", "reldiff") <= 0.1),
    ),
]

"""Expert LFs for restaurant listings from several marketplaces (name, address, city, phone,
cuisine, lat, lon, marketplace; blocking.make_restaurants).

Listings of one restaurant lie within a few hundred metres of each other and carry similar
names; chains share a name across town, so a name is only evidence next to a place. A phone
number identifies a restaurant, but numbers change; marketplaces list a restaurant once, so
two listings on one marketplace are two restaurants. Cuisines are named loosely ("sushi" /
"japanese"), so only cuisines from different families count against a match.
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
    similarity_below,
)

EARTH_RADIUS_M = 6_371_000.0

CUISINE_FAMILIES = {
    "italian": "italian", "pizza": "italian", "mexican": "mexican", "tex-mex": "mexican",
    "chinese": "asian", "asian": "asian", "thai": "asian", "korean": "asian",
    "vietnamese": "asian", "japanese": "japanese", "sushi": "japanese", "indian": "indian",
    "curry": "indian", "american": "american", "burgers": "american", "bbq": "american",
    "barbecue": "american", "steakhouse": "american", "steak": "american", "french": "european",
    "european": "european", "spanish": "european", "tapas": "european", "greek": "greek",
    "mediterranean": "greek", "middle eastern": "greek", "halal": "greek", "seafood": "seafood",
    "fish": "seafood", "cafe": "cafe", "coffee": "cafe", "bakery": "cafe", "desserts": "cafe",
    "deli": "deli", "sandwiches": "deli", "vegan": "vegetarian", "vegetarian": "vegetarian",
}  # fmt: skip


def metres_apart(df):
    """Great-circle distance between the two listings in metres (NaN where a side is missing)."""
    lat1, lat2 = np.radians(df.left_lat.to_numpy(float)), np.radians(df.right_lat.to_numpy(float))
    dlat = lat2 - lat1
    dlon = np.radians(df.right_lon.to_numpy(float) - df.left_lon.to_numpy(float))
    h = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def phone_digits(phone):
    digits = phone.fillna("").astype(str).str.replace(r"\D", "", regex=True)
    return digits.str[-10:]


@labeling_function(vectorized=True)
def phone_vote(df):
    """Two-sided: the same 10-digit number -> MATCH, a different one -> NON_MATCH."""
    left, right = phone_digits(df.left_phone), phone_digits(df.right_phone)
    valid = (left.str.len() == 10) & (right.str.len() == 10)
    return np.select(
        [valid & (left == right), valid & (left != right)], [MATCH, NON_MATCH], ABSTAIN
    )


@labeling_function(vectorized=True, polarity=NON_MATCH)
def same_marketplace(df):
    """A marketplace lists a restaurant once: two listings there are two restaurants."""
    same = df.left_marketplace.to_numpy() == df.right_marketplace.to_numpy()
    return np.where(same, NON_MATCH, ABSTAIN)


@labeling_function(vectorized=True, polarity=NON_MATCH)
def cuisine_families_differ(df):
    """Both cuisines known and from different families (not merely 'sushi' vs 'japanese')."""
    left = df.left_cuisine.str.lower().map(CUISINE_FAMILIES)
    right = df.right_cuisine.str.lower().map(CUISINE_FAMILIES)
    differ = left.notna() & right.notna() & (left != right)
    return np.where(differ.to_numpy(), NON_MATCH, ABSTAIN)


lfs = [
    phone_vote,
    same_marketplace,
    cuisine_families_differ,
    rule("far_apart", NON_MATCH, lambda df: metres_apart(df) > 800),
    rule(
        "close_and_same_name",
        MATCH,
        lambda df: (metres_apart(df) < 250)
        & (pair_similarity(df, "name", "jaro_winkler") >= 0.88),
    ),
    rule(
        "close_and_same_street_number",
        MATCH,
        lambda df: (metres_apart(df) < 400)
        & (pair_similarity(df, "address", "jaccard") >= 0.5)
        & (pair_similarity(df, "name", "jaccard") >= 0.3),
    ),
    similarity_below("name", 0.6, metric="jaro_winkler", name="names_differ"),
    numbers_differ("address", name="street_numbers_differ"),
]

"""Expert LFs for Beer (BeerAdvocate vs RateBeer: Beer_Name, Brew_Factory_Name, Style, ABV).

One beer keeps its brewery and its alcohol by volume; the sites name styles differently, so
style is not used.
"""

from labeling_functions import (
    MATCH,
    NON_MATCH,
    numbers_differ,
    pair_similarity,
    rule,
    similarity_at_least,
    similarity_below,
)

lfs = [
    similarity_at_least("Beer_Name", 0.8, metric="jaccard", name="name_jaccard_high"),
    similarity_below("Beer_Name", 0.25, metric="jaccard", name="name_jaccard_low"),
    similarity_below("Brew_Factory_Name", 0.3, metric="tfidf_cosine", name="brewery_differs"),
    numbers_differ("ABV", tolerance=0.05, name="abv_differs"),
    rule(
        "same_abv_similar_name",
        MATCH,
        lambda df: (pair_similarity(df, "ABV", "reldiff") == 0)
        & (pair_similarity(df, "Beer_Name", "jaccard") >= 0.5),
    ),
    rule(
        "same_brewery_similar_name",
        MATCH,
        lambda df: (pair_similarity(df, "Brew_Factory_Name", "jaccard") >= 0.5)
        & (pair_similarity(df, "Beer_Name", "overlap") >= 0.8),
    ),
    rule(
        "same_brewery_different_name",
        NON_MATCH,
        lambda df: (pair_similarity(df, "Brew_Factory_Name", "jaccard") >= 0.5)
        & (pair_similarity(df, "Beer_Name", "jaro_winkler") < 0.6),
    ),
]

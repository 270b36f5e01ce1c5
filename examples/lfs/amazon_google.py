"""Expert LFs for Amazon-Google (software products: title, manufacturer, price).

Software titles name an edition, a version or a year; two listings of one product agree on
them, while their prices can differ (list price versus street price).
"""

from labeling_functions import (
    MATCH,
    NON_MATCH,
    model_numbers_conflict,
    model_numbers_shared,
    numbers_differ,
    pair_similarity,
    rule,
    similarity_at_least,
    similarity_below,
    values_differ,
    years_differ,
)

EDITIONS = ("home", "pro", "professional", "standard", "premium", "deluxe", "upgrade",
            "academic", "student", "mac", "win", "windows", "server", "enterprise")


def _editions(title):
    words = title.fillna("").str.lower().str.findall(r"\w+")
    return words.map(lambda ws: frozenset(w for w in ws if w in EDITIONS))


lfs = [
    similarity_at_least("title", 0.8, metric="tfidf_cosine", name="title_tfidf_high"),
    similarity_below("title", 0.2, metric="jaccard", name="title_jaccard_low"),
    model_numbers_shared("title", name="title_model_numbers_shared"),
    model_numbers_conflict("title", name="title_model_numbers_conflict"),
    years_differ("title", name="title_years_differ"),
    numbers_differ("price", tolerance=0.6, name="price_differs_a_lot"),
    values_differ("manufacturer", name="manufacturer_differs"),
    rule(
        "editions_differ",
        NON_MATCH,
        lambda df: (_editions(df.left_title) != _editions(df.right_title)).to_numpy()
        & (pair_similarity(df, "title", "jaccard") >= 0.3),
    ),
    rule(
        "title_overlap_and_price_close",
        MATCH,
        lambda df: (pair_similarity(df, "title", "overlap") >= 0.8)
        & (pair_similarity(df, "price", "reldiff") <= 0.2),
    ),
]

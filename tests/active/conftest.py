"""Shared small data for the active-loop tests: a blocked synthetic pool and FEBRL-style LFs."""

import pytest

from blocking import demo_dataset
from labeling_functions import similarity_at_least, similarity_below, values_equal


@pytest.fixture(scope="session")
def pool():
    """About 150 labelled candidate pairs of synthetic person records."""
    return demo_dataset("synthetic", seed=3, n_entities=35).pairs


@pytest.fixture(scope="session")
def lfs():
    return [
        values_equal("soc_sec_id", name="same_ssn"),
        similarity_below("surname", 0.6, metric="jaro_winkler", name="surname_differs"),
        similarity_below("date_of_birth", 0.6, metric="levenshtein", name="dob_differs"),
        similarity_at_least("address_1", 0.9, metric="levenshtein", name="same_address"),
    ]


@pytest.fixture(scope="session")
def fast_matcher():
    """A factory of quick matchers (gradient boosting on similarity features)."""
    from matchers import SimilarityMatcher

    return lambda: SimilarityMatcher(seed=0, max_iter=20, learning_rate=0.1)

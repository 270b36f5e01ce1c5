"""Expert labeling functions over record pairs: weak labels, one-sided risk rules, bucket keys."""

MATCH = 1
NON_MATCH = 0
ABSTAIN = -1

from labeling_functions.analysis import lf_summary  # noqa: E402
from labeling_functions.apply import apply_lfs  # noqa: E402
from labeling_functions.core import (  # noqa: E402
    ExpertLF,
    LFError,
    LFVoteError,
    LFWarning,
    as_expert_lf,
    labeling_function,
)
from labeling_functions.featurizer import PairFeaturizer  # noqa: E402
from labeling_functions.loading import LFFileError, load_lfs  # noqa: E402
from labeling_functions.similarity import similarity_features  # noqa: E402
from labeling_functions.templates import (  # noqa: E402
    model_numbers_conflict,
    model_numbers_shared,
    numbers_differ,
    pair_similarity,
    rule,
    similarity_at_least,
    similarity_below,
    similarity_vote,
    values_differ,
    values_equal,
    years_differ,
)

__all__ = [
    "PairFeaturizer",
    "ABSTAIN",
    "MATCH",
    "NON_MATCH",
    "ExpertLF",
    "LFError",
    "LFFileError",
    "LFVoteError",
    "LFWarning",
    "apply_lfs",
    "as_expert_lf",
    "labeling_function",
    "lf_summary",
    "load_lfs",
    "model_numbers_conflict",
    "model_numbers_shared",
    "numbers_differ",
    "rule",
    "pair_similarity",
    "similarity_at_least",
    "similarity_below",
    "similarity_features",
    "similarity_vote",
    "values_differ",
    "values_equal",
    "years_differ",
]

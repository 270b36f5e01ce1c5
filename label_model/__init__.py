"""Label models: Snorkel's LabelModel and Active WeaSuL's penalized label model."""

from label_model.baselines import NashaatLabelModel, nashaat_correct
from label_model.buckets import bucket_ids, bucket_keys, check_label_matrix
from label_model.groups import VoteGroups
from label_model.penalized import PenalizedLabelModel

__all__ = [
    "NashaatLabelModel",
    "PenalizedLabelModel",
    "VoteGroups",
    "bucket_ids",
    "bucket_keys",
    "check_label_matrix",
    "nashaat_correct",
]

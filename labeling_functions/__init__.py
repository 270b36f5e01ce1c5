"""Expert labeling functions over record pairs: weak labels, one-sided risk rules, bucket keys."""

MATCH = 1
NON_MATCH = 0
ABSTAIN = -1

__all__ = ["MATCH", "NON_MATCH", "ABSTAIN"]

"""Matchers that score record pairs: the RNN matcher and a fast similarity-feature baseline."""

from matchers.rnn import RNNMatcher
from matchers.similarity import SimilarityMatcher

__all__ = ["RNNMatcher", "SimilarityMatcher"]

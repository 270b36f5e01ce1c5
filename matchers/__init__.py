"""Matchers that score record pairs: the RNN (deep) matcher, its noisy-label losses and
self-supervised pretraining, and a fast similarity-feature baseline."""

from matchers.difference_words import DifferenceWords
from matchers.losses import LOSSES, noisy_label_loss
from matchers.pretrain import PretrainSettings, pretrain_encoder
from matchers.rnn import RNNMatcher
from matchers.similarity import SimilarityMatcher

__all__ = [
    "LOSSES",
    "DifferenceWords",
    "PretrainSettings",
    "RNNMatcher",
    "SimilarityMatcher",
    "noisy_label_loss",
    "pretrain_encoder",
]

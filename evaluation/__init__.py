"""Estimating a matcher's precision, recall and F-measure from few oracle labels (OASIS)."""

from blocking.metrics import f_measure, precision_recall_f1
from evaluation.base import Sampler
from evaluation.baselines import PassiveSampler, StratifiedSampler
from evaluation.biased import F1Estimate, draw_audit, estimate_f1
from evaluation.oasis import ImportanceSampler, OASISSampler
from evaluation.plot import plot_estimate
from evaluation.predictions import read_predictions
from evaluation.strata import Strata, calibrate_scores, stratify

__all__ = [
    "F1Estimate",
    "ImportanceSampler",
    "OASISSampler",
    "PassiveSampler",
    "Sampler",
    "StratifiedSampler",
    "Strata",
    "calibrate_scores",
    "draw_audit",
    "estimate_f1",
    "f_measure",
    "precision_recall_f1",
    "plot_estimate",
    "read_predictions",
    "stratify",
]

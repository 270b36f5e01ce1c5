"""LearnRisk: misprediction risk of a matcher from one-sided rules (expert LFs and mined
similarity thresholds) and its binned output, with explanations a user can read."""

from risk.distributions import portfolio, truncated_normal_quantile, value_at_risk
from risk.model import RiskModel
from risk.rules import Condition, Rule, activations, lf_rules, mine_rules

__all__ = [
    "RiskModel",
    "Rule",
    "Condition",
    "mine_rules",
    "lf_rules",
    "activations",
    "portfolio",
    "truncated_normal_quantile",
    "value_at_risk",
]

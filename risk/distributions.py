"""A pair's match probability as a portfolio of its risk features' normal distributions, and
its Value-at-Risk under the normal truncated to [0, 1]. Torch, so that training can
differentiate through it."""

from __future__ import annotations

import torch

__all__ = ["portfolio", "truncated_normal_quantile", "value_at_risk"]

_EPS = 1e-9


def portfolio(active: torch.Tensor, w: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor,
              w_out: torch.Tensor, mu_out: torch.Tensor, sigma_out: torch.Tensor):
    """Mean and standard deviation of each pair's match probability.

    active (n, m) 0/1 rule firings with rule weights w, expectations mu and deviations sigma
    (m,); every pair also holds the matcher-output feature with per-pair w_out, mu_out,
    sigma_out (n,). mean = sum_j a_j w_j mu_j / W, var = sum_j a_j w_j^2 sigma_j^2 / W^2 with
    W = sum_j a_j w_j (the matcher feature included).
    """
    total = active @ w + w_out
    mean = (active @ (w * mu) + w_out * mu_out) / total
    var = (active @ (w * sigma) ** 2 + (w_out * sigma_out) ** 2) / total**2
    return mean, torch.sqrt(var + _EPS)


def truncated_normal_quantile(mean: torch.Tensor, std: torch.Tensor, q) -> torch.Tensor:
    """The q-quantile of N(mean, std^2) truncated to [0, 1]."""
    a = torch.special.ndtr(-mean / std)
    b = torch.special.ndtr((1.0 - mean) / std)
    u = (a + q * (b - a)).clamp(_EPS, 1.0 - _EPS)
    return (mean + std * torch.special.ndtri(u)).clamp(0.0, 1.0)


def value_at_risk(mean: torch.Tensor, std: torch.Tensor, predicted: torch.Tensor,
                  confidence: float) -> torch.Tensor:
    """Risk of each prediction at `confidence`: for a predicted match, 1 - the match probability's
    (1 - confidence)-quantile (how low it may be); for a predicted non-match, its
    confidence-quantile (how high it may be)."""
    q = torch.where(predicted, 1.0 - confidence, confidence).to(mean.dtype)
    v = truncated_normal_quantile(mean, std, q)
    return torch.where(predicted, 1.0 - v, v)

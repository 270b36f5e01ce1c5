"""Training losses for probabilistic (noisy) match labels: soft cross-entropy and the
bootstrapping losses of Reed et al. (2015), which let the model's own belief correct labels
that disagree with everything else it has learned."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Loss = Literal["cross_entropy", "bootstrap_soft", "bootstrap_hard"]
LOSSES = ("cross_entropy", "bootstrap_soft", "bootstrap_hard")


def weighted_bce(logits: torch.Tensor, target: torch.Tensor, pos_weight: float) -> torch.Tensor:
    """Per-pair binary cross-entropy of logits against targets in [0, 1], the match term scaled by
    `pos_weight`; `target` may carry gradients (the soft bootstrap needs them)."""
    return pos_weight * target * F.softplus(-logits) + (1 - target) * F.softplus(logits)


def noisy_label_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor,
    loss: Loss = "cross_entropy",
    beta: float = 0.8,
    pos_weight: float = 1.0,
) -> torch.Tensor:
    """Weighted mean loss of a batch.

    cross_entropy: CE(y, q). bootstrap_soft: CE(beta y + (1 - beta) q, q), i.e. beta CE(y, q) plus
    (1 - beta) times the entropy of the prediction q. bootstrap_hard: CE(beta y + (1 - beta)
    [q > 1/2], q), the network's own decision stands in for part of the label.
    """
    q = torch.sigmoid(logits)
    if loss == "cross_entropy":
        mixed = target
    elif loss == "bootstrap_soft":
        mixed = beta * target + (1 - beta) * q
    elif loss == "bootstrap_hard":
        mixed = beta * target + (1 - beta) * (q.detach() > 0.5).to(target.dtype)
    else:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
    per_pair = weighted_bce(logits, mixed, pos_weight)
    return (weight * per_pair).sum() / len(logits)

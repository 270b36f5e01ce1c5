"""Noisy-label losses: cross-entropy, soft and hard bootstrapping (Reed et al.)."""

import pytest
import torch
import torch.nn.functional as F

from matchers.losses import noisy_label_loss, weighted_bce


def test_weighted_bce_is_torch_bce_with_pos_weight():
    z = torch.tensor([-2.0, -0.3, 0.0, 1.5, 4.0])
    t = torch.tensor([0.0, 0.2, 1.0, 0.7, 1.0])
    expected = F.binary_cross_entropy_with_logits(
        z, t, pos_weight=torch.tensor(2.5), reduction="none"
    )
    torch.testing.assert_close(weighted_bce(z, t, 2.5), expected)


def test_beta_one_is_cross_entropy():
    z, t, w = torch.tensor([-1.0, 2.0, 0.5]), torch.tensor([0.0, 1.0, 0.3]), torch.ones(3)
    ce = noisy_label_loss(z, t, w, "cross_entropy")
    for kind in ("bootstrap_soft", "bootstrap_hard"):
        torch.testing.assert_close(noisy_label_loss(z, t, w, kind, beta=1.0), ce)


@pytest.mark.parametrize("kind", ["bootstrap_soft", "bootstrap_hard"])
def test_bootstrapping_pushes_less_against_a_confident_prediction(kind):
    # the network is sure of a match (q = 0.95) but the label says non-match
    def grad(kind, beta=0.6):
        z = torch.tensor([3.0], requires_grad=True)
        noisy_label_loss(z, torch.tensor([0.0]), torch.ones(1), kind, beta).backward()
        return z.grad.item()

    ce = grad("cross_entropy")
    assert ce > 0.9  # plain CE pulls the logit down hard
    assert 0 < grad(kind) < 0.75 * ce


def test_weights_scale_the_loss_and_unknown_loss_is_refused():
    z, t = torch.tensor([0.3, -0.2]), torch.tensor([1.0, 0.0])
    one = noisy_label_loss(z, t, torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(noisy_label_loss(z, t, torch.tensor([3.0, 0.0])), 3 * one)
    with pytest.raises(ValueError, match="bootstrap_soft"):
        noisy_label_loss(z, t, torch.ones(2), "focal")

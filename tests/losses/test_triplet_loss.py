"""`triplet` / `triplet_soft` against a loop reference of the strong baseline's batch-hard mining."""

from __future__ import annotations

import pytest
import torch
from loss_references import batch_hard_reference
from pytorch_metric_learning.losses import TripletMarginLoss
from pytorch_metric_learning.miners import BatchHardMiner

from finereid.losses import build_loss

LABELS = torch.arange(4).repeat_interleave(4)


def _features(seed: int = 0) -> torch.Tensor:
    """Clusters with mixed tightness: some anchors satisfy the 0.3 margin, others violate it."""
    gen = torch.Generator().manual_seed(seed)
    centers = 1.2 * torch.randn(4, 8, generator=gen, dtype=torch.float64)
    noise = 0.35 * torch.randn(16, 8, generator=gen, dtype=torch.float64)
    return (centers[LABELS] + noise).requires_grad_()


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_triplet_equals_batch_hard_loop_reference(seed, normalize):
    features = _features(seed)
    value = build_loss("triplet", normalize=normalize)(features, LABELS)
    (grad,) = torch.autograd.grad(value, features)
    ref_features = features.detach().clone().requires_grad_()
    expected, _ = batch_hard_reference(ref_features, LABELS, margin=0.3, normalize=normalize)
    (expected_grad,) = torch.autograd.grad(expected, ref_features)
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad, expected_grad, rtol=1e-6, atol=1e-6)


def test_reference_batch_has_zero_and_nonzero_anchors():
    # Mean over ALL anchors vs mean over violating ones only differs only if both kinds exist.
    _, per_anchor = batch_hard_reference(_features(0).detach(), LABELS, margin=0.3)
    assert any(v == 0 for v in per_anchor) and any(v > 0 for v in per_anchor)


def test_triplet_differs_from_pml_defaults_as_intended():
    # PML's defaults (normalized features, mean over non-zero triplets) are not the strong baseline.
    features = _features(0)
    ours = build_loss("triplet")(features, LABELS)
    pml = TripletMarginLoss(margin=0.3)(features, LABELS, BatchHardMiner()(features, LABELS))
    assert abs(ours.item() - pml.item()) > 1e-3


def test_triplet_soft_equals_softplus_reference():
    features = _features(1)
    value = build_loss("triplet_soft")(features, LABELS)
    expected, _ = batch_hard_reference(features, LABELS, soft=True)
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)


def test_anchors_without_positive_are_skipped():
    features = _features(2)[:13]  # label 3 keeps a single image
    labels = LABELS[:13]
    value = build_loss("triplet")(features, labels)
    expected, per_anchor = batch_hard_reference(features, labels)
    assert len(per_anchor) == 12
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)


def test_identical_features_give_finite_gradients():
    features = torch.ones(16, 8, requires_grad=True)
    value = build_loss("triplet")(features, LABELS)
    value.backward()
    assert value.item() == pytest.approx(0.3, abs=1e-5)
    assert torch.isfinite(features.grad).all()

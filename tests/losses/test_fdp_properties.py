"""The properties docs/fdp-loss.md asks of FDPLoss: emphasis, boundedness, edge batches, dtypes."""

from __future__ import annotations

import math

import pytest
import torch
from loss_references import fdp_reference

from finereid.losses import FDPLoss


def _row_gradient(loss: FDPLoss, pos_d: list[float], neg_d: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Loss of one anchor with the given positive/negative distances, and its gradient w.r.t. them."""
    mat = torch.tensor([pos_d + neg_d], dtype=torch.float64, requires_grad=True)
    pos = torch.zeros_like(mat)
    pos[0, : len(pos_d)] = 1
    neg = 1 - pos
    value = loss._compute_loss(mat, pos, neg)["loss"]["losses"].sum()
    (grad,) = torch.autograd.grad(value, mat)
    return value.detach(), grad[0]


@pytest.mark.parametrize("beta", [1.0, 5.0, 10.0, 20.0])
def test_negative_gradient_ratio_is_exp_0_6_beta(beta):
    _, grad = _row_gradient(FDPLoss(beta=beta), [0.3], [0.2, 0.8, 0.5, 1.4])
    ratio = grad[1] / grad[2]  # negatives at d=0.2 and d=0.8
    assert ratio.item() == pytest.approx(math.exp(0.6 * beta), rel=1e-4)


def test_hinge_negative_gradient_ratio_is_one():
    _, grad = _row_gradient(FDPLoss(negative="hinge"), [0.3], [0.2, 0.8, 0.5, 1.4])
    assert (grad[1] / grad[2]).item() == pytest.approx(1.0, rel=1e-12)
    assert grad[4] == 0  # d=1.4 is past the margin


@pytest.mark.parametrize("beta", [1.0, 10.0, 30.0])
def test_negative_weight_strictly_decreases_with_distance(beta):
    distances = torch.linspace(0.0, 2.0, 41).tolist()
    _, grad = _row_gradient(FDPLoss(beta=beta), [0.3], distances)
    weight = -grad[1:]  # dL/dd is negative: a negative is pushed away, harder the closer it is
    assert (weight > 0).all()
    assert (weight[1:] < weight[:-1]).all()


def _positive_penalty(loss: FDPLoss, d: float) -> tuple[float, float]:
    """Penalty and its gradient for one positive at distance d; the only negative sits far away."""
    value, grad = _row_gradient(loss, [d], [50.0])
    return value.item(), grad[0].item()


def test_positive_penalty_is_bounded_and_its_gradient_fades():
    loss = FDPLoss()
    grid = torch.linspace(0, 2, 201).tolist()
    values, grads = zip(*(_positive_penalty(loss, d) for d in grid), strict=True)
    far_values = [_positive_penalty(loss, d)[0] for d in (2.5, 5.0, 50.0, 1e3)]
    assert max(values) <= 1.0 and max(far_values) <= 1.0
    assert far_values[-1] == pytest.approx(1.0)
    at_1_9 = _positive_penalty(loss, 1.9)[1]
    assert 0 < at_1_9 < 0.05 * max(grads)


@pytest.mark.parametrize("positive", ["linear", "squared"])
def test_unbounded_positive_penalties_do_not_fade(positive):
    # Contrast for the test above: without the bound the far positive keeps (or grows) its pull.
    loss = FDPLoss(positive=positive)
    grads = [_positive_penalty(loss, d)[1] for d in torch.linspace(0, 2, 201).tolist()]
    assert _positive_penalty(loss, 1.9)[1] >= 0.9 * max(grads)
    assert _positive_penalty(loss, 3.0)[0] > 1.0


def test_log_sum_exp_is_stable_for_large_beta():
    value, grad = _row_gradient(FDPLoss(beta=1e4, margin=2.0), [0.1], [0.0, 0.05, 1.9])
    assert torch.isfinite(value) and torch.isfinite(grad).all()
    # log(1 + sum exp(beta (m - d))) / beta -> m - min d as beta grows.
    penalty = -torch.expm1(torch.tensor(-(0.1**2) / (2 * 0.5**2))).item()
    assert value.item() == pytest.approx(2.0 + penalty, rel=1e-3)


EDGE_KNOBS = [
    dict(),
    dict(negative="hinge", positive="linear"),
    dict(positive="squared"),
    dict(adaptive_sigma=True),
    dict(normalize=False),
    dict(normalize=False, negative="hinge", positive="squared"),
]
FOUR_IDS = torch.arange(4).repeat_interleave(4)


def _edge_batches() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(7)
    rand = torch.randn(16, 8, generator=gen, dtype=torch.float64)
    return {
        "identical": (torch.ones(16, 8, dtype=torch.float64), FOUR_IDS),
        "all_zero": (torch.zeros(16, 8, dtype=torch.float64), FOUR_IDS),
        "single_identity": (rand, torch.zeros(16, dtype=torch.long)),
        "one_image_per_identity": (rand, torch.arange(16)),
        "two_same": (rand[:2], torch.tensor([5, 5])),
        "two_different": (rand[:2], torch.tensor([5, 6])),
        "scale_1e4": (rand * 1e4, FOUR_IDS),
        "scale_1e-4": (rand * 1e-4, FOUR_IDS),
    }


NO_VALID_ANCHOR = {"single_identity", "one_image_per_identity", "two_same", "two_different"}


def _knob_id(knobs: dict) -> str:
    return "-".join(f"{a}={b}" for a, b in knobs.items()) or "default"


@pytest.mark.parametrize("knobs", EDGE_KNOBS, ids=_knob_id)
@pytest.mark.parametrize("case", list(_edge_batches()))
def test_edge_batches_give_finite_values_and_gradients(case, knobs):
    base, labels = _edge_batches()[case]
    features = base.clone().requires_grad_()
    value = FDPLoss(**knobs)(features, labels)
    value.backward()
    assert value.ndim == 0 and torch.isfinite(value)
    assert torch.isfinite(features.grad).all()
    if case in NO_VALID_ANCHOR:
        assert value.item() == 0 and value.requires_grad  # a zero still on the graph
        assert (features.grad == 0).all()
    elif case != "all_zero":
        expected = fdp_reference(base, labels, **knobs)
        torch.testing.assert_close(value.detach(), expected, rtol=1e-6, atol=1e-6)


def test_scale_invariance_when_normalized():
    base, labels = _edge_batches()["scale_1e4"]
    small = FDPLoss()(base * 1e-8, labels)  # 1e4 * 1e-8 = 1e-4
    large = FDPLoss()(base, labels)
    torch.testing.assert_close(small, large, rtol=1e-9, atol=1e-9)


def _float32_batch():
    gen = torch.Generator().manual_seed(11)
    model = torch.nn.Linear(12, 16)
    with torch.no_grad():
        model.weight.copy_(torch.randn(16, 12, generator=gen) * 0.3)
    return model, torch.randn(32, 12, generator=gen), torch.arange(8).repeat_interleave(4)


@pytest.mark.parametrize("knobs", EDGE_KNOBS[:4], ids=["default", "hinge-linear", "squared", "adaptive"])
def test_bfloat16_autocast_is_finite_and_close_to_float32(knobs):
    model, inputs, labels = _float32_batch()
    loss = FDPLoss(**knobs)
    reference = loss(model(inputs), labels)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        features = model(inputs)
        value = loss(features, labels)
    assert features.dtype == torch.bfloat16
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(model.weight.grad).all()
    assert value.item() == pytest.approx(reference.item(), rel=5e-2)


def test_float16_inputs_are_finite():
    _, inputs, labels = _float32_batch()
    features = inputs.half().requires_grad_()
    value = FDPLoss()(features, labels)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(features.grad).all()
    assert value.item() == pytest.approx(FDPLoss()(inputs, labels).item(), rel=1e-2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="float16 autocast needs CUDA")
def test_float16_autocast_on_cuda_is_finite():
    model, inputs, labels = _float32_batch()
    model, inputs, labels = model.cuda(), inputs.cuda(), labels.cuda()
    with torch.autocast("cuda", dtype=torch.float16):
        features = model(inputs)
        value = FDPLoss()(features, labels)
    value.backward()
    assert features.dtype == torch.float16
    assert torch.isfinite(value) and torch.isfinite(model.weight.grad).all()

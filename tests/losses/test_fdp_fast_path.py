"""FDPLoss's fast path (`loss(features, labels)`, default distance and reducer) equals PML's generic path."""

from __future__ import annotations

from unittest import mock

import pytest
import torch
from pytorch_metric_learning import distances, miners, reducers, regularizers
from pytorch_metric_learning.losses import GenericPairLoss

from finereid.losses import FDPLoss
from finereid.losses.distances import ClampedL2Distance, self_distance

KNOBS = [
    {},
    {"margin": 0.6, "beta": 3.0, "sigma": 0.3},
    {"negative": "hinge"},
    {"positive": "linear"},
    {"positive": "squared", "normalize": False},
    {"adaptive_sigma": True},
    {"normalize": False, "margin": 4.0, "beta": 1.0},
]
LABELS = {
    "pk": torch.arange(6).repeat_interleave(4),
    "singletons": torch.tensor([0, 0, 0, 1, 2, 2, 3, 4, 4, 4, 5, 6]),  # anchors of ids 1, 3, 5, 6: invalid
    "one_id": torch.zeros(8, dtype=torch.long),  # no negatives: no valid anchor
    "all_distinct": torch.arange(8),  # no positives: no valid anchor
}


def _features(n: int, seed: int = 0, dim: int = 16) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=gen, dtype=torch.float64).requires_grad_()


def _value_and_grad(loss_call, features: torch.Tensor, labels: torch.Tensor):
    features.grad = None
    value = loss_call(features, labels)
    value.backward()
    return value.detach(), features.grad.clone()


def _spy():
    return mock.patch.object(FDPLoss, "_fast_forward", autospec=True, side_effect=FDPLoss._fast_forward)


@pytest.mark.parametrize(
    "knobs", KNOBS, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "default"
)
@pytest.mark.parametrize("batch", list(LABELS))
def test_fast_path_equals_the_generic_path_in_float64(knobs, batch):
    labels = LABELS[batch]
    loss = FDPLoss(**knobs)
    for seed in range(3):
        features = _features(len(labels), seed)
        with _spy() as fast:
            fast_value, fast_grad = _value_and_grad(loss, features, labels)
        assert fast.call_count == 1
        generic_value, generic_grad = _value_and_grad(
            lambda f, y: GenericPairLoss.forward(loss, f, y), features, labels
        )
        torch.testing.assert_close(fast_value, generic_value, rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(fast_grad, generic_grad, rtol=1e-6, atol=1e-6)
        if batch in ("pk", "singletons"):
            assert generic_value > 0 and generic_grad.abs().sum() > 0  # the comparison is not 0 == 0
        else:
            assert float(fast_value) == 0.0 and not fast_grad.any()


def test_fast_path_agrees_with_the_generic_path_in_float32():
    labels = LABELS["pk"]
    features = _features(len(labels), 7).detach().float().requires_grad_()
    loss = FDPLoss()
    fast_value, fast_grad = _value_and_grad(loss, features, labels)
    generic = _value_and_grad(lambda f, y: GenericPairLoss.forward(loss, f, y), features, labels)
    torch.testing.assert_close(fast_value, generic[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast_grad, generic[1], rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("normalize", [True, False])
def test_fused_self_distance_matches_pml_distance_and_passes_gradcheck(normalize):
    features = _features(10, 3, dim=5)
    expected = ClampedL2Distance(normalize_embeddings=normalize)(features)
    torch.testing.assert_close(self_distance(features, normalize), expected, rtol=1e-12, atol=1e-12)
    weights = torch.randn(10, 10, dtype=torch.float64)  # an asymmetric upstream gradient
    assert torch.autograd.gradcheck(lambda f: (self_distance(f, normalize) * weights).sum(), (features,))
    tiny = (features.detach() * 1e-14).requires_grad_()  # norms below the 1e-12 floor: no projection
    torch.autograd.backward((self_distance(tiny, True) * weights).sum())
    reference = tiny.detach().clone().requires_grad_()
    torch.autograd.backward((ClampedL2Distance()(reference) * weights).sum())
    torch.testing.assert_close(tiny.grad, reference.grad)


def test_default_call_takes_the_fast_path_even_with_an_explicit_default_distance_and_reducer():
    labels = LABELS["pk"]
    explicit = FDPLoss(distance=ClampedL2Distance(normalize_embeddings=True), reducer=reducers.MeanReducer())
    for loss in (FDPLoss(), explicit):
        with _spy() as fast:
            loss(_features(len(labels)), labels)
        assert fast.call_count == 1


@pytest.mark.parametrize(
    "case", ["miner", "ref_emb", "regularizer", "reducer", "distance", "powered_distance", "stats"]
)
def test_generic_path_when_pml_machinery_is_needed(case):
    labels = LABELS["pk"]
    features = _features(len(labels))
    kwargs = {
        "regularizer": {"embedding_regularizer": regularizers.LpRegularizer()},
        "reducer": {"reducer": reducers.SumReducer()},
        "distance": {"distance": distances.LpDistance()},
        "powered_distance": {"distance": ClampedL2Distance(power=2)},
    }.get(case, {})
    loss = FDPLoss(**kwargs)
    call: dict = {}
    if case == "miner":
        call["indices_tuple"] = miners.MultiSimilarityMiner(epsilon=0.3)(features, labels)
    if case == "ref_emb":
        call.update(ref_emb=_features(len(labels), 1), ref_labels=labels)
    with (
        _spy() as fast,
        mock.patch("pytorch_metric_learning.utils.common_functions.COLLECT_STATS", case == "stats"),
    ):
        value = loss(features, labels, **call)
    assert fast.call_count == 0
    assert torch.isfinite(value) and value.requires_grad

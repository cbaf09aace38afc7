"""Loss behaviour that mutation testing (benchmarks/mutation.py) found unguarded: names in errors, knobs.

Values come from the loop references in loss_references.py (written from the formulas), never from a run.
"""

from __future__ import annotations

import pytest
import torch
from loss_references import batch_hard_reference

from finereid.errors import ConfigError
from finereid.losses import FDPLoss, build_loss

LABELS = torch.arange(4).repeat_interleave(4)


def _features(seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    centers = 1.2 * torch.randn(4, 8, generator=gen, dtype=torch.float64)
    return centers[LABELS] + 0.35 * torch.randn(16, 8, generator=gen, dtype=torch.float64)


@pytest.mark.parametrize("seed", [0, 1])
def test_soft_triplet_with_normalized_features_equals_the_reference(seed):
    features = _features(seed) * 3.0  # a scale that normalization removes
    value = build_loss("triplet_soft", normalize=True)(features, LABELS)
    expected, _ = batch_hard_reference(features, LABELS, normalize=True, soft=True)
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("triplet", {"margin": -0.1}, "^triplet loss: margin must be >= 0.0"),
        ("triplet", {"normalize": "yes"}, "^triplet loss: normalize must be true or false"),
        ("triplet_soft", {"normalize": 1}, "^triplet_soft loss: normalize must be true or false"),
    ],
)
def test_bad_knobs_name_the_loss_and_the_knob(name, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_loss(name, **kwargs)


def test_zero_margin_is_a_valid_triplet_margin():
    features = _features(2)
    value = build_loss("triplet", margin=0.0)(features, LABELS)
    expected, _ = batch_hard_reference(features, LABELS, margin=0.0)
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["triplet", "triplet_soft"])
def test_wrapped_loss_keeps_its_registry_name(name):
    loss = build_loss(name)
    assert f"name={name!r}" in repr(loss)
    with pytest.raises(ConfigError, match=f"^{name} loss: labels must be a 1-D tensor"):
        loss(torch.randn(4, 8), torch.zeros(3, dtype=torch.long))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"margin": -0.1}, "^FDPLoss: margin must be >= 0.0, got -0.1$"),
        ({"beta": 0.0}, "^FDPLoss: beta must be > 0.0, got 0.0$"),
        ({"beta": -1.0}, "^FDPLoss: beta must be > 0.0"),
        ({"sigma": 0.0}, "^FDPLoss: sigma must be > 0.0, got 0.0$"),
        ({"negative": "soft"}, "^FDPLoss: negative must be one of exp, hinge; got 'soft'$"),
        ({"positive": "cubic"}, "^FDPLoss: positive must be one of bounded, linear, squared; got 'cubic'$"),
        ({"normalize": "yes"}, "^FDPLoss: normalize must be true or false, got 'yes'$"),
        ({"adaptive_sigma": 1}, "^FDPLoss: adaptive_sigma must be true or false, got 1$"),
        ({"temperature": 0.1}, "^FDPLoss: unknown argument 'temperature'"),
        ({"adaptive_sigma": True, "positive": "linear"}, "^FDPLoss: adaptive_sigma only applies"),
    ],
)
def test_bad_fdp_knobs_name_the_loss_and_the_knob(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        FDPLoss(**kwargs)


def test_small_positive_fdp_knobs_are_valid():
    loss = build_loss("fdp", margin=0.0, beta=0.5, sigma=0.25)
    assert (loss.margin, loss.beta, loss.sigma) == (0.0, 0.5, 0.25)
    assert torch.isfinite(loss(_features(3), LABELS))

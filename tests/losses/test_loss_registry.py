"""The LOSSES registry, build_loss errors, input checks, and the center / cross-entropy losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from finereid.errors import ConfigError
from finereid.losses import IDENTITY_LOSSES, LOSSES, METRIC_LOSSES, CenterLoss, build_loss

SIZES = {"center": dict(num_classes=4, feat_dim=8), "cross_entropy": dict(num_classes=4)}


def _build(name: str) -> torch.nn.Module:
    return build_loss(name, **SIZES.get(name, {}))


def test_metric_and_identity_losses_partition_the_registry():
    assert set(LOSSES) == METRIC_LOSSES | IDENTITY_LOSSES
    assert not METRIC_LOSSES & IDENTITY_LOSSES
    assert sorted(IDENTITY_LOSSES) == ["cross_entropy"]  # the only one fed logits; "center" takes features


def test_unknown_name_lists_every_valid_name():
    with pytest.raises(ConfigError) as info:
        build_loss("tripplet")
    message = str(info.value)
    assert "'tripplet'" in message and "\n" not in message
    assert all(name in message for name in LOSSES)


@pytest.mark.parametrize("name", list(LOSSES))
def test_unknown_argument_names_the_loss_and_the_argument(name):
    with pytest.raises(ConfigError, match=rf"loss '{name}': unknown argument 'marginn'"):
        build_loss(name, marginn=0.3, **SIZES.get(name, {}))


@pytest.mark.parametrize(("name", "missing"), [("center", "num_classes"), ("cross_entropy", "num_classes")])
def test_missing_sizes_are_reported(name, missing):
    with pytest.raises(ConfigError, match=f"loss '{name}': missing required argument '{missing}'"):
        build_loss(name)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("fdp", dict(beta=0), "beta must be > 0"),
        ("fdp", dict(sigma=-1.0), "sigma must be > 0"),
        ("fdp", dict(margin=float("nan")), "margin must be a finite number"),
        ("fdp", dict(negative="lse"), "negative must be one of exp, hinge"),
        ("fdp", dict(positive="huber"), "positive must be one of bounded, linear, squared"),
        ("fdp", dict(normalize="yes"), "normalize must be true or false"),
        ("fdp", dict(positive="linear", adaptive_sigma=True), "adaptive_sigma only applies"),
        ("fdp", dict(reducer=None, distance=None, weight=1.0), "unknown argument 'weight'"),
        ("triplet", dict(margin=-0.3), "margin must be >= 0"),
        ("circle", dict(gamma=0), "gamma must be > 0"),
        ("supcon", dict(temperature=0), "temperature must be > 0"),
        ("center", dict(num_classes=0, feat_dim=8), "num_classes must be a positive integer"),
        ("cross_entropy", dict(num_classes=4, epsilon=1.0), "epsilon must be < 1"),
    ],
)
def test_bad_values_are_one_line_config_errors(name, kwargs, message):
    with pytest.raises(ConfigError, match=message) as info:
        build_loss(name, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", list(LOSSES))
def test_malformed_inputs_are_one_line_config_errors(name):
    loss = _build(name)
    width = 4 if name == "cross_entropy" else 8
    bad_inputs = [
        (torch.randn(8, width)[0], torch.zeros(8, dtype=torch.long)),  # 1-D features
        (torch.randn(8, width), torch.zeros(7, dtype=torch.long)),  # one label short
        (torch.randint(0, 3, (8, width)), torch.zeros(8, dtype=torch.long)),  # integer features
        ([[0.0] * width] * 8, torch.zeros(8, dtype=torch.long)),  # not a tensor
    ]
    for features, labels in bad_inputs:
        with pytest.raises(ConfigError) as info:
            loss(features, labels)
        assert "\n" not in str(info.value)


def test_center_loss_has_learnable_centers_and_matches_its_definition():
    loss = build_loss("center", num_classes=4, feat_dim=8)
    assert isinstance(loss, CenterLoss)
    (centers,) = list(loss.parameters())
    assert centers.shape == (4, 8) and centers.requires_grad
    features, labels = torch.randn(6, 8), torch.tensor([0, 3, 3, 0, 3, 0])
    value = loss(features, labels)
    expected = sum(((features[i] - centers[labels[i]]) ** 2).sum() for i in range(6)) / 6
    torch.testing.assert_close(value, expected)
    value.backward()
    assert (centers.grad[[0, 3]] != 0).all()
    assert (centers.grad[[1, 2]] == 0).all()  # identities absent from the batch keep their centers


@pytest.mark.parametrize("name", ["center", "cross_entropy"])
def test_labels_outside_the_classes_are_rejected(name):
    loss = _build(name)
    rows = torch.randn(3, 4 if name == "cross_entropy" else 8)
    with pytest.raises(ConfigError, match=r"labels must be in \[0, 4\)"):
        loss(rows, torch.tensor([0, 1, 4]))
    with pytest.raises(ConfigError, match="integer class indices"):
        loss(rows, torch.tensor([0.0, 1.0, 2.0]))


def test_center_loss_rejects_the_wrong_feature_width():
    with pytest.raises(ConfigError, match="must have 8 columns"):
        build_loss("center", num_classes=4, feat_dim=8)(torch.randn(3, 7), torch.tensor([0, 1, 2]))


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.3])
def test_cross_entropy_label_smooth_matches_the_smoothed_target_formula(epsilon):
    logits, labels = torch.randn(5, 4, dtype=torch.float64), torch.tensor([0, 3, 1, 1, 2])
    value = build_loss("cross_entropy", num_classes=4, epsilon=epsilon)(logits, labels)
    targets = (1 - epsilon) * F.one_hot(labels, 4) + epsilon / 4
    expected = (-targets * F.log_softmax(logits, dim=1)).sum(1).mean()
    torch.testing.assert_close(value, expected)


def test_default_label_smoothing_is_0_1():
    assert build_loss("cross_entropy", num_classes=10).epsilon == 0.1


@pytest.mark.parametrize(
    ("name", "attr", "expected"),
    [
        ("circle", "m", 0.25),
        ("circle", "gamma", 128.0),
        ("multi_similarity", "beta", 50.0),
        ("supcon", "temperature", 0.1),
        ("contrastive", "neg_margin", 1.0),
        ("triplet", "margin", 0.3),
    ],
)
def test_documented_defaults(name, attr, expected):
    assert getattr(build_loss(name).loss, attr) == expected


def test_multi_similarity_mines_by_default_and_can_skip_it():
    assert build_loss("multi_similarity").miner is not None
    assert build_loss("multi_similarity", miner_epsilon=None).miner is None


def test_fdp_defaults_are_the_starting_values():
    loss = build_loss("fdp")
    assert (loss.margin, loss.beta, loss.sigma) == (1.0, 10.0, 0.5)
    assert (loss.negative, loss.positive) == ("exp", "bounded")
    assert loss.normalize and not loss.adaptive_sigma

"""Loss properties that mutants surviving benchmarks/mutation.py showed unguarded (issue #22).

Expected values come from the loop references in loss_references.py (written from the formulas).
"""

from __future__ import annotations

import pytest
import torch
from loss_references import batch_hard_reference
from pytorch_metric_learning.distances import CosineSimilarity

from finereid.errors import ConfigError
from finereid.losses import FDPLoss, build_loss

LABELS = torch.arange(4).repeat_interleave(4)


def test_soft_triplet_averages_over_every_anchor_even_when_a_loss_underflows_to_zero():
    # identity 3 sits 1000 units away: softplus(d_ap - d_an) = log(1 + e^-1000) is exactly 0 for its
    # anchors, which the strong baseline's mean still counts (PML's default reducer would drop them)
    gen = torch.Generator().manual_seed(40)
    centers = 1.2 * torch.randn(4, 8, generator=gen, dtype=torch.float64)
    centers[3, 0] += 1000.0
    features = centers[LABELS] + 0.35 * torch.randn(16, 8, generator=gen, dtype=torch.float64)
    expected, per_anchor = batch_hard_reference(features, LABELS, soft=True)
    assert sum(float(v) == 0.0 for v in per_anchor) == 4  # the case does hold exact zeros
    value = build_loss("triplet_soft")(features, LABELS)
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda loss, f: loss(f), r"^FDPLoss: pass labels \(or a miner's indices_tuple\)$"),
        (lambda loss, f: loss(f, LABELS[:3]), r"^FDPLoss: labels must be a 1-D tensor with one label per"),
        (
            lambda loss, f: loss(f, LABELS, ref_emb=torch.randn(5, 3), ref_labels=LABELS[:5]),
            r"^FDPLoss: ref_emb must have 8 columns, got 3$",
        ),
        (
            lambda loss, f: loss(f, LABELS, ref_emb=torch.randn(5, 8), ref_labels=LABELS[:4]),
            r"^FDPLoss: labels must be a 1-D tensor with one label per ref_emb row \(5\)",
        ),
    ],
)
def test_fdp_input_errors_name_the_loss_and_the_argument(call, message):
    features = torch.randn(16, 8, generator=torch.Generator().manual_seed(41))
    with pytest.raises(ConfigError, match=message):
        call(FDPLoss(), features)


@pytest.mark.parametrize(
    ("distance", "message"),
    [
        ("l2", r"^FDPLoss: distance must be a PML distance object, got str$"),
        (CosineSimilarity(), r"^FDPLoss: CosineSimilarity is a similarity"),
    ],
)
def test_fdp_distance_errors_name_the_given_type(distance, message):
    with pytest.raises(ConfigError, match=message):
        FDPLoss(distance=distance)

"""Loss properties that mutants surviving benchmarks/mutation.py showed unguarded (issue #22).

Expected values come from the loop references in loss_references.py (written from the formulas).
"""

from __future__ import annotations

from unittest import mock

import pytest
import torch
from loss_references import batch_hard_reference, fdp_reference
from pytorch_metric_learning.distances import CosineSimilarity
from pytorch_metric_learning.losses import GenericPairLoss

from finereid.errors import ConfigError
from finereid.losses import FDPLoss, build_loss
from finereid.losses.distances import ClampedL2Distance

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


def _features(seed: int, n: int = 16, dim: int = 6, scale: float = 1.0) -> torch.Tensor:
    """Random float64 features (n, dim)."""
    gen = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, dim, generator=gen, dtype=torch.float64)


def _pairs(*lists: list[int]) -> tuple[torch.Tensor, ...]:
    """A miner's (anchor, positive, anchor, negative) index tuple from four lists."""
    return tuple(torch.tensor(x, dtype=torch.long) for x in lists)


def _fast_path_spy():
    """Patch that counts calls of FDPLoss._fast_forward (and still runs it)."""
    return mock.patch.object(FDPLoss, "_fast_forward", autospec=True, side_effect=FDPLoss._fast_forward)


def test_fdp_with_a_miners_pairs_needs_no_labels():
    # a pair miner's indices_tuple says which pairs are positive and negative: labels may be left out
    features = _features(50)
    pairs = _pairs([0, 0, 5, 9], [1, 3, 6, 10], [0, 5, 9, 9], [4, 12, 2, 14])
    expected = fdp_reference(features, LABELS, pairs=pairs)
    loss = FDPLoss()
    torch.testing.assert_close(loss(features, indices_tuple=pairs), expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(loss(features, LABELS, pairs), expected, rtol=1e-6, atol=1e-6)


def test_with_a_miner_only_anchors_with_a_mined_positive_and_a_mined_negative_count():
    # anchor 0 has mined positives but no mined negative, anchor 8 a negative but no positive: neither
    # counts, the loss is anchor 4's alone
    features = _features(51)
    pairs = _pairs([0, 0, 4], [1, 2, 5], [4, 4, 8], [9, 13, 0])
    value = FDPLoss()(features, LABELS, pairs)
    only_4 = FDPLoss()(features, LABELS, _pairs([4], [5], [4, 4], [9, 13]))
    torch.testing.assert_close(value, only_4, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(value, fdp_reference(features, LABELS, pairs=pairs), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("path", ["fast", "miner"])
def test_hinge_negative_term_is_the_mean_over_a_single_negative(path):
    # ids 0 (three images) and 1 (one): anchors 0-2 have exactly one negative each; close features
    # and margin 2 keep every hinge active, so the mean over one negative is the hinge itself
    features = _features(52, n=4, scale=0.3)
    labels = torch.tensor([0, 0, 0, 1])
    knobs = {"negative": "hinge", "normalize": False, "margin": 2.0}
    assert bool((torch.cdist(features, features) < 2.0).all())
    pairs = _pairs([0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1], [0, 1, 2], [3, 3, 3])
    call = {"fast": (), "miner": (pairs,)}[path]
    value = FDPLoss(**knobs)(features, labels, *call)
    torch.testing.assert_close(value, fdp_reference(features, labels, **knobs), rtol=1e-6, atol=1e-6)


def test_fast_path_uses_the_given_distances_eps():
    # rows 0 and 1 are the same image: their distance is sqrt(eps), 0.1 here, not 1e-6
    features = _features(53)
    features[1] = features[0]
    loss = FDPLoss(distance=ClampedL2Distance(eps=1e-2))
    with _fast_path_spy() as fast:
        value = loss(features, LABELS)
    assert fast.call_count == 1
    generic = GenericPairLoss.forward(loss, features, LABELS)
    torch.testing.assert_close(value, generic, rtol=1e-6, atol=1e-6)
    assert abs(float(value) - float(FDPLoss()(features, LABELS))) > 1e-4  # the eps does matter here


def test_labels_move_to_the_features_device():
    # training: features on the accelerator, labels from the CPU loader ("meta" stands in for it)
    features = torch.randn(16, 8, device="meta")
    assert FDPLoss()(features, LABELS).device == features.device


def test_ref_emb_without_ref_labels_is_the_batch_seen_again():
    # PML's convention: ref_emb's row i is sample i (another view), so it takes the batch's labels and
    # (i, i) is not a positive pair
    features, view = _features(54), _features(55)
    same = LABELS[:, None] == LABELS[None, :]
    eye = torch.eye(len(LABELS), dtype=torch.bool)
    pos, neg = torch.nonzero(same & ~eye).T, torch.nonzero(~same).T
    expected = fdp_reference(features, LABELS, ref=view, pairs=(pos[0], pos[1], neg[0], neg[1]))
    loss = FDPLoss()
    with _fast_path_spy() as fast:
        value = loss(features, LABELS, ref_emb=view)
    assert fast.call_count == 0
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(value, loss(features, LABELS, ref_emb=view, ref_labels=LABELS))


def test_ref_emb_rows_must_match_the_labels_unless_ref_labels_or_a_miner_index_them():
    features, bank = _features(56), _features(57, n=5)
    loss = FDPLoss()
    with pytest.raises(ConfigError, match=r"^FDPLoss: labels must be .* per ref_emb row \(5\), got \(16,\)$"):
        loss(features, LABELS, ref_emb=bank)
    bank_labels = torch.tensor([0, 1, 1, 2, 3])
    expected = fdp_reference(features, LABELS, ref=bank, ref_labels=bank_labels)
    torch.testing.assert_close(loss(features, LABELS, ref_emb=bank, ref_labels=bank_labels), expected)
    pairs = _pairs([0, 4, 4], [0, 1, 2], [0, 0, 4, 4], [1, 3, 0, 4])  # rows of the 5-row bank
    expected = fdp_reference(features, LABELS, ref=bank, pairs=pairs)
    torch.testing.assert_close(loss(features, LABELS, pairs, ref_emb=bank), expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(
        loss(features, indices_tuple=pairs, ref_emb=bank), expected, rtol=1e-6, atol=1e-6
    )


def test_ref_labels_without_ref_emb_take_pmls_path():
    # PML ignores ref_labels without ref_emb; FDP leaves such a call to PML's path too (the fast path
    # is for the labels-only call)
    features = _features(58)
    with _fast_path_spy() as fast:
        value = FDPLoss()(features, LABELS, ref_labels=LABELS.clone())
    assert fast.call_count == 0
    torch.testing.assert_close(value, fdp_reference(features, LABELS), rtol=1e-6, atol=1e-6)

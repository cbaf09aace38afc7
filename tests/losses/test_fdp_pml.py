"""FDPLoss inside pytorch-metric-learning pipelines: miners, ref_emb, CrossBatchMemory, reducers."""

from __future__ import annotations

import pytest
import torch
from loss_references import fdp_reference
from pytorch_metric_learning import distances, miners, reducers, regularizers
from pytorch_metric_learning.losses import BaseMetricLossFunction

from finereid.errors import ConfigError
from finereid.losses import CrossBatchMemory, FDPLoss

LABELS = torch.arange(4).repeat_interleave(3)


def _features(seed: int, n: int = 12, dim: int = 6) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, dim, generator=gen, dtype=torch.float64).requires_grad_()


def test_is_a_pml_loss():
    assert isinstance(FDPLoss(), BaseMetricLossFunction)


@pytest.mark.parametrize(
    "miner",
    [miners.MultiSimilarityMiner(epsilon=0.3), miners.TripletMarginMiner(margin=0.5, type_of_triplets="all")],
    ids=["pair-miner", "triplet-miner"],
)
def test_miner_indices_restrict_the_pairs(miner):
    features = _features(0)
    indices = miner(features, LABELS)
    pairs = indices if len(indices) == 4 else (indices[0], indices[1], indices[0], indices[2])
    value = FDPLoss()(features, LABELS, indices)
    expected = fdp_reference(features, LABELS, pairs=pairs)
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)
    mined = {(int(a), int(b)) for a, b in zip(pairs[0], pairs[1], strict=True)}
    mined |= {(int(a), int(n)) for a, n in zip(pairs[2], pairs[3], strict=True)}
    assert 0 < len(mined) < len(LABELS) * (len(LABELS) - 1)  # the miner did drop pairs


def test_an_anchor_with_one_positive_and_one_negative_pair_counts():
    # PML's GenericPairLoss returns zero for <= 1 pair of each kind; FDP keeps that valid anchor.
    features = _features(1)
    pairs = (torch.tensor([0]), torch.tensor([1]), torch.tensor([0]), torch.tensor([5]))
    value = FDPLoss()(features, LABELS, pairs)
    assert value.item() > 0
    torch.testing.assert_close(value, fdp_reference(features, LABELS, pairs=pairs), rtol=1e-6, atol=1e-6)


def test_ref_emb_uses_the_reference_set_as_candidates():
    features, ref = _features(2, n=6), _features(3, n=10)
    labels, ref_labels = torch.tensor([0, 0, 1, 2, 3, 9]), torch.tensor([0, 1, 1, 2, 2, 3, 3, 0, 4, 4])
    value = FDPLoss()(features, labels, ref_emb=ref, ref_labels=ref_labels)
    value.backward()
    assert ref.grad is not None and features.grad is not None
    expected = fdp_reference(features.detach(), labels, ref=ref.detach(), ref_labels=ref_labels)
    torch.testing.assert_close(value.detach(), expected, rtol=1e-6, atol=1e-6)


def test_cross_batch_memory_wraps_fdp():
    loss = FDPLoss()
    memory = CrossBatchMemory(loss, embedding_size=6, memory_size=20)
    batches = [(_features(10 + i), LABELS) for i in range(3)]
    for features, labels in batches[:2]:
        memory(features, labels).backward()
    features, labels = batches[2]
    value = memory(features, labels)
    # Queue of 20 after 36 rows: slots 16..19 hold batch 2 rows 0..3, slots 0..7 batch 3 rows 4..11, ...
    ref, ref_labels = memory.embedding_memory.double(), memory.label_memory
    own_slot = memory.curr_batch_idx
    torch.testing.assert_close(ref[own_slot], features.detach())
    a1, p, a2, n = [], [], [], []
    for i in range(len(features)):
        for j in range(len(ref)):
            if ref_labels[j] == labels[i] and j != own_slot[i]:
                a1.append(i), p.append(j)
            elif ref_labels[j] != labels[i]:
                a2.append(i), n.append(j)
    expected = fdp_reference(features, labels, ref=ref, ref_labels=ref_labels, pairs=(a1, p, a2, n))
    torch.testing.assert_close(value, expected.to(value.dtype), rtol=1e-6, atol=1e-6)


def test_reducer_regularizer_and_distance_arguments_reach_pml():
    features = _features(4)
    mean = FDPLoss()(features, LABELS)
    total = FDPLoss(reducer=reducers.SumReducer())(features, LABELS)
    torch.testing.assert_close(total, mean * len(LABELS))  # every anchor is valid here
    reg = regularizers.LpRegularizer()
    with_reg = FDPLoss(embedding_regularizer=reg, embedding_reg_weight=0.1)(features, LABELS)
    torch.testing.assert_close(with_reg, mean + 0.1 * features.norm(dim=1).mean())
    plain_lp = FDPLoss(distance=distances.LpDistance())(features, LABELS)
    torch.testing.assert_close(plain_lp, mean, rtol=1e-9, atol=1e-9)


def test_recordable_attributes():
    loss = FDPLoss(margin=0.8, beta=4.0, sigma=0.7)
    assert {"margin", "beta", "sigma"} <= set(loss._record_these)


@pytest.mark.parametrize(
    ("distance", "message"),
    [
        (distances.CosineSimilarity(), "similarity"),
        (distances.DotProductSimilarity(), "similarity"),
        (distances.LpDistance(normalize_embeddings=False), "normalize"),
        ("euclidean", "PML distance"),
    ],
)
def test_bad_distances_are_rejected(distance, message):
    with pytest.raises(ConfigError, match=message) as info:
        FDPLoss(distance=distance)
    assert "\n" not in str(info.value)

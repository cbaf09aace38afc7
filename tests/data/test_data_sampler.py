"""RandomIdentitySampler: P x K composition, replacement, determinism, DDP sharding."""

from __future__ import annotations

from collections import Counter

import pytest

from finereid.data import RandomIdentitySampler
from finereid.errors import ConfigError

# 20 identities: pid p has 1 + (p % 7) images, so some have fewer than K = 4.
PIDS = [pid for pid in range(20) for _ in range(1 + pid % 7)]


def _batches(sampler: RandomIdentitySampler, epoch: int = 0) -> list[list[int]]:
    sampler.set_epoch(epoch)
    order = list(sampler)
    assert len(order) == len(sampler)
    return [order[i : i + sampler.batch_size] for i in range(0, len(order), sampler.batch_size)]


def test_batches_hold_p_distinct_identities_times_k_images() -> None:
    sampler = RandomIdentitySampler(PIDS, batch_size=16, num_instances=4, seed=3)
    batches = _batches(sampler)
    assert len(batches) == len(sampler) // 16 and len(batches) > 0
    for batch in batches:
        pids = [PIDS[i] for i in batch]
        groups = [pids[j : j + 4] for j in range(0, 16, 4)]
        assert all(len(set(g)) == 1 for g in groups)  # K consecutive images of one identity
        assert len({g[0] for g in groups}) == 4  # P distinct identities


def test_identities_with_few_images_are_sampled_with_replacement() -> None:
    sampler = RandomIdentitySampler(PIDS, batch_size=16, num_instances=4, seed=0)
    seen_small = False
    for batch in _batches(sampler):
        for j in range(0, 16, 4):
            chunk = batch[j : j + 4]
            pid = PIDS[chunk[0]]
            if PIDS.count(pid) < 4:
                seen_small = True
                assert len(set(chunk)) <= PIDS.count(pid)  # repeats are unavoidable
            else:
                assert len(set(chunk)) == 4  # no repeats when an identity has K images
    assert seen_small


def test_an_epoch_covers_every_identity_once_per_chunk() -> None:
    pids = [pid for pid in range(12) for _ in range(8)]  # 12 ids x 8 images: 2 chunks each
    sampler = RandomIdentitySampler(pids, batch_size=12, num_instances=4, seed=1)
    order = list(sampler)
    assert len(order) == 96
    assert Counter(pids[i] for i in order) == dict.fromkeys(range(12), 8)
    assert sorted(order) == list(range(96))  # every image exactly once


def test_same_seed_and_epoch_same_order_different_epoch_or_seed_differs() -> None:
    a = RandomIdentitySampler(PIDS, 16, 4, seed=5)
    b = RandomIdentitySampler(PIDS, 16, 4, seed=5)
    assert _batches(a, 2) == _batches(b, 2)
    assert _batches(a, 2) != _batches(a, 3)
    assert _batches(a, 2) != _batches(RandomIdentitySampler(PIDS, 16, 4, seed=6), 2)


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_get_disjoint_identities_and_equal_batch_counts(world_size: int) -> None:
    pids = [pid for pid in range(30) for _ in range(2 + pid % 5)]
    samplers = [
        RandomIdentitySampler(pids, 8, 4, seed=9, rank=r, world_size=world_size) for r in range(world_size)
    ]
    for epoch in (0, 1):
        shares = []
        for sampler in samplers:
            batches = _batches(sampler, epoch)
            assert len(batches) == len(samplers[0]) // 8 > 0
            shares.append({pids[i] for batch in batches for i in batch})
        for r in range(world_size):
            for q in range(r + 1, world_size):
                assert not shares[r] & shares[q]
    single = RandomIdentitySampler(pids, 8, 4, seed=9)
    assert len(samplers[0]) * world_size <= len(single)


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"batch_size \(10\) must be a positive multiple of num_instances"):
        RandomIdentitySampler(PIDS, 10, 4)
    with pytest.raises(ConfigError, match="needs at least P x world_size = 40 identities, got 20"):
        RandomIdentitySampler(PIDS, 16, 4, world_size=10, rank=0)
    with pytest.raises(ConfigError, match="rank must be in"):
        RandomIdentitySampler(PIDS, 16, 4, rank=2, world_size=2)
    with pytest.raises(ConfigError, match="seed must be non-negative"):
        RandomIdentitySampler(PIDS, 16, 4, seed=-1)

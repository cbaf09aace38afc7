"""Dataset-balanced sampler behaviour that mutants surviving benchmarks/mutation.py showed unguarded (#22).

Expected counts come from the documented rule (P // D identities of each dataset per batch, the P % D extra
ones dealt to the datasets in turn, in order of first appearance), dealt here by a plain round-robin.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from finereid.data import RandomIdentitySampler
from finereid.errors import ConfigError


def _samples(sizes: dict[str, int], images: int = 4) -> list[tuple[int, str]]:
    """(pid, dataset) per image: `sizes[name]` identities of `images` images each, pids offset per dataset."""
    samples, first = [], 0
    for name, count in sizes.items():
        samples += [(pid, name) for pid in range(first, first + count) for _ in range(images)]
        first += count
    return samples


def _sampler(samples: list[tuple[int, str]], p: int, k: int = 2, **kwargs) -> RandomIdentitySampler:
    """A balanced sampler of P identities x K images per batch over `samples`."""
    pids, datasets = [pid for pid, _ in samples], [name for _, name in samples]
    return RandomIdentitySampler(pids, p * k, k, datasets=datasets, **kwargs)


def _batch_counts(sampler: RandomIdentitySampler, samples: list[tuple[int, str]]) -> list[Counter]:
    """Identities per dataset in each batch (each identity's K images are consecutive)."""
    order = list(sampler)
    size, k = sampler.batch_size, sampler.num_instances
    assert len(order) == len(sampler) > 0
    counts = []
    for start in range(0, len(order), size):
        chunks = [order[i : i + k] for i in range(start, start + size, k)]
        assert all(len({samples[i][0] for i in chunk}) == 1 for chunk in chunks)  # K images of one pid
        assert len({samples[chunk[0]][0] for chunk in chunks}) == len(chunks)  # P distinct identities
        counts.append(Counter(samples[chunk[0]][1] for chunk in chunks))
    return counts


def _dealt(names: list[str], p: int, batches: int) -> list[Counter]:
    """Per-dataset counts of each batch: P // D of every dataset, the P % D extra slots dealt in turn."""
    turn = itertools.cycle(names)
    dealt = []
    for _ in range(batches):
        counts = Counter(dict.fromkeys(names, p // len(names)))
        for _ in range(p % len(names)):
            counts[next(turn)] += 1
        dealt.append(+counts)  # datasets that sit a batch out are not in its Counter
    return dealt


@pytest.mark.parametrize(("datasets", "p"), [(3, 5), (3, 2), (4, 6), (4, 3), (2, 3)])
def test_balanced_batches_deal_the_extra_identities_to_the_datasets_in_turn(datasets, p):
    # names not in sorted order: the turn follows the datasets' first appearance in the samples
    names = ["market", "duke", "msmt", "cuhk"][:datasets]
    samples = _samples(dict.fromkeys(names, 6))
    for seed in (0, 1):
        sampler = _sampler(samples, p, seed=seed)
        counts = _batch_counts(sampler, samples)
        assert len(counts) >= datasets  # the turn comes round at least once
        assert counts == _dealt(names, p, len(counts))


def test_each_dataset_needs_its_share_of_identities_on_every_rank():
    # P = 3 over 2 datasets: a batch takes up to 2 identities of each, so with 2 ranks every dataset
    # needs 2 x 2 = 4 identities (dealt 2 and 2); with 3, one rank would hold a single identity of it
    enough = _samples({"big": 12, "small": 4})
    for rank in range(2):
        sampler = _sampler(enough, 3, seed=4, rank=rank, world_size=2)
        counts = _batch_counts(sampler, enough)
        assert {c["small"] for c in counts} == {1, 2}
    short = _samples({"big": 12, "small": 3})
    with pytest.raises(ConfigError, match=r"needs at least 4 identities of each dataset .*; small has 3$"):
        _sampler(short, 3, rank=0, world_size=2)
    assert len(_sampler(short, 3)) > 0  # one process needs only 2 of each

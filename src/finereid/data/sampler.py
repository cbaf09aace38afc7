"""P x K identity sampler: each batch holds P identities with K images each, sharded by rank.

With `datasets` (the dataset of each sample) the P identities of a batch are split evenly over the
datasets, so a small source is not drowned by a large one in multi-source training.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from finereid.errors import ConfigError


class RandomIdentitySampler(Sampler[int]):
    """Yields dataset indices, batch_size at a time: P = batch_size // num_instances pids x K images.

    An epoch covers every pid's images once in chunks of K (the last partial chunk is dropped; a pid
    with fewer than K images is drawn with replacement, once). Under DDP the pids are shuffled
    identically on every rank and dealt out, so ranks see disjoint pids; every rank yields the same
    number of batches, `len(self) // batch_size`, fixed for all epochs. Same seed and epoch, same
    order. Call `set_epoch(epoch)` before each epoch (Lightning does).

    `datasets` balances the batches: batch b takes P // D identities of each of the D datasets, and one
    more from P % D of them in turn; a dataset whose pass is used up starts another (small datasets are
    seen more often). Without it (or with one dataset) the sampler is the plain P x K sampler.
    """

    def __init__(
        self,
        pids: Sequence[int],
        batch_size: int,
        num_instances: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        datasets: Sequence[Hashable] | None = None,
    ) -> None:
        if num_instances < 1 or batch_size < num_instances or batch_size % num_instances:
            raise ConfigError(
                f"batch_size ({batch_size}) must be a positive multiple of num_instances ({num_instances})"
            )
        if world_size < 1 or not 0 <= rank < world_size:
            raise ConfigError(f"rank must be in [0, world_size), got rank={rank} world_size={world_size}")
        if seed < 0:
            raise ConfigError(f"seed must be non-negative, got {seed}")
        self.index_of: dict[int, list[int]] = defaultdict(list)
        for index, pid in enumerate(pids):
            self.index_of[int(pid)].append(index)
        self.pids = sorted(self.index_of)
        self.groups = _group_pids(pids, datasets, self.pids)
        self.batch_size, self.num_instances = batch_size, num_instances
        self.num_pids_per_batch = batch_size // num_instances
        self.seed, self.rank, self.world_size, self.epoch = seed, rank, world_size, 0
        needed = self.num_pids_per_batch * world_size
        if len(self.pids) < needed:
            raise ConfigError(
                f"the P x K sampler needs at least P x world_size = {needed} identities, got {len(self.pids)}"
            )
        per_group = -(-self.num_pids_per_batch // len(self.groups)) * world_size
        for name, group in self.groups.items():
            if len(group) < per_group:
                raise ConfigError(
                    f"the dataset-balanced P x K sampler needs at least {per_group} identities of each "
                    f"dataset (P / datasets x world_size, rounded up); {name} has {len(group)}"
                )
        chunks = sum(max(1, len(self.index_of[p]) // num_instances) for p in self.pids)
        self.num_batches = chunks // needed

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose (seed, epoch)-determined order the next iteration yields."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_batches * self.batch_size

    def _chunks(self, pid: int, rng: np.random.Generator) -> list[list[int]]:
        """One pass over a pid's images in shuffled chunks of K (with replacement if it has fewer)."""
        indices = self.index_of[pid]
        k = self.num_instances
        if len(indices) < k:
            return [rng.choice(indices, size=k, replace=True).tolist()]
        shuffled = rng.permutation(indices).tolist()
        return [shuffled[i : i + k] for i in range(0, len(shuffled) - k + 1, k)]

    def _counts(self, batch: int) -> list[int]:
        """Identities each dataset gives to batch `batch`: P // D, one more for P % D datasets in turn."""
        count = len(self.groups)
        base, extra = divmod(self.num_pids_per_batch, count)
        lucky = {(batch * extra + j) % count for j in range(extra)}
        return [base + (g in lucky) for g in range(count)]

    def __iter__(self) -> Iterator[int]:
        shared = np.random.default_rng([self.seed, self.epoch])
        mine = [
            [g[i] for i in shared.permutation(len(g))[self.rank :: self.world_size]]
            for g in self.groups.values()
        ]
        rng = np.random.default_rng([self.seed, self.epoch, self.rank + 1])
        pending: dict[int, list[list[int]]] = {pid: [] for pids in mine for pid in pids}
        for batch in range(self.num_batches):
            for my_pids, count in zip(mine, self._counts(batch), strict=True):
                if count == 0:  # fewer identities per batch than datasets: this one sits this batch out
                    continue
                available = [pid for pid in my_pids if pending[pid]]
                if len(available) < count:  # this rank's pass (over this dataset) is used up: start another
                    for pid in my_pids:
                        pending[pid].extend(self._chunks(pid, rng))
                    available = my_pids
                weights = np.array([len(pending[pid]) for pid in available], dtype=np.float64)
                chosen = rng.choice(len(available), size=count, replace=False, p=weights / weights.sum())
                for position in chosen:
                    yield from pending[available[position]].pop()


def _group_pids(
    pids: Sequence[int], datasets: Sequence[Hashable] | None, sorted_pids: list[int]
) -> dict[Hashable, list[int]]:
    """The sorted pids of each dataset, datasets in order of first appearance (one group without datasets)."""
    if datasets is None:
        return {"all": sorted_pids}
    if len(datasets) != len(pids):
        raise ConfigError(
            f"datasets must give one dataset per sample: {len(datasets)} for {len(pids)} samples"
        )
    groups: dict[Hashable, set[int]] = {}
    owner: dict[int, Hashable] = {}
    for pid, name in zip(pids, datasets, strict=True):
        if owner.setdefault(int(pid), name) != name:
            raise ConfigError(
                f"pid {int(pid)} belongs to two datasets ({owner[int(pid)]}, {name}); offset the pids"
            )
        groups.setdefault(name, set()).add(int(pid))
    return {name: sorted(group) for name, group in groups.items()}

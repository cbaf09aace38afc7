"""P x K identity sampler: each batch holds P identities with K images each, sharded by rank."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

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
    """

    def __init__(
        self,
        pids: Sequence[int],
        batch_size: int,
        num_instances: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
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
        self.batch_size, self.num_instances = batch_size, num_instances
        self.num_pids_per_batch = batch_size // num_instances
        self.seed, self.rank, self.world_size, self.epoch = seed, rank, world_size, 0
        needed = self.num_pids_per_batch * world_size
        if len(self.pids) < needed:
            raise ConfigError(
                f"the P x K sampler needs at least P x world_size = {needed} identities, got {len(self.pids)}"
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

    def __iter__(self) -> Iterator[int]:
        shared = np.random.default_rng([self.seed, self.epoch])
        my_pids = [self.pids[i] for i in shared.permutation(len(self.pids))[self.rank :: self.world_size]]
        rng = np.random.default_rng([self.seed, self.epoch, self.rank + 1])
        pending: dict[int, list[list[int]]] = {pid: [] for pid in my_pids}
        for _ in range(self.num_batches):
            available = [pid for pid in my_pids if pending[pid]]
            if len(available) < self.num_pids_per_batch:  # this rank's pass is used up: start another
                for pid in my_pids:
                    pending[pid].extend(self._chunks(pid, rng))
                available = my_pids
            weights = np.array([len(pending[pid]) for pid in available], dtype=np.float64)
            chosen = rng.choice(
                len(available), size=self.num_pids_per_batch, replace=False, p=weights / weights.sum()
            )
            for position in chosen:
                yield from pending[available[position]].pop()

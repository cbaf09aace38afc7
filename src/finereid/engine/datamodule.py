"""ReID data for Lightning: P x K training batches sharded by rank, query + gallery for validation."""

from __future__ import annotations

import logging

import lightning.pytorch as pl
from torch.utils.data import DataLoader

from finereid.config import DataConfig
from finereid.data import (
    ImageRecord,
    ReIDDataset,
    build_dataset,
    build_test_loader,
    build_train_loader,
    subsample_identities,
    subsample_images,
)
from finereid.errors import ConfigError

log = logging.getLogger(__name__)


class ReIDDataModule(pl.LightningDataModule):
    """The `data` section of a config: P x K train loader per rank and a rank-sharded query + gallery loader.

    The Trainer must run with `use_distributed_sampler=False`: the identity sampler shards identities
    across ranks itself. The validation loader holds query then gallery records (`num_query` tells
    where the gallery starts); each rank reads every world_size-th record and its batches carry the
    records' global positions in `indices`, so ranks can be gathered and put back in order.
    """

    def __init__(self, data: DataConfig, seed: int = 0) -> None:
        super().__init__()
        if not data.root:
            raise ConfigError(f"data.root is not set: pass --set data.root=PATH (the {data.name} folder)")
        self.data = data
        self.name, self.root, self.options = data.name, data.root, dict(data.options)
        self.height, self.width = data.height, data.width
        self.transform_kwargs = {"flip_prob": data.flip_prob, "padding": data.padding,
                                 "erasing_prob": data.erasing_prob}  # fmt: skip
        self.seed = seed
        self.dataset: ReIDDataset | None = None
        self.train_records: list[ImageRecord] = []

    def setup(self, stage: str | None = None) -> None:
        """Parse the dataset once and select the training subset (same on every rank)."""
        if self.dataset is not None:
            return
        self.dataset = build_dataset(self.name, self.root, **self.options)
        records = self.dataset.train
        if self.data.train_id_fraction < 1.0:
            records = subsample_identities(records, self.data.train_id_fraction, seed=self.seed)
        if self.data.train_image_fraction < 1.0:
            records = subsample_images(records, self.data.train_image_fraction, seed=self.seed)
        self.train_records = list(records)
        log.info(
            "%s: training on %d identities / %d images; query %d, gallery %d",
            self.name,
            self.num_classes,
            len(self.train_records),
            self.num_query,
            len(self.dataset.gallery),
        )

    @property
    def num_classes(self) -> int:
        """Identities in the (possibly subsampled) training split: the classifier's size."""
        return len({r.pid for r in self.train_records})

    @property
    def num_query(self) -> int:
        """Query images; validation positions below this are queries, the rest gallery."""
        return len(self.dataset.query) if self.dataset is not None else 0

    def train_dataloader(self) -> DataLoader:
        """This rank's P x K loader, positioned at the trainer's current epoch (right after a resume too)."""
        self.setup("fit")
        rank, world_size = self._rank_and_world()
        loader = build_train_loader(
            self.train_records,
            self.height,
            self.width,
            batch_size=self.data.batch_size,
            num_instances=self.data.num_instances,
            num_workers=self.data.num_workers,
            seed=self.seed,
            rank=rank,
            world_size=world_size,
            **self.transform_kwargs,
        )
        # Lightning creates the first iterator before it calls set_epoch: set the epoch now.
        loader.sampler.set_epoch(self.trainer.current_epoch if self.trainer is not None else 0)
        return loader

    def val_dataloader(self) -> DataLoader:
        """Every world_size-th record of query + gallery, with global positions in the batches' indices."""
        self.setup("validate")
        rank, world_size = self._rank_and_world()
        records = self.dataset.query + self.dataset.gallery
        loader = build_test_loader(
            records[rank::world_size],
            self.height,
            self.width,
            batch_size=self.data.test_batch_size,
            num_workers=self.data.num_workers,
        )
        return _GlobalIndices(loader, rank, world_size) if world_size > 1 else loader

    def _rank_and_world(self) -> tuple[int, int]:
        """(global rank, world size) from the attached trainer; (0, 1) without one."""
        if self.trainer is None:
            return 0, 1
        return self.trainer.global_rank, self.trainer.world_size


class _GlobalIndices:
    """Iterable over a shard loader's batches with `indices` mapped back to positions in the full list."""

    def __init__(self, loader: DataLoader, rank: int, world_size: int) -> None:
        self.loader, self.rank, self.world_size = loader, rank, world_size

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            batch["indices"] = batch["indices"] * self.world_size + self.rank
            yield batch

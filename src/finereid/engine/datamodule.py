"""ReID data for Lightning: P x K training batches sharded by rank, query + gallery for validation.

Several training datasets are combined with offset pids and cameras (finereid.data.multi_source);
several validation targets give one validation loader each, in the order of `val_labels`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import lightning.pytorch as pl
from torch.utils.data import DataLoader

from finereid.config import DataConfig
from finereid.config_sources import DatasetSource, best_target, train_sources, val_sources
from finereid.data import (
    ImageRecord,
    ReIDDataset,
    SourcePart,
    build_dataset,
    build_test_loader,
    build_train_loader,
    camera_offsets,
    combine_sources,
    shift,
    sources_table,
    subsample_identities,
    subsample_images,
)
from finereid.errors import ConfigError, DatasetError
from finereid.runtime import is_rank_zero

log = logging.getLogger(__name__)


class ReIDDataModule(pl.LightningDataModule):
    """The `data` section of a config: P x K train loader per rank and rank-sharded query + gallery loaders.

    The Trainer must run with `use_distributed_sampler=False`: the identity sampler shards identities
    across ranks itself. Each validation loader holds one target's query then gallery records
    (`val_num_query[i]` tells where the gallery starts); each rank reads every world_size-th record and
    its batches carry the records' global positions in `indices`, so ranks can be gathered in order.
    `val_datasets`, `val_roots` and `best_val_dataset` are the trainer section's validation targets:
    by default the training datasets' own test splits, the first one picking best.ckpt.
    """

    def __init__(
        self,
        data: DataConfig,
        seed: int = 0,
        val_datasets: Sequence[str] = (),
        val_roots: Sequence[str] = (),
        best_val_dataset: str = "",
    ) -> None:
        super().__init__()
        if not data.root:
            names = data.name if isinstance(data.name, str) else ", ".join(data.name)
            raise ConfigError(f"data.root is not set: pass --set data.root=PATH (the folder of {names})")
        self.data = data
        self.sources = train_sources(data.name, data.root, data.options)
        self.targets = val_sources(data.name, data.root, data.options, val_datasets, val_roots)
        self.best_index = best_target(self.targets, best_val_dataset)
        self.named_targets = bool(val_datasets) or len(self.sources) > 1  # metrics per target name
        self.height, self.width = data.height, data.width
        self.transform_kwargs = {
            key: getattr(data, key)
            for key in ("flip_prob", "padding", "erasing_prob", "color_jitter_prob", "auto_augment",
                        "grayscale_prob", "patch_prob")
        }  # fmt: skip
        self.seed = seed
        self.datasets: dict[str, ReIDDataset] = {}  # by label
        self.parts: list[SourcePart] = []
        self.train_records: list[ImageRecord] = []
        self.val_records: list[list[ImageRecord]] = []  # per target: query + gallery

    def setup(self, stage: str | None = None) -> None:
        """Parse every dataset once, combine the training subsets, log per-dataset statistics."""
        if self.parts:
            return
        trained = {s.label for s in self.sources}
        for source in [*self.sources, *(t for t in self.targets if t.label not in trained)]:
            where = "data.name" if source.label in trained else "trainer.val_datasets"
            self.datasets[source.label] = _read(source, where)
        train = [self.datasets[s.label] for s in self.sources]
        offsets = camera_offsets(train)
        splits = [self._subset(dataset.train) for dataset in train]
        self.parts = combine_sources([s.label for s in self.sources], splits, offsets)
        self.train_records = [r for part in self.parts for r in part.records]
        camid_offset = {part.label: part.camid_offset for part in self.parts}
        for target in self.targets:
            dataset, offset = self.datasets[target.label], camid_offset.get(target.label, 0)
            self.val_records.append(shift(dataset.query, 0, offset) + shift(dataset.gallery, 0, offset))
        roots = {label: dataset.root for label, dataset in self.datasets.items()}
        sizes = {t.label: (len(self.datasets[t.label].query), len(self.datasets[t.label].gallery))
                 for t in self.targets}  # fmt: skip
        if is_rank_zero():  # every DDP process parses the same data: one table is enough
            log.info(
                "training on %d identities / %d images of %d dataset(s); validation on %s\n%s",
                self.num_classes, len(self.train_records), len(self.parts), ", ".join(self.val_labels),
                sources_table(self.parts, roots, sizes),
            )  # fmt: skip

    def _subset(self, records: Sequence[ImageRecord]) -> list[ImageRecord]:
        """One dataset's training split, reduced to the configured fractions (seeded)."""
        if self.data.train_id_fraction < 1.0:
            records = subsample_identities(records, self.data.train_id_fraction, seed=self.seed)
        if self.data.train_image_fraction < 1.0:
            records = subsample_images(records, self.data.train_image_fraction, seed=self.seed)
        return list(records)

    @property
    def dataset(self) -> ReIDDataset | None:
        """The (first) training dataset once parsed."""
        return self.datasets.get(self.sources[0].label)

    @property
    def num_classes(self) -> int:
        """Identities in the (possibly subsampled) training splits: the classifier's size."""
        return len({r.pid for r in self.train_records})

    @property
    def val_labels(self) -> list[str]:
        """The validation targets' labels, in the order of the validation loaders."""
        return [t.label for t in self.targets]

    @property
    def val_num_query(self) -> list[int]:
        """Query images of each target; validation positions below this are queries, the rest gallery."""
        return [len(self.datasets[t.label].query) if t.label in self.datasets else 0 for t in self.targets]

    @property
    def num_query(self) -> int:
        """Query images of the first validation target."""
        return self.val_num_query[0]

    def train_dataloader(self) -> DataLoader:
        """This rank's P x K loader, positioned at the trainer's current epoch (right after a resume too)."""
        self.setup("fit")
        rank, world_size = self._rank_and_world()
        balanced = self.data.sampler == "pk_balanced_datasets" and len(self.parts) > 1
        loader = build_train_loader(
            self.train_records,
            self.height,
            self.width,
            batch_size=self.data.batch_size,
            num_instances=self.data.num_instances,
            num_workers=self.data.num_workers,
            worker_nice=self.data.worker_nice,
            cache_images=self.data.cache_images,
            seed=self.seed,
            rank=rank,
            world_size=world_size,
            datasets=[part.label for part in self.parts for _ in part.records] if balanced else None,
            **self.transform_kwargs,
        )
        # Lightning creates the first iterator before it calls set_epoch: set the epoch now.
        loader.sampler.set_epoch(self.trainer.current_epoch if self.trainer is not None else 0)
        return loader

    def val_dataloader(self) -> DataLoader | list:
        """Per target, every world_size-th record of query + gallery, global positions in `indices`.

        One target gives one loader (as a single-dataset run always did), several a list of loaders.
        """
        self.setup("validate")
        rank, world_size = self._rank_and_world()
        loaders = []
        for records in self.val_records:
            loader = build_test_loader(
                records[rank::world_size],
                self.height,
                self.width,
                batch_size=self.data.test_batch_size,
                num_workers=self.data.num_workers,
            )
            loaders.append(_GlobalIndices(loader, rank, world_size) if world_size > 1 else loader)
        return loaders[0] if len(loaders) == 1 else loaders

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


def _read(source: DatasetSource, where: str) -> ReIDDataset:
    """Parse one dataset; a missing or broken one is a one-line error naming its config entry."""
    try:
        return build_dataset(source.name, source.root, **source.options)
    except (DatasetError, ConfigError) as exc:
        raise type(exc)(f"{where} {source.label}: {exc}") from None

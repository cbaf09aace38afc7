"""`finereid extract` on several processes (Lightning Fabric DDP): each rank embeds one contiguous shard.

Every rank lists the same records in the same order, embeds records[rank * S : (rank + 1) * S] (S = the
record count over the world size, rounded up), and the shards are gathered, padded to S rows, so that
rank 0 can drop the padding and the unreadable images and write one file in the original order: the
same file a single process writes. Several nodes work as for `finereid train` (NODE_RANK, MASTER_ADDR,
MASTER_PORT on each node); no shared file system is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from finereid.deploy.extract import EVAL_SPLITS, FeatureSet, feature_set, source_meta, source_records
from finereid.errors import ConfigError, DatasetError
from finereid.evaluation import LoadedModel, extract_features

logger = logging.getLogger(__name__)


def start_processes(devices: int, num_nodes: int = 1, device: str = "auto") -> Any:
    """A launched Fabric with `devices` processes per node: this process is one of them.

    On the launching process Lightning starts the other ranks by running the same command again.
    `device` is auto, cpu or cuda (each rank then takes its own GPU); a numbered GPU is an error.
    """
    for name, value in (("--devices", devices), ("--num-nodes", num_nodes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if device not in ("auto", "cpu", "cuda", "gpu"):
        raise ConfigError(f"--device {device} with several processes: use auto, cpu or cuda (one GPU a rank)")
    from lightning.fabric import Fabric
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    try:
        fabric = Fabric(accelerator=device, devices=devices, num_nodes=num_nodes, strategy="ddp")
        fabric.launch()
    except (MisconfigurationException, ValueError, RuntimeError) as exc:
        raise ConfigError(
            f"cannot start {devices} x {num_nodes} processes: {str(exc).splitlines()[0]}"
        ) from None
    return fabric


def embed_sharded(
    fabric: Any,
    source: str | Path,
    loaded: LoadedModel,
    splits: Sequence[str] = EVAL_SPLITS,
    dataset_options: dict[str, Any] | None = None,
    **extract_kwargs: Any,
) -> FeatureSet | None:
    """`embed_source` split over the ranks of `fabric`: the merged FeatureSet on rank 0, None elsewhere."""
    records, split_names, non_images = source_records(source, splits, dataset_options)
    rank, world = fabric.global_rank, fabric.world_size
    size = -(-len(records) // world)
    shard = list(range(rank * size, min((rank + 1) * size, len(records))))
    kwargs = {
        **extract_kwargs,
        "device": fabric.device,
        "progress": extract_kwargs.get("progress") and rank == 0,
    }
    feats, kept = _embed_shard(loaded, [records[i] for i in shard], kwargs)
    padded = torch.zeros(size, loaded.feature_dim, dtype=torch.float32)
    padded[: len(kept)] = torch.from_numpy(feats)
    index = torch.full((size,), -1, dtype=torch.int64)
    index[: len(kept)] = torch.as_tensor([shard[i] for i in kept], dtype=torch.int64)
    all_feats, all_index = (_gathered(part.to(fabric.device), world) for part in (padded, index))
    readable = all_index >= 0
    if not bool(readable.any()):
        raise DatasetError(f"none of the {len(records)} images could be read")
    if rank != 0:
        return None
    meta = {**source_meta(loaded, source, non_images, extract_kwargs), "num_processes": world}
    kept_index, order = torch.sort(all_index[readable])  # already in order: shards are contiguous
    return feature_set(records, split_names, all_feats[readable][order].numpy(), kept_index.tolist(), meta)


def _gathered(tensor: torch.Tensor, world: int) -> torch.Tensor:
    """Every rank's `tensor` (same shape on all), concatenated in rank order, on the CPU."""
    parts = [torch.empty_like(tensor) for _ in range(world)]
    torch.distributed.all_gather(parts, tensor)
    return torch.cat(parts).cpu()


def _embed_shard(loaded: LoadedModel, records: list, kwargs: dict[str, Any]) -> tuple[np.ndarray, list[int]]:
    """Features and readable indices of one shard; an empty or unreadable shard gives none (not an error)."""
    empty = np.zeros((0, loaded.feature_dim), dtype=np.float32), []
    if not records:
        return empty
    try:
        return extract_features(loaded.model, records, loaded.height, loaded.width, **kwargs)
    except DatasetError:
        logger.warning("none of the %d images of this process's shard could be read", len(records))
        return empty

"""Train and test loaders: batch layout, P x K, seeded augmentation, corrupt files across workers."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from data_fixture_trees import color_of, write_corrupt, write_image

from finereid.data import ImageRecord, build_test_loader, build_train_loader
from finereid.errors import DatasetError

H, W = 16, 8


def _records(tmp_path: Path, num_pids: int = 6, per_pid: int = 4) -> list[ImageRecord]:
    records = []
    for pid in range(num_pids):
        for k in range(per_pid):
            path = write_image(tmp_path / f"{pid:04d}_c{k % 2 + 1}_{k}.jpg", color_of(pid, k), size=(6, 12))
            records.append(ImageRecord(str(path), pid, k % 2))
    return records


def _train_batches(loader: torch.utils.data.DataLoader, epoch: int) -> list[dict]:
    loader.sampler.set_epoch(epoch)
    return list(loader)


def test_train_loader_batches(tmp_path: Path) -> None:
    loader = build_train_loader(_records(tmp_path), H, W, batch_size=8, num_instances=4, num_workers=0)
    batches = _train_batches(loader, 0)
    assert len(batches) == len(loader) == 3  # 6 ids x 1 chunk of 4 / (P=2)
    for batch in batches:
        assert batch["images"].shape == (8, 3, H, W) and batch["images"].dtype == torch.float32
        assert batch["pids"].dtype == torch.long and batch["camids"].dtype == torch.long
        pids = batch["pids"].tolist()
        assert len(set(pids[:4])) == 1 and len(set(pids[4:])) == 1 and pids[0] != pids[4]
        assert batch["indices"].dtype == torch.long and len(batch["paths"]) == 8
        assert batch["num_skipped"] == 0
    seen = sorted(i for b in batches for i in b["indices"].tolist())
    assert seen == list(range(24))


def test_augmentation_depends_on_seed_and_epoch_not_on_workers(tmp_path: Path) -> None:
    records = _records(tmp_path)
    kwargs = {"batch_size": 8, "num_instances": 4, "seed": 11}
    serial = build_train_loader(records, H, W, num_workers=0, **kwargs)
    parallel = build_train_loader(records, H, W, num_workers=2, **kwargs)
    torch.manual_seed(0)
    first = _train_batches(serial, 1)
    torch.manual_seed(99)  # the process RNG must not matter
    second = _train_batches(parallel, 1)
    for a, b in zip(first, second, strict=True):
        assert a["paths"] == b["paths"]
        assert torch.equal(a["images"], b["images"])
    other_epoch = _train_batches(serial, 2)
    assert not all(torch.equal(a["images"], b["images"]) for a, b in zip(first, other_epoch, strict=True))


def test_train_loader_replaces_a_corrupt_image_with_one_of_its_identity(tmp_path: Path) -> None:
    records = _records(tmp_path)
    write_corrupt(Path(records[5].path))  # pid 1, image 1
    loader = build_train_loader(records, H, W, batch_size=8, num_instances=4, num_workers=2, seed=0)
    for epoch in range(2):
        batches = _train_batches(loader, epoch)
        assert all(b["images"].shape[0] == 8 for b in batches)  # batches stay full
        assert sum(b["num_skipped"] for b in batches) == 1  # counted in the batch, across workers
        assert all(records[5].path not in b["paths"] for b in batches)
        pairs = [
            pair for b in batches for pair in zip(b["indices"].tolist(), b["pids"].tolist(), strict=True)
        ]
        pid1 = [i for i, p in pairs if p == 1]
        assert sorted(pid1) == [4, 6, 6, 7]  # image 5 replaced by the next image of pid 1


def test_test_loader_keeps_order_and_drops_unreadable(tmp_path: Path) -> None:
    records = _records(tmp_path, num_pids=3, per_pid=3)
    write_corrupt(Path(records[4].path))
    loader = build_test_loader(records, H, W, batch_size=4, num_workers=2)
    batches = list(loader)
    indices = [i for b in batches for i in b["indices"].tolist()]
    assert indices == [0, 1, 2, 3, 5, 6, 7, 8]
    assert [b["num_skipped"] for b in batches] == [0, 1, 0]
    assert [p for b in batches for p in b["pids"].tolist()] == [records[i].pid for i in indices]
    again = list(build_test_loader(records, H, W, batch_size=4, num_workers=0))
    assert all(torch.equal(a["images"], b["images"]) for a, b in zip(batches, again, strict=True))


def test_all_bad_batch_does_not_crash(tmp_path: Path) -> None:
    records = _records(tmp_path, num_pids=2, per_pid=2)
    for record in records[:2]:
        write_corrupt(Path(record.path))
    batches = list(build_test_loader(records, H, W, batch_size=2, num_workers=0))
    assert batches[0]["images"].shape == (0, 3, H, W) and batches[0]["num_skipped"] == 2
    assert batches[1]["images"].shape == (2, 3, H, W)


def test_skip_corrupt_false_fails_with_one_line_from_a_worker(tmp_path: Path) -> None:
    records = _records(tmp_path, num_pids=2, per_pid=2)
    bad = write_corrupt(Path(records[1].path))
    loader = build_test_loader(records, H, W, batch_size=2, num_workers=1, skip_corrupt=False)
    with pytest.raises(DatasetError) as exc:
        list(loader)
    assert str(exc.value).startswith(f"cannot read image {bad}")
    assert "\n" not in str(exc.value)

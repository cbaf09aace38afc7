"""Learning-rate schedule, atomic checkpoint files, cross-rank gathering and precision choice."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import torch

from finereid.engine import WarmupMultiStepLR, lr_factor
from finereid.engine.checkpoint import AtomicCheckpointIO
from finereid.engine.runner import resolve_precision
from finereid.engine.scoring import gather_ranks
from finereid.errors import CheckpointError, ConfigError
from finereid.files import atomic_save, load_checkpoint_file, remove_partial_files


@pytest.mark.parametrize(
    ("epoch", "factor"),
    [(0, 0.1), (5, 0.55), (9, 0.91), (10, 1.0), (39, 1.0), (40, 0.1), (69, 0.1), (70, 0.01), (119, 0.01)],
)
def test_lr_factor_is_warmup_then_steps(epoch: int, factor: float) -> None:
    assert lr_factor(epoch) == pytest.approx(factor)


def test_scheduler_follows_lr_factor_and_its_state_loads_weights_only(tmp_path: Path) -> None:
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=3.5e-4)
    schedule = WarmupMultiStepLR(optimizer, warmup_epochs=10, warmup_factor=0.1, milestones=[40, 70])
    seen = []
    for _ in range(80):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert seen == pytest.approx([3.5e-4 * lr_factor(e) for e in range(80)])
    torch.save(schedule.state_dict(), tmp_path / "s.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)
    fresh = WarmupMultiStepLR(torch.optim.Adam([param], lr=3.5e-4), milestones=[40, 70])
    fresh.load_state_dict(state)
    assert fresh.last_epoch == 80 and fresh.get_last_lr() == pytest.approx([3.5e-6])


def test_atomic_save_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "last.ckpt"
    atomic_save({"epoch": 1, "w": torch.ones(3)}, path)
    atomic_save({"epoch": 2, "w": torch.zeros(3)}, path)
    loaded = load_checkpoint_file(path)
    assert loaded["epoch"] == 2 and torch.equal(loaded["w"], torch.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_failed_save_keeps_the_old_file_and_leaves_no_partial(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "last.ckpt"
    atomic_save({"epoch": 1}, path)

    def broken_save(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(CheckpointError, match=r"cannot write checkpoint .*last\.ckpt: disk full") as info:
        AtomicCheckpointIO().save_checkpoint({"epoch": 2}, path)
    assert "\n" not in str(info.value)
    monkeypatch.undo()
    assert load_checkpoint_file(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


def test_full_disk_inside_torch_zip_writer_is_a_one_line_error(tmp_path: Path, monkeypatch) -> None:
    """torch raises RuntimeError ("unexpected pos ...") while handling the OSError of a full disk."""
    import errno

    def full_disk_save(obj, handle):
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] unexpected pos 1") from None

    monkeypatch.setattr(torch, "save", full_disk_save)
    with pytest.raises(CheckpointError, match="No space left on device"):
        atomic_save({"epoch": 1}, tmp_path / "best.ckpt")
    assert list(tmp_path.iterdir()) == []


def test_a_bug_in_the_saved_object_is_not_reported_as_a_disk_error(tmp_path: Path, monkeypatch) -> None:
    def bad_save(obj, handle):
        raise RuntimeError("cannot pickle")

    monkeypatch.setattr(torch, "save", bad_save)
    with pytest.raises(RuntimeError, match="cannot pickle"):
        atomic_save({"epoch": 1}, tmp_path / "best.ckpt")


def test_partial_files_of_a_killed_save_are_removed(tmp_path: Path) -> None:
    (tmp_path / ".last.ckpt.x1y2.partial").write_bytes(b"cut")
    (tmp_path / "last.ckpt").write_bytes(b"keep")
    assert remove_partial_files(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.ckpt"]


class Payload:
    """An arbitrary class: unpickling it would run code, so weights_only loading must refuse it."""


def test_loading_refuses_code_garbage_and_missing_files(tmp_path: Path) -> None:
    unsafe = tmp_path / "unsafe.ckpt"
    torch.save({"state_dict": {}, "extra": Payload()}, unsafe)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_checkpoint_file(unsafe)
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_bytes(pickle.dumps("text", protocol=2)[:5])
    with pytest.raises(CheckpointError):
        load_checkpoint_file(garbage)
    not_dict = tmp_path / "list.ckpt"
    torch.save([1, 2], not_dict)
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        load_checkpoint_file(not_dict)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint_file(tmp_path / "missing.ckpt")


def test_gather_ranks_concatenates_uneven_shards() -> None:
    shards = [
        {"feats": torch.arange(6.0).reshape(3, 2), "ids": torch.tensor([0, 2, 4])},
        {"feats": torch.arange(6.0, 10.0).reshape(2, 2), "ids": torch.tensor([1, 3])},
    ]

    def fake_all_gather(tensor: torch.Tensor) -> torch.Tensor:
        """What every rank receives: the same-shaped tensor of each rank, stacked (here rank 0 asks)."""
        if tensor.dim() == 0:
            return torch.tensor([3, 2])
        key = "feats" if tensor.dim() == 2 else "ids"
        padded = []
        for shard in shards:
            value = shard[key]
            block = value.new_zeros(tensor.shape)
            block[: value.shape[0]] = value
            padded.append(block)
        return torch.stack(padded)

    merged = gather_ranks(shards[0], fake_all_gather, world_size=2)
    assert merged["ids"].tolist() == [0, 2, 4, 1, 3]
    assert torch.equal(merged["feats"], torch.arange(10.0).reshape(5, 2))
    assert gather_ranks(shards[1], fake_all_gather, world_size=1) is not shards[1]


def test_precision_choice() -> None:
    assert resolve_precision("auto", cuda=False) == "32-true"
    assert resolve_precision("auto", cuda=True) == "16-mixed"
    assert resolve_precision("bf16-mixed", cuda=False) == "bf16-mixed"
    with pytest.raises(ConfigError, match="bf16-mixed"):
        resolve_precision("16-mixed", cuda=False)

"""The demo dataset: drawn into the cache once and reused, redrawn when incomplete, user folders kept."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from demo_helpers import TINY

import finereid.synth
from finereid.demo import complete_summary, default_cache_dir, prepare_dataset
from finereid.errors import DatasetError


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "finereid"


def _forbid_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args, **kwargs):
        raise AssertionError("the dataset should have been reused, not drawn again")

    monkeypatch.setattr(finereid.synth, "generate_dataset", fail)


def test_cache_is_drawn_once_then_reused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_cache_dir() == cache
    root, summary = prepare_dataset(TINY, seed=0)
    assert root == cache / f"synth-{TINY.dataset_key(0)}"
    assert summary["num_ids"] == 12 and summary["seed"] == 0
    assert complete_summary(root) == summary
    assert [p.name for p in cache.iterdir()] == [root.name]  # no partial folder left behind
    _forbid_generation(monkeypatch)
    assert prepare_dataset(TINY, seed=0) == (root, summary)


def test_other_seed_other_cache_folder(cache: Path) -> None:
    assert TINY.dataset_key(0) != TINY.dataset_key(1)
    first, _ = prepare_dataset(TINY, seed=0)
    second, summary = prepare_dataset(TINY, seed=1)
    assert first != second and summary["seed"] == 1


def test_incomplete_cache_is_drawn_again(cache: Path) -> None:
    root, summary = prepare_dataset(TINY, seed=0)
    victim = next((root / "query").iterdir())
    victim.unlink()
    assert complete_summary(root) is None
    again, summary_again = prepare_dataset(TINY, seed=0)
    assert again == root and summary_again == summary and victim.is_file()


def test_given_folder_is_drawn_into_when_new_and_used_when_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    root, summary = prepare_dataset(TINY, seed=2, data_dir=tmp_path / "new" / "synth")
    assert root == tmp_path / "new" / "synth" and summary["seed"] == 2
    _forbid_generation(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="finereid.demo.data"):
        assert prepare_dataset(TINY, seed=0, data_dir=root) == (root, summary)
    assert "seed=2" in caplog.text  # drawn with another seed than asked: said, but used


def test_given_folder_that_is_not_a_dataset_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"x")
    with pytest.raises(DatasetError, match="not empty and holds no complete synthetic dataset"):
        prepare_dataset(TINY, seed=0, data_dir=folder)
    assert [p.name for p in folder.iterdir()] == ["holiday.jpg"]
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(DatasetError, match="is not a directory"):
        prepare_dataset(TINY, seed=0, data_dir=a_file)


def test_unwritable_data_folder_is_one_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(DatasetError, match="cannot create data folder") as info:
        prepare_dataset(TINY, seed=0, data_dir=blocker / "synth")
    assert "\n" not in str(info.value)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(DatasetError, match="cannot create data folder"):
        prepare_dataset(TINY, seed=0)

"""Two training datasets, two validation targets: no shared pids, per-target metrics, exact resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from engine_helpers import TEST_IDS, TRAIN_IDS, finish_process, make_market, start_training, write_config

from finereid.config import load_config
from finereid.engine import ReIDDataModule
from finereid.errors import DatasetError
from finereid.files import load_checkpoint_file
from finereid.metrics import SCORE_KEYS
from helpers.configs import tiny_config

# Two datasets with the same pid numbers (both written by make_market), a third only for validation; every
# domain-generalisation switch on, so the exact-resume check covers the seeded augmentation too.
DATA = {"name": ["a=market1501", "b=market1501"], "sampler": "pk_balanced_datasets", "color_jitter_prob": 0.5,
        "auto_augment": "randaugment", "grayscale_prob": 0.2, "patch_prob": 0.5}  # fmt: skip
TRAINER = {"max_epochs": 2, "eval_every": 1, "val_datasets": ["a", "c=market1501"], "best_val_dataset": "c"}


@pytest.fixture(scope="module")
def datasets_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder holding three tiny Market trees a, b, c with the same pid numbers, drawn differently."""
    root = tmp_path_factory.mktemp("multi_source") / "data"
    for seed, label in enumerate("abc"):
        make_market(root / label, seed=seed)
    return root


@pytest.fixture(scope="module")
def runs(datasets_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An uninterrupted two-source run and the same run SIGKILLed in epoch 2, then resumed."""
    base = tmp_path_factory.mktemp("multi_runs")
    config = write_config(base / "multi.yaml", tiny_config(datasets_root, data=DATA, trainer=TRAINER))
    whole, killed = base / "whole", base / "killed"
    first, second = start_training(config, whole), start_training(config, killed, "--kill-at", "1", "1")
    finish_process(first)
    finish_process(second, expect=-9)
    finish_process(start_training(config, killed, "--resume"))
    return {"config": config, "whole": whole, "killed": killed}


def test_two_sources_train_one_classifier_without_shared_pids(runs: dict) -> None:
    hparams = load_checkpoint_file(runs["whole"] / "last.ckpt")["hyper_parameters"]
    assert hparams["num_classes"] == 2 * len(TRAIN_IDS)  # same pid numbers on disk, never merged
    metrics = json.loads((runs["whole"] / "metrics.json").read_text())
    assert metrics["train_images"] == 2 * 8 * 8  # 2 epochs x (16 ids x 1 chunk of K=4 / P=2) batches of 8


def test_each_target_is_scored_and_the_named_one_picks_best(runs: dict) -> None:
    metrics = json.loads((runs["whole"] / "metrics.json").read_text())
    assert metrics["val_datasets"] == ["a", "c"] and metrics["best_val_dataset"] == "c"
    for key in SCORE_KEYS:
        assert 0.0 <= metrics[f"a/{key}"] <= 1.0 and metrics[key] == metrics[f"c/{key}"], key
    assert metrics["num_valid_queries"] == len(TEST_IDS)
    header, *rows = next((runs["whole"] / "csv").glob("version_*/metrics.csv")).read_text().splitlines()
    columns = header.split(",")
    for name in ("val/a/mAP", "val/c/mAP", "val/c/rank1", "val/mAP"):
        assert name in columns, name
    values = [dict(zip(columns, row.split(","), strict=True)) for row in rows]
    c_map = [float(v["val/c/mAP"]) for v in values if v["val/c/mAP"]]
    assert len(c_map) == 2 and metrics["best_mAP"] == pytest.approx(max(c_map), abs=1e-6)
    assert metrics["best_epoch"] == 1 + c_map.index(max(c_map))


def test_a_killed_multi_source_run_resumes_exactly(runs: dict) -> None:
    whole = json.loads((runs["whole"] / "metrics.json").read_text())
    resumed = json.loads((runs["killed"] / "metrics.json").read_text())
    assert resumed["resumed"] is True
    for key in (*SCORE_KEYS, "cmc", "best_mAP", "best_epoch", "a/mAP", "c/mAP", "a/rank1"):
        assert resumed[key] == whole[key], key
    a = load_checkpoint_file(runs["whole"] / "last.ckpt")["state_dict"]
    b = load_checkpoint_file(runs["killed"] / "last.ckpt")["state_dict"]
    for name, tensor in a.items():
        assert torch.equal(tensor, b[name]), name


def test_camera_ids_are_offset_per_source_and_kept_in_its_validation(
    datasets_root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = load_config(None, [f"data.root={datasets_root}", "data.name=[a=market1501, b=market1501]",
                                "trainer.val_datasets=[b, c=market1501]"])  # fmt: skip
    module = ReIDDataModule(config.data, 0, config.trainer.val_datasets)
    with caplog.at_level("INFO", logger="finereid.engine.datamodule"):
        module.setup()
    table = caplog.text.splitlines()  # the per-dataset statistics printed at the start
    assert any(line.startswith("b ") and "| train + val |" in line for line in table)
    assert any(line.startswith("c ") and "| val " in line for line in table)
    cams = [{r.camid for r in part.records} for part in module.parts]
    assert cams == [{0, 1}, {2, 3}]  # make_market's cameras 1 and 2 of each, b's moved past a's
    assert {r.camid for r in module.val_records[0]} == {2, 3}  # b validates with its training camera ids
    assert {r.camid for r in module.val_records[1]} == {0, 1}  # c was not trained on: cameras as parsed
    assert module.val_labels == ["b", "c"] and module.val_num_query == [len(TEST_IDS)] * 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.name=[a=market1501, missing=market1501]"], "data.name missing: Market-1501 root not found"),
        (["trainer.val_datasets=[gone=market1501]"], "trainer.val_datasets gone: Market-1501 root not found"),
    ],
)
def test_a_dataset_missing_on_disk_is_a_one_line_error_naming_it(
    datasets_root: Path, overrides: list[str], message: str
) -> None:
    config = load_config(
        None, [f"data.root={datasets_root}", "data.name=[a=market1501, b=market1501]", *overrides]
    )
    module = ReIDDataModule(config.data, 0, config.trainer.val_datasets)
    with pytest.raises(DatasetError, match=message) as info:
        module.setup()
    assert "\n" not in str(info.value)

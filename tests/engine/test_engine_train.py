"""End-to-end training on a tiny Market-layout dataset: run dir, kill + resume, eval, DDP, NaN guard."""

from __future__ import annotations

import itertools
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from engine_helpers import finish_process, start_process, start_training, write_config

from finereid import cli
from finereid.engine import ReIDModule
from finereid.evaluation import evaluate_checkpoint, load_ranking
from finereid.files import load_checkpoint_file
from helpers.configs import tiny_config

METRIC_KEYS = ("rank1", "rank5", "rank10", "mAP", "mINP")


@pytest.fixture(scope="module")
def fdp_runs(market_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An uninterrupted 3-epoch FDP run and the same run SIGKILLed mid-epoch 2, then resumed."""
    base = tmp_path_factory.mktemp("fdp_runs")
    trainer = {"max_epochs": 3, "eval_every": 2}
    config = write_config(base / "tiny.yaml", tiny_config(market_root, trainer=trainer))
    whole, killed = base / "whole", base / "killed"
    first, second = start_training(config, whole), start_training(config, killed, "--kill-at", "1", "2")
    finish_process(first)
    finish_process(second, expect=-9)
    leftovers = sorted(p.name for p in killed.iterdir())
    finish_process(start_training(config, killed, "--resume"))
    return {"config": config, "whole": whole, "killed": killed, "leftovers": leftovers}


def test_run_directory_holds_config_logs_checkpoints_and_metrics(fdp_runs: dict[str, Path]) -> None:
    run = fdp_runs["whole"]
    for name in ("config.yaml", "last.ckpt", "best.ckpt", "metrics.json"):
        assert (run / name).is_file(), name
    assert list((run / "csv").glob("version_*/metrics.csv"))
    metrics = json.loads((run / "metrics.json").read_text())
    for key in METRIC_KEYS:
        assert 0.0 <= metrics[key] <= 1.0, key
    cmc = metrics["cmc"]
    assert all(a <= b for a, b in itertools.pairwise(cmc)) and cmc[-1] == 1.0
    assert metrics["rank1"] == cmc[0] and metrics["num_valid_queries"] == 6
    assert metrics["epochs"] == 3 and metrics["metric_loss"] == "fdp"
    assert metrics["wall_time_s"] > 0 and metrics["images_per_s"] > 0
    assert metrics["train_images"] == 3 * 4 * 8  # 3 epochs x 4 P x K batches of 8
    assert metrics["best_epoch"] in (2, 3) and metrics["best_mAP"] >= metrics["mAP"] - 1e-6


def test_csv_log_has_losses_and_validation_metrics(fdp_runs: dict[str, Path]) -> None:
    text = next((fdp_runs["whole"] / "csv").glob("version_*/metrics.csv")).read_text()
    header = text.splitlines()[0].split(",")
    for column in (
        "train/loss_step",
        "train/id_loss",
        "train/metric_loss",
        "train/center_loss",
        "train/lr",
        "val/mAP",
        "val/rank1",
        "val/mINP",
    ):
        assert column in header, column


def test_killed_and_resumed_run_ends_like_the_uninterrupted_one(fdp_runs: dict[str, Path]) -> None:
    assert "last.ckpt" in fdp_runs["leftovers"] and "metrics.json" not in fdp_runs["leftovers"]
    assert not [n for n in fdp_runs["leftovers"] if n.endswith(".partial")]
    whole = json.loads((fdp_runs["whole"] / "metrics.json").read_text())
    resumed = json.loads((fdp_runs["killed"] / "metrics.json").read_text())
    assert resumed["resumed"] is True and whole["resumed"] is False
    for key in (*METRIC_KEYS, "cmc", "best_mAP", "best_epoch"):
        assert resumed[key] == whole[key], key
    a = load_checkpoint_file(fdp_runs["whole"] / "last.ckpt")
    b = load_checkpoint_file(fdp_runs["killed"] / "last.ckpt")
    assert a["epoch"] == b["epoch"] and a["global_step"] == b["global_step"]
    for name, tensor in a["state_dict"].items():
        assert torch.equal(tensor, b["state_dict"][name]), name


def test_checkpoint_loads_with_weights_only_and_restores_alone(fdp_runs: dict[str, Path]) -> None:
    path = fdp_runs["whole"] / "best.ckpt"
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["hyper_parameters"]["config"]["model"]["name"] == "bot_resnet18"
    assert raw["hyper_parameters"]["num_classes"] == 8
    module = ReIDModule.load_from_checkpoint(path, map_location="cpu", weights_only=True)
    assert module.config.loss.metric_loss == "fdp" and module.config.data.height == 32
    assert set(module.hparams) == {"config", "num_classes"}  # the hand-off is the config, one to one
    for name, tensor in module.state_dict().items():
        assert torch.equal(tensor, raw["state_dict"][name]), name


def test_eval_command_matches_the_training_metrics(
    fdp_runs: dict[str, Path], market_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "eval.json"
    code = cli.main(
        [
            "eval",
            "--checkpoint",
            str(fdp_runs["whole"] / "last.ckpt"),
            "--dataset",
            "market1501",
            "--root",
            str(market_root),
            "--num-workers",
            "0",
            "--output",
            str(output),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "mAP" in printed and "rank1" in printed
    result = json.loads(output.read_text())
    final = json.loads((fdp_runs["whole"] / "metrics.json").read_text())
    for key in METRIC_KEYS:
        assert result[key] == pytest.approx(final[key], abs=1e-9), key
    assert result["num_query"] == 6 and result["num_gallery"] == 26
    ranking = load_ranking(fdp_runs["whole"] / "ranking_last.npz")  # last.ckpt's own ranked lists
    assert len(ranking.query_paths) == 6
    assert float(np.mean(ranking.average_precision)) == pytest.approx(result["mAP"], abs=1e-6)


def test_eval_of_best_and_last_keeps_both_results(
    fdp_runs: dict[str, Path], market_root: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(fdp_runs["whole"] / "last.ckpt", run / "last.ckpt")
    torch.save(_zeroed_neck(run / "last.ckpt"), run / "best.ckpt")  # another model: other metrics
    common = ["--dataset", "market1501", "--root", str(market_root), "--num-workers", "0"]
    for name in ("best", "last"):
        assert cli.main(["eval", "--checkpoint", str(run / f"{name}.ckpt"), *common]) == 0
    best, last = (json.loads((run / f"{n}_market1501.json").read_text()) for n in ("eval", "eval_last"))
    assert best["mAP"] != last["mAP"]
    for path, result in ((run / "ranking.npz", best), (run / "ranking_last.npz", last)):
        ranking = load_ranking(path)  # ranking.npz (best.ckpt) is what `finereid report` reads
        assert float(np.mean(ranking.average_precision)) == pytest.approx(result["mAP"], abs=1e-6), path


def _zeroed_neck(path: Path) -> dict:
    """The checkpoint at `path` with its BNNeck scale set to zero except one channel: a much worse model."""
    raw = torch.load(path, map_location="cpu", weights_only=True)
    key = next(k for k in raw["state_dict"] if k.endswith("bnneck.weight") or k.endswith("neck.bn.weight"))
    raw["state_dict"][key] = torch.zeros_like(raw["state_dict"][key])
    raw["state_dict"][key][0] = 1.0
    return raw


def test_eval_with_rerank_and_flip(fdp_runs: dict[str, Path], market_root: Path) -> None:
    plain = json.loads((fdp_runs["whole"] / "metrics.json").read_text())  # final weights, no options
    both = evaluate_checkpoint(
        fdp_runs["whole"] / "last.ckpt", "market1501", market_root, rerank=True, flip=True, num_workers=0
    )
    assert both["rerank"] and both["flip"]
    for key in METRIC_KEYS:
        assert 0.0 <= both[key] <= 1.0
    assert both["cmc"] != plain["cmc"] or both["mAP"] != plain["mAP"]  # the options change the ranking


def test_triplet_run_with_precision_and_subset_flags(market_root: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "triplet.yaml", tiny_config(market_root))
    run_dir = tmp_path / "run"
    code = cli.main(
        [
            "train",
            "--config",
            str(config),
            "--run-dir",
            str(run_dir),
            "--max-epochs",
            "1",
            "--precision",
            "bf16-mixed",
            "--train-id-fraction",
            "0.5",
            "--seed",
            "3",
            "--set",
            "loss.metric_loss=triplet",
            "loss.metric_loss_kwargs={margin: 0.3}",
            "loss.center_weight=0",
        ]
    )
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["metric_loss"] == "triplet" and metrics["epochs"] == 1 and metrics["seed"] == 3
    for key in METRIC_KEYS:
        assert 0.0 <= metrics[key] <= 1.0
    assert metrics["train_images"] == 2 * 8  # 4 of 8 ids, 1 chunk of K=4 each, P=2: 2 batches of 8
    hparams = load_checkpoint_file(run_dir / "last.ckpt")["hyper_parameters"]
    assert hparams["num_classes"] == 4 and hparams["config"]["loss"]["metric_loss"] == "triplet"
    saved = (run_dir / "config.yaml").read_text()
    for line in ("metric_loss: triplet", "max_epochs: 1", "precision: bf16-mixed", "train_id_fraction: 0.5"):
        assert line in saved, line


def test_existing_run_needs_resume(
    market_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "last.ckpt").write_bytes(b"not a checkpoint")
    config = write_config(tmp_path / "c.yaml", tiny_config(market_root))
    assert cli.main(["train", "--config", str(config), "--run-dir", str(run_dir)]) == 2
    assert "--resume" in capsys.readouterr().err
    assert cli.main(["train", "--config", str(config), "--run-dir", str(run_dir), "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "weights_only" in err


def test_nan_loss_stops_with_step_and_last_good_checkpoint(
    market_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # epoch 0 trains at 1e-3 (warm-up factor 1e-33 x 1e30) and saves last.ckpt; epoch 1 jumps to lr 1e30
    optim = {"lr": 1e30, "warmup_epochs": 1, "warmup_factor": 1e-33, "milestones": [5]}
    tiny = tiny_config(market_root, optim=optim, trainer={"max_epochs": 3})
    config = write_config(tmp_path / "nan.yaml", tiny)
    run_dir = tmp_path / "run"
    assert cli.main(["train", "--config", str(config), "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "non-finite loss at epoch 1" in err and f"last good checkpoint: {run_dir / 'last.ckpt'}" in err
    assert load_checkpoint_file(run_dir / "last.ckpt")["epoch"] == 0


def test_two_process_ddp_run_equals_single_process_evaluation(market_root: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path / "ddp.yaml", tiny_config(market_root))
    run_dir = tmp_path / "ddp"
    process = start_process(
        [
            sys.executable,
            "-m",
            "finereid.cli",
            "train",
            "--config",
            str(config),
            "--run-dir",
            str(run_dir),
            "--devices",
            "2",
        ]
    )
    output = finish_process(process)
    assert "Starting with 2 processes" in output or "MEMBER: 2/2" in output
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # each rank draws 2 of the 8 ids per batch: 2 batches x 8 images x 2 ranks per epoch
    assert metrics["train_images"] == 2 * (2 * 8 * 2)
    single = evaluate_checkpoint(run_dir / "last.ckpt", "market1501", market_root, num_workers=0)
    assert single["num_query"] == metrics["num_valid_queries"] == 6
    for key in METRIC_KEYS:
        assert metrics[key] == pytest.approx(single[key], abs=1e-9), key
    assert metrics["cmc"] == pytest.approx(single["cmc"], abs=1e-9)


def test_resume_from_the_cli_reuses_the_saved_config(fdp_runs: dict[str, Path], tmp_path: Path) -> None:
    run_dir = tmp_path / "finished"
    run_dir.mkdir()
    for name in ("config.yaml", "last.ckpt"):
        shutil.copy(fdp_runs["whole"] / name, run_dir / name)
    assert cli.main(["train", "--resume", "--run-dir", str(run_dir)]) == 0  # no epochs left: re-scores
    metrics = json.loads((run_dir / "metrics.json").read_text())
    final = json.loads((fdp_runs["whole"] / "metrics.json").read_text())
    assert metrics["resumed"] is True and metrics["train_images"] == 0
    for key in METRIC_KEYS:
        assert metrics[key] == pytest.approx(final[key], abs=1e-9), key

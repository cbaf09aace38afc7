"""Open-set use: verification metrics in eval and report, calibrate, verify, search --threshold, exports."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from finereid.cli import main
from finereid.deploy import Embedder, load_features
from finereid.deploy.export import sidecar_path
from finereid.evaluation import load_model, load_ranking
from finereid.metrics import evaluate_verification

TARGET = 0.1  # the tiny Market tree has a few hundred impostor pairs: 1e-3 would accept none of them


@pytest.fixture(scope="module")
def calibrated(checkpoint: Path, market_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the session checkpoint calibrated at FPR 0.1 on the tiny Market tree."""
    ckpt = tmp_path_factory.mktemp("calibrated") / "best.ckpt"
    shutil.copy(checkpoint, ckpt)
    argv = ["calibrate", "--checkpoint", str(ckpt), "--dataset", "market1501", "--root", str(market_root),
            "--target-fpr", str(TARGET), "--num-workers", "0", "--device", "cpu"]  # fmt: skip
    assert main(argv) == 0
    return ckpt


def test_calibration_is_the_threshold_at_the_target_fpr(calibrated, market_feats_file, capsys):
    calibration = load_model(calibrated).calibration
    assert (
        calibration is not None and calibration.target_fpr == TARGET and calibration.dataset == "market1501"
    )
    feats = load_features(market_feats_file)
    q, g = feats.for_role("query"), feats.for_role("gallery")
    pairs = evaluate_verification(q.features, g.features, q.pids, g.pids, q.camids, g.camids, "euclidean")
    tpr, fpr, threshold = pairs.at_fpr(TARGET)
    assert calibration.threshold == pytest.approx(threshold) and calibration.fpr == pytest.approx(fpr)
    assert fpr <= TARGET
    assert calibration.tpr == pytest.approx(tpr) and calibration.distance == "euclidean"


def test_dry_run_leaves_the_checkpoint_alone(checkpoint, market_root, tmp_path, capsys):
    ckpt = tmp_path / "best.ckpt"
    shutil.copy(checkpoint, ckpt)
    argv = ["calibrate", "--checkpoint", str(ckpt), "--root", str(market_root), "--target-fpr", "0.2",
            "--num-workers", "0", "--device", "cpu", "--dry-run"]  # fmt: skip
    assert main(argv) == 0
    assert "not written" in capsys.readouterr().out and ckpt.read_bytes() == checkpoint.read_bytes()
    assert load_model(ckpt).calibration is None
    assert main([*argv[:-3], "--target-fpr", "2"]) == 2  # the last --target-fpr wins: out of range
    assert "(0, 1)" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["torchscript", "onnx", "openvino"])
def test_exports_carry_the_calibration_and_the_metadata(calibrated, fmt):
    assert main(["export", "--checkpoint", str(calibrated), "--format", fmt, "--no-verify"]) == 0
    path = {"torchscript": "best.torchscript", "onnx": "best.onnx", "openvino": "best_openvino_model"}[fmt]
    embedder = Embedder.load(calibrated.parent / path)
    expected = load_model(calibrated)
    assert embedder.calibration == expected.calibration
    for key in ("model", "height", "width", "mean", "std", "distance", "feature_dim", "num_classes"):
        assert embedder.meta[key] == expected.describe()[key], key
    if fmt != "openvino":
        assert (
            json.loads(sidecar_path(calibrated.parent / path).read_text())["calibration"]["target_fpr"]
            == TARGET
        )


def _pair(market_root: Path, same: bool) -> list[str]:
    query = sorted((market_root / "query").glob("*.jpg"))[0]
    pid = query.name.split("_")[0]
    gallery = sorted((market_root / "bounding_box_test").glob("*.jpg"))
    other = next(
        p for p in gallery if (p.name.split("_")[0] == pid) == same and "c1" not in p.name.split("_")[1]
    )
    return [str(query), str(other)]


def test_verify_prints_the_distance_and_the_decision(calibrated, checkpoint, market_root, capsys):
    threshold = load_model(calibrated).calibration.threshold
    for same in (True, False):
        assert main(["verify", "--checkpoint", str(calibrated), *_pair(market_root, same)]) == 0
        line = capsys.readouterr().out.strip()
        distance = float(line.split()[1])
        assert f"calibrated at FPR {TARGET:g} on market1501" in line
        assert line.endswith("same person" if distance < threshold else "different people")
    assert main(["verify", "--checkpoint", str(checkpoint), *_pair(market_root, True)]) == 2
    err = capsys.readouterr().err
    assert "no calibrated threshold" in err and err.count("\n") == 1
    assert (
        main(["verify", "--checkpoint", str(checkpoint), "--threshold", "1e9", *_pair(market_root, False)])
        == 0
    )
    assert capsys.readouterr().out.strip().endswith("same person")  # everything is below a huge threshold


def test_search_marks_results_past_the_threshold(calibrated, checkpoint, market_root, tmp_path, capsys):
    threshold = load_model(calibrated).calibration.threshold
    out = tmp_path / "r.json"
    argv = ["search", "--checkpoint", str(calibrated), "--query", str(market_root / "query"), "--gallery",
            str(market_root / "bounding_box_test"), "--num-workers", "0", "--no-progress", "--top-k", "14",
            "--html", str(tmp_path / "s.html"), "--json", str(out)]  # fmt: skip
    assert main([*argv, "--threshold", "auto"]) == 0
    table = capsys.readouterr().out
    data = json.loads(out.read_text())
    flags = [(r["distance"], r["same_person"]) for q in data["queries"] for r in q["results"]]
    assert data["threshold"] == pytest.approx(threshold)
    assert all(same == (d < threshold) for d, same in flags) and {s for _, s in flags} == {True, False}
    assert table.count("past the threshold") == sum(not s for _, s in flags)
    assert "not the same person" in (tmp_path / "s.html").read_text()
    uncalibrated = [checkpoint if a == str(calibrated) else a for a in argv]
    assert main([*map(str, uncalibrated), "--threshold", "auto"]) == 2
    assert "needs a calibrated model" in capsys.readouterr().err
    assert main([*argv, "--threshold", "-1"]) == 2


def test_eval_and_report_show_verification(checkpoint, market_root, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(checkpoint, run / "best.ckpt")
    argv = ["eval", "--checkpoint", str(run / "best.ckpt"), "--root", str(market_root), "--num-workers", "0"]
    assert main([*argv, "--output", str(run / "eval.json")]) == 0
    assert "verification (" in capsys.readouterr().out
    stored = json.loads((run / "eval.json").read_text())["verification"]
    assert stored == load_ranking(run / "ranking.npz").meta["metrics"]["verification"]
    assert set(stored["tpr_at_fpr"]) == {"0.01", "0.001", "0.0001"} and 0 <= stored["eer"] <= 1
    assert main(["report", "--run", str(run), "--maps", "0"]) == 0
    page = (run / "report" / "index.html").read_text()
    assert "Same person? (verification)" in page and page.count("<svg") >= 3  # CMC, ROC, histograms
    assert f"{100 * stored['eer']:.2f} %" in page
    assert np.isfinite(stored["eer_threshold"])

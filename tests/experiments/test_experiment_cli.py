"""`finereid experiment`: dry-run listing, one-line errors, and a real two-cell grid end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from experiment_helpers import make_market, tiny_base, write_spec

from finereid.cli import main


@pytest.fixture
def two_cells(tmp_path: Path) -> Path:
    """A triplet-vs-FDP experiment file on a tiny Market tree (1 epoch of ResNet-18 at 32x16)."""
    root = make_market(tmp_path / "market")
    tiny_base(tmp_path / "base.yaml", root)
    return write_spec(tmp_path / "exp.yaml", {
        "name": "tiny", "base": "base.yaml", "grid": {"loss": ["triplet", "fdp"], "seed": [0]},
        "report": {"metrics": ["rank1", "mAP", "mINP"]},
    })  # fmt: skip


def test_dry_run_lists_cells_and_trains_nothing(two_cells, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["experiment", "run", str(two_cells), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "experiment tiny: 2 cells" in text
    assert re.search(r"1\s+pending\s+loss-triplet__seed-0", text)
    assert re.search(r"2\s+pending\s+loss-fdp__seed-0", text)
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "missing.yaml"], "experiment file not found: missing.yaml"),
        (["report", "nowhere"], "nowhere is not an experiment directory"),
    ],
)
def test_errors_are_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["experiment", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("finereid experiment: error:") and message in err and "\n" not in err


def test_bad_cell_is_reported_before_anything_runs(two_cells, tmp_path, capsys):
    spec = two_cells.read_text().replace("- fdp", "- fdpp")
    bad = tmp_path / "bad.yaml"
    bad.write_text(spec)
    assert main(["experiment", "run", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert "cell loss-fdpp__seed-0: unknown loss.metric_loss 'fdpp'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_missing_dataset_root_fails_up_front(two_cells, tmp_path, capsys):
    argv = ["experiment", "run", str(two_cells), "--out", str(tmp_path / "out")]
    assert main([*argv, "--set", "data.root=/no/data"]) == 2
    assert "dataset root not found: /no/data" in capsys.readouterr().err


def test_two_cell_grid_end_to_end_then_resume_skips(two_cells, tmp_path, capsys, one_torch_thread):
    out = tmp_path / "out"
    assert main(["experiment", "run", str(two_cells), "--out", str(out)]) == 0
    cells = [json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()]
    assert [c["id"] for c in cells] == ["loss-triplet__seed-0", "loss-fdp__seed-0"]
    for cell in cells:
        metrics = json.loads((out / cell["run_dir"] / "metrics.json").read_text())
        assert cell["metrics"] == metrics
        assert metrics["metric_loss"] == cell["labels"]["loss"] and metrics["epochs"] == 1
        assert 0.0 <= metrics["mAP"] <= 1.0 and len(metrics["cmc"]) >= 1
    # the report's table holds each cell's own numbers (one seed: no ±)
    report = (out / "report.md").read_text()
    results = report.split("## Results", 1)[1].split("##", 1)[0]
    for cell in cells:
        line = next(x for x in results.splitlines() if x.startswith(f"| {cell['labels']['loss']} |"))
        shown = [float(v.strip().strip("*")) for v in line.strip("|").split("|")[1:]]
        expected = [100 * cell["metrics"][k] for k in ("rank1", "mAP", "mINP")]
        assert shown == pytest.approx(expected, abs=0.051)
    assert (out / "plots" / "cmc.png").is_file() and (out / "plots" / "bars.png").is_file()
    stamps = [(out / c["run_dir"] / "metrics.json").stat().st_mtime_ns for c in cells]
    capsys.readouterr()
    # a second run finds both cells finished and trains nothing
    assert main(["experiment", "run", str(two_cells), "--out", str(out), "--dry-run"]) == 0
    assert capsys.readouterr().out.count(" done ") == 2
    assert main(["experiment", "run", str(two_cells), "--out", str(out)]) == 0
    assert [(out / c["run_dir"] / "metrics.json").stat().st_mtime_ns for c in cells] == stamps

"""The runner (with a fake trainer): every cell once, finished cells skipped, started cells resumed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from experiment_helpers import FakeTrainer, tiny_base, write_spec

from finereid.errors import ConfigError, FinereidError
from finereid.experiments import cell_status, load_spec, run_experiment


@pytest.fixture
def spec(tmp_path: Path):
    """A 2 losses x 2 seeds experiment."""
    tiny_base(tmp_path / "base.yaml", tmp_path / "data")
    grid = {"loss": ["triplet", "fdp"], "seed": [0, 1]}
    path = write_spec(tmp_path / "exp.yaml", {"base": "base.yaml", "grid": grid})
    return load_spec(path)


def read_cells(out: Path) -> list[dict]:
    """The lines of out/cells.jsonl."""
    return [json.loads(line) for line in (out / "cells.jsonl").read_text().splitlines()]


def test_runs_every_cell_once_and_records_axes_and_metrics(tmp_path, spec):
    out, fake = tmp_path / "out", FakeTrainer()
    records = run_experiment(spec, out, train=fake)
    ids = [c.id for c in spec.cells]
    assert fake.calls == [(cell_id, False) for cell_id in ids]
    lines = read_cells(out)
    assert [r["id"] for r in lines] == ids == [r["id"] for r in records]
    assert lines[3]["labels"] == {"loss": "fdp", "seed": "1"}
    assert lines[3]["values"] == {"loss": "fdp", "seed": 1}
    assert lines[3]["metrics"]["mAP"] == pytest.approx(0.53)
    assert lines[3]["run_dir"] == "runs/loss-fdp__seed-1"
    plan = json.loads((out / "experiment.json").read_text())
    assert [c["id"] for c in plan["cells"]] == ids
    assert plan["report"]["rows"] == ["loss"] and plan["axes"][1]["values"] == [0, 1]


def test_second_run_skips_finished_cells(tmp_path, spec):
    out = tmp_path / "out"
    run_experiment(spec, out, train=FakeTrainer())
    again = FakeTrainer()
    records = run_experiment(spec, out, train=again)
    assert again.calls == []
    assert len(records) == 4 and len(read_cells(out)) == 4


def test_interrupted_experiment_resumes(tmp_path, spec):
    out = tmp_path / "out"
    ids = [c.id for c in spec.cells]
    # first session: cells 0 and 1 finished, cell 2 was killed after an epoch (last.ckpt, no metrics)
    first = FakeTrainer()
    for cell in spec.cells[:2]:
        first(cell.config, out / "runs" / cell.id, False)
    started = out / "runs" / ids[2]
    spec.cells[2].config.save(_mkdir(started) / "config.yaml")
    (started / "last.ckpt").write_bytes(b"partial")
    assert [s.state for s in cell_status(spec, out)] == ["done", "done", "resume", "pending"]
    second = FakeTrainer()
    run_experiment(spec, out, train=second)
    assert second.calls == [(ids[2], True), (ids[3], False)]
    assert [r["id"] for r in read_cells(out)] == ids


def test_stale_cell_with_another_config_is_an_error(tmp_path, spec):
    out = tmp_path / "out"
    cell = spec.cells[0]
    FakeTrainer()(cell.config.replace(optim={"lr": 0.5}), out / "runs" / cell.id, False)
    fake = FakeTrainer()
    with pytest.raises(ConfigError, match=r"loss-triplet__seed-0: .* different optim.lr"):
        run_experiment(spec, out, train=fake)
    assert fake.calls == []  # checked before anything runs


def test_operational_keys_may_differ_on_resume(tmp_path, spec):
    out = tmp_path / "out"
    cell = spec.cells[0]
    FakeTrainer()(cell.config.replace(data={"num_workers": 3}), out / "runs" / cell.id, False)
    fake = FakeTrainer()
    run_experiment(spec, out, train=fake)
    assert [c for c, _ in fake.calls] == [c.id for c in spec.cells[1:]]


def test_failing_cell_stops_or_keeps_going(tmp_path, spec):
    with pytest.raises(FinereidError, match="cell loss-fdp__seed-0 failed: loss became NaN"):
        run_experiment(spec, tmp_path / "a", train=FakeTrainer(fail_on="loss-fdp__seed-0"))
    assert len(read_cells(tmp_path / "a")) == 2  # the finished cells are recorded
    fake = FakeTrainer(fail_on="loss-fdp__seed-0")
    with pytest.raises(FinereidError, match=r"1 cell\(s\) failed: loss-fdp__seed-0"):
        run_experiment(spec, tmp_path / "b", train=fake, keep_going=True)
    assert len(fake.calls) == 4
    assert [r["id"] for r in read_cells(tmp_path / "b")] == [
        "loss-triplet__seed-0",
        "loss-triplet__seed-1",
        "loss-fdp__seed-1",
    ]


def _mkdir(path: Path) -> Path:
    """Create a folder (and parents); return it."""
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("keep_last", [False, True])
def test_finished_cells_drop_last_ckpt_unless_asked_to_keep_it(tmp_path, spec, keep_last):
    out = tmp_path / "out"
    with pytest.raises(FinereidError, match="1 cell"):
        run_experiment(
            spec, out, train=FakeTrainer(fail_on="fdp__seed-1"), keep_going=True, keep_last=keep_last
        )
    for cell in spec.cells:
        run_dir = out / "runs" / cell.id
        finished = cell.id != "loss-fdp__seed-1"
        assert (run_dir / "best.ckpt").is_file() == finished
        # a failed cell keeps last.ckpt so it can resume; a finished one keeps it only with keep_last
        assert (run_dir / "last.ckpt").is_file() == (keep_last or not finished)

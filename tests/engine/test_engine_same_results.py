"""Speed work must not change results: short seeded runs compared to values stored from an earlier release.

The stored values (tests/fixtures/same_results.json) were written by this file run as a script,
`PYTHONPATH=tests OMP_NUM_THREADS=1 python tests/engine/test_engine_same_results.py --write`,
at the commit named in the file (before the training-throughput changes of issue #21). Each case
trains `tiny_config` on the engine's tiny Market tree in a one-thread subprocess and records the
final metrics, the per-epoch losses of the CSV log and a fingerprint of the final weights; the test
repeats the runs and compares.

The runs take FDPLoss's generic (PML) path: its fast path for `loss(features, labels)` computes the
same loss with a fused distance backward, equal to the generic path to rounding (1e-6 in float64,
tests/losses/test_fdp_fast_path.py) but not bit for bit, and a training run amplifies rounding
(docs/losses.md, "Speed"). Everything else of the engine (step, logging, loader, trainer flags) must
reproduce the stored numbers.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from engine_helpers import make_market, subprocess_env, write_config

from finereid.files import load_checkpoint_file
from helpers.configs import tiny_config

TESTS = Path(__file__).parents[1]
STORED = TESTS / "fixtures" / "same_results.json"
METRIC_KEYS = ("rank1", "rank5", "rank10", "mAP", "mINP", "best_mAP")
WRITE_COMMAND = "PYTHONPATH=tests OMP_NUM_THREADS=1 python tests/engine/test_engine_same_results.py --write"
LOSS_COLUMNS = ("train/loss_epoch", "train/id_loss", "train/metric_loss", "train/center_loss", "train/lr")
# fdp without loader workers; triplet through 2 workers with flip and erasing on (the seeded transforms)
CASES: dict[str, dict[str, dict[str, Any]]] = {
    "fdp_center_w0": {"trainer": {"max_epochs": 2, "eval_every": 2}},
    "triplet_center_w2": {
        "loss": {"metric_loss": "triplet"},
        "data": {"num_workers": 2, "flip_prob": 0.5, "erasing_prob": 0.5},
        "trainer": {"max_epochs": 2, "eval_every": 2, "seed": 3},
    },
}


def run_case(name: str, root: Path, workdir: Path) -> dict[str, Any]:
    """Train one case in a one-thread subprocess; its metrics, per-epoch losses and weight fingerprint."""
    config = write_config(workdir / f"{name}.yaml", tiny_config(root, **CASES[name]))
    run_dir = workdir / name
    env = subprocess_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(TESTS), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, __file__, "--train", str(config), str(run_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    rows = list(csv.DictReader(next((run_dir / "csv").glob("version_*/metrics.csv")).open()))
    losses = {
        column: [float(row[column]) for row in rows if row.get(column)]
        for column in LOSS_COLUMNS
        if any(row.get(column) for row in rows)
    }
    state = load_checkpoint_file(run_dir / "last.ckpt")["state_dict"]
    floats = [t.double() for t in state.values() if t.is_floating_point()]
    return {
        "metrics": {key: metrics[key] for key in METRIC_KEYS},
        "cmc": metrics["cmc"][:10],
        "losses": losses,
        "weights_sum": float(sum(t.sum() for t in floats)),
        "weights_abs_sum": float(sum(t.abs().sum() for t in floats)),
    }


def _close(actual: Any, expected: Any, where: str) -> None:
    """Nested equality of the recorded values, floats to 1e-6 (relative, absolute near zero)."""
    if isinstance(expected, dict):
        assert sorted(actual) == sorted(expected), where
        for key in expected:
            _close(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _close(a, e, f"{where}[{i}]")
    else:
        assert actual == pytest.approx(expected, rel=1e-6, abs=1e-6), where


@pytest.mark.parametrize("name", list(CASES))
def test_seeded_run_gives_the_stored_results(name: str, tmp_path: Path) -> None:
    stored = json.loads(STORED.read_text())
    root = make_market(tmp_path / "market1501")
    result = run_case(name, root, tmp_path)
    assert result["losses"]["train/loss_epoch"], "the CSV log lost its per-epoch loss"
    _close(result, stored["cases"][name], name)


def _write(workdir: Path) -> None:
    """Run every case and store its values with the commit and versions they were made with."""
    root = make_market(workdir / "market1501")
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    stored = {
        "made_with": {
            "commit": commit.stdout.strip(),
            "command": WRITE_COMMAND,
            "torch": torch.__version__,
        },
        "cases": {name: run_case(name, root, workdir) for name in CASES},
    }
    STORED.write_text(json.dumps(stored, indent=1) + "\n")


def _train(config: Path, run_dir: Path) -> None:
    """One case's run, as the stored values were made: one thread, FDPLoss by its generic path."""
    from finereid.config import load_config
    from finereid.engine import run_training
    from finereid.losses import FDPLoss

    torch.set_num_threads(1)
    if hasattr(FDPLoss, "_takes_fast_path"):  # absent before the fast path existed
        FDPLoss._takes_fast_path = lambda self, *args: False
    run_training(load_config(config), run_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="write tests/fixtures/same_results.json, or train one case")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/finereid_same_results"))
    parser.add_argument("--train", nargs=2, type=Path, metavar=("CONFIG", "RUN_DIR"))
    args = parser.parse_args()
    if args.train:
        _train(*args.train)
    elif args.write:
        _write(args.workdir)
    else:
        parser.error("pass --write or --train CONFIG RUN_DIR")

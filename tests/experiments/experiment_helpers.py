"""Tiny Market-1501 trees, experiment files and a fake trainer for the experiment tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from helpers.configs import tiny_config
from helpers.market import make_tiny_market

TRAIN_IDS = (3, 8, 12, 20, 33, 41)
TEST_IDS = (101, 102, 103, 104)


def make_market(root: Path, images_per_id: int = 4, seed: int = 0) -> Path:
    """The experiments' tiny Market tree: 6 train ids; 4 test ids with matches in cameras 2 and 3."""
    return make_tiny_market(
        root, TRAIN_IDS, TEST_IDS, images_per_id, gallery_cams=(2, 3), noise=10.0, seed=seed
    )


def tiny_base(path: Path, root: Path, **sections: dict[str, Any]) -> Path:
    """Write a training config for a seconds-long CPU run on `make_market` data; `sections` update it."""
    sections = {**sections, "trainer": {"max_epochs": 1, **sections.get("trainer", {})}}
    config = tiny_config(root, **sections)
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def write_spec(path: Path, spec: dict[str, Any]) -> Path:
    """Write an experiment file."""
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


class FakeTrainer:
    """Stands in for run_training: writes config.yaml, last.ckpt, best.ckpt and metrics.json."""

    def __init__(self, metrics_of: Any = None, fail_on: str | None = None) -> None:
        self.calls: list[tuple[str, bool]] = []
        self.metrics_of = metrics_of or (lambda config: default_metrics(config.trainer.seed))
        self.fail_on = fail_on

    def __call__(self, config: Any, run_dir: Path, resume: bool) -> dict[str, Any]:
        from finereid.errors import FinereidError

        run_dir = Path(run_dir)
        self.calls.append((run_dir.name, resume))
        run_dir.mkdir(parents=True, exist_ok=True)
        config.save(run_dir / "config.yaml")
        (run_dir / "last.ckpt").write_bytes(b"fake")
        if self.fail_on is not None and self.fail_on in run_dir.name:
            raise FinereidError("loss became NaN")
        (run_dir / "best.ckpt").write_bytes(b"fake best")
        metrics = self.metrics_of(config)
        (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
        return metrics


def default_metrics(seed: int, shift: float = 0.0) -> dict[str, Any]:
    """Plausible metrics that vary with the seed."""
    base = 0.5 + shift + 0.03 * seed
    cmc = [base + 0.1, base + 0.15, base + 0.2, base + 0.22, base + 0.25]
    return {
        "rank1": base + 0.1,
        "rank5": base + 0.2,
        "rank10": base + 0.25,
        "mAP": base,
        "mINP": base - 0.2,
        "cmc": cmc,
        "wall_time_s": 10.0 + seed,
    }

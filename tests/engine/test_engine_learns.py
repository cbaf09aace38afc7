"""Training learns: a short seeded run goes from chance-level retrieval to near-perfect, for FDP and triplet.

The data (`make_detail_market`) hide identity in a small white square under a random colour cast, so
the untrained network ranks by colour. Chance is the mAP of a random ranking of the same gallery
(computed here, about 0.25: 3 true matches among 24 images); the untrained strong baseline reaches
about 0.5 by picking up the square a little. The test asks a trained model for mAP >= 0.85, at least
0.3 above the untrained one and 0.55 above chance: a run that does not learn cannot pass.
"""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import pytest

from finereid.config import config_from_dict
from finereid.data import build_dataset
from finereid.engine import ReIDModule, run_training
from finereid.evaluation import LoadedModel, evaluate_model
from helpers.configs import tiny_config
from helpers.market import make_detail_market

EPOCHS = 8


@pytest.fixture(scope="module")
def detail_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 identities told apart only by where a small square is."""
    return make_detail_market(tmp_path_factory.mktemp("detail") / "market1501")


def _config(root: Path, loss: str):
    return config_from_dict(
        tiny_config(
            root,
            data={"erasing_prob": 0.0, "padding": 0, "flip_prob": 0.0},  # augmentation would hide the square
            loss={"metric_loss": loss, "center_weight": 0.0},
            optim={"lr": 1e-3, "warmup_epochs": 0, "milestones": [1000]},
            trainer={"max_epochs": EPOCHS, "eval_every": EPOCHS, "seed": 0},
        )
    )


def _chance_map(root: Path, draws: int = 2000) -> float:
    """Mean AP of random gallery orders (market protocol: the gallery holds no same-camera matches)."""
    dataset = build_dataset("market1501", str(root))
    g_pids = np.array([r.pid for r in dataset.gallery])
    rng = np.random.default_rng(0)
    aps = []
    for query in dataset.query:
        for _ in range(draws // len(dataset.query)):
            hits = g_pids[rng.permutation(len(g_pids))] == query.pid
            ranks = np.flatnonzero(hits) + 1
            aps.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
    return float(np.mean(aps))


def _untrained_map(root: Path, loss: str) -> float:
    """mAP of the same seeded model before any training step."""
    config = _config(root, loss)
    pl.seed_everything(0, verbose=False)
    model = ReIDModule(config, 8).model.eval()
    loaded = LoadedModel(model, config.model.name, 8, 32, 16, model.mean, model.std, "cosine", root, config)
    return evaluate_model(loaded, build_dataset("market1501", str(root)), num_workers=0).metrics["mAP"]


@pytest.mark.parametrize("loss", ["fdp", "triplet"])
def test_a_short_run_learns_far_above_chance(loss, detail_root, tmp_path, one_torch_thread):
    chance, untrained = _chance_map(detail_root), _untrained_map(detail_root, loss)
    assert 0.15 < chance < 0.35 and untrained < 0.7  # the task is hard without learning
    trained = run_training(_config(detail_root, loss), tmp_path / "run")["mAP"]
    assert trained >= 0.85, (loss, chance, untrained, trained)
    assert trained >= untrained + 0.3 and trained >= chance + 0.55

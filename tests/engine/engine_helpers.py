"""The engine tests' tiny Market tree and config writer; also a subprocess entry point for killed runs.

As a script: `python engine_helpers.py CONFIG_YAML RUN_DIR [--resume] [--kill-at EPOCH BATCH]` trains
with `run_training`, optionally SIGKILLing itself at the start of batch BATCH of epoch EPOCH.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

TRAIN_IDS = (2, 7, 11, 15, 23, 31, 42, 57)
TEST_IDS = (101, 102, 103, 104, 105, 106)


def make_market(root: Path, images_per_id: int = 6, seed: int = 0) -> Path:
    """The engine tiny Market tree: 8 train ids; 6 test ids, 3 other-camera matches and 1 same-camera each."""
    from helpers.market import make_tiny_market  # here, not at the top: this file also runs as a script

    return make_tiny_market(
        root, TRAIN_IDS, TEST_IDS, images_per_id, gallery_cams=(2, 2, 2, 1), noise=12.0, seed=seed
    )


def subprocess_env() -> dict[str, str]:
    """Environment for child trainings: one thread each (2 shared cores), the src tree importable."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    for name in ("LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


HELPER = Path(__file__)


def start_process(command: list[str]) -> subprocess.Popen:
    """Start a subprocess in its own process group (so a hung DDP pair can be killed whole)."""
    return subprocess.Popen(
        command,
        env=subprocess_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def start_training(config: Path, run_dir: Path, *extra: str) -> subprocess.Popen:
    """Start run_training (this file as a script: --resume, --kill-at EPOCH BATCH) in a subprocess."""
    return start_process([sys.executable, str(HELPER), str(config), str(run_dir), *extra])


def finish_process(process: subprocess.Popen, expect: int = 0) -> str:
    """Wait for a training subprocess and check its exit code (-9: killed by SIGKILL); return its output."""
    import pytest

    try:
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"training subprocess timed out:\n{output[-4000:]}")
    assert process.returncode == expect, output[-4000:]
    return output


def write_config(path: Path, config: dict) -> Path:
    """Save a config dict as YAML through finereid's own writer (validated on the way)."""
    from finereid.config import config_from_dict

    config_from_dict(config).save(path)
    return path


def _main(argv: list[str]) -> int:
    """Train from a YAML config with run_training, optionally killing this process mid-epoch."""
    import lightning.pytorch as pl
    import torch

    from finereid.config import load_config
    from finereid.engine import run_training

    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("run_dir")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--kill-at", nargs=2, type=int, metavar=("EPOCH", "BATCH"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    class KillAt(pl.Callback):
        """SIGKILL this process at the start of one training batch: no cleanup, no final save."""

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            if (trainer.current_epoch, batch_idx) == tuple(args.kill_at):
                os.kill(os.getpid(), signal.SIGKILL)

    callbacks = [KillAt()] if args.kill_at else []
    run_training(load_config(args.config), args.run_dir, resume=args.resume, callbacks=callbacks)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

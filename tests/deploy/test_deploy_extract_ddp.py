"""`finereid extract --devices 2`: two gloo processes on CPU write the file one process writes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest

from finereid.cli import main
from finereid.deploy import load_features


@pytest.fixture
def photos(tmp_path, market_root):
    """The tree's query and gallery JPEGs in nested folders, a text file and two corrupt .jpg files."""
    root = tmp_path / "photos"
    images = sorted((market_root / "query").iterdir()) + sorted((market_root / "bounding_box_test").iterdir())
    for i, path in enumerate(images):
        target = root / ("a" if i % 3 else "b/c") / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    (root / "notes.txt").write_text("not an image")
    (root / "a" / "0000_broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")  # first in rank 0's shard
    (root / "b" / "zz_broken.jpg").write_bytes(b"\xff\xd8 not a jpeg either")
    return root


def _extract_two_processes(argv: list[str]) -> str:
    """Run `finereid extract ... --devices 2` in a subprocess (Lightning starts the second rank)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    for name in ("RANK", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    command = [sys.executable, "-m", "finereid.cli", "extract", *argv, "--devices", "2", "--device", "cpu"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the whole group: a hung rank too
        output, _ = process.communicate()
        pytest.fail(f"extraction timed out:\n{output[-4000:]}")
    assert process.returncode == 0, output[-4000:]
    return output


def test_two_processes_write_the_single_process_file(checkpoint, photos, tmp_path, capsys):
    common = ["--checkpoint", str(checkpoint), "--images", str(photos), "--num-workers", "0", "--no-progress"]
    assert main(["extract", *common, "--out", str(tmp_path / "one.npz")]) == 0
    output = _extract_two_processes([*common, "--out", str(tmp_path / "two.npz")])
    assert output.count("features of dimension 512 ->") == 1  # only rank 0 writes and reports
    assert "skipped 1 non-image file(s), 2 unreadable image(s)" in output
    one, two = load_features(tmp_path / "one.npz"), load_features(tmp_path / "two.npz")
    assert len(one) == 18 and list(two.paths) == list(one.paths)  # every readable image, in the same order
    np.testing.assert_allclose(two.features, one.features, rtol=0, atol=1e-5)
    assert two.meta.pop("num_processes") == 2
    assert two.meta == one.meta


@pytest.mark.slow  # a second 2-process run (~20 s); the folder test above covers the merge by default
def test_two_processes_keep_a_datasets_ids_and_splits(checkpoint, market_root, tmp_path):
    common = ["--checkpoint", str(checkpoint), "--images", f"market1501:{market_root}", "--num-workers", "0",
              "--no-progress", "--split", "gallery", "query"]  # fmt: skip
    assert main(["extract", *common, "--out", str(tmp_path / "one.npz")]) == 0
    _extract_two_processes([*common, "--out", str(tmp_path / "two.npz")])
    one, two = load_features(tmp_path / "one.npz"), load_features(tmp_path / "two.npz")
    for name in ("paths", "pids", "camids", "splits"):
        np.testing.assert_array_equal(getattr(two, name), getattr(one, name))
    assert list(one.splits).index("query") == 14  # the --split order is kept: gallery rows first
    np.testing.assert_allclose(two.features, one.features, rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--devices", "0"], "--devices must be a positive integer, got 0"),
        (["--devices", "2", "--num-nodes", "0"], "--num-nodes must be a positive integer, got 0"),
        (["--devices", "2", "--device", "cuda:1"], "--device cuda:1 with several processes"),
    ],
)
def test_bad_process_settings_are_one_line_errors(checkpoint, photos, tmp_path, capsys, flags, message):
    argv = [
        "extract",
        "--checkpoint",
        str(checkpoint),
        "--images",
        str(photos),
        "--out",
        str(tmp_path / "f.npz"),
    ]
    assert main([*argv, *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1

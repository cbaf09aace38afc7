"""Activation and embedding maps in `finereid report`: under its failures; skipped without grad-cam."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import pytest

from finereid.cli import main
from finereid.evaluation import evaluate_checkpoint, load_ranking
from finereid.explain import Explainer, explain_ranking, failure_queries, load_map_index

pytest.importorskip("pytorch_grad_cam")
pytest.importorskip("sklearn")


@pytest.fixture()
def run_dir(checkpoint: Path, market_root: Path, tmp_path: Path) -> Path:
    """A run folder with the checkpoint and its ranking.npz on the tiny Market tree."""
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(checkpoint, run / "best.ckpt")
    evaluate_checkpoint(
        run / "best.ckpt",
        "market1501",
        market_root,
        ranking_path=run / "ranking.npz",
        num_workers=0,
        device="cpu",
        top_k=5,
    )
    return run


def test_explain_ranking_maps_the_failures(run_dir: Path, tmp_path: Path) -> None:
    ranking = load_ranking(run_dir / "ranking.npz")
    queries = failure_queries(ranking, 10)
    assert queries and all(ranking.first_match[q] > 1 for q in queries)
    explainer = Explainer.from_checkpoint(run_dir / "best.ckpt")
    index_path = explain_ranking(explainer, ranking, queries, tmp_path / "maps", top_k=3)
    explainer.close()
    index, settings = load_map_index(index_path)
    assert set(index) == {str(ranking.query_paths[q]) for q in queries}
    assert settings["top_k"] == 3 and settings["layers"] == "cnn"
    for entry in index.values():
        assert len(entry.query_maps) == len(entry.hit_maps) == len(entry.flat) == 3
        assert all(Path(p).is_file() for p in entry.query_maps + entry.hit_maps)


def test_report_shows_maps_under_failures_and_an_embedding_map(run_dir: Path, capsys) -> None:
    assert main(["report", "--run", str(run_dir), "--maps", "2", "--device", "cpu"]) == 0
    page = (run_dir / "report" / "index.html").read_text()
    ranking = load_ranking(run_dir / "ranking.npz")
    mapped = min(2, int(ranking.failures.sum()))
    assert page.count('<div class="maps">') == 2 * mapped  # two rows per mapped failure
    assert page.count("maps/q") == 2 * mapped * 5  # a map per result in each row (top-5 lists)
    assert "<h2>Embedding map</h2>" in page and "<svg" in page.split("<h2>Embedding map</h2>")[1]
    assert f"Activation maps for the first {mapped} rank-1 failures" in page
    assert (run_dir / "report" / "maps" / "maps.json").is_file()


def test_report_without_grad_cam_logs_one_line(run_dir: Path, monkeypatch, caplog) -> None:
    monkeypatch.setitem(sys.modules, "pytorch_grad_cam", None)
    with caplog.at_level(logging.INFO, logger="finereid.commands.report"):
        assert main(["report", "--run", str(run_dir), "--device", "cpu"]) == 0
    lines = [r.getMessage() for r in caplog.records if "without activation maps" in r.getMessage()]
    assert lines == [
        "report without activation maps: activation maps need grad-cam: pip install 'finereid[explain]'"
    ]
    page = (run_dir / "report" / "index.html").read_text()
    assert '<div class="maps">' not in page and "Embedding map" not in page


def test_report_with_maps_off(run_dir: Path) -> None:
    assert main(["report", "--run", str(run_dir), "--maps", "0"]) == 0
    assert not (run_dir / "report" / "maps").exists()

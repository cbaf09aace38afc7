"""The HTML pages in a real headless Chromium from file://: query and image counts, no broken image."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil

import numpy as np
import pytest
from deploy_helpers import check_page

from finereid.cli import main
from finereid.config import load_config
from finereid.deploy import load_features, search_torch
from finereid.errors import FinereidError
from finereid.evaluation import load_ranking
from finereid.reports import write_run_report, write_search_html

TOP_K = 5


@pytest.fixture(scope="module")
def market_feats(market_feats_file):
    """Query + gallery features of the generated Market tree."""
    return load_features(market_feats_file)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, checkpoint, market_root):
    """A training run directory: best.ckpt, config.yaml naming the dataset, metrics.json; no ranking yet."""
    run = tmp_path_factory.mktemp("runs") / "fdp-market"
    run.mkdir()
    shutil.copy(checkpoint, run / "best.ckpt")
    load_config(
        None, ["data.name=market1501", f"data.root={market_root}", "data.height=64", "data.width=32"]
    ).save(run / "config.yaml")
    (run / "metrics.json").write_text(
        json.dumps(
            {"rank1": 0.25, "mAP": 0.3, "wall_time_s": 12.5, "cmc": [0.25, 0.5], "model": "bot_resnet18"}
        )
    )
    return run


def _search_page(feats, out, images):
    query, gallery = feats.for_role("query"), feats.for_role("gallery")
    result = search_torch(query.features, gallery.features, TOP_K)
    return write_search_html(out, result, query.paths, gallery.paths, query.pids, gallery.pids, images=images)


@pytest.mark.parametrize("images", ["embed", "link"])
def test_search_page_in_chromium(chromium, market_feats, tmp_path, images):
    page = _search_page(market_feats, tmp_path / "elsewhere" / "search.html", images)
    seen = check_page(page, tmp_path)
    assert seen["queries"] == 4 and seen["hits"] == 4 * TOP_K
    assert seen["images"] == 4 + 4 * TOP_K and seen["broken"] == 0 and seen["incomplete"] == 0
    assert seen["green"] + seen["red"] == 4 * TOP_K  # labels known on both sides: every hit coloured
    sources = re.findall(r'<img[^>]* src="([^"]*)"', page.read_text())
    if images == "embed":  # self-contained: nothing outside the file
        assert all(s.startswith("data:image/jpeg;base64,") for s in sources)
    else:
        assert all(s.startswith("../") and not s.startswith("/") for s in sources)


def test_missing_images_become_placeholders_not_broken_images(chromium, market_feats, tmp_path):
    feats = market_feats.select(np.ones(len(market_feats), dtype=bool))
    gone = tmp_path / "gone.jpg"
    shutil.copy(feats.paths[0], gone)
    feats.paths = feats.paths.astype(object)
    feats.paths[0] = str(gone)  # the first query image
    gone.unlink()
    for images in ("link", "embed"):
        seen = check_page(_search_page(feats, tmp_path / f"{images}.html", images), tmp_path)
        assert seen["placeholders"] == 1 and seen["broken"] == 0 and seen["images"] == 4 + 4 * TOP_K - 1


def test_report_command_builds_ranking_and_page_that_chromium_shows(chromium, run_dir, tmp_path, capsys):
    assert main(["report", "--run", str(run_dir), "--num-workers", "0"]) == 0
    assert "report: file://" in capsys.readouterr().out
    ranking = load_ranking(run_dir / "ranking.npz")
    assert ranking.indices.shape == (4, 10) and ranking.meta["metrics"]["num_valid_queries"] == 4
    page = run_dir / "report" / "index.html"
    seen = check_page(page, tmp_path)
    # 4 queries, 10 hits each (13 gallery images left once each query's same-camera junk is dropped);
    # with the explain extra, two rows of 5 activation maps under each rank-1 failure
    maps = 2 * 5 * int(ranking.failures.sum()) if importlib.util.find_spec("pytorch_grad_cam") else 0
    assert seen["queries"] == 4 and seen["hits"] == 40 and seen["images"] == 44 + maps
    assert seen["broken"] == 0 and seen["incomplete"] == 0 and seen["svg"] == 1
    html = page.read_text()
    statuses = re.findall(r'<div class="query (\w+)"', html)
    assert statuses == sorted(statuses, key=lambda s: {"failure": 0, "correct": 1, "nomatch": 2}[s])
    assert statuses.count("failure") == int(ranking.failures.sum()) >= 1 and statuses[0] == "failure"
    assert "wall_time_s" in html and "12.5" in html  # the run's metrics.json


def test_report_limits_queries_and_embeds_thumbnails(chromium, run_dir, tmp_path):
    if not (run_dir / "ranking.npz").is_file():
        main(["report", "--run", str(run_dir), "--num-workers", "0"])
    page = write_run_report(run_dir, tmp_path / "small.html", images="embed", max_queries=2)
    seen = check_page(page, tmp_path)
    assert seen["queries"] == 2 and seen["images"] == 22 and seen["broken"] == 0
    assert "showing 2 of 4 queries" in page.read_text()


def test_report_errors_are_one_line(tmp_path, capsys):
    assert main(["report", "--run", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["report", "--run", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "has no ranking.npz, best.ckpt or last.ckpt" in err and err.count("\n") == 1
    with pytest.raises(FinereidError, match="max_queries"):
        write_run_report(tmp_path / "empty", ranking_path=tmp_path / "r.npz", max_queries=0)

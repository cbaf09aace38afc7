"""`finereid report` and `finereid eval` show the same numbers for the same checkpoint (one evaluation path).

The page is parsed as HTML (no browser needed): its metrics table, its CMC curve's presence, the queries
it lists and their order; the Chromium tests check what only a browser shows.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser

import pytest

from finereid.cli import main
from finereid.config import load_config
from finereid.metrics import SCORE_KEYS


class _Page(HTMLParser):
    """Collects the key/value table rows, the query rows' statuses and whether a CMC svg is present."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}
        self.statuses: list[str] = []
        self.svg = False
        self._cell: str | None = None
        self._key = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("th", "td"):
            self._cell = tag
        if tag == "svg":
            self.svg = True
        classes = (attrs.get("class") or "").split()
        if "query" in classes:
            self.statuses.append(next((c for c in classes if c != "query"), ""))

    def handle_endtag(self, tag):
        if tag in ("th", "td"):
            self._cell = None

    def handle_data(self, data):
        if self._cell == "th":
            self._key = data.strip()
        elif self._cell == "td" and self._key and self._key not in self.rows:
            self.rows[self._key] = data.strip()


@pytest.fixture(scope="module")
def run(tmp_path_factory, checkpoint, market_root):
    """A run directory with best.ckpt and the config.yaml that names its dataset."""
    run = tmp_path_factory.mktemp("same-numbers") / "run"
    run.mkdir()
    shutil.copy(checkpoint, run / "best.ckpt")
    load_config(None, [f"data.root={market_root}", "data.height=64", "data.width=32"]).save(
        run / "config.yaml"
    )
    return run


def _page(path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_report_rebuilt_from_the_checkpoint_shows_the_numbers_eval_printed(run, market_root, tmp_path):
    out = tmp_path / "eval.json"
    argv = ["eval", "--checkpoint", str(run / "best.ckpt"), "--dataset", "market1501",
            "--root", str(market_root), "--num-workers", "0", "--output", str(out)]  # fmt: skip
    assert main(argv) == 0
    evaluated = json.loads(out.read_text())
    eval_page = _page(_report(run, tmp_path / "from_eval.html", rebuild=False))
    rebuilt_page = _page(_report(run, tmp_path / "rebuilt.html", rebuild=True))
    for page in (eval_page, rebuilt_page):
        for key in SCORE_KEYS:
            assert page.rows[key] == f"{100 * evaluated[key]:.2f} %", key
        assert page.rows["num_valid_queries"] == str(evaluated["num_valid_queries"])
        assert page.svg and len(page.statuses) == evaluated["num_query"]
    assert "Recomputed" not in (tmp_path / "rebuilt.html").read_text()  # one table: nothing recomputed
    assert eval_page.statuses == rebuilt_page.statuses


def test_report_lists_failures_first(run, tmp_path):
    page = _page(_report(run, tmp_path / "page.html", rebuild=True))
    order = {"failure": 0, "correct": 1, "nomatch": 2}
    assert page.statuses == sorted(page.statuses, key=order.__getitem__)
    assert "failure" in page.statuses  # query 13 is drawn like pid 12


def _report(run, out, rebuild: bool):
    argv = ["report", "--run", str(run), "--out", str(out), "--num-workers", "0", "--device", "cpu"]
    assert main([*argv, *(["--rebuild"] if rebuild else [])]) == 0
    return out


def test_old_metric_flag_of_eval_still_works_with_a_warning(run, market_root, tmp_path):
    out = tmp_path / "old_flag.json"
    argv = ["eval", "--checkpoint", str(run / "best.ckpt"), "--root", str(market_root),
            "--metric", "euclidean", "--num-workers", "0", "--output", str(out)]  # fmt: skip
    with pytest.warns(FutureWarning, match="--metric is renamed --distance"):
        assert main(argv) == 0
    result = json.loads(out.read_text())
    assert result["distance"] == "euclidean" and result["dataset"] == "market1501"  # the checkpoint's dataset
    assert result["root"] == str(market_root)

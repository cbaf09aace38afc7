"""`finereid demo` end to end (with the tiny preset standing in for --quick), its report and its errors."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import shutil
from pathlib import Path

import pytest
from demo_helpers import TINY
from PIL import Image

from finereid import cli
from finereid.demo import PRESETS, run_demo
from finereid.errors import ConfigError

RATES = ("rank1", "rank5", "rank10", "mAP", "mINP")
# activation and embedding maps: made when the `explain` extra (grad-cam, scikit-learn) is installed, as in CI
MAP_FIGURES = ("maps_compare.png", "embedding.png") if importlib.util.find_spec("pytorch_grad_cam") else ()


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory, one_torch_thread_module: None
) -> tuple[Path, str, int]:
    """(report folder, printed output, exit code) of `finereid demo --quick` with the tiny preset."""
    base = tmp_path_factory.mktemp("demo")
    out = base / "report"
    stdout = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(stdout):
        mp.setitem(PRESETS, "quick", TINY)
        mp.setenv("XDG_CACHE_HOME", str(base / "cache"))
        code = cli.main(["demo", "--quick", "--out", str(out), "--seed", "1"])
    return out, stdout.getvalue(), code


def test_demo_writes_its_report(demo_run: tuple[Path, str, int]) -> None:
    out, _, code = demo_run
    assert code == 0
    for name in ("cmc.png", "ranked_triplet.png", "ranked_fdp.png", "ranked_compare.png", *MAP_FIGURES):
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width > 300, name
    with Image.open(out / "ranked_triplet.png") as a, Image.open(out / "ranked_fdp.png") as b:
        assert a.size == b.size  # the same queries, so the same rows
    for loss in ("triplet", "fdp"):
        assert (out / "runs" / loss / "last.ckpt").is_file()
        assert (out / "runs" / loss / "ranking.npz").is_file()


def test_results_json_holds_rates_in_unit_interval(demo_run: tuple[Path, str, int]) -> None:
    out = demo_run[0]
    results = json.loads((out / "results.json").read_text())
    assert results["preset"] == "tiny" and results["seed"] == 1 and results["losses"] == ["triplet", "fdp"]
    assert results["dataset"]["num_ids"] == 12 and results["dataset"]["seed"] == 1
    for loss, run in results["runs"].items():
        values = [run[k] for k in RATES] + run["cmc"]
        assert all(0.0 <= v <= 1.0 for v in values), (loss, values)
        assert run["cmc"] == sorted(run["cmc"]) and run["rank1"] == run["cmc"][0]
        assert run["rank5"] == run["cmc"][4] and run["train_time_s"] > 0
        trained = json.loads((Path(run["run_dir"]) / "metrics.json").read_text())
        assert trained["metric_loss"] == loss and trained["seed"] == 1
        assert run["mAP"] == pytest.approx(trained["mAP"], abs=1e-6)  # evaluation = the run's final scoring
    assert results["runs"]["triplet"]["metric_loss_kwargs"] == {"margin": 0.3}
    shown = results["shown_queries"]
    assert 0 < len(shown) <= 10 and len({q["query"] for q in shown}) == len(shown)
    assert {q["why"] for q in shown} <= {"differs", "random"}
    assert all(set(q["average_precision"]) == {"triplet", "fdp"} for q in shown)


def test_demo_prints_the_side_by_side_table(demo_run: tuple[Path, str, int]) -> None:
    out, printed, _ = demo_run
    results = json.loads((out / "results.json").read_text())
    lines = printed.splitlines()
    header = next(line for line in lines if line.startswith("loss"))
    assert [c.strip() for c in header.split("|")] == ["loss", "R1", "R5", "mAP", "mINP", "train time"]
    for loss, run in results["runs"].items():
        row = next(line for line in lines if line.startswith(loss))
        cells = [c.strip() for c in row.split("|")]
        assert cells[1:5] == [f"{100 * run[k]:.1f}" for k in ("rank1", "rank5", "mAP", "mINP")]
        assert cells[5].endswith(" s")
    assert f"report: {out}/" in printed


def test_rerun_replaces_its_own_runs(demo_run: tuple[Path, str, int], tmp_path: Path) -> None:
    out = tmp_path / "report"
    shutil.copytree(demo_run[0], out)
    data = json.loads((out / "results.json").read_text())["data_root"]
    results = run_demo(out, data_dir=data, seed=1, losses=["fdp"], settings=TINY, print_table=False)
    assert list(results["runs"]) == ["fdp"] and "ranked_compare" not in results["files"]
    assert (out / "runs" / "fdp" / "last.ckpt").is_file()
    foreign = out / "runs" / "fdp"
    shutil.rmtree(foreign)
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not a finereid demo run"):
        run_demo(out, data_dir=data, seed=1, losses=["fdp"], settings=TINY, print_table=False)
    assert (foreign / "notes.txt").is_file()


def _fails(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("finereid demo: error: ") and "\n" not in err
    return err


def test_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a_file = tmp_path / "report.txt"
    a_file.write_text("x")
    assert "exists and is not a directory" in _fails(["demo", "--out", str(a_file)], capsys)
    bad_data = ["demo", "--out", str(tmp_path / "out"), "--data", str(a_file / "synth")]
    assert "cannot create data folder" in _fails(bad_data, capsys)
    assert "--seed must be >= 0" in _fails(["demo", "--out", str(tmp_path / "o2"), "--seed", "-1"], capsys)


def test_bad_losses_fail_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(ConfigError, match=r"unknown loss.metric_loss 'nope'; valid: .*fdp"):
        run_demo(out, losses=["triplet", "nope"], settings=TINY)
    with pytest.raises(ConfigError, match="once"):
        run_demo(out, losses=["fdp", "fdp"], settings=TINY)
    with pytest.raises(ConfigError, match="at least one"):
        run_demo(out, losses=[], settings=TINY)
    assert not out.exists()


def test_maps_show_every_model_on_the_same_queries(demo_run: tuple[Path, str, int]) -> None:
    if not MAP_FIGURES:
        pytest.skip("grad-cam not installed (pip install 'finereid[explain]')")
    out = demo_run[0]
    results = json.loads((out / "results.json").read_text())
    assert results["files"]["maps_compare"] == "maps_compare.png"
    from finereid.explain import load_map_index

    indexes = {loss: load_map_index(out / "maps" / loss / "maps.json")[0] for loss in ("triplet", "fdp")}
    assert set(indexes["triplet"]) == set(indexes["fdp"]) and len(indexes["fdp"]) == 2
    shown = {q["query"] for q in results["shown_queries"]}
    assert set(indexes["fdp"]) <= shown  # maps of queries the ranked grids show


def test_demo_without_the_explain_extra_logs_one_line(
    demo_run: tuple[Path, str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    import logging
    import sys

    from finereid.demo.maps import write_maps
    from finereid.evaluation import load_ranking

    out = demo_run[0]
    results = json.loads((out / "results.json").read_text())
    rankings = {loss: load_ranking(out / "runs" / loss / "ranking.npz") for loss in ("triplet", "fdp")}
    monkeypatch.setitem(sys.modules, "pytorch_grad_cam", None)
    with caplog.at_level(logging.INFO, logger="finereid.demo.maps"):
        assert write_maps(tmp_path, rankings, [(0, "random")], Path(results["data_root"])) == {}
    assert [r.getMessage() for r in caplog.records] == [
        "demo without activation and embedding maps: activation maps need grad-cam: "
        "pip install 'finereid[explain]'"
    ]

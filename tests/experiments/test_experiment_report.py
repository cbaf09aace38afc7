"""Report tables against the cells' metrics (mean and std recomputed here), bold best, plots on disk."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from experiment_helpers import FakeTrainer, default_metrics, tiny_base, write_spec

from finereid.errors import ConfigError
from finereid.experiments import load_results, load_spec, run_experiment, write_report

SHIFT = {"triplet": 0.0, "fdp": 0.07, "circle": -0.05}
SPREAD = {"triplet": 1.0, "fdp": 0.4, "circle": 2.0}


def metrics_of(config) -> dict:
    """Metrics that depend on the loss, the fraction and the seed (irregularly, so std differs per row)."""
    seed = config.trainer.seed
    loss = config.loss.metric_loss
    shift = SHIFT[loss] + 0.1 * config.data.train_id_fraction + 0.011 * SPREAD[loss] * seed**2
    return default_metrics(seed, shift)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """A finished 3 losses x 2 fractions x 3 seeds experiment (fake training)."""
    tiny_base(tmp_path / "base.yaml", tmp_path / "data")
    grid = {"loss": ["triplet", "fdp", "circle"], "fraction": [0.5, 1.0], "seed": [0, 1, 2]}
    report = {"rows": ["loss"], "columns": ["fraction"], "metrics": ["rank1", "mAP"]}
    spec = load_spec(write_spec(tmp_path / "exp.yaml", {"base": "base.yaml", "grid": grid, "report": report}))
    run_experiment(spec, tmp_path / "out", train=FakeTrainer(metrics_of))
    return tmp_path / "out"


def parse_table(text: str) -> tuple[list[str], list[list[str]]]:
    """Header and body rows of the first Markdown table after '## Results'."""
    table = []
    for line in text.split("## Results", 1)[1].splitlines():
        if line.startswith("|"):
            table.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif table:
            break
    return table[0], table[2:]


def test_table_matches_cells_mean_and_sample_std(out):
    text = write_report(out).read_text()
    header, rows = parse_table(text)
    assert header == ["loss", "fraction=0.5 R1", "fraction=0.5 mAP", "fraction=1 R1", "fraction=1 mAP"]
    assert [r[0] for r in rows] == ["triplet", "fdp", "circle"]
    _, records = load_results(out)
    for row in rows:
        columns = [("0.5", "rank1"), ("0.5", "mAP"), ("1", "rank1"), ("1", "mAP")]
        for column, (fraction, metric) in enumerate(columns):
            values = np.array(
                [
                    r["metrics"][metric]
                    for r in records
                    if r["labels"]["loss"] == row[0] and r["labels"]["fraction"] == fraction
                ]
            )
            assert len(values) == 3
            match = re.fullmatch(r"(\*\*)?([\d.]+) ± ([\d.]+)(\*\*)?", row[column + 1])
            assert match, row[column + 1]
            assert float(match.group(2)) == pytest.approx(100 * values.mean(), abs=0.051)
            assert float(match.group(3)) == pytest.approx(100 * values.std(ddof=1), abs=0.051)
            assert bool(match.group(1)) == (row[0] == "fdp")  # fdp has the best mean in every column
    assert "over seed (3 run(s) per entry)" in text


def test_best_is_per_column(tmp_path):
    tiny_base(tmp_path / "base.yaml", tmp_path / "data")
    report = {"metrics": ["rank1", "wall_time_s"]}
    spec_dict = {"base": "base.yaml", "grid": {"loss": ["triplet", "fdp"]}, "report": report}
    spec = load_spec(write_spec(tmp_path / "exp.yaml", spec_dict))

    def metrics(config):
        fdp = config.loss.metric_loss == "fdp"
        return {"rank1": 0.9 if fdp else 0.8, "mAP": 0.5, "wall_time_s": 30.0 if fdp else 20.0, "cmc": [0.5]}

    run_experiment(spec, tmp_path / "out", train=FakeTrainer(metrics))
    _, rows = parse_table(write_report(tmp_path / "out").read_text())
    assert rows[0] == ["triplet", "80.0", "**20.0**"]  # a single run: no ±; the lower time is best
    assert rows[1] == ["fdp", "**90.0**", "30.0"]


def test_seeds_only_give_one_row_and_yes_no_columns_are_named(tmp_path):
    tiny_base(tmp_path / "base.yaml", tmp_path / "data")
    grid = {"id_loss": [True, False], "seed": [0, 1]}
    spec_dict = {"base": "base.yaml", "grid": grid, "report": {"rows": [], "columns": ["id_loss"],
                                                                "metrics": ["mAP"]}}  # fmt: skip
    spec = load_spec(write_spec(tmp_path / "exp.yaml", spec_dict))
    run_experiment(spec, tmp_path / "out", train=FakeTrainer())
    header, rows = parse_table(write_report(tmp_path / "out").read_text())
    assert header == ["runs", "id_loss=yes mAP", "id_loss=no mAP"]
    values = np.array([0.5, 0.53])  # default_metrics: mAP = 0.5 + 0.03 * seed, the same with or without
    assert rows == [["all", *[f"**{100 * values.mean():.1f} ± {100 * values.std(ddof=1):.1f}**"] * 2]]


def test_plots_and_cells_table_written(out):
    text = write_report(out).read_text()
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["bars_0.5.png", "bars_1.png", "cmc_0.5.png", "cmc_1.png", "mAP_vs_fraction.png"]
    assert all((out / "plots" / p).stat().st_size > 1000 for p in plots)
    assert "![mAP_vs_fraction](plots/mAP_vs_fraction.png)" in text
    cells = text.split("## All cells", 1)[1]
    assert cells.count("\n| `loss-") == 18
    assert "| `loss-fdp__fraction-1__seed-2` | fdp | 1 | 2 |" in cells


def test_partial_experiment_reports_finished_cells(out):
    lines = (out / "cells.jsonl").read_text().splitlines()
    (out / "cells.jsonl").write_text("\n".join(lines[:4]) + "\n")  # only triplet @ 0.5 (3 seeds) + 1 more
    text = write_report(out).read_text()
    assert "4 of 18 cells finished" in text
    _, rows = parse_table(text)
    assert [r[0] for r in rows] == ["triplet"]
    assert rows[0][3] != "–" and rows[0][2].count("±") == 1 and "±" not in rows[0][3]


def test_report_of_a_non_experiment_dir_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="is not an experiment directory"):
        write_report(tmp_path)


def test_bar_tick_labels_rotate_only_when_they_do_not_fit() -> None:
    """Long names over few groups used to overlap: they are stacked, rotated only if still too wide."""
    from finereid.experiments.plots import tick_rotation

    stacked = ["resnet18\ntriplet", "resnet18\nfdp", "efficientnet_lite0\ntriplet", "efficientnet_lite0\nfdp"]
    assert tick_rotation(stacked, 7.4) == 0
    assert tick_rotation([s.replace("\n", " / ") for s in stacked], 7.4) == 30
    assert tick_rotation(["fdp", "triplet"], 5.0) == 0
    assert tick_rotation([], 5.0) == 0


def cross_domain_metrics(config) -> dict:
    """Per-target scores as a multi-target run writes them; each source validates on the other set."""
    source = config.data.name.split("=")[0]
    targets = [t.split("=")[0] for t in config.trainer.val_datasets]
    metrics = default_metrics(config.trainer.seed, 0.1 if config.loss.metric_loss == "fdp" else 0.0)
    for i, target in enumerate(targets):
        for key in ("rank1", "rank5", "rank10", "mAP", "mINP"):
            metrics[f"{target}/{key}"] = metrics[key] - (0.3 if target != source else 0.0) + 0.01 * i
    return {**metrics, "val_datasets": targets, "best_val_dataset": targets[-1]}


def test_multi_target_cells_get_one_column_per_target(tmp_path: Path) -> None:
    tiny_base(tmp_path / "base.yaml", tmp_path / "data")
    source = [
        {"label": "s0", "data.name": "s0=market1501", "data.root": "data/s0", "trainer.val_datasets": ["s0"]},
        {"label": "s1", "data.name": "s1=market1501", "data.root": "data/s1",
         "trainer.val_datasets": ["s1", "s0=market1501"]},
    ]  # fmt: skip
    grid = {"source": source, "loss": ["triplet", "fdp"], "seed": [0, 1]}
    report = {"rows": ["source", "loss"], "metrics": ["mAP", "s1/rank1"], "plots": ["bars"]}
    spec = load_spec(write_spec(tmp_path / "exp.yaml", {"base": "base.yaml", "grid": grid, "report": report}))
    run_experiment(spec, tmp_path / "out", train=FakeTrainer(cross_domain_metrics))
    header, rows = parse_table(write_report(tmp_path / "out").read_text())
    assert header == ["source", "loss", "s0 mAP", "s1 mAP", "s1 R1"]
    _, records = load_results(tmp_path / "out")
    for row in rows:
        for column, metric in ((2, "s0/mAP"), (3, "s1/mAP"), (4, "s1/rank1")):
            cells = [r for r in records if [r["labels"]["source"], r["labels"]["loss"]] == row[:2]]
            values = [r["metrics"][metric] for r in cells if metric in r["metrics"]]
            if not values:
                assert row[column] == "–"  # s0 cells never scored s1
                continue
            mean = float(np.mean(values))
            assert row[column].strip("*").startswith(f"{100 * mean:.1f} ±"), (row, metric)
    assert (tmp_path / "out" / "plots" / "bars.png").is_file()


def test_report_metrics_accept_target_scores_and_reject_others(tmp_path: Path) -> None:
    tiny_base(tmp_path / "base.yaml", tmp_path / "data")
    for metrics in (["duke/mAP", "mAP"], ["cuhk03-labeled/rank1"]):
        spec = {"base": "base.yaml", "grid": {"seed": [0]}, "report": {"metrics": metrics}}
        assert load_spec(write_spec(tmp_path / "ok.yaml", spec)).report.metrics == tuple(metrics)
    for bad in (["duke/wall_time_s"], ["du ke/mAP"], ["/mAP"]):
        spec = {"base": "base.yaml", "grid": {"seed": [0]}, "report": {"metrics": bad}}
        with pytest.raises(ConfigError, match=r"report\.metrics must be a list"):
            load_spec(write_spec(tmp_path / "bad.yaml", spec))

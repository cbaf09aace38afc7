"""Experiment files: grid -> cells with the right configs and ids; bad files -> one-line ConfigErrors."""

from __future__ import annotations

from pathlib import Path

import pytest
from experiment_helpers import tiny_base, write_spec

from finereid.errors import ConfigError
from finereid.experiments import load_spec, parse_set

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A valid base training config (the data root need not exist to parse a spec)."""
    return tiny_base(tmp_path / "base.yaml", tmp_path / "data")


def spec_file(tmp_path: Path, **spec) -> Path:
    """An experiment file next to base.yaml with the given top-level keys."""
    return write_spec(tmp_path / "exp.yaml", {"base": "base.yaml", **spec})


def test_cartesian_product_in_grid_order_with_readable_ids(tmp_path, base):
    path = spec_file(tmp_path, grid={"loss": ["triplet", "fdp"], "seed": [0, 1, 2]})
    spec = load_spec(path)
    assert spec.name == "exp"
    expected = [f"loss-{loss}__seed-{s}" for loss in ("triplet", "fdp") for s in range(3)]
    assert [c.id for c in spec.cells] == expected
    assert [c.config.loss.metric_loss for c in spec.cells] == ["triplet"] * 3 + ["fdp"] * 3
    assert [c.config.trainer.seed for c in spec.cells] == [0, 1, 2] * 2
    assert spec.cells[4].labels == {"loss": "fdp", "seed": "1"}
    assert spec.cells[4].values == {"loss": "fdp", "seed": 1}
    # default report: rows = varying axes except the seed; line plot only with a fraction axis
    assert spec.report.rows == ("loss",) and spec.report.columns == () and spec.report.x is None
    assert spec.report.plots == ("bars", "cmc")


def test_ids_are_stable_across_loads(tmp_path, base):
    path = spec_file(tmp_path, grid={"fraction": [0.25, 1.0], "loss.metric_loss_kwargs.beta": [5, 10.5]})
    first, second = load_spec(path), load_spec(path)
    assert [c.id for c in first.cells] == [c.id for c in second.cells]
    assert first.cells[1].id == "fraction-0.25__beta-10.5"


def test_shortcuts_fixed_overrides_and_knob_axes(tmp_path, base):
    path = spec_file(
        tmp_path,
        overrides={"trainer": {"max_epochs": 3}, "loss.metric_loss_kwargs": {"margin": 0.7}},
        grid={
            "loss.metric_loss_kwargs.beta": [5.0, 20],
            "id_loss": [True, False],
            "fraction": [0.5],
            "model": ["bot_efficientnet_lite0"],
        },
    )
    cells = load_spec(path).cells
    assert len(cells) == 4
    for cell in cells:
        assert cell.config.trainer.max_epochs == 3
        assert cell.config.data.train_id_fraction == 0.5
        assert cell.config.model.name == "bot_efficientnet_lite0" and cell.config.model.options == {}
        # an entry axis merges into the dict set by the fixed overrides
        assert cell.config.loss.metric_loss_kwargs["margin"] == 0.7
    assert [c.config.loss.metric_loss_kwargs["beta"] for c in cells] == [5.0, 5.0, 20, 20]
    with_id, alone = cells[0].config.loss, cells[1].config.loss
    assert (with_id.id_weight, with_id.center_weight) == (1.0, 0.0005)
    assert (alone.id_weight, alone.center_weight) == (0.0, 0.0)
    assert cells[1].id == "beta-5__id_loss-no__fraction-0.5__model-bot_efficientnet_lite0"


def test_loss_shortcut_resets_loss_kwargs(tmp_path, base):
    path = spec_file(
        tmp_path, overrides={"loss": {"metric_loss_kwargs": {"beta": 5}}}, grid={"loss": ["triplet"]}
    )
    config = load_spec(path).cells[0].config
    assert config.loss.metric_loss == "triplet" and config.loss.metric_loss_kwargs == {}


def test_mapping_values_with_labels_and_derived_labels(tmp_path, base):
    grid = {
        "variant": [
            {"label": "FDP"},
            {"label": "no exponential", "loss.metric_loss_kwargs.negative": "hinge"},
            {
                "loss": {
                    "metric_loss": "fdp",
                    "metric_loss_kwargs": {"negative": "hinge", "positive": "linear"},
                }
            },
        ]
    }
    cells = load_spec(spec_file(tmp_path, grid=grid)).cells
    assert [c.labels["variant"] for c in cells] == ["FDP", "no exponential", "fdp"]
    assert [c.id for c in cells] == ["variant-FDP", "variant-no_exponential", "variant-fdp"]
    assert cells[0].config.loss.metric_loss_kwargs == {}
    assert cells[1].config.loss.metric_loss_kwargs == {"negative": "hinge"}
    assert cells[2].config.loss.metric_loss_kwargs == {"negative": "hinge", "positive": "linear"}


def test_set_overrides_apply_last(tmp_path, base):
    path = spec_file(tmp_path, grid={"seed": [0, 1]})
    extra = parse_set(["trainer.seed=7", "data.root=/elsewhere", "loss.metric_loss_kwargs.sigma=0.4"])
    assert extra == {"trainer.seed": 7, "data.root": "/elsewhere", "loss.metric_loss_kwargs.sigma": 0.4}
    cells = load_spec(path, extra).cells
    assert all(c.config.trainer.seed == 7 and c.config.data.root == "/elsewhere" for c in cells)
    assert cells[0].config.loss.metric_loss_kwargs == {"sigma": 0.4}


def test_report_section(tmp_path, base):
    path = spec_file(
        tmp_path,
        grid={"data.train_id_fraction": [0.5, 1.0], "loss": ["triplet", "fdp"], "seed": [0, 1]},
        report={"rows": ["loss"], "columns": ["data.train_id_fraction"], "metrics": ["mAP"]},
    )
    report = load_spec(path).report
    # axes are named by their full or short name; the short one is used in tables and ids
    assert report.rows == ("loss",) and report.columns == ("train_id_fraction",)
    assert report.metrics == ("mAP",)
    assert report.x == "train_id_fraction" and report.plots == ("bars", "cmc", "line")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"grid": {"seed": [0]}, "runs": 3}, "unknown key 'runs'"),
        ({"grid": {}}, "grid must be a non-empty mapping"),
        ({"grid": {"seed": []}}, "grid.seed must be a non-empty list"),
        ({"grid": {"lr": [0.1, 0.2]}}, "axis 'lr' takes mappings of overrides"),
        ({"grid": {"optim.learning_rate": [0.1]}}, "unknown key optim.learning_rate"),
        ({"grid": {"trainer.seed.x": [1]}}, "nesting stops at section.key"),
        ({"grid": {"v": [{"label": "a", "model.depth": 3}]}}, "unknown key model.depth"),
        ({"grid": {"v": [{"label": "a"}, {"label": "a"}]}}, "share the label 'a'"),
        ({"grid": {"v": [{"loss.metric_loss_kwargs": {}}]}}, "give this value a `label`"),
        ({"grid": {"id_loss": ["yes"]}}, "id_loss values must be true or false"),
        ({"grid": {"loss": ["fdp", "tripplet"]}}, "cell loss-tripplet: unknown loss.metric_loss 'tripplet'"),
        ({"grid": {"seed": [0, "one"]}}, "cell seed-one: trainer.seed must be an integer"),
        ({"grid": {"fraction": [0.5, 1.5]}}, "cell fraction-1.5: data.train_id_fraction must be in (0, 1]"),
        ({"grid": {"loss.metric_loss_kwargs.beta": [-1]}}, "cell beta--1"),
        ({"grid": {"seed": [0]}, "overrides": {"trainer": 3}}, "section 'trainer' must be a mapping"),
        ({"grid": {"seed": [0]}, "report": {"rows": ["loss"]}}, "report.rows: unknown axis 'loss'"),
        ({"grid": {"seed": [0]}, "report": {"metrics": ["accuracy"]}}, "report.metrics must be a list of"),
        ({"grid": {"seed": [0]}, "report": {"plots": ["line"]}}, "has line but no report.x"),
        ({"grid": {"loss": ["fdp"]}, "report": {"x": "loss"}}, "must have numeric values"),
        ({"grid": {"loss": ["fdp"]}, "report": {"rows": ["loss"], "columns": ["loss"]}}, "in both"),
    ],
)
def test_bad_specs_raise_one_line_config_errors(tmp_path, base, spec, message):
    with pytest.raises(ConfigError) as info:
        load_spec(spec_file(tmp_path, **spec))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_files(tmp_path, base):
    with pytest.raises(ConfigError, match="experiment file not found"):
        load_spec(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("grid: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_spec(tmp_path / "bad.yaml")
    write_spec(tmp_path / "nobase.yaml", {"grid": {"seed": [0]}})
    with pytest.raises(ConfigError, match="base must name a training config"):
        load_spec(tmp_path / "nobase.yaml")
    write_spec(tmp_path / "wrongbase.yaml", {"base": "nope.yaml", "grid": {"seed": [0]}})
    with pytest.raises(ConfigError, match="config file not found"):
        load_spec(tmp_path / "wrongbase.yaml")
    with pytest.raises(ConfigError, match=r"must look like section\.key=value"):
        parse_set(["trainer.seed"])


@pytest.mark.parametrize("path", sorted((REPO / "experiments").rglob("*.yaml")), ids=lambda p: p.name)
def test_shipped_experiment_files_are_valid(path):
    spec = load_spec(path)
    assert spec.cells and len({c.id for c in spec.cells}) == len(spec.cells)
    if path.parent.name == "cpu":
        assert all(c.config.trainer.accelerator == "cpu" for c in spec.cells)

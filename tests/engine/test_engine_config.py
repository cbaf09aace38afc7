"""Config loading: strong-baseline defaults, overrides, bases, one-line errors, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from finereid import cli
from finereid.config import Config, config_from_dict, load_config, section_keys
from finereid.errors import ConfigError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_strong_baseline_recipe() -> None:
    config = Config()
    assert (config.optim.name, config.optim.lr, config.optim.weight_decay) == ("adam", 3.5e-4, 5e-4)
    assert (config.optim.warmup_epochs, config.optim.warmup_factor) == (10, 0.1)
    assert (config.optim.milestones, config.optim.gamma) == ((40, 70), 0.1)
    assert config.trainer.max_epochs == 120
    assert (config.data.batch_size // config.data.num_instances, config.data.num_instances) == (16, 4)
    assert (config.data.height, config.data.width) == (256, 128)
    loss = config.loss
    assert (loss.label_smoothing, loss.center_weight, loss.center_lr) == (0.1, 0.0005, 0.5)


def test_overrides_parse_values_as_yaml(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "c.yaml", "data:\n  root: /data/market\nloss:\n  metric_loss_kwargs: {beta: 5}\n"
    )
    config = load_config(
        path,
        [
            "loss.metric_loss=triplet",
            "loss.metric_loss_kwargs={margin: 0.5}",
            "optim.milestones=[30, 60]",
            "optim.lr=1e-3",
            "trainer.deterministic=false",
            "model.pretrained_path=null",
            "data.root=2024",
        ],
    )
    assert config.loss.metric_loss == "triplet" and config.loss.metric_loss_kwargs == {"margin": 0.5}
    assert config.optim.milestones == (30, 60) and config.optim.lr == 1e-3
    assert config.trainer.deterministic is False and config.model.pretrained_path is None
    assert config.data.root == "2024"  # a string key keeps the text as typed


def test_dict_key_entry_override_updates_one_entry(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.yaml", "loss:\n  metric_loss_kwargs: {beta: 5, sigma: 0.4}\n")
    config = load_config(path, ["loss.metric_loss_kwargs.beta=8"])
    assert config.loss.metric_loss_kwargs == {"beta": 8, "sigma": 0.4}
    with pytest.raises(ConfigError, match=r"nesting stops at section\.key"):
        load_config(path, ["data.height.x=1"])


def test_base_file_is_updated_section_by_section(tmp_path: Path) -> None:
    _write(tmp_path / "base.yaml", "data:\n  height: 128\n  width: 64\noptim:\n  lr: 0.01\n")
    child = _write(tmp_path / "child.yaml", "base: base.yaml\ndata:\n  width: 32\n")
    config = load_config(child)
    assert (config.data.height, config.data.width, config.optim.lr) == (128, 32, 0.01)
    _write(tmp_path / "loop.yaml", "base: loop.yaml\n")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "loop.yaml")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("data.colour=red", "unknown key data.colour; valid keys of 'data': name, root, options, height"),
        ("solver.lr=1", "section one of data, model, loss, optim, trainer"),
        ("data.height=tall", "data.height must be an integer, got 'tall'"),
        ("data.height=true", "data.height must be an integer"),
        ("trainer.deterministic=maybe", "trainer.deterministic must be true or false"),
        ("optim.lr=-1", "optim.lr must be > 0"),
        ("data.batch_size=30", "multiple of data.num_instances"),
        ("optim.milestones=[70, 40]", "increasing"),
        ("loss.metric_loss=tripple", "unknown loss.metric_loss 'tripple'; valid: circle, contrastive, fdp"),
        ("loss.metric_loss_kwargs={betta: 3}", "loss 'fdp': unknown argument 'betta'"),
        ("model.name=resnet", "unknown model 'resnet'; valid: agw_resnet18, agw_resnet50, bot_efficientnet"),
        ("model.options={stride: 1}", "model 'bot_resnet50' has no option 'stride'"),
        ("data.name=market", "unknown dataset 'market'"),
        ("trainer.precision=fp8", "trainer.precision 'fp8' unknown; valid: auto, 32-true"),
        ("optim.name=lamb", "optim.name 'lamb' unknown; valid: adam, adamw, sgd"),
        ("data.root", "must look like section.key=value"),
    ],
)
def test_bad_overrides_are_one_line_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, [override])
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_files_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path / "bad.yaml", "data: [unclosed\n"))
    with pytest.raises(ConfigError, match="unknown config section 'solver'"):
        load_config(_write(tmp_path / "sec.yaml", "solver:\n  lr: 1\n"))
    with pytest.raises(ConfigError, match="section 'data' must be a mapping"):
        load_config(_write(tmp_path / "map.yaml", "data: 3\n"))


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    overrides = ["data.options={variant: labeled}", "data.name=cuhk03", "optim.milestones=[5]"]
    config = load_config(None, overrides)
    config.save(tmp_path / "saved.yaml")
    again = load_config(tmp_path / "saved.yaml")
    assert again == config and again.to_dict() == config.to_dict()
    assert config_from_dict(config.to_dict()) == config
    for name, values in config.to_dict().items():
        assert list(values) == section_keys(name)


def test_replace_updates_sections_and_validates() -> None:
    config = Config().replace(loss={"metric_loss": "triplet"}, trainer={"max_epochs": 5})
    assert (config.loss.metric_loss, config.trainer.max_epochs, config.optim.lr) == ("triplet", 5, 3.5e-4)
    with pytest.raises(ConfigError, match="unknown config section 'solver'"):
        Config().replace(solver={"lr": 1})
    with pytest.raises(ConfigError, match=r"trainer\.max_epochs must be >= 1"):
        Config().replace(trainer={"max_epochs": 0})


def test_sections_are_frozen() -> None:
    config = Config()
    with pytest.raises(AttributeError):
        config.optim.lr = 1.0  # type: ignore[misc]


def test_train_command_reports_config_errors_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path / "c.yaml", "data:\n  root: /nowhere\n")
    assert cli.main(["train", "--config", str(path), "--set", "loss.nope=1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("finereid train: error: --set: unknown key loss.nope; valid keys of 'loss': metric")
    assert len(err.splitlines()) == 1
    assert cli.main(["train", "--config", str(path), "--set", "loss.metric_loss=arcface"]) == 2
    assert "unknown loss.metric_loss 'arcface'" in capsys.readouterr().err
    assert cli.main(["train", "--resume"]) == 2
    assert "--config is required" in capsys.readouterr().err


def test_exponent_without_dot_is_a_number_and_words_are_not() -> None:
    config = load_config(None, ["optim.lr=1e-3", "loss.center_weight=5e-4"])
    assert config.optim.lr == 0.001 and config.loss.center_weight == 0.0005
    with pytest.raises(ConfigError, match=r"optim\.lr must be a number"):
        load_config(None, ["optim.lr=fast"])

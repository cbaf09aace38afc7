"""One override parser for every command: `section.key=value` means the same in train, eval, experiment, demo.

Also the renamed keys and flags of this release: the old spellings still work, with one deprecation line.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings

import pytest
import yaml

from finereid import cli
from finereid.config import (
    Config,
    config_diff,
    config_from_dict,
    load_config,
    parse_override,
)
from finereid.errors import ConfigError
from finereid.experiments import parse_set

NULL_ROOT = re.compile(r"data\.root (cannot be null|must be a string.*got None)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("data.root=/data/market", ("data.root", "/data/market")),
        ("data.root=2024", ("data.root", "2024")),  # a text key keeps text that YAML would read as a number
        ("model.pretrained_path=null", ("model.pretrained_path", None)),
        ("model.pretrained_path=~", ("model.pretrained_path", None)),
        ("data.root=null", ("data.root", None)),
        ("trainer.deterministic=false", ("trainer.deterministic", False)),
        ("optim.lr=1e-3", ("optim.lr", 0.001)),  # YAML 1.1 would read text: finereid reads a number
        ("loss.metric_loss_kwargs={margin: 1e-3}", ("loss.metric_loss_kwargs", {"margin": 0.001})),
        ("data.root=1e-3", ("data.root", "1e-3")),
        ("optim.milestones=[20, 40]", ("optim.milestones", [20, 40])),
        ("loss.metric_loss_kwargs.beta=5", ("loss.metric_loss_kwargs.beta", 5)),
        ("data.options={variant: labeled}", ("data.options", {"variant": "labeled"})),
    ],
)
def test_one_rule_for_values(text, expected):
    assert parse_override(text) == expected


def test_experiment_set_uses_the_same_parser():
    items = [
        "data.root=2024",
        "optim.milestones=[20, 40]",
        "loss.metric_loss_kwargs.beta=5",
        "data.root=null",
    ]
    assert parse_set(items) == dict(parse_override(i) for i in items)
    assert parse_set(items)["data.root"] is None  # the later item wins, as on the train command line


def _experiment_file(tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump({"data": {"root": "/data/market"}}), encoding="utf-8")
    spec = tmp_path / "exp.yaml"
    spec.write_text(
        yaml.safe_dump({"name": "x", "base": "base.yaml", "grid": {"seed": [0]}}), encoding="utf-8"
    )
    return spec


def _checkpoint_for(tmp_path):
    """A tiny finereid checkpoint (random bot_resnet18) for the eval command."""
    import torch

    from finereid.engine import ReIDModule

    module = ReIDModule(config_from_dict({"model": {"name": "bot_resnet18", "pretrained": "none"}}), 3)
    path = tmp_path / "best.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": dict(module.hparams)}, path)
    return path


@pytest.mark.parametrize("command", ["train", "eval", "experiment", "demo"])
def test_set_data_root_null_means_the_same_in_every_command(command, tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("data:\n  root: /data/market\n", encoding="utf-8")
    argv = {
        "train": lambda: ["train", "--config", str(config), "--run-dir", str(tmp_path / "run")],
        "eval": lambda: ["eval", "--checkpoint", str(_checkpoint_for(tmp_path))],
        "experiment": lambda: ["experiment", "run", str(_experiment_file(tmp_path)), "--dry-run"],
        "demo": lambda: [
            "demo",
            "--quick",
            "--out",
            str(tmp_path / "demo"),
            "--data",
            str(tmp_path / "synth"),
        ],
    }[command]()
    assert cli.main([*argv, "--set", "data.root=null"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"finereid {command}: error:")
    if command == "demo":  # the demo draws its own dataset: it refuses any data.root
        assert "the demo chooses data.root itself" in err
    else:
        assert NULL_ROOT.search(err.split(": error: ", 1)[1]), err


def test_old_config_keys_are_read_with_one_warning_each(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text(
        "data:\n  root: /d\nloss:\n  metric: triplet\n  metric_kwargs: {margin: 0.3}\n  metric_weight: 2.0\n"
        "trainer:\n  eval_metric: euclidean\n",
        encoding="utf-8",
    )
    with pytest.warns(FutureWarning) as caught:
        config = load_config(path, ["loss.metric_kwargs.margin=0.4"])
    assert (config.loss.metric_loss, config.loss.metric_loss_kwargs) == ("triplet", {"margin": 0.4})
    assert (config.loss.metric_loss_weight, config.trainer.eval_distance) == (2.0, "euclidean")
    messages = {str(w.message) for w in caught}
    assert any("loss.metric is renamed loss.metric_loss" in m for m in messages)
    assert any("trainer.eval_metric is renamed trainer.eval_distance" in m for m in messages)
    assert config == load_config(
        None,
        ["data.root=/d", "loss.metric_loss=triplet", "loss.metric_loss_kwargs={margin: 0.4}",
         "loss.metric_loss_weight=2.0", "trainer.eval_distance=euclidean"],
    )  # fmt: skip


def test_new_names_raise_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_config(None, ["loss.metric_loss=fdp", "trainer.eval_distance=cosine"])


def test_old_metric_keyword_of_the_metrics_api_still_works():
    import torch

    from finereid.metrics import compute_distmat

    q, g = torch.randn(3, 4), torch.randn(5, 4)
    with pytest.warns(FutureWarning, match="metric= keyword is renamed distance="):
        old = compute_distmat(q, g, metric="cosine")
    torch.testing.assert_close(old, compute_distmat(q, g, distance="cosine"), rtol=0, atol=0)


def test_the_cli_prints_a_deprecation_as_one_line(tmp_path):
    config = tmp_path / "old.yaml"
    config.write_text("loss:\n  metric: nope\n", encoding="utf-8")
    argv = [
        sys.executable,
        "-m",
        "finereid.cli",
        "train",
        "--config",
        str(config),
        "--run-dir",
        str(tmp_path / "r"),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "finereid: deprecated: config: loss.metric is renamed loss.metric_loss; the old name is read until "
        "finereid 0.3",
        "finereid train: error: unknown loss.metric_loss 'nope'; valid: circle, contrastive, fdp, lifted, "
        "multi_similarity, supcon, triplet, triplet_soft",
    ]


def test_config_diff_names_changed_keys_and_ignores_speed_settings():
    a = Config()
    b = a.replace(loss={"metric_loss": "triplet"}, data={"num_workers": 0, "height": 128})
    assert config_diff(a, b) == ["data.height", "loss.metric_loss"]
    assert config_diff(a, b, ignore=()) == ["data.height", "data.num_workers", "loss.metric_loss"]
    assert config_diff(a, a) == []
    spelled = a.replace(
        model={"options": {"last_stride": 1, "neck_feat": "after"}}
    )  # bot_resnet50's defaults
    assert config_diff(a, spelled) == []  # the same model: not a change
    assert config_diff(a, a.replace(model={"options": {"last_stride": 2}})) == ["model.options"]


def test_overrides_reject_unknown_keys_and_bad_nesting_in_one_line():
    for item, message in [
        ("loss.nope=1", "unknown key loss.nope"),
        ("optim.lr.x=1", "nesting stops at section.key"),
        ("lr=1", "must be section.key"),
        ("data.root", "must look like section.key=value"),
    ]:
        with pytest.raises(ConfigError, match=message) as info:
            parse_override(item)
        assert "\n" not in str(info.value)

"""Multi-source and multi-target config keys: lists from YAML and --set, labels, folders, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from finereid.config import AUTO_AUGMENTS as CONFIG_AUTO_AUGMENTS
from finereid.config import Config, config_from_dict, load_config
from finereid.config_sources import DatasetSource, best_target, train_sources, val_sources
from finereid.data import AUTO_AUGMENTS
from finereid.errors import ConfigError


def _sources(config: Config) -> tuple[list[DatasetSource], list[DatasetSource]]:
    data, trainer = config.data, config.trainer
    train = train_sources(data.name, data.root, data.options)
    return train, val_sources(data.name, data.root, data.options, trainer.val_datasets, trainer.val_roots)


def test_single_dataset_config_is_unchanged() -> None:
    config = load_config(None, ["data.root=/data/market1501"])
    assert config.data.name == "market1501" and config.to_dict()["data"]["name"] == "market1501"
    train, targets = _sources(config)
    assert train == targets == [DatasetSource("market1501", "market1501", "/data/market1501", {})]
    assert config.trainer.val_datasets == () and config.data.sampler == "pk"


def test_lists_from_set_and_yaml_are_the_same_config(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "data:\n  name: [market1501, msmt17]\n  root: /d\n  options: {msmt17: {merge_val: false}}\n"
        "trainer:\n  val_datasets: [dukemtmc, cuhk03]\n  best_val_dataset: cuhk03\n",
        encoding="utf-8",
    )
    from_file = load_config(path)
    from_set = load_config(
        None,
        [
            "data.name=[market1501,msmt17]",
            "data.root=/d",
            "data.options={msmt17: {merge_val: false}}",
            "trainer.val_datasets=[dukemtmc, cuhk03]",
            "trainer.best_val_dataset=cuhk03",
        ],
    )
    assert from_file == from_set and from_file.data.name == ("market1501", "msmt17")
    assert config_from_dict(from_file.to_dict()) == from_file  # the checkpoint round trip
    train, targets = _sources(from_file)
    assert [(s.label, s.root, s.options) for s in train] == [
        ("market1501", "/d/market1501", {}),
        ("msmt17", "/d/msmt17", {"merge_val": False}),
    ]
    assert [(t.label, t.root) for t in targets] == [("dukemtmc", "/d/dukemtmc"), ("cuhk03", "/d/cuhk03")]
    assert best_target(targets, from_file.trainer.best_val_dataset) == 1


def test_folders_lists_labels_and_the_single_dataset_sibling_rule() -> None:
    config = load_config(
        None,
        [
            "data.name=[a=market1501, b=market1501]",
            "data.root=[/x/synth0, /y/synth1]",
            "trainer.val_datasets=[b, c=market1501]",
            "trainer.val_roots=['', /z/synth2]",
        ],
    )
    train, targets = _sources(config)
    assert [(s.label, s.name, s.root) for s in train] == [
        ("a", "market1501", "/x/synth0"),
        ("b", "market1501", "/y/synth1"),
    ]
    assert [(t.label, t.name, t.root) for t in targets] == [
        ("b", "market1501", "/y/synth1"),  # a training dataset: its own folder
        ("c", "market1501", "/z/synth2"),
    ]
    one = load_config(None, ["data.root=/data/market1501", "trainer.val_datasets=[dukemtmc]"])
    assert _sources(one)[1][0].root == "/data/dukemtmc"  # beside the training dataset's folder


def test_a_list_of_one_is_that_dataset() -> None:
    config = load_config(None, ["data.name=[market1501]", "data.root=[/d/m]"])
    assert config == load_config(None, ["data.name=market1501", "data.root=/d/m"])
    assert load_config(None, ["data.root=2024"]).data.root == "2024"  # text stays text


TWO = "data.name=[market1501, cuhk03]"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["data.name=[market1501, market1501]"], "'market1501' is given twice"),
        (["data.name=[a=market1501, b=market1501]", "data.root=[x]"], r"data.root lists 1 folder\(s\) for 2"),
        ([TWO, "data.options={variant: labeled}"], "options per dataset"),
        ([TWO, "data.options={cuhk3: {variant: labeled}}"], "no dataset labelled 'cuhk3'"),
        ([TWO, "data.options={cuhk03: {varant: x}}"], "has no option 'varant'"),
        (["data.name=[market1501, nope]"], "unknown dataset 'nope'"),
        (["data.name=[x y]"], "bad entry 'x y'"),
        (["data.name=[1, 2]"], r"data.name\[0\] must be a string"),
        (["trainer.val_datasets=[a, b]", "trainer.val_roots=[x]"], r"val_roots lists 1 folder\(s\) for 2"),
        (["trainer.val_datasets=[dukemtmc]", "trainer.best_val_dataset=duke"], "not in trainer.val_datasets"),
        (["trainer.best_val_dataset=duke"], "is not a validation dataset"),
        (["data.name=[a=market1501]", "data.root=[/p, /q]"], r"data.root lists 2 folder\(s\) for 1"),
        (
            [TWO, "data.root=[/p, /q]", "trainer.val_datasets=[dukemtmc]"],
            "folder of dukemtmc in trainer.val_roots",
        ),
        (["trainer.val_datasets=[market1501=dukemtmc]"], "is a training dataset"),
        (["data.sampler=random"], "data.sampler 'random' unknown"),
        (["data.auto_augment=trivial"], "data.auto_augment 'trivial' unknown"),
        (["data.color_jitter_prob=1.5"], r"data.color_jitter_prob must be in \[0, 1\]"),
    ],
)
def test_bad_dataset_lists_are_one_line_errors(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        load_config(None, ["data.root=/d", *overrides])
    assert "\n" not in str(info.value)


def test_config_and_data_agree_on_the_auto_augment_names() -> None:
    assert ("none", *AUTO_AUGMENTS) == CONFIG_AUTO_AUGMENTS

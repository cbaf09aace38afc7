"""`finereid data synth`: options, the preview grid, and one-line errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from PIL import Image

from finereid.commands import data_synth
from finereid.errors import ConfigError


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    data_synth.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_run_writes_dataset_and_preview(tmp_path: Path) -> None:
    out, preview = tmp_path / "ds", tmp_path / "grid.png"
    args = _args(
        *("--out", str(out), "--ids", "6", "--cameras", "2", "--seed", "3", "--images-per-id", "4"),
        *("--distractors", "1", "--size", "64x32", "--queries-per-id", "1", "--preview", str(preview)),
    )
    assert data_synth.run(args) == 0
    summary = json.loads((out / "attributes.json").read_text())["summary"]
    assert summary["num_ids"] == 6 and summary["num_cameras"] == 2 and summary["seed"] == 3
    assert summary["image_size"] == [64, 32] and summary["num_distractors"] == 1
    assert summary["num_query_images"] == 3  # one per test identity
    with Image.open(preview) as grid:  # one row (label + tiles) per look-alike group
        assert grid.height == summary["num_groups"] * (64 + 14)
    assert data_synth.run(_args("--out", str(out), "--ids", "4", "--overwrite")) == 0


@pytest.mark.parametrize("text", ["128", "128x", "x64", "128x64x3", "a x b", "-1x5"])
def test_bad_size_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError, match="HEIGHTxWIDTH"):
        data_synth.parse_size(text)


def test_parse_size() -> None:
    assert data_synth.parse_size("96x48") == (96, 48)
    assert data_synth.parse_size("96X48") == (96, 48)


def test_preview_needs_an_image_suffix_and_an_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--preview must end in"):
        data_synth.run(_args("--out", str(tmp_path / "a"), "--preview", str(tmp_path / "grid.gif")))
    with pytest.raises(ConfigError, match=r"folder .* does not exist"):
        data_synth.run(_args("--out", str(tmp_path / "a"), "--preview", str(tmp_path / "no" / "grid.png")))
    assert not (tmp_path / "a").exists()


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = pytest.importorskip("finereid.cli")
    if "data" not in cli.COMMANDS:
        pytest.skip("the `data` command is not registered yet")
    assert cli.main(["data", "synth", "--out", str(tmp_path / "ds"), "--cameras", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("finereid data: error: --cameras must be 2..6") and "\n" not in err


def test_preview_grid_puts_one_group_of_each_kind_first(synth_dataset: tuple[Path, dict]) -> None:
    from finereid.synth.preview import lookalike_grid, pick_groups

    root = synth_dataset[0]
    manifest = json.loads((root / "attributes.json").read_text())
    kinds = {g["differs_in"] for g in manifest["groups"]}
    picked = pick_groups(manifest["groups"], len(manifest["groups"]))
    assert {g["differs_in"] for g in picked[: len(kinds)]} == kinds
    assert sorted(g["group"] for g in picked) == list(range(len(manifest["groups"])))
    grid = lookalike_grid(root, num_groups=len(kinds), per_member=2)
    assert grid.height == len(kinds) * (64 + 14)
    assert grid.width == 3 * 2 * 32 + 2 * 10  # up to three members of two tiles, 10-pixel gaps


def test_preview_of_a_folder_without_manifest_is_a_dataset_error(tmp_path: Path) -> None:
    from finereid.errors import DatasetError
    from finereid.synth import lookalike_grid

    with pytest.raises(DatasetError, match="cannot read"):
        lookalike_grid(tmp_path)

"""`finereid data inspect` and the `finereid data synth` delegation."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from data_fixture_trees import make_market, make_msmt

from finereid.cli import build_parser, main
from finereid.commands import data as data_command
from finereid.data import DATASETS
from finereid.errors import FinereidError


def test_inspect_prints_statistics_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_market(tmp_path)
    assert main(["data", "inspect", "market1501", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("market1501 (")
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")[1:]] for line in out[3:]}
    assert rows == {"train": ["3", "9", "6"], "query": ["2", "2", "2"], "gallery": ["3", "6", "5"]}


def test_inspect_json_with_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_msmt(tmp_path)
    assert main(["data", "inspect", "msmt17", "--root", str(tmp_path), "--no-merge-val", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["train"] == {"ids": 3, "images": 5, "cameras": 4}
    assert stats["name"] == "msmt17"


def test_inspect_errors_are_one_clean_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "inspect", "market1501", "--root", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("finereid data: error: Market-1501 root not found:") and "\n" not in err
    assert main(["data", "inspect", "market1501", "--root", str(tmp_path), "--variant", "labeled"]) == 2
    assert "takes no option variant" in capsys.readouterr().err
    assert main(["data", "inspect", "nope", "--root", str(tmp_path)]) == 2
    assert "unknown dataset 'nope'; valid:" in capsys.readouterr().err


def test_help_lists_every_dataset() -> None:
    assert [n.strip() for n in data_command.DATASET_NAMES.split(",")] == list(DATASETS)


def test_data_without_subcommand_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["data"])
    assert exc.value.code == 2
    assert "SUBCOMMAND" in capsys.readouterr().err


def test_synth_is_delegated_to_data_synth() -> None:
    if importlib.util.find_spec("finereid.commands.data_synth") is None:
        pytest.skip("finereid.commands.data_synth is not written yet")
    synth = importlib.import_module("finereid.commands.data_synth")
    parser = build_parser()
    args = parser.parse_args(["data", "synth", "--out", "somewhere"])
    assert args._data_run is synth.run


def test_synth_missing_module_gives_clean_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_command, "SYNTH_MODULE", "finereid.commands.no_such_module")
    parser = build_parser()
    args = parser.parse_args(["data", "synth"])
    with pytest.raises(FinereidError, match="`finereid data synth` is not available"):
        data_command.run(args)

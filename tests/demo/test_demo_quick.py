"""The real `finereid demo --quick` end to end, as a newcomer runs it (about 1.5 minutes on 2 cores)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from finereid import cli

RATES = ("rank1", "rank5", "rank10", "mAP", "mINP")


def test_real_quick_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert cli.main(["demo", "--quick", "--out", str(tmp_path / "report")]) == 0
    results = json.loads((tmp_path / "report" / "results.json").read_text())
    assert results["preset"] == "quick"
    assert all(0.0 <= run[k] <= 1.0 for run in results["runs"].values() for k in RATES)
    printed = capsys.readouterr().out
    assert "fdp" in printed and "quick mode checks that everything runs" in printed
    maps = ("maps_compare.png", "embedding.png") if importlib.util.find_spec("pytorch_grad_cam") else ()
    for name in ("cmc.png", "ranked_triplet.png", "ranked_fdp.png", "ranked_compare.png", *maps):
        assert (tmp_path / "report" / name).is_file(), name

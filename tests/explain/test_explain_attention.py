"""The detail-attention score: a hand-made case, the summary, scoring a masked synthetic set, the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from finereid.cli import main
from finereid.errors import DatasetError
from finereid.explain import DetailAttention, Explainer, detail_share, score_detail_attention, summarize
from finereid.explain.attention_report import ModelAttention, attention_table
from finereid.synth import generate_dataset, read_detail_mask

SYNTH = {
    "num_ids": 12,
    "num_cameras": 3,
    "seed": 7,
    "images_per_id": 5,
    "num_distractors": 4,
    "image_size": (64, 32),
}


@pytest.fixture(scope="module")
def masked_synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "ds"
    generate_dataset(root, masks=True, **SYNTH)
    return root


def test_detail_share_on_a_hand_made_case() -> None:
    mask = np.zeros((8, 4), dtype=bool)
    mask[:, 0] = True  # the left quarter of the image
    left_half = np.zeros((8, 4), dtype=np.float32)
    left_half[:, :2] = 1.0
    assert detail_share(left_half, mask) == (pytest.approx(0.5), pytest.approx(0.25))
    assert detail_share(1.0 - left_half, mask)[0] == 0.0
    ramp = np.tile(np.array([3.0, 1.0, 0.0, 0.0], dtype=np.float32) / 3, (8, 1))
    assert detail_share(ramp, mask)[0] == pytest.approx(0.75)  # mass 3 of 4 on the first column
    uniform = np.full((4, 2), 0.5, dtype=np.float32)  # another size: resized to the mask's
    share, chance = detail_share(uniform, mask)
    assert share == pytest.approx(chance) == pytest.approx(0.25)
    assert math.isnan(detail_share(np.zeros((8, 4), np.float32), mask)[0])  # a flat map has no share


def _record(
    share_match: float, share_contrast: float, chance: float, attribute: str = "bag"
) -> DetailAttention:
    return DetailAttention("q.jpg", 1, attribute, "m.jpg", "l.jpg", share_match, share_contrast, chance)


def test_summary_means_lift_and_flat_maps() -> None:
    records = [_record(0.3, 0.5, 0.1), _record(0.1, math.nan, 0.2, "shoes"), _record(0.2, 0.1, 0.3)]
    summary = summarize(records)
    assert summary["queries"] == 3
    assert summary["share_match"] == pytest.approx(0.2) and summary["chance"] == pytest.approx(0.2)
    assert summary["share_contrast"] == pytest.approx(0.3)  # the flat contrast map is left out
    assert summary["lift_match"] == pytest.approx(1.0) and summary["lift_contrast"] == pytest.approx(1.5)
    assert summary["above_chance_match"] == pytest.approx(1 / 3)
    assert summary["above_chance_contrast"] == pytest.approx(0.5)
    assert summary["flat_match"] == 0 and summary["flat_contrast"] == 1


def test_table_has_a_mean_and_std_row_per_loss() -> None:
    models = [
        ModelAttention(f"{loss} seed {s}", "x.ckpt", loss, s, [_record(0.1 * (s + 1), 0.2, 0.1)])
        for loss in ("triplet", "fdp")
        for s in range(2)
    ]
    table = attention_table(models).splitlines()
    assert len(table) == 2 + 4 + 1 + 2
    assert table[-1].startswith("| fdp (2) | 1 ± 0 | 0.150 ± 0.071 |")


def test_scoring_a_masked_synthetic_set(checkpoint: Path, masked_synth: Path) -> None:
    pytest.importorskip("pytorch_grad_cam")
    explainer = Explainer.from_checkpoint(checkpoint)
    try:
        records, skipped = score_detail_attention(explainer, masked_synth)
        again, _ = score_detail_attention(explainer, masked_synth, max_queries=2)
    finally:
        explainer.close()
    num_query = len(list((masked_synth / "query").glob("*.jpg")))
    assert len(records) + sum(skipped.values()) == num_query and records
    manifest = json.loads((masked_synth / "attributes.json").read_text())
    for record in records:
        mask = read_detail_mask(record.query)
        assert record.chance == pytest.approx(mask.mean()) and 0 < record.chance < 1
        for share in (record.share_match, record.share_contrast):  # nan: a flat map
            assert math.isnan(share) or 0.0 <= share <= 1.0
        group = manifest["groups"][manifest["identities"][f"{record.pid:04d}"]["group"]]
        assert record.attribute == group["differs_in"]
        assert int(Path(record.match).name[:4]) == record.pid
        assert int(Path(record.lookalike).name[:4]) in set(group["pids"]) - {record.pid}
    assert any(math.isfinite(r.share_match) for r in records)
    shares = [[r.share_match, r.share_contrast] for r in records[:2]]
    assert np.array_equal([[r.share_match, r.share_contrast] for r in again], shares, equal_nan=True)


def test_a_dataset_without_masks_is_one_line(checkpoint: Path, tmp_path: Path) -> None:
    pytest.importorskip("pytorch_grad_cam")
    generate_dataset(tmp_path / "plain", **SYNTH)
    explainer = Explainer.from_checkpoint(checkpoint)
    with pytest.raises(
        DatasetError, match="has no detail masks: write it with `finereid data synth --masks`"
    ):
        score_detail_attention(explainer, tmp_path / "plain")
    explainer.close()


def test_command_compares_checkpoints(checkpoint: Path, masked_synth: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("pytorch_grad_cam")
    out = tmp_path / "attention"
    argv = [
        "explain",
        "--checkpoint",
        str(checkpoint),
        "--checkpoint",
        str(checkpoint),
        "--detail-attention",
        str(masked_synth),
        "--out",
        str(out),
        "--examples",
        "2",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| fdp seed 0 |" in printed and "| fdp seed 0 (2) |" in printed and "fdp (2)" in printed
    data = json.loads((out / "attention.json").read_text())
    first, second = (m["summary"]["queries"] for m in data["models"])
    assert first == second > 0
    assert (out / "examples.png").is_file() and (out / "attention.md").is_file()

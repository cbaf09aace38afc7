"""`finereid convert` on the command line, its one-line errors, and the commands that take its output."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from finereid.cli import main
from finereid.convert import convert_checkpoint
from finereid.errors import CheckpointError
from helpers.market import make_tiny_market


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_convert_lists_every_key_it_did_not_map(tmp_path, osnet_x0_25_file, capsys):
    out = tmp_path / "osnet.ckpt"
    argv = ["convert", "--from", "torchreid", "--weights", str(osnet_x0_25_file), "--out", str(out),
            "--print-mapping"]  # fmt: skip
    code, printed, _ = _run(argv, capsys)
    assert code == 0 and out.is_file()
    assert "conv2.0.conv2a.conv1.weight -> backbone.stage2.0.streams.0.0.pointwise.weight" in printed
    assert "conv2.2.0.conv.weight -> backbone.transition2.0.conv.weight" in printed
    assert "osnet_x0_25, 7 identities" in printed
    assert "unmapped source keys (1):\n  classifier.bias" in printed
    assert "left at initialisation (5):" in printed and "neck.bn.running_var" in printed


def _edited_copy(source: Path, folder: Path, edit) -> Path:
    checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    edit(checkpoint["state_dict"])
    torch.save(checkpoint, folder / "edited.pth")
    return folder / "edited.pth"


def test_missing_and_unknown_tensors_are_listed_in_one_line(tmp_path, osnet_x0_25_file):
    missing = _edited_copy(osnet_x0_25_file, tmp_path, lambda s: s.pop("conv3.0.gate.fc1.weight"))
    with pytest.raises(
        CheckpointError, match=r"no source tensor: backbone\.stage3\.0\.gate\.fc1\.weight"
    ) as info:
        convert_checkpoint("torchreid", missing, tmp_path / "x.ckpt")
    assert "\n" not in str(info.value)
    extra = _edited_copy(
        osnet_x0_25_file, tmp_path, lambda s: s.update({"conv2.0.IN.weight": torch.ones(64)})
    )
    with pytest.raises(CheckpointError, match=r"unmapped source keys: conv2\.0\.IN\.weight"):
        convert_checkpoint("torchreid", extra, tmp_path / "x.ckpt")
    assert not (tmp_path / "x.ckpt").exists()  # nothing written when the conversion is refused


def test_a_checkpoint_of_another_architecture_is_one_line(
    tmp_path, osnet_x0_25_file, fastreid_r50_file, capsys
):
    for source, weights, model, expected in (
        ("fastreid", osnet_x0_25_file, None, "not a fast-reid Baseline"),
        ("torchreid", fastreid_r50_file, None, "not a torchreid OSNet"),
        ("torchreid", osnet_x0_25_file, "osnet_x1_0", "converts to 'osnet_x0_25', not 'osnet_x1_0'"),
    ):
        argv = ["convert", "--from", source, "--weights", str(weights), "--out", str(tmp_path / "x.ckpt")]
        code, _, err = _run(argv + (["--model", model] if model else []), capsys)
        assert code == 2 and expected in err and err.count("\n") == 1
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    code, _, err = _run(["convert", "--from", "torchreid", "--weights", str(tmp_path / "junk.pth"),
                         "--out", str(tmp_path / "x.ckpt")], capsys)  # fmt: skip
    assert code == 2 and "cannot load checkpoint" in err and err.count("\n") == 1


def test_eval_extract_search_and_export_take_a_converted_checkpoint(tmp_path, osnet_x0_25_file, capsys):
    root = make_tiny_market(tmp_path / "market", range(1, 5), range(101, 105), images_per_id=2, size=(64, 32))
    ckpt = tmp_path / "osnet.ckpt"
    convert_checkpoint("torchreid", osnet_x0_25_file, ckpt, overrides=["data.height=64", "data.width=32"])
    commands = [
        ["eval", "--checkpoint", str(ckpt), "--dataset", "market1501", "--root", str(root),
         "--num-workers", "0", "--output", str(tmp_path / "eval.json")],
        ["extract", "--checkpoint", str(ckpt), "--images", f"market1501:{root}", "--out",
         str(tmp_path / "feats.npz"), "--num-workers", "0", "--no-progress"],
        ["search", "--checkpoint", str(ckpt), "--query", str(root / "query"), "--gallery",
         str(tmp_path / "feats.npz"), "--no-html", "--num-workers", "0", "--no-progress"],
        ["export", "--checkpoint", str(ckpt), "--format", "onnx", "--out", str(tmp_path / "osnet.onnx")],
    ]  # fmt: skip
    for argv in commands:
        code, _, err = _run(argv, capsys)
        assert code == 0, (argv[0], err)
    assert (tmp_path / "eval.json").is_file() and (tmp_path / "osnet.onnx").is_file()
    assert "osnet_x0_25" in (tmp_path / "osnet.onnx.metadata.json").read_text()

"""`finereid track`: track people through a MOT-layout sequence with a BoxMOT tracker and a finereid model.

The sequence gives frames (SEQ/img1) and detections (SEQ/det/det.txt; no detector is run). The tracker
is BoxMOT's (`pip install 'finereid[boxmot]'`), its appearance model finereid's `TrackerReID` around
any model file, so nothing is downloaded and crops get finereid's own preprocessing. With ground truth
(SEQ/gt/gt.txt) it prints IDF1, ID switches and MOTA, also of the same tracker without appearance.
`--synthetic` first draws a sequence of finereid's synthetic people into SEQ.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# tracker name -> BoxMOT class; each takes reid_model= and use_embeddings=
TRACKERS = {
    "botsort": "BotSort",
    "deepocsort": "DeepOcSort",
    "boosttrack": "BoostTrack",
    "hybridsort": "HybridSort",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `finereid track`."""
    parser.add_argument(
        "--model", type=Path, required=True,
        help="finereid checkpoint or exported model (.torchscript, .onnx, OpenVINO .xml or folder)",
    )  # fmt: skip
    parser.add_argument("--sequence", type=Path, required=True, metavar="SEQ", help="MOT-layout folder")
    parser.add_argument("--tracker", choices=sorted(TRACKERS), default="botsort", help="BoxMOT tracker")
    parser.add_argument(
        "--option", dest="options", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
        help="tracker keyword argument (YAML value), e.g. --option use_cmc=false track_buffer=60",
    )  # fmt: skip
    parser.add_argument("--no-compare", action="store_true", help="skip the run without appearance")
    parser.add_argument("--synthetic", action="store_true", help="draw a synthetic sequence into SEQ first")
    parser.add_argument("--people", type=int, default=8, help="--synthetic: people (default 8)")
    parser.add_argument("--frames", type=int, default=120, help="--synthetic: frames (default 120)")
    parser.add_argument("--seed", type=int, default=0, help="--synthetic: seed (default 0)")
    parser.add_argument("--out", type=Path, help="tracks in MOT format (default SEQ/tracks_finereid.txt)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto or cuda[:N]")
    parser.add_argument("--half", action="store_true", help="float16 appearance model on CUDA")


def build_tracker(name: str, reid: Any | None, options: dict[str, Any]) -> Any:
    """A BoxMOT tracker with `reid` as appearance model, or without appearance when `reid` is None."""
    from finereid.errors import ConfigError

    try:
        import boxmot
    except ImportError:
        raise ConfigError("`finereid track` needs BoxMOT: pip install 'finereid[boxmot]'") from None
    appearance = {"reid_model": reid} if reid is not None else {"use_embeddings": False}
    try:
        return getattr(boxmot, TRACKERS[name])(**options, **appearance)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"BoxMOT {TRACKERS[name]} refused the options: {exc}") from None


def _options(items: list[str]) -> dict[str, Any]:
    """--option KEY=VALUE pairs, values read as YAML scalars."""
    import yaml

    from finereid.errors import ConfigError

    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--option takes KEY=VALUE, got {item!r}")
        options[key] = yaml.safe_load(value)
    return options


def run(args: argparse.Namespace) -> int:
    """Track with the finereid model (and without appearance), print the scores, write the tracks."""
    from finereid.deploy import TrackerReID, read_frames, read_mot_file, run_tracker, write_mot_file
    from finereid.metrics.tracking import tracking_metrics

    if args.synthetic:
        from finereid.synth.video import write_sequence

        write_sequence(args.sequence, args.people, args.frames, seed=args.seed)
    detections = read_mot_file(args.sequence / "det" / "det.txt")
    gt_file = args.sequence / "gt" / "gt.txt"
    options = _options(args.options)
    reid = TrackerReID.load(args.model, args.device, half=args.half)
    runs = (
        {"finereid appearance": reid}
        if args.no_compare
        else {"finereid appearance": reid, "no appearance": None}
    )
    results = {}
    for label, model in runs.items():
        tracks = run_tracker(
            build_tracker(args.tracker, model, options), read_frames(args.sequence), detections
        )
        if model is reid:
            out = write_mot_file(args.out or args.sequence / "tracks_finereid.txt", tracks)
        if gt_file.is_file():
            gt = read_mot_file(gt_file)
            results[label] = tracking_metrics(gt[:, :6], tracks)
    print(f"{args.tracker} on {args.sequence} ({len(detections)} detections); tracks: {out}")
    for label, scores in results.items():
        print(
            f"  {label:>20}: IDF1 {100 * scores['idf1']:.1f} %, ID switches {scores['id_switches']}, "
            f"MOTA {100 * scores['mota']:.1f} %, {scores['num_hypothesis_ids']} track ids for "
            f"{scores['num_gt_ids']} people"
        )
    if results:
        (args.sequence / "tracking_scores.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0

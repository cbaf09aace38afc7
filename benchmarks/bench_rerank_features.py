"""Benchmark re_ranking_features against the dense re_ranking(compute_distmat ...) path, in the same run.

    python benchmarks/bench_rerank_features.py              # Market-1501 scale (~1 min on one core)
    python benchmarks/bench_rerank_features.py --quick      # a quarter of the sizes (~10 s)
    python benchmarks/bench_rerank_features.py --reference  # also the published NumPy algorithm (~3 min)

Market-1501 scale: 3,368 queries x 15,913 gallery, D=2048 random features (identity centres + noise,
bench_eval.make_data), euclidean, k1=20, k2=6, lambda=0.3. Each side runs in its own child process
from the same features; the child reports the seconds of the call (for the dense side and the
published algorithm: the three compute_distmat blocks plus the re-ranking) and its peak RSS (getrusage
ru_maxrss), and saves its (Q, G) result so the parent can print the largest difference. `--threads`
(default 1) sets torch's threads. `benchmarks/bench_scale.py` runs the same comparison (`compare`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

import numpy as np
import torch

from bench_eval import MARKET, current_rss_gb, make_data, peak_rss_gb, re_ranking_reference, scaled, timed
from finereid.metrics import compute_distmat, re_ranking, re_ranking_features

SETTINGS = {"k1": 20, "k2": 6, "lambda_value": 0.3}
SIDES = {
    "features": "re_ranking_features",
    "dense": "compute_distmat x3 + re_ranking",
    "reference": "compute_distmat x3 + published NumPy algorithm",
}


def dense(query: torch.Tensor, gallery: torch.Tensor, rerank=re_ranking) -> tuple[torch.Tensor, float]:
    """The dense path: the three distance blocks, then `rerank`; also the seconds spent on the blocks."""
    blocks, seconds = timed(
        lambda: [compute_distmat(a, b) for a, b in ((query, gallery), (query, query), (gallery, gallery))]
    )
    return rerank(*blocks, **SETTINGS), seconds


def reference(*blocks: torch.Tensor, **settings) -> torch.Tensor:
    """The published algorithm (tests/metrics/metrics_reference.py) on NumPy copies of the blocks."""
    return torch.from_numpy(re_ranking_reference(*(block.numpy() for block in blocks), **settings))


def child(which: str, quick: bool, out_path: str) -> dict:
    """Child process: one side on Market-scale features; save its result, report time and peak RSS."""
    query, gallery, *_ = make_data(**scaled(MARKET, quick))
    query, gallery = torch.from_numpy(query), torch.from_numpy(gallery)
    baseline = current_rss_gb()
    report = {"inputs_gb": baseline}
    if which == "features":
        result, report["seconds"] = timed(re_ranking_features, query, gallery, **SETTINGS)
    else:
        rerank = re_ranking if which == "dense" else reference
        (result, report["distance_seconds"]), report["seconds"] = timed(dense, query, gallery, rerank)
    report["peak_gb"] = peak_rss_gb()
    np.save(out_path, result.numpy())
    return report


def run_child(threads: int, quick: bool, which: str, out_path: str) -> dict:
    """Run this script as a child for one side and return its JSON report."""
    command = [sys.executable, __file__, "--threads", str(threads), "--child", which, "--out", out_path]
    done = subprocess.run([*command, *(["--quick"] if quick else [])], check=True, capture_output=True)
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def compare(threads: int, quick: bool, sides: tuple[str, ...]) -> str:
    """Run `sides` (features first) each in a child process; a Markdown table with ratios to features."""
    with tempfile.TemporaryDirectory() as tmp:
        reports = {which: run_child(threads, quick, which, f"{tmp}/{which}.npy") for which in sides}
        ours = np.load(f"{tmp}/features.npy")
        diffs = {which: np.abs(ours - np.load(f"{tmp}/{which}.npy")).max() for which in sides}
    base = reports["features"]
    lines = [
        f"sizes: {scaled(MARKET, quick)}, D=2048, {SETTINGS}, torch threads={threads}",
        "| path | time (s) | time / features | peak RSS (GiB) | peak / features | RSS with features "
        "loaded (GiB) | max abs diff to features |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for which, report in reports.items():
        seconds = f"{report['seconds']:.1f}"
        if "distance_seconds" in report:
            seconds += f" (distances {report['distance_seconds']:.1f})"
        lines.append(
            f"| {SIDES[which]} | {seconds} | {report['seconds'] / base['seconds']:.2f}x "
            f"| {report['peak_gb']:.2f} | {report['peak_gb'] / base['peak_gb']:.2f}x "
            f"| {report['inputs_gb']:.2f} | {diffs[which]:.1e} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the sizes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--reference", action="store_true", help="also the published NumPy algorithm")
    parser.add_argument("--child", choices=list(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.child:
        print(json.dumps(child(args.child, args.quick, args.out)))
        return
    sides = ("features", "dense", "reference") if args.reference else ("features", "dense")
    print("\n" + compare(args.threads, args.quick, sides))


if __name__ == "__main__":
    main()

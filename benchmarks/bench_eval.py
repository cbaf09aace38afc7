"""Benchmark finereid.metrics against straightforward NumPy references, timed in the same run.

    python benchmarks/bench_eval.py                # Market-1501 scale + MSMT17-scale memory (~10 min)
    python benchmarks/bench_eval.py --quick        # a quarter of the sizes, no MSMT17 run (~1 min)

Market-1501 scale: 3,368 queries x 15,913 gallery, 751 ids, 6 cameras, D=2048 random features
(identity centres + noise, tuned so rank-1 is about 0.7). The references are per-query NumPy loops and a
NumPy transcription of the published re-ranking (tests/metrics/metrics_reference.py, shared with the
tests). Re-ranking runs and the MSMT17-scale run (11,659 x 82,161, D=2048) each happen in a child
process, whose peak RSS (getrusage ru_maxrss) is reported. `--threads` (default 1) sets torch's thread
count, so by default both sides use one core: the NumPy loops are single-threaded.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "metrics"))
from metrics_reference import features_reference, rank_reference, re_ranking_reference

from finereid.metrics import compute_distmat, evaluate_features, evaluate_rank, re_ranking

log = logging.getLogger("bench_eval")
MARKET = {"num_query": 3368, "num_gallery": 15913, "num_ids": 751, "num_cams": 6}
MSMT = {"num_query": 11659, "num_gallery": 82161, "num_ids": 3060, "num_cams": 15}
DIM, SIGNAL, SEED = 2048, 0.3, 0


def make_data(num_query, num_gallery, num_ids, num_cams, dim=DIM, seed=SEED):
    """Random float32 features (identity centre * SIGNAL + unit noise) and ids, built in row blocks."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_ids, dim), dtype=np.float32) * SIGNAL
    ids = [rng.integers(0, num_ids, size=n) for n in (num_query, num_gallery)]
    cams = [rng.integers(0, num_cams, size=n) for n in (num_query, num_gallery)]
    feats = []
    for pids in ids:
        out = np.empty((len(pids), dim), dtype=np.float32)
        for a in range(0, len(pids), 4096):  # no full-size temporaries
            out[a : a + 4096] = rng.standard_normal((len(pids[a : a + 4096]), dim), dtype=np.float32)
            out[a : a + 4096] += centres[pids[a : a + 4096]]
        feats.append(out)
    return feats[0], feats[1], ids[0], ids[1], cams[0], cams[1]


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far, in GiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def current_rss_gb() -> float:
    """Resident set size of this process now, in GiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**30


def timed(fn, *args, **kwargs):
    """(result, seconds) of one call."""
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def child_rerank(which: str, sizes: dict, out_path: str) -> dict:
    """Child process: re-rank Market-scale distances with finereid or the reference; save the result."""
    query, gallery, *_ = make_data(**sizes)
    q_g = compute_distmat(query, gallery).numpy()
    q_q = compute_distmat(query, query).numpy()
    g_g = compute_distmat(gallery, gallery).numpy()
    del query, gallery
    baseline = current_rss_gb()
    fn = re_ranking if which == "finereid" else re_ranking_reference
    result, seconds = timed(fn, q_g, q_q, g_g)
    np.save(out_path, result)
    return {"seconds": seconds, "peak_gb": peak_rss_gb(), "inputs_gb": baseline}


def child_msmt(sizes: dict) -> dict:
    """Child process: evaluate_features at MSMT17 scale; report time and peak memory."""
    query, gallery, q_pids, g_pids, q_camids, g_camids = make_data(**sizes)
    baseline = current_rss_gb()
    result, seconds = timed(evaluate_features, query, gallery, q_pids, g_pids, q_camids, g_camids)
    return {"seconds": seconds, "peak_gb": peak_rss_gb(), "inputs_gb": baseline, "mAP": result.mAP}


def run_child(args: argparse.Namespace, *extra: str) -> dict:
    """Run this script as a child with `extra` arguments and return its JSON report."""
    command = [sys.executable, __file__, "--threads", str(args.threads), *(["--quick"] if args.quick else [])]
    done = subprocess.run([*command, *extra], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def scaled(sizes: dict, quick: bool) -> dict:
    """A quarter of every count with --quick."""
    return {k: max(2, v // 4) for k, v in sizes.items()} if quick else dict(sizes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="quarter sizes, skip the MSMT17 run")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1, like NumPy)")
    parser.add_argument("--skip-msmt", action="store_true", help="skip the MSMT17-scale memory run")
    parser.add_argument("--child", choices=["finereid", "reference", "msmt"], help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    market = scaled(MARKET, args.quick)
    if args.child == "msmt":
        print(json.dumps(child_msmt(MSMT)))
        return
    if args.child:
        print(json.dumps(child_rerank(args.child, market, args.out)))
        return
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    rows = []

    query, gallery, q_pids, g_pids, q_camids, g_camids = make_data(**market)
    ids = (q_pids, g_pids, q_camids, g_camids)
    distmat = compute_distmat(query, gallery)
    ours, t_ours = timed(evaluate_rank, distmat, *ids)
    ref, t_ref = timed(rank_reference, distmat.numpy(), *ids)
    diff = max(np.abs(ours.cmc - ref[0]).max(), abs(ours.mAP - ref[1]), abs(ours.mINP - ref[2]))
    rows.append(("evaluate_rank", t_ours, t_ref, 10, f"max |diff| {diff:.1e}"))
    log.info("rank-1 %.3f  mAP %.3f  mINP %.3f", ours.cmc[0], ours.mAP, ours.mINP)

    ours, t_ours = timed(evaluate_features, query, gallery, *ids)
    ref, t_ref = timed(features_reference, query, gallery, *ids)
    diff = max(np.abs(ours.cmc - ref[0]).max(), abs(ours.mAP - ref[1]), abs(ours.mINP - ref[2]))
    rows.append(("evaluate_features", t_ours, t_ref, 10, f"max |diff| {diff:.1e}"))
    del distmat, query, gallery

    with tempfile.TemporaryDirectory() as tmp:
        reports = {}
        for which in ("finereid", "reference"):
            log.info("re-ranking with %s ...", which)
            reports[which] = run_child(args, "--child", which, "--out", f"{tmp}/{which}.npy")
        diff = np.abs(np.load(f"{tmp}/finereid.npy") - np.load(f"{tmp}/reference.npy")).max()
    ours, ref = reports["finereid"], reports["reference"]
    rows.append(("re_ranking", ours["seconds"], ref["seconds"], 3, f"max |diff| {diff:.1e}"))
    memory = [
        f"re_ranking peak RSS: finereid {ours['peak_gb']:.2f} GiB, reference {ref['peak_gb']:.2f} GiB "
        f"(RSS with the three input matrices loaded, before re-ranking: {ours['inputs_gb']:.2f} GiB)"
    ]
    if not (args.quick or args.skip_msmt):
        log.info("evaluate_features at MSMT17 scale ...")
        msmt = run_child(args, "--child", "msmt")
        memory.append(
            f"evaluate_features MSMT17 scale (11,659 x 82,161, D=2048): {msmt['seconds']:.1f} s, peak RSS "
            f"{msmt['peak_gb']:.2f} GiB (features loaded: {msmt['inputs_gb']:.2f} GiB); target <= 4 GiB"
        )
    print(f"\nsizes: {market}, D={DIM}, torch threads={args.threads}")
    print("| step | finereid (s) | NumPy reference (s) | speed-up | target | check |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for name, t_ours, t_ref, target, check in rows:
        print(f"| {name} | {t_ours:.2f} | {t_ref:.2f} | {t_ref / t_ours:.1f}x | >= {target}x | {check} |")
    print("\n" + "\n".join(memory))


if __name__ == "__main__":
    main()

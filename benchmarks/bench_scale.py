"""What fits on one machine: re-ranking and evaluation at Market-1501 and MSMT17 size, a 10M-image index.

    python benchmarks/bench_scale.py market             # re-ranking from features vs dense vs published
    python benchmarks/bench_scale.py msmt               # evaluate_features(rerank=True), 11,659 x 82,161
    python benchmarks/bench_scale.py index --threads 2  # IVF-PQ over 10,000,000 x 512 features
    python benchmarks/bench_scale.py msmt index --quick # smaller sizes (a quarter; a tenth of the index)

Every figure comes from a child process (peak RSS: getrusage ru_maxrss) and, where there is a
reference, is printed as a ratio to it measured in the same run:

- market: `bench_rerank_features.compare` (re_ranking_features, the dense re_ranking on three
  compute_distmat blocks, the published NumPy algorithm), D=2048 `bench_eval.make_data` features;
- msmt: `evaluate_features(rerank=True)` against the plain `evaluate_features` (bench_eval's child);
- index: clustered synthetic features (identity centres N(0, 1) + N(0, NOISE^2) noise, made in blocks
  from per-block seeds, never all at once) go into a `finereid.deploy.SearchIndex` while the exact top
  10 of 1,000 queries (other images of gallery identities) is kept by `search_torch` block by block;
  a second child loads the saved file and searches it. recall@R = share of queries whose exact nearest
  neighbour is in the index's top R; overlap@10 = mean share of the exact top 10 in the index's top 10.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import bench_rerank_features
from bench_eval import MSMT, child_msmt, current_rss_gb, make_data, peak_rss_gb, scaled, timed
from finereid.deploy import SearchIndex, load_index, search_torch
from finereid.metrics import evaluate_features, lexsort_rows

INDEX = {"size": 10_000_000, "dim": 512, "num_ids": 100_000, "queries": 1000, "block": 100_000}
NOISE, TOP_K = 1.0, 10
NPROBES = (16, 32, 64, 128, 256, 512)


def child_msmt_rerank(quick: bool) -> dict:
    """evaluate_features(rerank=True) at MSMT17 size: time, peak RSS, RSS with the features loaded."""
    query, gallery, *ids = make_data(**scaled(MSMT, quick))
    baseline = current_rss_gb()
    result, seconds = timed(evaluate_features, query, gallery, *ids, rerank=True, top_k=10)
    return {"seconds": seconds, "peak_gb": peak_rss_gb(), "inputs_gb": baseline, "mAP": result.mAP}


def centres_and_queries(sizes: dict, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Identity centres (num_ids, dim) and queries: new images of random gallery identities."""
    rng = np.random.default_rng([seed, 1])
    centres = rng.standard_normal((sizes["num_ids"], sizes["dim"]), dtype=np.float32)
    ids = rng.integers(0, sizes["num_ids"], sizes["queries"])
    noise = rng.standard_normal((sizes["queries"], sizes["dim"]), dtype=np.float32)
    return centres, centres[ids] + NOISE * noise


def block(centres: np.ndarray, sizes: dict, number: int, seed: int = 0) -> np.ndarray:
    """Gallery rows number * block ... of the synthetic gallery, from their own seed."""
    start = number * sizes["block"]
    rows = min(sizes["block"], sizes["size"] - start)
    rng = np.random.default_rng([seed, 2, number])
    out = rng.standard_normal((rows, centres.shape[1]), dtype=np.float32)
    out *= NOISE
    out += centres[rng.integers(0, len(centres), rows)]
    return out


def child_index_build(sizes: dict, out: str) -> dict:
    """Train and fill an IVF-PQ index block by block, keep the exact top 10; save both."""
    centres, queries = centres_and_queries(sizes)
    index = SearchIndex.create(sizes["dim"], sizes["size"], "ivfpq", meta={"model": "synthetic"})
    settings = index.meta["settings"]
    blocks = -(-sizes["size"] // sizes["block"])
    first = range(-(-settings["train_size"] // sizes["block"]))  # the blocks that hold the training sample
    sample = np.concatenate([block(centres, sizes, number) for number in first])
    _, train_seconds = timed(index.train, sample[: settings["train_size"]])
    del sample
    best_d = torch.full((len(queries), TOP_K), float("inf"))
    best_i = torch.full((len(queries), TOP_K), -1, dtype=torch.int64)
    seconds = {"train": train_seconds, "generate": 0.0, "add": 0.0, "exact": 0.0}
    for number in range(blocks):
        rows, spent = timed(block, centres, sizes, number)
        seconds["generate"] += spent
        seconds["add"] += timed(index.add, rows)[1]
        found, spent = timed(search_torch, queries, rows, TOP_K)
        start = time.perf_counter()
        offset = torch.from_numpy(np.where(found.indices >= 0, found.indices + number * sizes["block"], -1))
        cand_d = torch.cat([best_d, torch.from_numpy(found.distances)], dim=1)
        cand_i = torch.cat([best_i, offset], dim=1)
        cand_d, cand_i = lexsort_rows(cand_d, torch.where(cand_i < 0, sizes["size"], cand_i))
        best_d, best_i = cand_d[:, :TOP_K], cand_i[:, :TOP_K]
        seconds["exact"] += spent + time.perf_counter() - start
    seconds["save"] = timed(index.save, out)[1]
    np.save(out + ".exact.npy", best_i.numpy())
    return {"seconds": seconds, "peak_gb": peak_rss_gb(), "file_gb": os.path.getsize(out) / 2**30,
            "settings": settings}  # fmt: skip


def child_index_search(sizes: dict, out: str) -> dict:
    """Load the saved index, search the queries at several nprobe; recall against the exact top 10."""
    _, queries = centres_and_queries(sizes)
    exact = np.load(out + ".exact.npy")
    before = current_rss_gb()
    index, load_seconds = timed(load_index, out)
    report = {"load_seconds": load_seconds, "loaded_gb": current_rss_gb() - before, "runs": []}
    for nprobe in NPROBES:
        found, seconds = timed(index.search, queries, TOP_K, nprobe=nprobe)
        hits = found.indices == exact[:, :1]
        overlap = np.mean(
            [np.intersect1d(a, b).size / TOP_K for a, b in zip(found.indices, exact, strict=True)]
        )
        report["runs"].append({"nprobe": nprobe, "qps": len(queries) / seconds, "recall1": hits[:, 0].mean(),
                               "recall10": hits.any(axis=1).mean(), "overlap10": overlap})  # fmt: skip
    report["peak_gb"] = peak_rss_gb()
    return report


def run_child(threads: int, *extra: str) -> dict:
    """Run this script as a child and return its last line of JSON."""
    command = [sys.executable, __file__, "--threads", str(threads)]
    done = subprocess.run([*command, *extra], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"child {extra} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def section_msmt(args: argparse.Namespace) -> str:
    """The re-ranked and the plain chunked evaluation at MSMT17 size, each in a child process."""
    quick = ["--quick"] if args.quick else []
    ours = run_child(args.threads, "--child", "msmt", *quick)
    plain = run_child(args.threads, "--child", "msmt-plain", *quick)
    sizes = scaled(MSMT, args.quick)
    return "\n".join([
        f"sizes: {sizes}, D=2048, k1=20, k2=6, lambda=0.3, top_k=10, torch threads={args.threads}",
        "| MSMT17 size | time (s) | time / plain | peak RSS (GiB) | RSS with features loaded (GiB) | mAP |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| evaluate_features(rerank=True) | {ours['seconds']:.1f} "
        f"| {ours['seconds'] / plain['seconds']:.1f}x "
        f"| {ours['peak_gb']:.2f} | {ours['inputs_gb']:.2f} | {ours['mAP']:.3f} |",
        f"| evaluate_features (plain) | {plain['seconds']:.1f} | 1.0x | {plain['peak_gb']:.2f} "
        f"| {plain['inputs_gb']:.2f} | {plain['mAP']:.3f} |",
    ])  # fmt: skip


def section_index(args: argparse.Namespace) -> str:
    """Build (one child) and search (another) the synthetic index; a table of both."""
    sizes = {**INDEX, **({"size": args.size} if args.size else {})}
    if args.quick:
        sizes.update(size=sizes["size"] // 10, num_ids=sizes["num_ids"] // 10)
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        out, spec = f"{tmp}/gallery.index", json.dumps(sizes)
        built = run_child(args.threads, "--child", "build", "--sizes", spec, "--out", out)
        found = run_child(args.threads, "--child", "search", "--sizes", spec, "--out", out)
    s, exact_qps = built["seconds"], sizes["queries"] / built["seconds"]["exact"]
    lines = [
        f"sizes: {sizes}, noise {NOISE}, settings {built['settings']}, threads={args.threads}",
        f"build: train {s['train']:.0f} s, add {s['add']:.0f} s (generating the features, not counted: "
        f"{s['generate']:.0f} s), save {s['save']:.0f} s; file {built['file_gb']:.2f} GiB; build peak RSS "
        f"{built['peak_gb']:.2f} GiB (centres {sizes['num_ids'] * sizes['dim'] * 4 / 2**30:.2f} GiB of it)",
        f"search: load {found['load_seconds']:.1f} s, +{found['loaded_gb']:.2f} GiB RSS; search peak RSS "
        f"{found['peak_gb']:.2f} GiB; exact search (streamed blocks) {exact_qps:.1f} queries/s",
        "| nprobe | recall@1 | recall@10 | overlap@10 | queries/s | / exact |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in found["runs"]:
        recall = " | ".join(f"{run[key]:.3f}" for key in ("recall1", "recall10", "overlap10"))
        lines.append(f"| {run['nprobe']} | {recall} | {run['qps']:.0f} | {run['qps'] / exact_qps:.1f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "sections", nargs="*", metavar="SECTION", help="market, msmt, index (default: market msmt)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes (a quarter; a tenth of the index)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch and faiss threads (default 1)")
    parser.add_argument("--size", type=int, help="index: gallery size (default 10,000,000)")
    parser.add_argument("--tmp", help="index: folder for the temporary index file (default: the system's)")
    parser.add_argument("--child", choices=["msmt", "msmt-plain", "build", "search"], help=argparse.SUPPRESS)
    parser.add_argument("--sizes", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if set(args.sections) - {"market", "msmt", "index"}:
        parser.error(f"unknown sections {args.sections}; valid: market, msmt, index")
    torch.set_num_threads(args.threads)
    if args.child:
        import faiss

        faiss.omp_set_num_threads(args.threads)
        children = {"msmt": lambda: child_msmt_rerank(args.quick),
                    "msmt-plain": lambda: child_msmt(scaled(MSMT, args.quick)),
                    "build": lambda: child_index_build(json.loads(args.sizes), args.out),
                    "search": lambda: child_index_search(json.loads(args.sizes), args.out)}  # fmt: skip
        print(json.dumps(children[args.child](), default=float))
        return
    for section in args.sections or ["market", "msmt"]:
        if section == "market":
            sides = ("features", "dense", "reference")
            table = bench_rerank_features.compare(args.threads, args.quick, sides)
        else:
            table = section_msmt(args) if section == "msmt" else section_index(args)
        print(f"\n## {section}\n{table}", flush=True)


if __name__ == "__main__":
    main()

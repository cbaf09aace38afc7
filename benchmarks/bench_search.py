"""Gallery search at scale: time and peak memory of exact torch search and faiss on a random gallery.

    python benchmarks/bench_search.py                       # 1,000,000 x 512 gallery, 1,000 queries, top 10
    python benchmarks/bench_search.py --gallery 100000      # quicker

Each backend runs in its own process so its peak RSS (getrusage) is its own. Memory is reported as the
peak minus the RSS after building the gallery, next to the size of the Q x G distance matrix a naive
search would hold. The last line checks that both backends returned the same indices.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GIB = 1024**3


def _rss_gib() -> float:
    """Current resident set size of this process."""
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize() / GIB


def _peak_gib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def make_data(num_gallery: int, num_query: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random float32 features, built chunk by chunk (no float64 copy of the whole gallery)."""
    rng = np.random.default_rng(seed)
    gallery = np.empty((num_gallery, dim), dtype=np.float32)
    for start in range(0, num_gallery, 65536):
        stop = min(start + 65536, num_gallery)
        gallery[start:stop] = rng.standard_normal((stop - start, dim), dtype=np.float32)
    return rng.standard_normal((num_query, dim), dtype=np.float32), gallery


def child(args: argparse.Namespace) -> None:
    """Run one backend and print a JSON line with its numbers."""
    import torch

    from finereid.deploy import search

    torch.set_num_threads(args.threads)
    if args.backend == "faiss":
        import faiss

        faiss.omp_set_num_threads(args.threads)
    query, gallery = make_data(args.gallery, args.queries, args.dim)
    base = _rss_gib()
    start = time.perf_counter()
    result = search(query, gallery, args.top_k, "euclidean", backend=args.backend)
    seconds = time.perf_counter() - start
    np.save(args.out, result.indices)
    print(
        json.dumps(
            {
                "backend": args.backend,
                "seconds": seconds,
                "gallery_gib": gallery.nbytes / GIB,
                "extra_peak_gib": _peak_gib() - base,
            }
        )
    )


def main() -> None:
    """Parse options; as parent, run each backend in a subprocess and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gallery", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backends", nargs="+", default=["torch", "faiss"])
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        child(args)
        return
    naive = args.queries * args.gallery * 4 / GIB
    print(
        f"gallery {args.gallery:,} x {args.dim} float32 ({args.gallery * args.dim * 4 / GIB:.2f} GiB), "
        f"{args.queries:,} queries, top {args.top_k}, {args.threads} threads; "
        f"a full Q x G float32 distance matrix would be {naive:.2f} GiB"
    )
    print(f"{'backend':<8} {'seconds':>8} {'queries/s':>10} {'peak RSS above gallery (GiB)':>30}")
    indices = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            out = Path(tmp) / f"{backend}.npy"
            cmd = [
                sys.executable,
                __file__,
                "--backend",
                backend,
                "--out",
                str(out),
                "--gallery",
                str(args.gallery),
                "--queries",
                str(args.queries),
                "--dim",
                str(args.dim),
                "--top-k",
                str(args.top_k),
                "--threads",
                str(args.threads),
            ]
            line = (
                subprocess.run(cmd, check=True, capture_output=True, text=True)
                .stdout.strip()
                .splitlines()[-1]
            )
            row = json.loads(line)
            print(
                f"{backend:<8} {row['seconds']:8.1f} {args.queries / row['seconds']:10.1f} "
                f"{row['extra_peak_gib']:30.2f}"
            )
            indices[backend] = np.load(out)
    if len(indices) == 2:
        a, b = indices.values()
        print(f"same indices: {np.array_equal(a, b)} ({(a != b).sum()} of {a.size} differ)")


if __name__ == "__main__":
    main()

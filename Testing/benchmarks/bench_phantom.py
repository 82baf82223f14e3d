"""Benchmark: phantom generation speed and memory (not part of the test suite; `make bench`).

Prints studies per minute for a batch on all cores (the issue's target: at least 20 per minute on
2 cores), the per-study time of one process, and the peak resident memory of a worker.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from lss.phantom.generate import PhantomOptions, generate_batch, generate_study


def main() -> None:
    """Run the benchmark and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--studies", type=int, default=20, help="batch size (default 20)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        generate_study(Path(folder) / "single", args.seed, 0, PhantomOptions())
        single = time.perf_counter() - started
        manifest = generate_batch(Path(folder) / "batch", args.studies, args.seed, PhantomOptions(), args.workers)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({
        "studies": args.studies,
        "batch_seconds": manifest["seconds"],
        "studies_per_minute": manifest["studies_per_minute"],
        "single_study_seconds": round(single, 2),
        "median_study_seconds_in_batch": sorted(s["seconds"] for s in manifest["studies"])[args.studies // 2],
        "peak_worker_rss_mb": round(peak_mb, 1),
        "prevalence": manifest["prevalence"],
    }, indent=2))


if __name__ == "__main__":
    main()

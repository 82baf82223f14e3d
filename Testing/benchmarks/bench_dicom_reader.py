"""Benchmark: reading a phantom DICOM study (not part of the test suite; `make bench`).

Generates one study, then times read_study (headers → series → stacks) and load_pixels on every stack,
median of several runs. The issue's target: a 60-slice uncompressed study read in at most 1 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from lss.dicom.reader import read_study
from lss.phantom.generate import PhantomOptions, generate_study


def main() -> None:
    """Run the benchmark and print a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="3T-ge", help="phantom scanner profile (default 3T-ge)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=12345)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        summary = generate_study(Path(folder), args.seed, 0, PhantomOptions(profile=args.profile, label_maps=False))
        dicom = Path(folder) / summary["folder"] / "dicom"
        headers, pixels, totals = [], [], []
        for _ in range(args.runs):
            started = time.perf_counter()
            study = read_study(dicom)
            read = time.perf_counter()
            for series in study.series:
                for stack in series.stacks:
                    stack.load_pixels()
            done = time.perf_counter()
            headers.append(read - started)
            pixels.append(done - read)
            totals.append(done - started)
    print(json.dumps({
        "profile": args.profile,
        "series": len(study.series),
        "stacks": sum(len(s.stacks) for s in study.series),
        "images": sum(s.n_images for s in study.series),
        "median_read_study_seconds": round(statistics.median(headers), 4),
        "median_load_pixels_seconds": round(statistics.median(pixels), 4),
        "median_total_seconds": round(statistics.median(totals), 4),
        "target_seconds_for_60_slices": 1.0,
    }, indent=2))


if __name__ == "__main__":
    main()

"""Detect & Grade speed and memory: the demo configuration beside the paper configuration, on one phantom study.

Run: .venv/bin/python Testing/benchmarks/bench_grade.py [--runs 3] [--threads 2] [--study DIR] [--paper-bundle DIR]

Each configuration runs in its own process (so its peak RSS is its own): the study is read, then graded
``--runs`` times after one warm-up run, with a 9-member ensemble and Integrated Gradients for the abnormal
findings. Printed per configuration: median seconds per stage and in total, peak RSS, and the dichotomous
agreement with the phantom's ground truth. Targets (issue 6): demo ≤ 10 s median, ≤ 2.5 GB on 2 CPU cores.

The paper configuration (ResNet101-FPN detectors at 600–1024 px, 150 px grader crops) has no trained bundle
here: training it needs a GPU. Its speed is measured with untrained weights of the same architecture —
inference cost does not depend on the weights — and its agreement is reported only when ``--paper-bundle``
names a trained one. Untrained detectors score every box near chance (≈ 1 / (classes + 1)), around the
grading threshold of 0.3: their weights are seeded and they run at a threshold of 0.05, so that discs are
found, levels labelled and the axial stage runs as it would with trained weights (otherwise a run may find
no disc and skip the axial stage, and the paper configuration would look cheaper than it is).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

UNTRAINED_MIN_SCORE = 0.05
STAGES = ("read", "sagittal_detection", "axial_detection", "sagittal_canal", "grading", "anatomy", "explain")


def paper_bundle_untrained(demo):
    """The demo bundle with its detectors and graders replaced by untrained paper-configuration networks."""
    import torch

    from lss.bundle.contents import ModelBundle
    from lss.nets.detector import DetectorConfig, build_detector
    from lss.nets.grader import GraderConfig, GradingCNN

    torch.manual_seed(0)
    detectors = {}
    for plane, (config, _) in demo.detectors.items():
        paper = DetectorConfig.paper(list(config.class_names))
        detectors[plane] = (paper, build_detector(paper).state_dict())
    grader = GraderConfig(crop_size=150)
    graders = {region: (grader, [GradingCNN(grader).state_dict() for _ in states])
               for region, (_, states) in demo.graders.items()}
    return ModelBundle(detectors, graders, demo.segmenter, {**demo.description, "name": "paper (untrained)"})


def worker(configuration: str, study_folder: Path, runs: int, threads: int, paper_bundle: Path | None) -> dict:
    """Grade the study ``runs`` times in this process; timings, peak RSS and agreement as a dict."""
    import torch

    from lss.bundle.demo import DEMO_BUNDLE
    from lss.bundle.store import load_bundle
    from lss.dicom.identify import assign_roles
    from lss.dicom.reader import read_study
    from lss.model.findings_io import read_findings
    from lss.pipeline.result import GradingOptions
    from lss.pipeline.run import grade_study

    torch.set_num_threads(threads)
    bundle = load_bundle(DEMO_BUNDLE)
    trained = True
    if configuration == "paper":
        trained = paper_bundle is not None
        bundle = load_bundle(paper_bundle) if trained else paper_bundle_untrained(bundle)
    study = assign_roles(read_study(study_folder))
    options = GradingOptions(device="cpu", heatmaps="abnormal")
    if not trained:
        options = replace(options, min_score=UNTRAINED_MIN_SCORE)
    grade_study(study, bundle, options)  # warm-up
    totals, stages, result = [], {name: [] for name in STAGES}, None
    for _ in range(runs):
        started = time.perf_counter()
        result = grade_study(study, bundle, options)
        totals.append(time.perf_counter() - started)
        for name in STAGES:
            stages[name].append(result.timings.get(name, 0.0))
    truth = {f.key: f.grade.is_dichotomous_positive for f in read_findings(study_folder / "ground_truth.json").findings}
    predicted = {f.key: f.grade.is_dichotomous_positive for f in result.findings.findings}
    agreement = sum(predicted.get(k) == v for k, v in truth.items()) / len(truth) if trained else None
    return {"configuration": configuration, "trained": trained, "total_s": statistics.median(totals),
            "stages_s": {k: statistics.median(v) for k, v in stages.items()},
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2,
            "agreement": agreement, "explained": len(result.explained)}


def main() -> None:
    """Run each configuration in a child process and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--study", type=Path, help="phantom study folder (default: generate the demo study, seed 7)")
    parser.add_argument("--paper-bundle", type=Path, help="a trained paper-configuration bundle")
    parser.add_argument("--worker", choices=("demo", "paper"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.study, args.runs, args.threads, args.paper_bundle)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        study = args.study
        if study is None:
            from lss.phantom.generate import PhantomOptions, generate_study

            generate_study(Path(scratch), 7, 0, PhantomOptions())
            study = Path(scratch) / "PHANTOM_0000"
        rows = []
        for configuration in ("demo", "paper"):
            command = [sys.executable, __file__, "--worker", configuration, "--study", str(study), "--runs",
                       str(args.runs), "--threads", str(args.threads)]
            if args.paper_bundle:
                command += ["--paper-bundle", str(args.paper_bundle)]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            rows.append(json.loads(output.strip().splitlines()[-1]))
    print(f"Detect & Grade, {args.threads} threads, median of {args.runs} runs after a warm-up")
    print(f"{'configuration':<20}{'total s':>9}" + "".join(f"{s[:12]:>14}" for s in STAGES)
          + f"{'peak GB':>9}{'agreement':>11}")
    for row in rows:
        agreement = f"{row['agreement']:.2f}" if row["agreement"] is not None else "n/a"
        name = row["configuration"] + ("" if row["trained"] else " (untrained)")
        print(f"{name:<20}{row['total_s']:>9.2f}" + "".join(f"{row['stages_s'][s]:>14.2f}" for s in STAGES)
              + f"{row['peak_rss_gb']:>9.2f}{agreement:>11}")
    print(f"speed ratio paper / demo: {rows[1]['total_s'] / rows[0]['total_s']:.1f}x")


if __name__ == "__main__":
    main()

"""`lss train`: train detectors and grader ensembles from annotated studies and write a model bundle."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lss.cli.errors import InputDataError, UsageError

EXAMPLE = """examples:
  lss phantom --out train --studies 120 --seed 1000 --enriched
  lss phantom --out test --studies 40 --seed 5000
  lss train --data train --holdout test --format native --out my_bundle --preset demo
  lss train --data rsna2024 --format rsna --out rsna_bundle --preset paper --device cuda
  torchrun --nproc_per_node 2 -m lss.cli.main train --data train --out ddp_bundle --preset fast"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `train` verb."""
    from lss.training.importers import FORMATS

    parser = subparsers.add_parser(
        "train", help="train detection and grading networks; write a model bundle",
        description="Train the region detectors and the grader ensembles from annotated studies, evaluate them on "
                    "held-out studies and write a model bundle (safetensors + bundle.json with SHA-256 hashes).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="folder of annotated studies")
    parser.add_argument("--format", default="native", choices=FORMATS, help="annotation format (default native)")
    parser.add_argument("--out", required=True, type=Path, help="bundle folder to write (replaced if it exists)")
    parser.add_argument("--preset", default="demo", choices=("demo", "fast", "paper"),
                        help="networks and schedule (default demo; see lss.training.presets)")
    parser.add_argument("--members", type=int, help="grader ensemble members (default 9: 3 splits x 3 runs)")
    parser.add_argument("--epochs", type=int, help="grader epochs (default from the preset)")
    parser.add_argument("--detector-epochs", type=int, help="detector epochs (default from the preset)")
    parser.add_argument("--holdout", type=Path, help="folder of held-out test studies (same format)")
    parser.add_argument("--holdout-fraction", type=float, default=0.2,
                        help="share of --data held out for testing when --holdout is not given (default 0.2; 0 = none)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="compute device")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--work-dir", type=Path, help="checkpoint folder; a re-run with it resumes (default none)")
    parser.add_argument("--synthetic", action="store_true",
                        help="state in the bundle that it was trained on synthetic phantoms only")
    parser.set_defaults(run=run)


def _check(args: argparse.Namespace) -> None:
    if not args.data.is_dir():
        raise UsageError(f"--data {args.data}: not a folder")
    if args.holdout is not None and not args.holdout.is_dir():
        raise UsageError(f"--holdout {args.holdout}: not a folder")
    if not 0 <= args.holdout_fraction < 1:
        raise UsageError(f"--holdout-fraction must lie in [0, 1), got {args.holdout_fraction}")
    for name in ("members", "epochs", "detector_epochs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")


def run(args: argparse.Namespace) -> int:
    """Import, train, evaluate, write the bundle; print where it is and its held-out summary."""
    _check(args)
    from lss.training import distributed
    from lss.training.importers import import_studies
    from lss.training.presets import preset
    from lss.training.progress_bars import ProgressBars
    from lss.training.run import SYNTHETIC_NOTICE, TrainingData, hold_out, train_bundle

    plan = preset(args.preset, args.members, args.detector_epochs, args.epochs)
    studies, report = import_studies(args.data, args.format)
    reports = [report]
    _print_report(report)
    if not studies:
        raise InputDataError(f"{args.data}: no usable annotated studies ({report.summary()})")
    if args.holdout is not None:
        heldout, holdout_report = import_studies(args.holdout, args.format)
        reports.append(holdout_report)
        _print_report(holdout_report)
        pool = studies
        held_ids = {s.study_uid for s in heldout}
        if held_ids & {s.study_uid for s in pool}:
            raise InputDataError("--holdout shares studies with --data: held-out studies must be unseen")
    elif args.holdout_fraction > 0 and len(studies) >= 4:
        pool, heldout = hold_out(studies, args.holdout_fraction, args.seed)
    else:
        pool, heldout = studies, []
    extra = {"limitations": SYNTHETIC_NOTICE} if args.synthetic else {
        "limitations": "Research use only; not a medical device. Validate on your own data before any use."}
    with ProgressBars(enabled=distributed.is_main_process()) as bars:
        try:
            manifest = train_bundle(TrainingData(pool, heldout, reports), plan, args.out, args.device, args.seed,
                                    bars.control(), args.work_dir, extra)
        except ValueError as error:
            raise InputDataError(str(error)) from error
    if distributed.is_main_process():
        print(f"bundle written to {args.out}")
        for line in manifest["metrics"]["summary"]:
            print(line)
        print(json.dumps({"heldout_detection": manifest["metrics"]["heldout_detection"]}, indent=1))
    return 0


def _print_report(report) -> None:
    print(report.summary(), file=sys.stderr)
    for problem in report.problems[:20]:
        print(f"  refused: {problem}", file=sys.stderr)
    if len(report.problems) > 20:
        print(f"  … and {len(report.problems) - 20} more", file=sys.stderr)

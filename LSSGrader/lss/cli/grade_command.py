"""`lss grade`: Detect & Grade one DICOM study with a model bundle and write findings, report, overlays, heatmaps."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from lss.bundle.demo import DEMO_BUNDLE
from lss.cli.errors import EXIT_NOT_ASSESSED, EXIT_OK, UsageError
from lss.cli.inspect_command import parse_role_overrides
from lss.entry.choices import DEVICE_CHOICES, HEATMAP_CHOICES

EXAMPLE = """examples:
  lss phantom --out demo --studies 1 --seed 7
  lss grade demo/PHANTOM_0000 --out demo_read
  lss grade /data/mri/patient42 --out read42 --model my_bundle --heatmaps all --device cuda

exit codes: 0 graded; 2 bad arguments; 3 unusable study or model bundle (the message names the file);
4 not assessed: the outputs are written but no region could be graded (report.md says why); 1 internal error"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `grade` verb."""
    parser = subparsers.add_parser(
        "grade", help="detect and grade stenosis in one study; write findings, report, overlays, heatmaps",
        description="Detect the discs, central canal, lateral recesses and neural foramina of a lumbar MRI study, "
                    "grade each with the model bundle's ensemble, explain abnormal grades with Integrated Gradients "
                    "and write findings.json/.csv, rsna.csv, report.md, overlays/, heatmaps/, anatomy/ and run.json.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", type=Path, metavar="STUDY", help="folder (any depth) or DICOM files of one study")
    parser.add_argument("--out", required=True, type=Path, help="output folder (created; files in it replaced)")
    parser.add_argument("--model", type=Path, default=DEMO_BUNDLE,
                        help="model bundle folder (default: the bundled demo model, synthetic data only)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="compute device")
    parser.add_argument("--heatmaps", default="abnormal", choices=HEATMAP_CHOICES,
                        help="Integrated Gradients for moderate/severe findings (default), all, or none")
    parser.add_argument("--ig-steps", type=int, help="Integrated Gradients steps (default: the engine's, 50)")
    parser.add_argument("--min-score", type=float, default=0.3, help="detection score threshold (default 0.3)")
    parser.add_argument("--study-id", help="study id for rsna.csv rows (default: the StudyInstanceUID)")
    parser.add_argument("--role", action="append", default=[], metavar="SERIES_UID=ROLE",
                        help="override the role of a series (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Grade through the one grade entry; print the impression and where the outputs are."""
    overrides = parse_role_overrides(args.role)
    from lss.cli.progress_bars import ProgressBars
    from lss.entry.grade import GradeRequest, run_grading
    from lss.pipeline.result import GradingOptions

    try:
        steps = {} if args.ig_steps is None else {"ig_steps": args.ig_steps}
        options = GradingOptions(device=args.device, heatmaps=args.heatmaps, min_score=args.min_score, **steps)
    except ValueError as error:
        raise UsageError(str(error)) from None
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    request = GradeRequest(args.study, args.out, args.model, options, overrides, args.study_id)
    with ProgressBars(enabled=not args.quiet) as bars:
        outcome = run_grading(request, bars.control())
    for line in outcome.impression:
        print(line)
    for note in outcome.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"report: {outcome.paths['report']}")
    print(f"overlays: {outcome.paths['overlays']}")
    print(f"findings: {outcome.paths['findings']}")
    return EXIT_OK if outcome.run.assessed else EXIT_NOT_ASSESSED

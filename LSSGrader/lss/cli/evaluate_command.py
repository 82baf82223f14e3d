"""`lss evaluate`: score predicted findings against reference findings and write a report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lss.cli.errors import InputDataError, UsageError

EXAMPLE = """example:
  lss evaluate --reference phantoms --predictions graded --out evaluation
  lss evaluate --reference truth/study1.json --predictions graded/study1/findings.json --out evaluation
  (each PATH is a findings JSON file or a folder searched for them: phantom folders give ground_truth.json,
  `lss grade` output folders give findings.json and nothing else; studies are paired by study UID and boxes by
  image (SOPInstanceUID); a study twice on one side is an error, exit 3)"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `evaluate` verb."""
    parser = subparsers.add_parser(
        "evaluate", help="compare predicted findings with reference findings (detection, agreement, accuracy)",
        description="Compare predicted findings with reference findings: reference grade counts, detection recall "
                    "at IoU 0.2/0.3/0.4, Gwet's AC1 (4 grades and dichotomous) with 95% CI, Cohen's kappa, "
                    "sensitivity and specificity, confusion matrices; when predictions carry a reliability, how the "
                    "reliability gate performs (coverage, agreement of reliable and unreliable findings, "
                    "risk-coverage). Writes metrics.json, report.md and PNG figures.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", required=True, type=Path, metavar="PATH",
                        help="reference findings: a JSON file or a folder of them (e.g. phantom folders)")
    parser.add_argument("--predictions", required=True, type=Path, metavar="PATH",
                        help="predicted findings: a JSON file or a folder of them (e.g. `lss grade` output folders)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="report folder (created if missing)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, write the report, print a JSON summary (with ``reliability_coverage`` when predictions carry a
    reliability)."""
    from lss.evaluation.evaluate import EvaluationInputError, evaluate
    from lss.evaluation.report import write_report

    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    try:
        metrics = evaluate(args.reference, args.predictions)
    except EvaluationInputError as error:
        raise InputDataError(str(error)) from None
    written = write_report(metrics, args.out)
    summary = {
        "out": str(args.out),
        "studies": metrics["n_studies"],
        "recall": {t: row["recall"] for t, row in metrics["detection"]["overall"].items()},
        "ac1_4_grades": {region: (stats["four_grade"] or {}).get("gwet_ac1")
                         for region, stats in metrics["grading"].items()},
        "ac1_dichotomous": {region: (stats["dichotomous"] or {}).get("gwet_ac1")
                            for region, stats in metrics["grading"].items()},
        "report": str(written["report"]),
    }
    if "reliability" in metrics:  # predictions carrying a reliability: the share of keys the gate keeps
        summary["reliability_coverage"] = {region: gate["coverage"] for region, gate in metrics["reliability"].items()}
    print(json.dumps(summary, indent=2))
    return 0

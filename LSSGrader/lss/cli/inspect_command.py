"""`lss inspect`: read a DICOM study and say what it holds — series, roles, stacks, levels, problems."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lss.cli.errors import InputDataError, UsageError
from lss.model.study import ROLES

EXAMPLE = f"""example:
  lss inspect phantoms/PHANTOM_0000
  lss inspect /data/mri/patient42 --json > patient42.json
  lss inspect /data/mri/patient42 --role 1.2.840.113619.2.1.3=sag_t1

roles: {', '.join(ROLES)}"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `inspect` verb."""
    parser = subparsers.add_parser(
        "inspect", help="summarise a DICOM study: series, roles, stacks, levels, problems",
        description="Read a DICOM study (a folder at any depth, or files) and print its series with the role "
                    "each was identified as (and why), their stacks, the disc levels the axial stacks cover "
                    "(when a ground_truth.json sits beside the study) and any skipped files or problems.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", type=Path, metavar="STUDY", help="folder or DICOM file of the study")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--role", action="append", default=[], metavar="SERIES_UID=ROLE",
                        help="override the role of a series (repeatable)")
    parser.set_defaults(run=run)


def parse_role_overrides(items: list[str]) -> dict[str, str]:
    """{'SERIES_UID': 'ROLE'} from 'SERIES_UID=ROLE' strings; UsageError for malformed ones or bad roles."""
    overrides: dict[str, str] = {}
    for item in items:
        uid, sep, role = item.partition("=")
        uid, role = uid.strip(), role.strip()
        if not sep or not uid or not role:
            raise UsageError(f"--role expects SERIES_UID=ROLE, got {item!r}")
        if role not in ROLES:
            raise UsageError(f"--role {item!r}: unknown role {role!r}; valid roles: {', '.join(ROLES)}")
        overrides[uid] = role
    return overrides


def run(args: argparse.Namespace) -> int:
    """Read the study, identify series roles, print the overview as text or JSON."""
    from lss.dicom.errors import DicomReadError
    from lss.dicom.identify import assign_roles
    from lss.dicom.overview import find_ground_truth, format_overview, study_overview
    from lss.dicom.reader import read_study

    overrides = parse_role_overrides(args.role)
    try:
        study = read_study(args.study)
    except DicomReadError as error:
        raise InputDataError(str(error)) from None
    try:
        assign_roles(study, overrides)
    except ValueError as error:
        raise UsageError(str(error)) from None
    ground_truth = find_ground_truth(args.study)
    try:
        overview = study_overview(study, ground_truth)
    except (OSError, ValueError) as error:
        raise InputDataError(f"cannot use {ground_truth}: {error}") from None
    print(json.dumps(overview, indent=2) if args.json else format_overview(overview))
    return 0

"""`lss phantom`: write synthetic lumbar MRI studies with exact ground truth."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lss.cli.errors import UsageError
from lss.phantom.appearance import CLASSIC, STYLES
from lss.phantom.profiles import MIXED, PROFILE_NAMES

EXAMPLE = """example:
  lss phantom --out phantoms --studies 20 --seed 7 --preview
  lss phantom --out train --studies 500 --seed 1000 --enriched --profile 3T-ge --workers 2
  lss phantom --out train --studies 500 --seed 1000 --enriched --style mixed
  lss phantom --out heldout --studies 50 --seed 9000 --style unseen   # robustness tests only, never training"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `phantom` verb."""
    parser = subparsers.add_parser(
        "phantom", help="generate synthetic lumbar spine MRI studies with ground truth",
        description="Generate synthetic lumbar spine MRI studies (DICOM: sagittal T1 and T2, disc-parallel axial "
                    "T2 blocks) with ground-truth grades, boxes and label maps.",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output folder (created if missing)")
    parser.add_argument("--studies", type=int, default=1, help="number of studies (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="batch seed; same seed and version, same studies")
    parser.add_argument("--profile", default=MIXED,
                        help=f"scanner profile: {', '.join(PROFILE_NAMES)} or {MIXED} (default, one per study)")
    parser.add_argument("--enriched", action="store_true",
                        help="over-sample moderate and severe stenosis (for training sets)")
    parser.add_argument("--axial-stack", action="store_true", help="also write a straight contiguous axial stack")
    parser.add_argument("--preview", action="store_true", help="write a preview.png contact sheet per study")
    parser.add_argument("--no-label-maps", action="store_true", help="skip the NRRD anatomy label maps")
    parser.add_argument("--snr", type=float, default=1.0,
                        help="signal-to-noise relative to each profile's typical value (default 1; 0.5 = noisier)")
    parser.add_argument("--style", choices=STYLES, default=CLASSIC,
                        help="rendering style: classic (default, the fixed relaxation tables), randomised "
                             "(random per-label intensities, deformation, bias, blur, ringing, clinical ranges), "
                             "unseen (a held-out look for robustness tests; never train on it), mixed (classic "
                             "or randomised per study, for training sets)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: number of CPU cores)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Validate arguments, generate the batch with a progress bar, print a JSON summary."""
    from lss.phantom.generate import PhantomOptions, generate_batch

    if args.studies < 1:
        raise UsageError(f"--studies must be at least 1 (got {args.studies})")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be at least 1 (got {args.workers})")
    if args.seed < 0:
        raise UsageError(f"--seed must be zero or positive (got {args.seed})")
    if args.profile != MIXED and args.profile not in PROFILE_NAMES:
        raise UsageError(f"unknown --profile {args.profile!r}; choose one of {', '.join(PROFILE_NAMES)} or {MIXED}")
    if not 0.05 <= args.snr <= 20.0:
        raise UsageError(f"--snr must be between 0.05 and 20 (got {args.snr})")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"--out {args.out} exists and is not a folder")
    options = PhantomOptions(profile=args.profile, enriched=args.enriched, axial_stack=args.axial_stack,
                             preview=args.preview, label_maps=not args.no_label_maps, snr_scale=args.snr,
                             style=args.style)
    from tqdm import tqdm

    with tqdm(total=args.studies, unit="study", file=sys.stderr, disable=None) as bar:
        manifest = generate_batch(args.out, args.studies, args.seed, options, args.workers,
                                  progress=lambda done, total: bar.update(done - bar.n))
    summary = {"out": str(args.out), "studies": len(manifest["studies"]), "seconds": manifest["seconds"],
               "studies_per_minute": manifest["studies_per_minute"], "prevalence": manifest["prevalence"]}
    print(json.dumps(summary, indent=2))
    return 0

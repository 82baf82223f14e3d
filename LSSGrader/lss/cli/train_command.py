"""`lss train`: train detectors and grader ensembles from annotated studies and write a model bundle."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lss.entry.choices import (
    CROP_INTENSITY_CHOICES,
    DEVICE_CHOICES,
    FORMAT_CHOICES,
    INTENSITY_CHOICES,
    PRESET_CHOICES,
)

EXAMPLE = """examples:
  lss phantom --out train --studies 120 --seed 1000 --enriched
  lss phantom --out test --studies 40 --seed 5000
  lss train --data train --holdout test --format native --out my_bundle --preset demo
  lss train --data train --out robust_bundle --preset demo --intensity series_robust --crop-intensity context_robust
  lss train --data rsna2024 --format rsna --out rsna_bundle --preset paper --device cuda
  lss train --data labelimg_export --format voc --voc-pixel-spacing 0.7 --class-map classes.csv --out voc_bundle
  torchrun --nproc_per_node 2 -m lss.cli.main train --data train --out ddp_bundle --preset fast"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the `train` verb."""
    parser = subparsers.add_parser(
        "train", help="train detection and grading networks; write a model bundle",
        description="Train the region detectors and the grader ensembles from annotated studies, evaluate them on "
                    "held-out studies and write a model bundle (safetensors + bundle.json with SHA-256 hashes).",
        epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, type=Path, help="folder of annotated studies")
    parser.add_argument("--format", default="native", choices=FORMAT_CHOICES, help="annotation format (default native)")
    parser.add_argument("--out", required=True, type=Path, help="bundle folder to write (replaced if it exists)")
    parser.add_argument("--preset", default="demo", choices=PRESET_CHOICES,
                        help="networks and schedule (default demo; see lss.training.presets)")
    parser.add_argument("--members", type=int, help="grader ensemble members (default 9: 3 splits x 3 runs)")
    parser.add_argument("--epochs", type=int, help="grader epochs (default from the preset)")
    parser.add_argument("--detector-epochs", type=int, help="detector epochs (default from the preset)")
    parser.add_argument("--holdout", type=Path, help="folder of held-out test studies (same format)")
    parser.add_argument("--holdout-fraction", type=float, default=0.2,
                        help="share of --data held out for testing when --holdout is not given (default 0.2; 0 = none)")
    parser.add_argument("--device", default="auto", choices=DEVICE_CHOICES, help="compute device")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--work-dir", type=Path, help="checkpoint folder; a re-run with it resumes (default none)")
    parser.add_argument("--synthetic", action="store_true",
                        help="state in the bundle that it was trained on synthetic phantoms only")
    parser.add_argument("--intensity", default=INTENSITY_CHOICES[0], choices=INTENSITY_CHOICES,
                        help="intensity normalisation of the networks' images: per-slice percentiles (default) or "
                             "per-series robust standardisation; recorded in bundle.json, grading follows it")
    parser.add_argument("--crop-intensity", default=CROP_INTENSITY_CHOICES[0], choices=CROP_INTENSITY_CHOICES,
                        help="grading crops as the image (default) or standardised by their own surroundings")
    parser.add_argument("--no-augment", action="store_true", help="train without augmentation")
    voc = parser.add_argument_group("--format voc", "settings a LabelImg / Pascal VOC export does not carry itself")
    voc.add_argument("--voc-pixel-spacing", type=float, metavar="MM",
                     help="pixel spacing declared for PNG/JPG images imported without DICOM (default 1 mm); their "
                          "geometry and orientation are assumed and the bundle says so")
    voc.add_argument("--voc-mapping", type=Path, metavar="CSV",
                     help="CSV of image file name, SOPInstanceUID[, frame (1-based)]: which DICOM image each exported "
                          "image is")
    voc.add_argument("--class-map", type=Path, metavar="FILE",
                     help="CSV (name,class words) or JSON ({name: words}) rewriting other class names, e.g. "
                          "'RFS0,right neural foramen normal'")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Train through the one train entry; print where the bundle is and its held-out summary."""
    from lss.cli.progress_bars import ProgressBars
    from lss.entry.train import TrainRequest, run_training
    from lss.training import distributed

    request = TrainRequest(args.data, args.out, args.format, args.preset, args.members, args.epochs,
                           args.detector_epochs, args.holdout, args.holdout_fraction, args.device, args.seed,
                           args.work_dir, args.synthetic, args.voc_pixel_spacing, args.voc_mapping, args.class_map,
                           args.intensity, args.crop_intensity, not args.no_augment)
    with ProgressBars(enabled=distributed.is_main_process()) as bars:
        outcome = run_training(request, bars.control(), on_import=_print_report)
    if distributed.is_main_process():
        print(f"bundle written to {args.out}")
        for line in outcome.summary:
            print(line)
        print(json.dumps({"heldout_detection": outcome.manifest["metrics"]["heldout_detection"]}, indent=1))
    return 0


def _print_report(report) -> None:
    print(report.summary(), file=sys.stderr)
    for problem in report.problems[:20]:
        print(f"  refused: {problem}", file=sys.stderr)
    if len(report.problems) > 20:
        print(f"  … and {len(report.problems) - 20} more", file=sys.stderr)
    for note in getattr(report, "notes", []):
        print(f"  {note}", file=sys.stderr)

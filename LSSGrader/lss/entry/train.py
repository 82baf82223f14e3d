"""The one train entry: import annotated studies, hold some out, train every network, write the model bundle —
what `lss train` and the LSSTraining Slicer module both call.

Errors come back as ``lss.errors.UsageError`` (a bad request) or ``InputDataError`` (nothing usable to train
on; the message names the folder); a cancelled run raises ``lss.control.RunCancelled`` (checkpoints kept in
``work_dir``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lss.control import RunControl
from lss.entry.choices import (
    CROP_INTENSITY_CHOICES,
    DEVICE_CHOICES,
    FORMAT_CHOICES,
    INTENSITY_CHOICES,
    PRESET_CHOICES,
)
from lss.errors import InputDataError, UsageError

MIN_STUDIES_TO_HOLD_OUT = 4  # a held-out share needs at least this many studies (one out, three to train on)
MIN_TRAINING_STUDIES = 2  # each network validates on studies it does not train on


@dataclass(frozen=True)
class TrainRequest:
    """What to train on (a folder of annotated studies in ``format``), where the bundle goes, the preset and its
    overrides, the held-out studies (a folder, or a share of the data), device, seed, checkpoint folder, and
    whether the data are synthetic phantoms (the bundle then says so).

    ``voc_*`` and ``class_map`` apply to ``format="voc"`` only: the pixel spacing (mm) declared for 2-D images
    imported without DICOM, a mapping CSV (image name → SOPInstanceUID [, frame]) and a class-name map (CSV or
    JSON, name → class words); see ``lss.training.import_voc``."""

    data: Path
    out: Path
    format: str = "native"
    preset: str = "demo"
    members: int | None = None
    epochs: int | None = None
    detector_epochs: int | None = None
    holdout: Path | None = None
    holdout_fraction: float = 0.2
    device: str = "auto"
    seed: int = 0
    work_dir: Path | None = None
    synthetic: bool = False
    voc_pixel_spacing: float | None = None
    voc_mapping: Path | None = None
    class_map: Path | None = None
    intensity: str = "slice_percentile"  # image normalisation, INTENSITY_CHOICES (lss.preprocess.intensity)
    crop_intensity: str = "as_image"  # grading-crop normalisation, CROP_INTENSITY_CHOICES
    augment: bool = True  # training augmentation (lss.training.augment)

    def import_options(self) -> dict[str, Any]:
        """The importer's settings this request gives (``lss.training.importers.import_studies``)."""
        given = {"pixel_spacing": self.voc_pixel_spacing, "mapping": self.voc_mapping, "class_map": self.class_map}
        return {name: value for name, value in given.items() if value is not None}


@dataclass
class TrainOutcome:
    """A finished training: the bundle's manifest fields, the held-out summary lines, the import reports and how
    many studies were trained on and held out."""

    manifest: dict[str, Any]
    summary: list[str]
    reports: list
    pool_studies: int
    heldout_studies: int
    out: Path


def check_request(request: TrainRequest) -> None:
    """UsageError naming the first thing wrong with the request."""
    if not Path(request.data).is_dir():
        raise UsageError(f"--data {request.data}: not a folder")
    if request.holdout is not None and not Path(request.holdout).is_dir():
        raise UsageError(f"--holdout {request.holdout}: not a folder")
    if not 0 <= request.holdout_fraction < 1:
        raise UsageError(f"--holdout-fraction must lie in [0, 1), got {request.holdout_fraction}")
    for name in ("members", "epochs", "detector_epochs"):
        value = getattr(request, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    _check_import_options(request)
    for name, value, choices in (("format", request.format, FORMAT_CHOICES),
                                 ("preset", request.preset, PRESET_CHOICES),
                                 ("device", request.device, DEVICE_CHOICES),
                                 ("intensity", request.intensity, INTENSITY_CHOICES),
                                 ("crop-intensity", request.crop_intensity, CROP_INTENSITY_CHOICES)):
        if value not in choices:
            raise UsageError(f"--{name} must be one of {', '.join(choices)}, got {value!r}")


def _check_import_options(request: TrainRequest) -> None:
    options = {"--voc-pixel-spacing": request.voc_pixel_spacing, "--voc-mapping": request.voc_mapping,
               "--class-map": request.class_map}
    given = [name for name, value in options.items() if value is not None]
    if given and request.format != "voc":
        raise UsageError(f"{', '.join(given)} apply to --format voc only, not {request.format!r}")
    if request.voc_pixel_spacing is not None and not request.voc_pixel_spacing > 0:
        raise UsageError(f"--voc-pixel-spacing must be a positive number of mm, got {request.voc_pixel_spacing}")
    for name, path in (("--voc-mapping", request.voc_mapping), ("--class-map", request.class_map)):
        if path is not None and not Path(path).is_file():
            raise UsageError(f"{name} {path}: not a file")


def split_studies(studies: list, heldout: list | None, fraction: float, seed: int) -> tuple[list, list]:
    """(training pool, held-out studies): the given held-out studies (which must be unseen), else a stratified
    ``fraction`` of ``studies`` (none when the fraction is 0).

    InputDataError when the studies are too few for the split asked for: a held-out share of fewer than
    MIN_STUDIES_TO_HOLD_OUT studies, or fewer than MIN_TRAINING_STUDIES left to train on.
    """
    from lss.training.run import hold_out

    if heldout is not None:
        if {s.study_uid for s in heldout} & {s.study_uid for s in studies}:
            raise InputDataError("--holdout shares studies with --data: held-out studies must be unseen")
        pool = studies
    elif fraction > 0:
        if len(studies) < MIN_STUDIES_TO_HOLD_OUT:
            raise InputDataError(f"{len(studies)} usable studies are too few to hold out {fraction:.0%} of them "
                                 f"(at least {MIN_STUDIES_TO_HOLD_OUT} needed): add studies, give --holdout FOLDER, "
                                 f"or train on all with --holdout-fraction 0")
        pool, heldout = hold_out(studies, fraction, seed)
    else:
        pool, heldout = studies, []
    if len(pool) < MIN_TRAINING_STUDIES:
        raise InputDataError(f"{len(pool)} usable training study is too few: each network validates on studies it "
                             f"does not train on, so at least {MIN_TRAINING_STUDIES} are needed")
    return pool, heldout


def check_boxes(studies: list, where: Path) -> None:
    """InputDataError when the imported studies hold no box at all: there would be nothing to train."""
    if not any(study.boxes for study in studies):
        raise InputDataError(f"{where}: the imported studies hold no usable box (every annotation was refused "
                             f"or empty): nothing to train, no bundle written")


def run_training(request: TrainRequest, control: RunControl | None = None,
                 on_import: Callable[[Any], None] | None = None) -> TrainOutcome:
    """Import, split, train, evaluate and write the bundle; ``on_import(report)`` after each folder's import."""
    check_request(request)
    from lss.preprocess.intensity import IntensityChoice
    from lss.training.importers import import_studies
    from lss.training.presets import preset
    from lss.training.run import TrainingData, train_bundle

    plan = preset(request.preset, request.members, request.detector_epochs, request.epochs,
                  IntensityChoice(request.intensity, request.crop_intensity), request.augment)
    studies, report = import_studies(Path(request.data), request.format, request.import_options())
    reports = [report]
    if on_import is not None:
        on_import(report)
    if not studies:
        raise InputDataError(f"{request.data}: no usable annotated studies ({report.summary()})")
    check_boxes(studies, Path(request.data))
    given = None
    if request.holdout is not None:
        given, holdout_report = import_studies(Path(request.holdout), request.format, request.import_options())
        reports.append(holdout_report)
        if on_import is not None:
            on_import(holdout_report)
    pool, heldout = split_studies(studies, given, request.holdout_fraction, request.seed)
    try:
        manifest = train_bundle(TrainingData(pool, heldout, reports), plan, Path(request.out), request.device,
                                request.seed, control, request.work_dir, request.synthetic)
    except ValueError as error:
        raise InputDataError(str(error)) from error
    return TrainOutcome(manifest, list(manifest["metrics"]["summary"]), reports, len(pool), len(heldout),
                        Path(request.out))

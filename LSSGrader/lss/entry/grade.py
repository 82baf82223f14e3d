"""The one grade entry: read a study, grade it with a model bundle, write every output — what `lss grade` and the
LSSGrader Slicer module both call.

Errors come back as ``lss.errors.UsageError`` (a bad request) or ``InputDataError`` (an unusable study or model
bundle; the message names it); a cancelled run raises ``lss.control.RunCancelled``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lss.bundle.demo import DEMO_BUNDLE
from lss.control import RunControl
from lss.errors import InputDataError, UsageError
from lss.model.read import GradingRun
from lss.model.study import Study
from lss.pipeline.result import GradingOptions


@dataclass(frozen=True)
class GradeRequest:
    """What to grade (a folder, or the DICOM files of one study), where the outputs go, with which model
    bundle (None: the bundled demo model), how, and role overrides by SeriesInstanceUID."""

    study: Path | list[Path]
    out_dir: Path
    model: Path | None = None
    options: GradingOptions = GradingOptions()
    role_overrides: Mapping[str, str] = field(default_factory=dict)
    study_id: str | None = None  # rsna.csv row ids; default the StudyInstanceUID


@dataclass
class GradeOutcome:
    """A finished grading: the study as read, the run (findings, stacks, heatmaps), the files written, the
    impression lines and the notes (warnings, then what was skipped)."""

    study: Study
    run: GradingRun
    out_dir: Path
    paths: dict[str, Path]
    impression: list[str]
    notes: list[str]
    bundle_folder: Path


def run_grading(request: GradeRequest, control: RunControl | None = None) -> GradeOutcome:
    """Read, grade and write one study (see the module docstring for errors)."""
    from lss.bundle.store import BundleError, load_bundle
    from lss.dicom.errors import DicomReadError
    from lss.dicom.identify import assign_roles
    from lss.dicom.reader import read_study
    from lss.pipeline.result import GradingInputError
    from lss.pipeline.run import grade_study
    from lss.report.markdown import impression
    from lss.report.outputs import write_outputs

    inputs = request.study if isinstance(request.study, list) else Path(request.study)
    if isinstance(inputs, Path) and not inputs.exists():
        raise UsageError(f"STUDY {inputs}: no such file or folder")
    where = inputs if isinstance(inputs, Path) else f"{len(inputs)} DICOM files"
    bundle_folder = Path(request.model) if request.model is not None else DEMO_BUNDLE
    try:
        bundle = load_bundle(bundle_folder)
    except BundleError as error:
        raise InputDataError(f"model bundle unusable: {error}") from None
    try:
        study = assign_roles(read_study(inputs), request.role_overrides)
    except DicomReadError as error:
        raise InputDataError(str(error)) from None
    except ValueError as error:  # a role override naming an unknown role or series
        raise UsageError(str(error)) from None
    try:
        run = grade_study(study, bundle, request.options, control)
    except GradingInputError as error:
        raise InputDataError(f"{where}: {error}") from None
    except DicomReadError as error:  # pixels that cannot be decoded, or disagree with their header
        raise InputDataError(str(error)) from None
    except ValueError as error:  # e.g. device cuda without a GPU
        raise UsageError(str(error)) from None
    paths = write_outputs(run, Path(request.out_dir), request.study_id)
    return GradeOutcome(study, run, Path(request.out_dir), paths,
                        impression(run.findings.findings, run.warnings + run.skipped, run.reliability), run.notes,
                        bundle_folder)

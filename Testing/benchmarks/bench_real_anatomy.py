"""Real-anatomy benchmark: the real sagittal T2 lumbar volumes of ``../shared/real`` graded as DICOM studies.

Run: .venv/bin/python Testing/benchmarks/bench_real_anatomy.py [--real DIR] [--out DIR] [--model BUNDLE]

Each volume (NRRD, LPS geometry as its header gives it) is written as a DICOM study with two sagittal series of
the same pixels: a sagittal T2 (as acquired) and a copy labelled sagittal T1, so that the foramen stage runs
(the engine grades foramina on sagittal T1 only, for now). Each study is graded twice through the one grade
entry — at the default detection threshold and at 0.05 — and the benchmark prints per volume and threshold:
the series roles, the discs found with their level labels and heights (LPS z, mm) and spacings, how many
foramen boxes and findings, the grades, whether the study was assessed, and the notes.

Everything written (DICOM, outputs, overlay pictures) goes to ``--out`` (a temporary folder by default), never
into the repository: these volumes and pictures of them must not be committed. Without ``../shared/real`` the
benchmark says so and exits 0; the project's tests never depend on it. The volumes are cited in
``../shared/real/README.md`` (Zukić et al. 2014; Chu et al. 2015).
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_REAL = REPO_ROOT.parent / "shared" / "real"
SERIES = (("T2 SAG", 3500.0, 100.0, 1), ("T1 SAG (copy of the T2 pixels)", 550.0, 12.0, 2))


def write_sagittal_study(volume_path: Path, out: Path) -> Path:
    """Write the volume's slices (the index axis closest to patient left–right) as two sagittal series."""
    image = sitk.ReadImage(str(volume_path))
    direction = np.array(image.GetDirection()).reshape(3, 3)
    slice_axis = int(np.argmax(np.abs(direction[0])))  # the index axis that runs along LPS x
    array = sitk.GetArrayFromImage(image)  # (z, y, x) index order
    in_plane = [axis for axis in range(3) if axis != slice_axis]
    column_axis, row_axis = in_plane  # columns run along the lower index axis, rows along the higher
    spacing = image.GetSpacing()
    study_uid = generate_uid(entropy_srcs=[volume_path.name, "study"])
    folder = out / volume_path.stem
    for description, repetition, echo, number in SERIES:
        series_uid = generate_uid(entropy_srcs=[volume_path.name, description])
        for k in range(image.GetSize()[slice_axis]):
            index = [0, 0, 0]
            index[slice_axis] = k
            pixels = np.take(array, k, axis=2 - slice_axis)  # numpy keeps the higher index axis (rows) first
            ds = _slice_dataset(study_uid, series_uid, description, repetition, echo, number, k, volume_path.stem)
            ds.ImageOrientationPatient = [*map(float, direction[:, column_axis]), *map(float, direction[:, row_axis])]
            ds.ImagePositionPatient = [float(v) for v in image.TransformIndexToPhysicalPoint(index)]
            ds.PixelSpacing = [float(spacing[row_axis]), float(spacing[column_axis])]
            ds.SliceThickness = float(spacing[slice_axis])
            ds.Rows, ds.Columns = pixels.shape
            ds.PixelData = np.ascontiguousarray(pixels.astype(np.uint16)).tobytes()
            path = folder / f"series{number}" / f"{k:04d}.dcm"
            path.parent.mkdir(parents=True, exist_ok=True)
            ds.save_as(path, enforce_file_format=True)
    return folder


def _slice_dataset(study_uid: str, series_uid: str, description: str, repetition: float, echo: float,
                   series_number: int, k: int, patient: str) -> pydicom.Dataset:
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[series_uid, str(k)])
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
    ds.FrameOfReferenceUID = generate_uid(entropy_srcs=[study_uid, "frame"])
    ds.Modality, ds.PatientID, ds.PatientName = "MR", f"REAL-{patient}", f"Real^{patient}"
    ds.SeriesDescription, ds.SeriesNumber, ds.InstanceNumber = description, series_number, k + 1
    ds.RepetitionTime, ds.EchoTime = repetition, echo
    ds.ScanningSequence, ds.SequenceVariant = "SE", "SK"
    ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "ND"]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    return ds


def grade_and_report(study: Path, out: Path, model: Path | None, min_score: float) -> None:
    """Grade one study at one detection threshold and print what was found."""
    from lss.entry.grade import GradeRequest, run_grading
    from lss.pipeline.result import GradingOptions

    outcome = run_grading(GradeRequest(study, out, model, GradingOptions(heatmaps="none", min_score=min_score)))
    run = outcome.run
    roles = ", ".join(f"{s.description or s.series_uid}: {s.role.role}" for s in outcome.study.series if s.role)
    discs = run.findings.discs
    heights = [round(d.centre_lps[2], 1) for d in discs]
    spacings = [round(float(np.linalg.norm(np.subtract(a.centre_lps, b.centre_lps))), 1)
                for a, b in zip(discs, discs[1:], strict=False)]
    foramen_boxes = sum(len(f.boxes) for f in run.slice_findings.findings if f.region.value == "neural_foramen")
    grades = Counter(f.grade.label for f in run.findings.findings)
    print(f"\n{study.name} — min score {min_score}")
    print(f"  series: {roles}")
    print(f"  discs: {len(discs)} {[d.level.value for d in discs]} at z {heights} (spacing {spacings} mm)")
    print(f"  foramen boxes: {foramen_boxes}; findings: {len(run.findings.findings)} {dict(grades)}; "
          f"assessed: {run.assessed}")
    reliable = [f for f in run.findings.findings if f.reliable]
    serious = [f for f in reliable if f.grade.is_dichotomous_positive]
    print(f"  reliable findings: {len(reliable)} of {len(run.findings.findings)}; moderate/severe presented as "
          f"reliable: {len(serious)}")
    if run.reliability is not None:
        print(f"  reliability: {run.reliability.score:.2f}, anatomy found: {run.reliability.anatomy_found}; "
              f"{run.reliability.statement}")
    for note in outcome.notes[:8]:
        print(f"  note: {note}")
    print(f"  outputs and overlays: {out}")


def main() -> None:
    """Write, grade and report every volume of the real-anatomy folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="folder of real volumes (NRRD)")
    parser.add_argument("--out", type=Path, help="where studies and outputs go (default: a temporary folder)")
    parser.add_argument("--model", type=Path, help="model bundle (default: the bundled demo model)")
    args = parser.parse_args()
    volumes = sorted(args.real.glob("*.nrrd")) if args.real.is_dir() else []
    if not volumes:
        print(f"real-anatomy benchmark: no volumes in {args.real}; nothing to measure")
        return
    out = args.out or Path(tempfile.mkdtemp(prefix="lss-real-anatomy-"))
    for volume in volumes:
        study = write_sagittal_study(volume, out / "studies")
        for min_score in (0.3, 0.05):
            grade_and_report(study, out / "read" / f"{volume.stem}_min{min_score}", args.model, min_score)


if __name__ == "__main__":
    main()

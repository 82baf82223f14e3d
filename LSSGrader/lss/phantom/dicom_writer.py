"""Write rendered phantom series as MR Image Storage DICOM files, in the style of a scanner profile.

One :class:`RenderedSeries` becomes one DICOM series (one SeriesInstanceUID), whatever number of stacks it
holds; a caller whose vendor style keeps per-level axial blocks apart passes one series per block. All UIDs are
deterministic functions of the study identity, the series number and the slice's place in the series.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, ExplicitVRLittleEndian, MRImageStorage, generate_uid
from pydicom.valuerep import format_number_as_ds

from lss.atomic import atomic_path
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Level
from lss.phantom.profiles import Profile, SeriesRole, VendorStyle

IMPLEMENTATION_CLASS_UID = generate_uid(entropy_srcs=["LSS synthetic phantom DICOM writer"])
IMPLEMENTATION_VERSION_NAME = "LSS_PHANTOM_1"
SERIES_INTERVAL_SECONDS = 240  # simulated time between the starts of consecutive series
STACK_INTERVAL_SECONDS = 60  # simulated time between the stacks (blocks) of one series


@dataclass(frozen=True)
class StudyIdentity:
    """Patient and study attributes shared by every series of one phantom study."""

    patient_name: str
    patient_id: str
    patient_sex: str
    patient_age: str  # DICOM AS, e.g. '054Y'
    patient_birth_date: str  # YYYYMMDD
    study_uid: str
    frame_of_reference_uid: str
    study_date: str  # YYYYMMDD
    study_time: str  # HHMMSS
    accession_number: str
    study_description: str
    institution: str
    seed: int
    study_index: int


@dataclass
class RenderedStack:
    """One stack of parallel slices: its geometry and float signal (n, rows, cols), ≥ 0, arbitrary units."""

    geometry: StackGeometry
    pixels: np.ndarray
    level: Level | None = None  # the disc level of a per-level axial block


@dataclass
class RenderedSeries:
    """What one DICOM series holds: its stacks in acquisition order and its acquisition parameters."""

    role: SeriesRole
    series_number: int
    stacks: list[RenderedStack]
    repetition_time: float  # ms
    echo_time: float  # ms
    echo_train_length: int
    slice_thickness: float  # mm
    spacing_between_slices: float  # mm, centre to centre
    flip_angle: float = 90.0  # degrees
    description: str | None = None  # overrides the vendor's SeriesDescription for the role


@dataclass(frozen=True)
class WrittenSlice:
    """Where one slice of a rendered stack ended up."""

    stack_index: int
    slice_index: int
    sop_instance_uid: str
    series_instance_uid: str
    path: Path
    instance_number: int
    value_scale: float  # rescaled pixel value ≈ rendered signal × value_scale


def make_study_identity(study_index: int, seed: int, rng: np.random.Generator, variant: str = "") -> StudyIdentity:
    """A plausible anonymous patient and study.

    UIDs depend only on (seed, study_index, variant) — ``variant`` names whatever else changes the images
    (generation options, phantom version) so that different images never share UIDs; the rest on ``rng``.
    """
    entropy = ["lss-phantom", str(seed), str(study_index), *([variant] if variant else [])]
    study_date = dt.date(2016, 1, 1) + dt.timedelta(days=int(rng.integers(0, 9 * 365)))
    study_start = dt.datetime.combine(study_date, dt.time(7)) + dt.timedelta(seconds=int(rng.integers(0, 10 * 3600)))
    age_years = int(rng.integers(35, 86))
    birth_date = study_date - dt.timedelta(days=int(age_years * 365.25 + rng.integers(1, 365)))
    return StudyIdentity(
        patient_name=f"PHANTOM^{study_index:04d}",
        patient_id=f"PHANTOM{study_index:04d}",
        patient_sex=str(rng.choice(["F", "M"])),
        patient_age=f"{_age_in_years(birth_date, study_date):03d}Y",
        patient_birth_date=birth_date.strftime("%Y%m%d"),
        study_uid=generate_uid(entropy_srcs=[*entropy, "study"]),
        frame_of_reference_uid=generate_uid(entropy_srcs=[*entropy, "frame-of-reference"]),
        study_date=study_date.strftime("%Y%m%d"),
        study_time=study_start.strftime("%H%M%S"),
        accession_number=f"ACC{int(rng.integers(10**8)):08d}",
        study_description="LUMBAR SPINE MRI (SYNTHETIC PHANTOM)",
        institution="LSS Synthetic Phantom",
        seed=seed,
        study_index=study_index,
    )


def series_instance_uid(identity: StudyIdentity, series_number: int) -> UID:
    """The SeriesInstanceUID of series ``series_number`` of a study."""
    return generate_uid(entropy_srcs=[identity.study_uid, "series", str(series_number)])


def sop_instance_uid(identity: StudyIdentity, series_number: int, stack_index: int, slice_index: int) -> UID:
    """The SOPInstanceUID of one slice of one stack of a series."""
    return generate_uid(
        entropy_srcs=[identity.study_uid, "series", str(series_number), "slice", str(stack_index), str(slice_index)]
    )


def rescale_parameters(vendor: VendorStyle) -> tuple[float, float] | None:
    """(slope, intercept) as written for vendors that write rescale, exactly as the DS strings read back."""
    if vendor.rescale_value_max is None:
        return None
    return float(_ds_value(vendor.rescale_value_max / vendor.stored_max)), 0.0


def value_scale(series: RenderedSeries, vendor: VendorStyle) -> float:
    """Factor mapping the series' float signal to (rescaled) pixel values: its brightest pixel hits the top."""
    brightest = max((float(np.max(stack.pixels)) for stack in series.stacks), default=0.0)
    value_max = vendor.stored_max if vendor.rescale_value_max is None else vendor.rescale_value_max
    return value_max / brightest if brightest > 0 else 1.0


def file_name(vendor: VendorStyle, sop_uid: str) -> str:
    """A file name in the vendor's style derived from a hash of the SOP UID (says nothing about slice order)."""
    return vendor.file_prefix + hashlib.sha1(sop_uid.encode("ascii")).hexdigest()[:12].upper()


def series_folder(out_dir: Path, vendor: VendorStyle, series_number: int) -> Path:
    """The folder a vendor style puts a series' files in."""
    if vendor.file_layout == "nested":
        return Path(out_dir) / "DICOM" / f"S{series_number:05d}"
    return Path(out_dir)


def write_series(
    series: RenderedSeries, identity: StudyIdentity, profile: Profile, out_dir: Path
) -> list[WrittenSlice]:
    """Write every slice of ``series`` as one DICOM file; returns where each slice went, in acquisition order."""
    _validate(series)
    vendor = profile.vendor
    series_uid = series_instance_uid(identity, series.series_number)
    scale = value_scale(series, vendor)
    rescale = rescale_parameters(vendor)
    slope, intercept = rescale if rescale is not None else (1.0, 0.0)
    window_centre, window_width = _window(series, scale)
    folder = series_folder(out_dir, vendor, series.series_number)
    folder.mkdir(parents=True, exist_ok=True)
    series_start = _study_start(identity) + dt.timedelta(seconds=SERIES_INTERVAL_SECONDS * series.series_number)
    stored_ceiling = 2**vendor.bits_stored - 1

    written: list[WrittenSlice] = []
    for stack_index, stack in enumerate(series.stacks):
        acquired = series_start + dt.timedelta(seconds=STACK_INTERVAL_SECONDS * stack_index)
        for slice_index in range(stack.geometry.n_slices):
            sop_uid = sop_instance_uid(identity, series.series_number, stack_index, slice_index)
            values = np.clip(stack.pixels[slice_index].astype(np.float64) * scale, 0.0, None)
            stored = np.clip(np.rint((values - intercept) / slope), 0, stored_ceiling).astype("<u2")
            ds = _common_dataset(series, identity, profile, series_uid, series_start)
            _set_slice(ds, vendor, stack.geometry, slice_index, stored, acquired)
            ds.SOPInstanceUID = sop_uid
            ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
            ds.InstanceNumber = len(written) + 1
            ds.AcquisitionNumber = stack_index + 1
            ds.WindowCenter = _ds_value(window_centre)
            ds.WindowWidth = _ds_value(window_width)
            if rescale is not None:
                ds.RescaleIntercept = _ds_value(intercept)
                ds.RescaleSlope = _ds_value(slope)
                ds.RescaleType = "US"
            path = folder / file_name(vendor, sop_uid)
            _write_atomically(ds, path)
            written.append(WrittenSlice(stack_index, slice_index, sop_uid, series_uid, path, len(written) + 1, scale))
    return written


def _validate(series: RenderedSeries) -> None:
    if not series.stacks:
        raise ValueError(f"series {series.series_number} has no stacks")
    for stack in series.stacks:
        if stack.pixels.shape != stack.geometry.shape:
            raise ValueError(f"pixels {stack.pixels.shape} do not match the geometry {stack.geometry.shape}")
        if not np.all(np.isfinite(stack.pixels)):
            raise ValueError(f"series {series.series_number} has non-finite pixel values")


def _window(series: RenderedSeries, scale: float) -> tuple[float, float]:
    """A display window (centre, width) in rescaled values, from the 1st to the 99.5th percentile."""
    signal = np.concatenate([stack.pixels.ravel() for stack in series.stacks]) * scale
    low, high = np.percentile(signal, [1.0, 99.5])
    return round(float(low + high) / 2.0), max(round(float(high - low)), 1)


def _common_dataset(
    series: RenderedSeries, identity: StudyIdentity, profile: Profile, series_uid: str, series_start: dt.datetime
) -> Dataset:
    """Everything a slice shares with its series: patient, study, series, equipment and MR acquisition."""
    vendor, field_strength = profile.vendor, profile.field_strength
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = MRImageStorage
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = IMPLEMENTATION_CLASS_UID
    ds.file_meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    ds.preamble = b"\x00" * 128

    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = list(vendor.image_type)
    ds.SOPClassUID = MRImageStorage
    ds.StudyDate = ds.SeriesDate = identity.study_date
    ds.StudyTime = identity.study_time
    ds.SeriesTime = series_start.strftime("%H%M%S")
    ds.AccessionNumber = identity.accession_number
    ds.Modality = "MR"
    ds.Manufacturer = vendor.manufacturer
    ds.InstitutionName = identity.institution
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = identity.study_description
    ds.SeriesDescription = ds.ProtocolName = series.description or vendor.series_descriptions[series.role]
    ds.ManufacturerModelName = profile.model_name
    ds.SoftwareVersions = "LSS phantom"

    ds.PatientName = identity.patient_name
    ds.PatientID = identity.patient_id
    ds.PatientBirthDate = identity.patient_birth_date
    ds.PatientSex = identity.patient_sex
    ds.PatientAge = identity.patient_age

    ds.BodyPartExamined = "LSPINE"
    ds.ScanningSequence = vendor.scanning_sequence
    ds.SequenceVariant = list(vendor.sequence_variant)
    ds.ScanOptions = list(vendor.scan_options)
    ds.MRAcquisitionType = "2D"
    ds.SequenceName = vendor.sequence_name(series.echo_train_length)
    ds.AngioFlag = "N"
    ds.SliceThickness = _ds_value(series.slice_thickness)
    ds.RepetitionTime = _ds_value(series.repetition_time)
    ds.EchoTime = _ds_value(series.echo_time)
    ds.NumberOfAverages = "1"
    ds.ImagingFrequency = _ds_value(round(field_strength.imaging_frequency_mhz, 6))
    ds.ImagedNucleus = "1H"
    ds.EchoNumbers = "1"
    ds.MagneticFieldStrength = _ds_value(field_strength.tesla)
    ds.SpacingBetweenSlices = _ds_value(series.spacing_between_slices)
    ds.EchoTrainLength = str(series.echo_train_length)
    ds.PercentSampling = "100"
    ds.PercentPhaseFieldOfView = "100"
    ds.FlipAngle = _ds_value(series.flip_angle)
    ds.PatientPosition = "HFS"

    ds.StudyInstanceUID = identity.study_uid
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = series.series_number
    ds.FrameOfReferenceUID = identity.frame_of_reference_uid
    ds.PositionReferenceIndicator = ""

    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = vendor.bits_stored
    ds.HighBit = vendor.bits_stored - 1
    ds.PixelRepresentation = 0
    return ds


def _set_slice(
    ds: Dataset,
    vendor: VendorStyle,
    geometry: StackGeometry,
    slice_index: int,
    stored: np.ndarray,
    acquired: dt.datetime,
) -> None:
    """The attributes that differ between slices: plane geometry, matrix, times and pixels."""
    origin = geometry.slice_origins[slice_index]
    ds.AcquisitionDate = ds.ContentDate = acquired.strftime("%Y%m%d")
    ds.AcquisitionTime = ds.ContentTime = acquired.strftime("%H%M%S")
    ds.ImagePositionPatient = [_ds_value(v) for v in origin]
    ds.ImageOrientationPatient = [_ds_value(v) for v in geometry.image_orientation_patient]
    ds.SliceLocation = _ds_value(float(origin @ geometry.normal))
    ds.PixelSpacing = [_ds_value(v) for v in geometry.pixel_spacing]
    ds.Rows, ds.Columns = geometry.rows, geometry.columns
    # (frequency rows, frequency columns, phase rows, phase columns): frequency along columns, phase along rows
    ds.AcquisitionMatrix = [geometry.columns, 0, 0, max(1, round(geometry.rows * vendor.phase_resolution))]
    ds.InPlanePhaseEncodingDirection = "ROW"
    ds.PixelData = stored.tobytes()


def _ds_value(value: float) -> str:
    """A decimal string of at most 16 characters keeping as many digits as fit (sub-micrometre for positions)."""
    value = float(value)
    return format_number_as_ds(0.0 if abs(value) < 1e-12 else value)


def _study_start(identity: StudyIdentity) -> dt.datetime:
    return dt.datetime.strptime(identity.study_date + identity.study_time, "%Y%m%d%H%M%S")


def _age_in_years(birth: dt.date, on: dt.date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _write_atomically(ds: Dataset, path: Path) -> None:
    """Write to a temporary file in the target folder, then rename it into place."""
    with atomic_path(path) as temporary:
        ds.save_as(temporary, enforce_file_format=True)

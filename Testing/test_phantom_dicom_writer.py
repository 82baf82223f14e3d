"""The phantom's DICOM writer and scanner profiles: valid MR files, exact geometry and pixels, deterministic UIDs."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk

from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Level
from lss.phantom.dicom_writer import (
    RenderedSeries,
    RenderedStack,
    StudyIdentity,
    WrittenSlice,
    make_study_identity,
    rescale_parameters,
    write_series,
)
from lss.phantom.profiles import (
    FIELD_STRENGTHS,
    PROFILE_NAMES,
    TISSUES,
    VENDOR_STYLES,
    FieldStrength,
    Profile,
    choose_profile,
    get_profile,
)

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"


def sagittal_geometry() -> StackGeometry:
    """5 sagittal slices of 64 rows × 48 columns, 4 mm apart along the normal (patient right)."""
    row_direction = np.array([0.0, 1.0, 0.0])
    column_direction = np.array([0.0, 0.0, -1.0])
    normal = np.cross(row_direction, column_direction)
    base = np.array([12.3456789, -101.23456789, 55.5123456])
    origins = np.array([base + k * 4.0 * normal for k in range(5)])
    return StackGeometry(origins, row_direction, column_direction, (0.8, 0.7), 64, 48)


def oblique_axial_geometry(angle_degrees: float = 12.0, centre_z: float = -20.0) -> StackGeometry:
    """3 axial slices of 40 rows × 32 columns tilted about the L-R axis, 4 mm apart."""
    angle = math.radians(angle_degrees)
    row_direction = np.array([1.0, 0.0, 0.0])
    column_direction = np.array([0.0, math.cos(angle), math.sin(angle)])
    normal = np.cross(row_direction, column_direction)
    base = np.array([-11.1111111, -15.98765432, centre_z])
    origins = np.array([base + k * 4.0 * normal for k in range(3)])
    return StackGeometry(origins, row_direction, column_direction, (0.6, 0.65), 40, 32)


def rendered_stack(geometry: StackGeometry, seed: int, level: Level | None = None) -> RenderedStack:
    """A smooth gradient plus noise, so that every slice and pixel is distinguishable."""
    rng = np.random.default_rng(seed)
    n, rows, cols = geometry.shape
    ramp = np.arange(n)[:, None, None] * 3.0 + np.arange(rows)[None, :, None] * 0.5 + np.arange(cols)[None, None, :]
    pixels = (ramp + rng.random(geometry.shape) * 20.0).astype(np.float32)
    pixels[0, 0, 0] = 0.0
    return RenderedStack(geometry, pixels, level)


def sagittal_series() -> RenderedSeries:
    return RenderedSeries(
        role="sag_t1", series_number=1, stacks=[rendered_stack(sagittal_geometry(), 1)],
        repetition_time=550.0, echo_time=10.0, echo_train_length=3, slice_thickness=3.5, spacing_between_slices=4.0,
    )  # fmt: skip


def axial_series(series_number: int = 2, stacks: list[RenderedStack] | None = None) -> RenderedSeries:
    stacks = stacks or [rendered_stack(oblique_axial_geometry(), 2, Level.L4_L5)]
    return RenderedSeries(
        role="ax_t2", series_number=series_number, stacks=stacks,
        repetition_time=4000.0, echo_time=100.0, echo_train_length=16, slice_thickness=3.5, spacing_between_slices=4.0,
    )  # fmt: skip


def identity(study_index: int = 7, seed: int = 1234) -> StudyIdentity:
    return make_study_identity(study_index, seed, np.random.default_rng([seed, study_index]))


def write_study(profile_name: str, out_dir: Path) -> dict[int, tuple[RenderedSeries, list[WrittenSlice]]]:
    study, profile = identity(), get_profile(profile_name)
    return {series.series_number: (series, write_series(series, study, profile, out_dir))
            for series in (sagittal_series(), axial_series())}  # fmt: skip


def dicom_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


@pytest.mark.parametrize("profile_name", PROFILE_NAMES)
def test_files_are_valid_mr_images_of_one_study(profile_name: str, tmp_path: Path) -> None:
    written = write_study(profile_name, tmp_path)
    profile = get_profile(profile_name)
    files = dicom_files(tmp_path)
    assert len(files) == 5 + 3
    assert sorted(s.path for _, slices in written.values() for s in slices) == files
    datasets = [pydicom.dcmread(path) for path in files]
    for path, ds in zip(files, datasets, strict=True):
        assert path.read_bytes()[128:132] == b"DICM"
        assert ds.file_meta.TransferSyntaxUID == EXPLICIT_VR_LITTLE_ENDIAN
        assert ds.file_meta.MediaStorageSOPClassUID == ds.SOPClassUID == MR_IMAGE_STORAGE
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert ds.file_meta.ImplementationClassUID
        assert ds.SpecificCharacterSet == "ISO_IR 100"
        assert ds.Modality == "MR" and ds.PatientPosition == "HFS" and ds.BodyPartExamined == "LSPINE"
        assert ds.PatientName == "PHANTOM^0007" and ds.PatientID == "PHANTOM0007"
        assert re.fullmatch(r"0\d\dY", ds.PatientAge) and ds.PatientSex in ("F", "M")
        assert ds.PositionReferenceIndicator == "" and ds.MRAcquisitionType == "2D"
        assert ds.Manufacturer == profile.vendor.manufacturer
        assert ds.ManufacturerModelName == profile.model_name
        assert float(ds.MagneticFieldStrength) == profile.field_strength.tesla
        assert float(ds.ImagingFrequency) == pytest.approx(42.577478 * profile.field_strength.tesla, abs=1e-5)
        assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.SamplesPerPixel == 1
        assert ds.BitsAllocated == 16 and ds.BitsStored == profile.vendor.bits_stored
        assert ds.HighBit == ds.BitsStored - 1 and ds.PixelRepresentation == 0
        assert ds.pixel_array.dtype == np.uint16
        assert int(ds.pixel_array.max()) <= 2**ds.BitsStored - 1
        assert ds.ScanningSequence == profile.vendor.scanning_sequence and len(ds.AcquisitionMatrix) == 4
        assert float(ds.WindowWidth) > 0
        assert ("RescaleSlope" in ds) == (profile.vendor.rescale_value_max is not None)
        for tag in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing"):
            assert all(len(str(v)) <= 16 for v in ds[tag].value)
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1
    assert len({ds.FrameOfReferenceUID for ds in datasets}) == 1
    assert len({ds.SOPInstanceUID for ds in datasets}) == len(datasets)
    assert len({ds.SeriesInstanceUID for ds in datasets}) == 2
    by_series = {number: [ds for ds in datasets if ds.SeriesNumber == number] for number in (1, 2)}
    descriptions = profile.vendor.series_descriptions
    assert {ds.SeriesDescription for ds in by_series[1]} == {descriptions["sag_t1"]}
    assert {ds.SeriesDescription for ds in by_series[2]} == {descriptions["ax_t2"]}
    assert sorted(ds.InstanceNumber for ds in by_series[1]) == [1, 2, 3, 4, 5]
    assert not list(tmp_path.rglob(".tmp-*"))


@pytest.mark.parametrize("profile_name", ["1.5T-siemens", "3T-ge", "1.5T-philips"])
def test_pixels_round_trip_within_one_stored_unit(profile_name: str, tmp_path: Path) -> None:
    written = write_study(profile_name, tmp_path)
    vendor = get_profile(profile_name).vendor
    slope, intercept = rescale_parameters(vendor) or (1.0, 0.0)
    if vendor.rescale_value_max is not None:
        assert slope != 1.0
    for series, slices in written.values():
        brightest = 0.0
        for written_slice in slices:
            ds = pydicom.dcmread(written_slice.path)
            value = ds.pixel_array * float(ds.get("RescaleSlope", 1.0)) + float(ds.get("RescaleIntercept", 0.0))
            signal = series.stacks[written_slice.stack_index].pixels[written_slice.slice_index].astype(np.float64)
            error = np.abs(value - signal * written_slice.value_scale)
            assert np.max(error) <= slope * 0.5 + 1e-3  # nearest stored unit (slope is DS-rounded)
            brightest = max(brightest, float(ds.pixel_array.max()))
        assert brightest == vendor.stored_max  # the series' brightest pixel uses the vendor's full range
    assert intercept == 0.0


@pytest.mark.parametrize("profile_name", ["1.5T-siemens", "3T-ge", "3T-philips"])
def test_geometry_round_trips_through_simpleitk(profile_name: str, tmp_path: Path) -> None:
    written = write_study(profile_name, tmp_path)
    for series, slices in written.values():
        geometry = series.stacks[0].geometry
        folder = slices[0].path.parent
        reader = sitk.ImageSeriesReader()
        names = reader.GetGDCMSeriesFileNames(str(folder), slices[0].series_instance_uid)
        assert len(names) == geometry.n_slices
        reader.SetFileNames(names)
        image = reader.Execute()
        assert image.GetSize() == (geometry.columns, geometry.rows, geometry.n_slices)
        np.testing.assert_allclose(image.GetOrigin(), geometry.slice_origins[0], atol=0.01)
        expected_direction = np.column_stack([geometry.row_direction, geometry.column_direction, geometry.normal])
        np.testing.assert_allclose(image.GetDirection(), expected_direction.ravel(), atol=1e-5)
        row_spacing, column_spacing = geometry.pixel_spacing
        np.testing.assert_allclose(image.GetSpacing(), (column_spacing, row_spacing, 4.0), atol=0.01)
        for written_slice in slices:  # each file's own header is sub-micrometre exact
            ds = pydicom.dcmread(written_slice.path, stop_before_pixels=True)
            origin = geometry.slice_origins[written_slice.slice_index]
            np.testing.assert_allclose([float(v) for v in ds.ImagePositionPatient], origin, atol=1e-3)
            np.testing.assert_allclose([float(v) for v in ds.ImageOrientationPatient],
                                       geometry.image_orientation_patient, atol=1e-9)  # fmt: skip


def test_blocks_of_one_series_keep_acquisition_order_and_their_own_planes(tmp_path: Path) -> None:
    blocks = [
        rendered_stack(oblique_axial_geometry(12.0, -20.0), 3, Level.L4_L5),
        rendered_stack(oblique_axial_geometry(-8.0, -55.0), 4, Level.L5_S1),
    ]
    slices = write_series(axial_series(3, blocks), identity(), get_profile("1.5T-siemens"), tmp_path)
    assert [s.instance_number for s in slices] == [1, 2, 3, 4, 5, 6]
    assert [(s.stack_index, s.slice_index) for s in slices] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    assert len({s.series_instance_uid for s in slices}) == 1
    for written_slice in slices:
        ds = pydicom.dcmread(written_slice.path, stop_before_pixels=True)
        geometry = blocks[written_slice.stack_index].geometry
        assert ds.InstanceNumber == written_slice.instance_number
        assert ds.AcquisitionNumber == written_slice.stack_index + 1
        np.testing.assert_allclose([float(v) for v in ds.ImageOrientationPatient],
                                   geometry.image_orientation_patient, atol=1e-9)  # fmt: skip


@pytest.mark.parametrize("profile_name", ["1.5T-siemens", "1.5T-ge", "1.5T-philips"])
def test_file_names_do_not_encode_slice_order(profile_name: str, tmp_path: Path) -> None:
    written = write_study(profile_name, tmp_path)
    vendor = get_profile(profile_name).vendor
    name_order_matches = []
    for _, slices in written.values():
        for written_slice in slices:
            name = written_slice.path.name
            assert re.fullmatch(re.escape(vendor.file_prefix) + r"[0-9A-F]{12}", name)
            assert name != str(written_slice.instance_number)
        by_name = sorted(slices, key=lambda s: s.path.name)
        name_order_matches.append([s.instance_number for s in by_name] == sorted(s.instance_number for s in slices))
    assert not all(name_order_matches)
    if vendor.file_layout == "nested":
        assert {s.path.parent.relative_to(tmp_path) for s in written[1][1]} == {Path("DICOM/S00001")}
    else:
        assert {s.path.parent for s in written[1][1]} == {tmp_path}


def test_same_seed_gives_identical_uids_and_files(tmp_path: Path) -> None:
    assert identity(7, 1234) == identity(7, 1234)
    others = [identity(8, 1234), identity(7, 1235)]
    for other in others:
        assert other.study_uid != identity().study_uid
        assert other.frame_of_reference_uid != identity().frame_of_reference_uid
    first = write_study("3T-philips", tmp_path / "a")
    second = write_study("3T-philips", tmp_path / "b")
    for number in first:
        uids_a = [(s.series_instance_uid, s.sop_instance_uid, s.path.name) for s in first[number][1]]
        uids_b = [(s.series_instance_uid, s.sop_instance_uid, s.path.name) for s in second[number][1]]
        assert uids_a == uids_b
        assert all(
            a.path.read_bytes() == b.path.read_bytes() for a, b in zip(first[number][1], second[number][1], strict=True)
        )


def test_mismatched_pixels_are_refused(tmp_path: Path) -> None:
    series = sagittal_series()
    series.stacks[0].pixels = series.stacks[0].pixels[:, :10]
    with pytest.raises(ValueError, match="do not match"):
        write_series(series, identity(), get_profile("1.5T-ge"), tmp_path)


def test_unknown_profile_lists_valid_names() -> None:
    with pytest.raises(ValueError) as error:
        get_profile("bogus")
    for name in PROFILE_NAMES:
        assert name in str(error.value)
    assert "mixed" in str(error.value)


def test_profiles_cover_every_combination_and_mixed_draws_them_all() -> None:
    assert len(PROFILE_NAMES) == len(FIELD_STRENGTHS) * len(VENDOR_STYLES) == 6
    assert get_profile("3T-ge") == Profile(FIELD_STRENGTHS["3T"], VENDOR_STYLES["ge"])
    rng = np.random.default_rng(0)
    assert choose_profile(rng, "1.5T-philips").name == "1.5T-philips"
    assert {choose_profile(rng, "mixed").name for _ in range(200)} == set(PROFILE_NAMES)
    assert any(not style.axial_blocks_in_one_series for style in VENDOR_STYLES.values())
    assert any(style.axial_blocks_in_one_series for style in VENDOR_STYLES.values())


def weighted_signals(field_strength: FieldStrength, role: str) -> dict[str, float]:
    """Spin-echo signal of every tissue with the field strength's typical timing for ``role``."""
    timing = field_strength.timings[role]
    return {t: field_strength.spin_echo_signal(t, timing.repetition_time, timing.echo_time) for t in TISSUES}


def test_relaxation_tables_give_the_expected_contrasts() -> None:
    for field_strength in FIELD_STRENGTHS.values():
        assert set(field_strength.tissues) == set(TISSUES)
        t1w = weighted_signals(field_strength, "sag_t1")
        t2w = weighted_signals(field_strength, "sag_t2")
        assert t1w["fat"] > t1w["muscle"] > t1w["csf"]
        assert t2w["csf"] > t2w["disc_nucleus"] > t2w["disc_annulus"]
        assert t2w["fat"] > t2w["muscle"]
        for dark in ("cortical_bone", "ligament", "vessel", "air"):
            assert t1w[dark] < t1w["muscle"] and t2w[dark] < t2w["nerve"]
    slow, fast = FIELD_STRENGTHS["1.5T"], FIELD_STRENGTHS["3T"]
    assert fast.relative_snr > slow.relative_snr
    for tissue in ("fat", "muscle", "disc_nucleus", "marrow"):
        assert fast.tissues[tissue].t1 > slow.tissues[tissue].t1
        assert fast.tissues[tissue].t2 <= slow.tissues[tissue].t2

"""The reader on pydicom's public MR test files: transfer syntaxes, oblique images, broken files.

Geometry is checked against pydicom's own reading of the headers; pixels against pydicom's ``pixel_array``
(for JPEG-LS, which pydicom cannot decode here, against the uncompressed original of the same image).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from lss.dicom.errors import DicomReadError
from lss.dicom.reader import read_study
from lss.model.study import Stack

pytest.importorskip("data_store", reason="pydicom-data is not installed (pip install pydicom-data)")

# file → the file whose pixel_array is the reference (the same image, decodable by pydicom)
READABLE = {
    "MR_small.dcm": "MR_small.dcm",
    "MR_small_implicit.dcm": "MR_small.dcm",
    "MR_small_bigendian.dcm": "MR_small_bigendian.dcm",
    "MR_small_expb.dcm": "MR_small_expb.dcm",
    "MR_small_RLE.dcm": "MR_small.dcm",
    "MR_small_jp2klossless.dcm": "MR_small.dcm",
    "MR_small_jpeg_ls_lossless.dcm": "MR_small.dcm",
    "MR_small_padded.dcm": "MR_small_padded.dcm",
    "MR2_J2KI.dcm": "MR2_J2KI.dcm",
    "MR2_J2KR.dcm": "MR2_UNCR.dcm",
    "MR2_UNCI.dcm": "MR2_UNCI.dcm",
    "MR-SIEMENS-DICOM-WithOverlays.dcm": "MR-SIEMENS-DICOM-WithOverlays.dcm",
}
# pydicom's enhanced MR samples were stripped of their functional groups: no plane position or orientation
WITHOUT_GEOMETRY = ["emri_small.dcm", "emri_small_big_endian.dcm", "emri_small_RLE.dcm",
                    "emri_small_jpeg_2k_lossless.dcm", "emri_small_jpeg_ls_lossless.dcm"]
BROKEN = ["MR_truncated.dcm", "emri_small_jpeg_2k_lossless_too_short.dcm", *WITHOUT_GEOMETRY]


def test_file(name: str) -> Path:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"{name} is not in the installed pydicom test data")
    return Path(path)


test_file.__test__ = False  # a helper, not a test


def copy_in(name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(test_file(name), folder / name))


def frame_geometry(ds: pydicom.Dataset, frame: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(IPP, IOP, PixelSpacing) of one frame, from classic or enhanced (functional group) headers."""
    if "PerFrameFunctionalGroupsSequence" not in ds:
        return (np.array(ds.ImagePositionPatient, dtype=float), np.array(ds.ImageOrientationPatient, dtype=float),
                np.array(ds.PixelSpacing, dtype=float))
    per_frame = ds.PerFrameFunctionalGroupsSequence[frame or 0]
    shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else pydicom.Dataset()

    def group(name: str) -> pydicom.Dataset:
        return (per_frame if name in per_frame else shared)[name][0]

    return (np.array(group("PlanePositionSequence").ImagePositionPatient, dtype=float),
            np.array(group("PlaneOrientationSequence").ImageOrientationPatient, dtype=float),
            np.array(group("PixelMeasuresSequence").PixelSpacing, dtype=float))


def frame_rescale(ds: pydicom.Dataset, frame: int | None) -> tuple[float, float]:
    """(slope, intercept) of one frame; (1, 0) when the header gives none."""
    source = ds
    if "PerFrameFunctionalGroupsSequence" in ds:
        per_frame = ds.PerFrameFunctionalGroupsSequence[frame or 0]
        shared = ds.get("SharedFunctionalGroupsSequence", [pydicom.Dataset()])[0]
        for groups in (per_frame, shared):
            if "PixelValueTransformationSequence" in groups:
                source = groups.PixelValueTransformationSequence[0]
                break
    return float(source.get("RescaleSlope", 1.0) or 1.0), float(source.get("RescaleIntercept", 0.0) or 0.0)


def only_stacks(folder: Path) -> list[Stack]:
    study = read_study(folder)
    assert len(study.series) == 1, [s.description for s in study.series]
    assert not study.skipped, study.skipped
    return study.series[0].stacks


@pytest.mark.parametrize("name", sorted(READABLE))
def test_reads_geometry_and_pixels_like_pydicom(tmp_path, name):
    path = copy_in(name, tmp_path / "study")
    ds = pydicom.dcmread(path)
    reference = pydicom.dcmread(test_file(READABLE[name])).pixel_array
    stacks = only_stacks(tmp_path / "study")
    n_frames = int(ds.get("NumberOfFrames", 1) or 1)
    assert sum(len(stack.slices) for stack in stacks) == n_frames
    for stack in stacks:
        geometry = stack.geometry
        pixels = stack.load_pixels()
        assert pixels.shape == (len(stack.slices), int(ds.Rows), int(ds.Columns))
        for index, ref in enumerate(stack.slices):
            assert ref.path.name == name
            position, orientation, spacing = frame_geometry(ds, ref.frame)
            np.testing.assert_allclose(geometry.slice_origins[index], position, atol=1e-4)
            np.testing.assert_allclose(geometry.image_orientation_patient, orientation, atol=1e-4)
            np.testing.assert_allclose(geometry.pixel_spacing, spacing, rtol=1e-6)
            slope, intercept = frame_rescale(ds, ref.frame)
            expected = reference[ref.frame or 0] if n_frames > 1 else reference
            np.testing.assert_allclose(pixels[index], expected.astype(np.float64) * slope + intercept, rtol=1e-5)


@pytest.mark.parametrize("name", sorted(READABLE))
def test_slices_are_sorted_along_the_normal(tmp_path, name):
    copy_in(name, tmp_path / "study")
    for stack in only_stacks(tmp_path / "study"):
        offsets = stack.geometry.slice_offsets
        assert np.all(np.diff(offsets) > 0) or len(offsets) == 1


@pytest.mark.parametrize("name", BROKEN)
def test_broken_file_is_reported_by_name(tmp_path, name):
    copy_in(name, tmp_path / "study")
    try:
        study = read_study(tmp_path / "study")
    except DicomReadError as error:
        assert name in str(error)
        return
    if any(skipped.path.name == name for skipped in study.skipped):
        assert all(skipped.reason for skipped in study.skipped)
        return
    with pytest.raises(DicomReadError, match=name.replace(".", r"\.")):
        for series in study.series:
            for stack in series.stacks:
                stack.load_pixels()


@pytest.mark.parametrize("name", WITHOUT_GEOMETRY)
def test_enhanced_mr_without_geometry_says_what_is_missing(tmp_path, name):
    copy_in(name, tmp_path / "study")
    with pytest.raises(DicomReadError, match="position|orientation"):
        read_study(tmp_path / "study")


def test_oblique_siemens_image_keeps_its_orientation(tmp_path):
    copy_in("MR2_J2KI.dcm", tmp_path / "study")
    (stack,) = only_stacks(tmp_path / "study")
    assert abs(stack.geometry.row_direction[0]) not in (0.0, 1.0)  # truly oblique in-plane
    np.testing.assert_allclose(np.linalg.norm(stack.geometry.normal), 1.0)


def test_broken_file_beside_good_ones_does_not_stop_the_study(tmp_path):
    copy_in("MR_small.dcm", tmp_path / "study")
    copy_in("MR_truncated.dcm", tmp_path / "study")
    study = read_study(tmp_path / "study")
    assert study.series, "the good image must still be read"

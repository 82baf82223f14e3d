"""read_study on bad input: clear DicomReadError messages naming the path, partly unusable studies that still
load, localizers left out, several studies or frames of reference noted, DICOMDIR and preamble-less files."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.fileset import FileSet
from pydicom.uid import generate_uid

from lss.dicom.errors import DicomReadError
from lss.dicom.reader import read_study
from lss.dicom.stacks import spacing_problems


@pytest.fixture(scope="module")
def ge(phantom_studies):
    return next(p for p in phantom_studies if p.profile == "3T-ge")


def series_files(phantom, role_prefix: str) -> list[Path]:
    uid = next(s.series_uid for s in phantom.truth.series if s.role.startswith(role_prefix))
    return sorted(p for p, ds in phantom.datasets.items() if str(ds.SeriesInstanceUID) == uid)


def copy_files(files: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copyfile(path, folder / path.name)) for path in files]


def test_missing_path(tmp_path):
    with pytest.raises(DicomReadError, match=f"does not exist: {tmp_path / 'nowhere'}"):
        read_study(tmp_path / "nowhere")


def test_empty_folder(tmp_path):
    with pytest.raises(DicomReadError, match=rf"no DICOM files in {tmp_path} \(0 other files skipped\)"):
        read_study(tmp_path)


def test_folder_of_text_files(tmp_path):
    for name in ("a.txt", "b", "notes.md"):
        (tmp_path / name).write_text("not a DICOM file\n" * 20)
    (tmp_path / "tags").write_bytes(b"\x08\x00\x05\x00garbage that starts like a tag")
    with pytest.raises(DicomReadError, match=rf"no DICOM files in {tmp_path} \(4 other files skipped\)"):
        read_study(tmp_path)


def _position_along_normal(path) -> float:
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    orientation = np.asarray(ds.ImageOrientationPatient, dtype=float)
    return float(np.asarray(ds.ImagePositionPatient, dtype=float) @ np.cross(orientation[:3], orientation[3:]))


def test_truncated_file_and_file_without_pixels_are_skipped_and_the_rest_loads(ge, tmp_path):
    files = copy_files(series_files(ge, "sag"), tmp_path)
    in_space = sorted(files, key=_position_along_normal)
    truncated, no_pixels, header_cut = in_space[3], in_space[6], in_space[9]  # never two neighbours: one stack
    truncated.write_bytes(truncated.read_bytes()[: truncated.stat().st_size // 2])
    ds = pydicom.dcmread(no_pixels)
    del ds.PixelData
    ds.save_as(no_pixels)
    header_cut.write_bytes(header_cut.read_bytes()[:300])
    (tmp_path / "readme.txt").write_text("hello")
    calls = []
    study = read_study(tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (len(files) + 1, len(files) + 1) and len(calls) == len(files) + 1
    reasons = {s.path: s.reason for s in study.skipped}
    assert set(reasons) == {truncated, no_pixels, header_cut}
    assert "truncated" in reasons[truncated]
    assert "no pixel data" in reasons[no_pixels]
    assert study.non_dicom_files == 1
    stack = study.series[0].stacks[0]
    assert len(stack.slices) == len(files) - 3
    assert stack.load_pixels().shape[0] == len(files) - 3
    assert any("non-uniform slice spacing" in problem for problem in stack.problems)


def test_only_unusable_dicom_files_name_them(ge, tmp_path):
    files = copy_files(series_files(ge, "sag")[:2], tmp_path)
    for path in files:
        ds = pydicom.dcmread(path)
        ds.Modality = "CT"
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
        ds.save_as(path)
    with pytest.raises(DicomReadError, match="no usable MR images") as error:
        read_study(tmp_path)
    assert str(files[0]) in str(error.value) and "modality CT" in str(error.value)


def test_non_image_sop_class_is_skipped(ge, tmp_path):
    files = copy_files(series_files(ge, "sag"), tmp_path)
    ds = pydicom.dcmread(files[0])
    del ds.PixelData
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.22"  # Enhanced SR
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.save_as(tmp_path / "report")
    study = read_study(tmp_path)
    assert [(s.path, "Enhanced SR" in s.reason) for s in study.skipped] == [(tmp_path / "report", True)]
    assert study.series[0].n_images == len(files)


def test_two_frames_of_reference_are_reported_by_series(ge, tmp_path):
    copy_files(series_files(ge, "sag"), tmp_path / "sag")
    for path in copy_files(series_files(ge, "ax"), tmp_path / "ax"):
        ds = pydicom.dcmread(path)
        ds.FrameOfReferenceUID = "1.2.3.4"
        ds.save_as(path)
    study = read_study(tmp_path)
    assert len(study.series) == 2
    [problem] = study.problems
    axial = next(s for s in study.series if s.frame_of_reference_uid == "1.2.3.4")
    sagittal = next(s for s in study.series if s is not axial)
    assert "FrameOfReferenceUID" in problem and "1.2.3.4" in problem
    assert axial.description in problem and sagittal.description in problem


def test_several_studies_read_the_largest_and_name_the_others(ge, tmp_path):
    copy_files(series_files(ge, "sag"), tmp_path / "a")
    other = copy_files(series_files(ge, "ax")[:4], tmp_path / "b")
    for path in other:
        ds = pydicom.dcmread(path)
        ds.StudyInstanceUID = "1.2.3.99"
        ds.save_as(path)
    study = read_study(tmp_path)
    assert study.study_uid == ge.summary["study_uid"]
    assert any("1.2.3.99 (4 images)" in p for p in study.problems)


@pytest.mark.parametrize("image_type", [["ORIGINAL", "PRIMARY", "LOCALIZER"], ["ORIGINAL", "PRIMARY", "M"]])
def test_three_plane_localizer_is_left_out(ge, tmp_path, image_type):
    sag = copy_files(series_files(ge, "sag"), tmp_path)
    uid = generate_uid()
    planes = ([0, 1, 0, 0, 0, -1], [1, 0, 0, 0, 1, 0], [1, 0, 0, 0, 0, -1])
    for k, orientation in enumerate(planes):
        ds = pydicom.dcmread(sag[k])
        ds.SeriesInstanceUID, ds.SeriesNumber, ds.SeriesDescription = uid, 99, "3-plane loc"
        ds.SOPInstanceUID = generate_uid()
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.ImageType = image_type
        ds.ImageOrientationPatient = orientation
        ds.save_as(tmp_path / f"loc{k}")
    study = read_study(tmp_path)
    assert [s.series_number for s in study.series] == [1]
    assert any("localizer" in p and "3-plane loc" in p and "3 images" in p for p in study.problems)


def test_dicomdir_and_files_without_preamble(ge, tmp_path):
    source = series_files(ge, "sag")
    fileset = FileSet()
    for path in source:
        fileset.add(pydicom.dcmread(path))
    fileset.write(tmp_path / "fs")
    study = read_study(tmp_path / "fs")
    assert study.series[0].n_images == len(source) and not study.skipped
    assert study.non_dicom_files == 0
    bare = tmp_path / "bare"
    bare.mkdir()
    for path in source:
        ds = pydicom.dcmread(path)
        ds.preamble = None
        del ds.file_meta
        ds.save_as(bare / path.name, implicit_vr=True, little_endian=True, enforce_file_format=False)
    assert not (bare / source[0].name).read_bytes()[128:132] == b"DICM"
    study = read_study(bare)
    assert study.series[0].n_images == len(source)
    assert study.series[0].stacks[0].load_pixels().shape[0] == len(source)


def test_duplicate_positions_are_kept_once(ge, tmp_path):
    files = copy_files(series_files(ge, "sag"), tmp_path)
    ds = pydicom.dcmread(files[0])
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = 999
    ds.save_as(tmp_path / "zz_copy")
    study = read_study(tmp_path)
    assert study.series[0].n_images == len(files)
    assert [s.path.name for s in study.skipped] == ["zz_copy"]
    assert "duplicate" in study.skipped[0].reason
    assert any("duplicate" in p for p in study.series[0].stacks[0].problems)


def test_unsupported_compression_names_the_file(ge, tmp_path, monkeypatch):
    [path] = copy_files(series_files(ge, "sag")[:1], tmp_path)
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.80"  # JPEG-LS lossless, not really encoded
    ds.PixelData = pydicom.encaps.encapsulate([b"\xff\xd8 not a codestream \xff\xd9"])
    ds.save_as(path, enforce_file_format=True)
    stack = read_study(tmp_path).series[0].stacks[0]
    with pytest.raises(DicomReadError, match=str(path)) as error:
        stack.load_pixels()
    assert "JPEG-LS" in str(error.value)


def test_spacing_problems_are_human_readable():
    assert spacing_problems(np.array([0.0, 3.3, 6.6, 9.9])) == []
    assert spacing_problems(np.array([0.0, 3.3, 9.9, 13.2])) == [
        "non-uniform slice spacing: 3.3–6.6 mm (median 3.3 mm)",
        "gap of 6.6 mm between slices 1 and 2 (about 1 slice(s) missing)"]
    assert spacing_problems(np.array([0.0, 3.0, 6.0, 8.0, 11.0])) == [
        "non-uniform slice spacing: 2.0–3.0 mm (median 3.0 mm)"]  # uneven, but no gap

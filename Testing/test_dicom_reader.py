"""read_study on phantom studies: stacks and geometry match the DICOM headers and SimpleITK, whatever the file
names, folder layout, slice order, row direction or (enhanced) multi-frame encoding; pixels are rescaled."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from conftest import stacks_of
from lss.dicom.reader import read_study
from lss.model.study import Study

MM = 0.01
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"


@pytest.fixture(scope="module")
def read_studies(phantom_studies) -> list[Study]:
    """Each phantom study (Siemens straight axial stack, GE per-level blocks, Philips one series per block) read."""
    return [read_study(study.folder / "dicom") for study in phantom_studies]


def signature(study: Study) -> list[tuple]:
    """What must not depend on file names or layout: series, stacks, sorted SOP/frame order, origins."""
    return [(s.series_uid, [([(ref.sop_instance_uid, ref.frame) for ref in k.slices],
                             np.round(k.geometry.slice_origins, 4).tolist()) for k in s.stacks])
            for s in study.series]


def series_datasets(phantom, series_uid: str) -> list[tuple[Path, pydicom.Dataset]]:
    return [(p, ds) for p, ds in phantom.datasets.items() if str(ds.SeriesInstanceUID) == series_uid]


def sagittal_uid(phantom) -> str:
    return next(s.series_uid for s in phantom.truth.series if s.role.startswith("sag"))


def test_series_and_stacks_match_the_phantom(phantom_studies, read_studies):
    for phantom, study in zip(phantom_studies, read_studies, strict=True):
        assert study.study_uid == phantom.summary["study_uid"]
        assert not study.skipped and not study.problems
        assert study.non_dicom_files == 0
        assert {s.series_uid for s in study.series} == {r.series_uid for r in phantom.truth.series}
        expected = stacks_of(phantom.datasets.values())
        for record in phantom.truth.series:
            series = study.series_by_uid(record.series_uid)
            assert series.role is None
            assert series.n_images == record.n_slices
            assert series.modality == "MR"
            groups = {k: v for k, v in expected.items() if k[0] == record.series_uid}
            assert len(series.stacks) == len(groups)
            if record.role.startswith("sag"):
                assert len(series.stacks) == 1
            for stack in series.stacks:
                assert stack.problems == []
                orientation = tuple(round(v, 5) for v in stack.geometry.image_orientation_patient)
                members = groups[(record.series_uid, orientation)]
                assert [ref.sop_instance_uid for ref in stack.slices] == [str(ds.SOPInstanceUID) for ds in members]
                ipps = np.array([[float(v) for v in ds.ImagePositionPatient] for ds in members])
                np.testing.assert_allclose(stack.geometry.slice_origins, ipps, atol=1e-6)
                assert stack.geometry.slice_spacing > 0


def test_per_level_blocks_in_one_series_become_five_stacks_in_acquisition_order(phantom_studies, read_studies):
    ge = next(i for i, p in enumerate(phantom_studies) if p.profile == "3T-ge")
    axial = next(s for s in read_studies[ge].series if len(s.stacks) > 1)
    assert len(axial.stacks) == 5
    assert [k.index for k in axial.stacks] == list(range(5))
    by_sop = phantom_studies[ge].by_sop()
    numbers = [{int(by_sop[ref.sop_instance_uid].AcquisitionNumber) for ref in k.slices} for k in axial.stacks]
    assert numbers == [{1}, {2}, {3}, {4}, {5}]
    philips = next(i for i, p in enumerate(phantom_studies) if p.profile == "3T-philips")
    assert sum(len(s.stacks) for s in read_studies[philips].series) == len(read_studies[philips].series)


def test_geometry_round_trips_with_simpleitk(read_studies):
    for study in read_studies:
        for series in study.series:
            if len(series.stacks) != 1:
                continue
            stack = series.stacks[0]
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames([str(ref.path) for ref in stack.slices])
            reader.SetOutputPixelType(sitk.sitkFloat32)
            image = reader.Execute()
            geometry = stack.geometry
            np.testing.assert_allclose(image.GetOrigin(), geometry.slice_origins[0], atol=MM)
            row_spacing, col_spacing = geometry.pixel_spacing
            np.testing.assert_allclose(image.GetSpacing(), (col_spacing, row_spacing, geometry.slice_spacing),
                                       atol=1e-4)
            for col, row, k in [(0, 0, 0), (geometry.columns - 1, 0, geometry.n_slices - 1),
                                (7, geometry.rows - 1, geometry.n_slices // 2)]:
                sitk_point = image.TransformIndexToPhysicalPoint((col, row, k))
                np.testing.assert_allclose(geometry.pixel_to_lps(col, row, k), sitk_point, atol=MM)
            assert geometry.shape == image.GetSize()[::-1]
            np.testing.assert_allclose(stack.load_pixels(), sitk.GetArrayFromImage(image), rtol=1e-5, atol=1e-3)


def test_pixels_are_rescaled_per_slice(phantom_studies, read_studies):
    philips = next(i for i, p in enumerate(phantom_studies) if p.profile == "3T-philips")
    by_sop = phantom_studies[philips].by_sop()
    assert any("RescaleSlope" in ds for ds in by_sop.values())
    for series in read_studies[philips].series:
        for stack in series.stacks:
            pixels = stack.load_pixels()
            assert pixels.dtype == np.float32 and pixels.shape == stack.geometry.shape
            for index, ref in enumerate(stack.slices):
                ds = by_sop[ref.sop_instance_uid]
                expected = ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
                np.testing.assert_allclose(pixels[index], expected, rtol=1e-6, atol=1e-3)
                assert stack.rescale[index] == (float(ds.RescaleSlope), float(ds.RescaleIntercept))


def test_shuffled_renamed_nested_files_give_the_same_study(phantom_studies, read_studies, tmp_path):
    rng = random.Random(3)
    for phantom, study in zip(phantom_studies, read_studies, strict=True):
        target = tmp_path / phantom.summary["folder"]
        for path in phantom.dicom_files:
            depth = rng.randint(0, 3)
            folder = target.joinpath(*[f"d{rng.randint(0, 4)}" for _ in range(depth)])
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, folder / f"{rng.getrandbits(40):x}.img")
        assert signature(read_study(target)) == signature(study)
        files = sorted(p for p in target.rglob("*") if p.is_file())
        assert signature(read_study(list(reversed(files)))) == signature(study)


def test_reversed_instance_numbers_and_file_names_do_not_change_the_order(phantom_studies, read_studies, tmp_path):
    phantom, study = phantom_studies[1], read_studies[1]
    stack = study.series_by_uid(sagittal_uid(phantom)).stacks[0]
    n = len(stack.slices)
    for k, ref in enumerate(stack.slices):
        ds = pydicom.dcmread(ref.path)
        ds.InstanceNumber = n - k
        ds.save_as(tmp_path / f"IMG{n - k:04d}.dcm")
    reread = read_study(tmp_path).series[0].stacks[0]
    assert [r.sop_instance_uid for r in reread.slices] == [r.sop_instance_uid for r in stack.slices]
    assert [r.instance_number for r in reread.slices] == list(range(n, 0, -1))
    np.testing.assert_allclose(reread.geometry.slice_origins, stack.geometry.slice_origins, atol=1e-9)


def test_flipped_row_direction_keeps_the_physical_geometry(phantom_studies, read_studies, tmp_path):
    phantom, study = phantom_studies[2], read_studies[2]
    original = study.series_by_uid(sagittal_uid(phantom)).stacks[0]
    for ref in original.slices:
        ds = pydicom.dcmread(ref.path)
        iop = np.array(ds.ImageOrientationPatient, dtype=float)
        col_spacing = float(ds.PixelSpacing[1])
        ipp = np.array(ds.ImagePositionPatient, dtype=float) + (ds.Columns - 1) * col_spacing * iop[:3]
        ds.ImageOrientationPatient = [f"{v:.10g}" for v in (*(-iop[:3]), *iop[3:])]
        ds.ImagePositionPatient = [f"{v:.10g}" for v in ipp]
        ds.PixelData = np.ascontiguousarray(ds.pixel_array[:, ::-1]).tobytes()
        ds.save_as(tmp_path / ref.path.name)
    flipped = read_study(tmp_path).series[0].stacks[0]
    order = {ref.sop_instance_uid: k for k, ref in enumerate(original.slices)}
    cols = original.geometry.columns
    for k_new, ref in enumerate(flipped.slices):
        k_old = order[ref.sop_instance_uid]
        for col, row in [(0, 0), (3, 40), (cols - 1, original.geometry.rows - 1)]:
            np.testing.assert_allclose(flipped.geometry.pixel_to_lps(col, row, k_new),
                                       original.geometry.pixel_to_lps(cols - 1 - col, row, k_old), atol=MM)
    assert [order[r.sop_instance_uid] for r in flipped.slices] == list(range(len(order)))[::-1]
    old, new = original.load_pixels(), flipped.load_pixels()
    np.testing.assert_allclose(new, old[::-1, :, ::-1], atol=1e-3)


def enhanced_mr_from(files: list[Path], path: Path) -> None:
    """Write the single-frame images ``files`` (one series) as one Enhanced MR Image, frames in file order."""
    sources = [pydicom.dcmread(p) for p in files]
    first = sources[0]
    ds = Dataset()
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "StudyDate", "SeriesInstanceUID", "SeriesNumber",
                    "SeriesDescription", "Modality", "Manufacturer", "FrameOfReferenceUID", "Rows", "Columns",
                    "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated", "BitsStored", "HighBit",
                    "PixelRepresentation", "ImageType", "ScanningSequence", "SequenceVariant"):
        if keyword in first:
            setattr(ds, keyword, first.data_element(keyword).value)
    ds.SOPClassUID = ENHANCED_MR
    ds.SOPInstanceUID = generate_uid()
    ds.InstanceNumber = 1
    ds.NumberOfFrames = len(sources)
    shared = Dataset()
    measures = Dataset()
    measures.PixelSpacing = first.PixelSpacing
    measures.SliceThickness = first.SliceThickness
    shared.PixelMeasuresSequence = Sequence([measures])
    transform = Dataset()
    transform.RescaleSlope = first.get("RescaleSlope", 1)
    transform.RescaleIntercept = first.get("RescaleIntercept", 0)
    transform.RescaleType = "US"
    shared.PixelValueTransformationSequence = Sequence([transform])
    timing = Dataset()
    timing.RepetitionTime = first.RepetitionTime
    shared.MRTimingAndRelatedParametersSequence = Sequence([timing])
    echo = Dataset()
    echo.EffectiveEchoTime = first.EchoTime
    shared.MREchoSequence = Sequence([echo])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    frames = []
    for source in sources:
        frame, position, orientation = Dataset(), Dataset(), Dataset()
        position.ImagePositionPatient = source.ImagePositionPatient
        orientation.ImageOrientationPatient = source.ImageOrientationPatient
        frame.PlanePositionSequence = Sequence([position])
        frame.PlaneOrientationSequence = Sequence([orientation])
        frames.append(frame)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds.PixelData = b"".join(s.pixel_array.astype("<u2").tobytes() for s in sources)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ENHANCED_MR
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(path, enforce_file_format=True)


def test_enhanced_multiframe_matches_the_single_frame_series(phantom_studies, read_studies, tmp_path):
    phantom, study = phantom_studies[2], read_studies[2]  # Philips: rescaled pixels
    series = study.series_by_uid(sagittal_uid(phantom))
    single = series.stacks[0]
    enhanced_mr_from(sorted(ref.path for ref in single.slices), tmp_path / "ENHANCED")
    read = read_study(tmp_path)
    assert len(read.series) == 1 and len(read.series[0].stacks) == 1
    multi = read.series[0].stacks[0]
    assert all(ref.path == tmp_path / "ENHANCED" and ref.frame is not None for ref in multi.slices)
    assert len({ref.frame for ref in multi.slices}) == len(single.slices)
    np.testing.assert_allclose(multi.geometry.slice_origins, single.geometry.slice_origins, atol=1e-6)
    np.testing.assert_allclose(multi.geometry.image_orientation_patient, single.geometry.image_orientation_patient)
    assert multi.geometry.pixel_spacing == single.geometry.pixel_spacing
    assert multi.rescale == single.rescale
    assert read.series[0].echo_time == series.echo_time
    assert read.series[0].repetition_time == series.repetition_time
    np.testing.assert_allclose(multi.load_pixels(), single.load_pixels(), atol=1e-4)

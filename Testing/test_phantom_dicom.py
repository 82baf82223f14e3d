"""Generated phantom studies: valid MR DICOM in each vendor's layout, and geometry that round-trips exactly
(< 0.01 mm) between the DICOM headers, SimpleITK, the label maps and the ground-truth boxes."""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.pixels import apply_modality_lut
from pydicom.uid import UID

from conftest import PHANTOM_STUDY_SPECS, instance_geometry, label_map_slice_positions, pixel_edge_to_lps, stacks_of
from lss.model.vocabulary import Region, region_keys
from lss.phantom.profiles import get_profile
from lss.phantom.subject import DISCS
from lss.phantom.tissues import Tissue

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
MM = 0.01  # geometric tolerance, mm
UNIT = 1e-4  # tolerance on direction cosines
REQUIRED_TAGS = (
    "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID", "Modality",
    "PatientName", "PatientID", "StudyDate", "SeriesNumber", "InstanceNumber", "SeriesDescription", "Manufacturer",
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness", "Rows", "Columns",
    "SamplesPerPixel", "PhotometricInterpretation", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "ScanningSequence", "SequenceVariant", "MRAcquisitionType", "EchoTime", "RepetitionTime", "MagneticFieldStrength",
    "PixelData",
)  # fmt: skip
# Axial series per study: vendors that keep per-level blocks in one series write 1, Philips one per level (5).
EXPECTED_AXIAL_SERIES = {"siemens": 1, "ge": 1, "philips": 5}


@pytest.fixture(scope="module")
def studies(phantom_studies):
    return phantom_studies


def vendor_of(study) -> str:
    return get_profile(study.profile).vendor.name


def role_of_series(study) -> dict[str, str]:
    """SeriesInstanceUID → role recorded in the ground truth."""
    return {record.series_uid: record.role for record in study.truth.series}


def label_maps(study) -> dict[str, sitk.Image]:
    return {path.name: sitk.ReadImage(str(path)) for path in sorted((study.folder / "labels").glob("*.nrrd"))}


def matching_label_map(study, maps: dict[str, sitk.Image], stack: list[pydicom.Dataset]) -> tuple[str, sitk.Image]:
    """The label map of a DICOM stack: same series number and same in-plane directions."""
    number = int(stack[0].SeriesNumber)
    _, row_direction, column_direction, _ = instance_geometry(stack[0])
    found = []
    for name, image in maps.items():
        if not name.startswith(f"series{number:02d}_stack"):
            continue
        direction = np.asarray(image.GetDirection()).reshape(3, 3)
        if np.allclose(direction[:, 0], row_direction, atol=UNIT) and np.allclose(direction[:, 1], column_direction,
                                                                                   atol=UNIT):
            found.append((name, image))
    assert len(found) == 1, f"{study.folder.name}: series {number} stack matches label maps {[n for n, _ in found]}"
    return found[0]


def test_every_study_folder_has_the_documented_content(studies):
    for study, (index, profile, _) in zip(studies, PHANTOM_STUDY_SPECS, strict=True):
        assert study.summary["folder"] == f"PHANTOM_{index:04d}"
        assert study.summary["profile"] == profile
        assert (study.folder / "ground_truth.json").is_file()
        assert (study.folder / "labels" / "legend.json").is_file()
        assert not (study.folder / "preview.png").exists(), "preview written although not asked for"
        assert study.truth.extra["phantom"]["profile"] == profile
        assert study.truth.study_uid == study.summary["study_uid"]
        assert study.truth.patient_id == study.summary["patient_id"]
        leftovers = [p.name for p in study.root.rglob("*") if p.name.startswith(".tmp")]
        assert not leftovers, f"temporary files left behind: {leftovers}"


def test_dicom_layout_follows_the_vendor(studies):
    for study in studies:
        files = study.dicom_files
        assert len(files) > 40, f"{study.folder.name}: only {len(files)} DICOM files"
        dicom_dir = study.folder / "dicom"
        for path in files:
            assert "." not in path.name, f"DICOM file name with an extension: {path.name}"
            relative = path.relative_to(dicom_dir)
            if vendor_of(study) == "ge":
                assert re.fullmatch(r"DICOM/S\d{5}/[^/]+", relative.as_posix()), relative
            else:
                assert relative.parent.as_posix() == ".", f"{study.profile}: nested file {relative}"
        if vendor_of(study) == "ge":  # one folder per series, named after its number
            for path, ds in study.datasets.items():
                assert path.parent.name == f"S{int(ds.SeriesNumber):05d}"


def test_every_file_is_valid_mr_image_storage(studies, monkeypatch):
    monkeypatch.setattr(pydicom.config.settings, "reading_validation_mode", pydicom.config.RAISE)
    for study in studies:
        profile = get_profile(study.profile)
        for path in study.dicom_files:
            ds = pydicom.dcmread(path)  # no force: needs the preamble and DICM prefix
            for element in ds.iterall():  # RAISE mode: every value must be valid for its VR
                _ = element.value
            assert ds.file_meta.MediaStorageSOPClassUID == MR_IMAGE_STORAGE
            assert ds.file_meta.TransferSyntaxUID == EXPLICIT_VR_LITTLE_ENDIAN
            assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
            assert ds.SOPClassUID == MR_IMAGE_STORAGE
            missing = [tag for tag in REQUIRED_TAGS if tag not in ds or ds.data_element(tag).value in (None, "")]
            assert not missing, f"{path.name}: missing {missing}"
            for uid in (ds.SOPInstanceUID, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID):
                assert UID(uid).is_valid, f"{path.name}: invalid UID {uid}"
            assert ds.Modality == "MR"
            assert str(ds.PatientName) == f"PHANTOM^{study.index:04d}"
            assert ds.PatientID == study.summary["patient_id"]
            assert ds.Manufacturer == profile.vendor.manufacturer
            assert float(ds.MagneticFieldStrength) == pytest.approx(profile.field_strength.tesla)
            assert ds.PhotometricInterpretation == "MONOCHROME2"
            assert ds.BitsAllocated == 16 and ds.HighBit == ds.BitsStored - 1 and ds.PixelRepresentation == 0
            pixels = ds.pixel_array
            assert pixels.shape == (ds.Rows, ds.Columns)
            assert int(pixels.max()) < 2 ** ds.BitsStored and pixels.max() > pixels.min()
            orientation = np.asarray(ds.ImageOrientationPatient, dtype=float)
            assert np.linalg.norm(orientation[:3]) == pytest.approx(1.0, abs=UNIT)
            assert np.linalg.norm(orientation[3:]) == pytest.approx(1.0, abs=UNIT)
            assert abs(orientation[:3] @ orientation[3:]) < UNIT


def test_uids_identify_one_study_and_frame_of_reference(studies):
    all_sops: list[str] = []
    for study in studies:
        datasets = list(study.datasets.values())
        assert {ds.StudyInstanceUID for ds in datasets} == {study.summary["study_uid"]}
        assert len({ds.FrameOfReferenceUID for ds in datasets}) == 1
        assert len({ds.PatientID for ds in datasets}) == 1
        sops = [str(ds.SOPInstanceUID) for ds in datasets]
        assert len(set(sops)) == len(sops), "duplicate SOPInstanceUID within a study"
        all_sops += sops
        series_numbers = {}
        for ds in datasets:
            series_numbers.setdefault(ds.SeriesInstanceUID, set()).add(int(ds.SeriesNumber))
        assert all(len(numbers) == 1 for numbers in series_numbers.values()), "a series with several numbers"
        numbers = [next(iter(n)) for n in series_numbers.values()]
        assert len(set(numbers)) == len(numbers), "two series share a SeriesNumber"
    assert len(set(all_sops)) == len(all_sops), "SOPInstanceUID reused across studies"
    assert len({study.summary["study_uid"] for study in studies}) == len(studies)


def test_series_match_the_ground_truth_records(studies):
    for study in studies:
        per_series = Counter(str(ds.SeriesInstanceUID) for ds in study.datasets.values())
        records = {record.series_uid: record for record in study.truth.series}
        assert set(records) == set(per_series), f"{study.folder.name}: ground-truth series differ from the DICOM"
        for uid, record in records.items():
            assert record.n_slices == per_series[uid], f"{record.description}: n_slices {record.n_slices}"
        descriptions = {str(ds.SeriesInstanceUID): ds.SeriesDescription for ds in study.datasets.values()}
        assert all(records[uid].description == descriptions[uid] for uid in records)
        roles = Counter(record.role for record in records.values())
        expected_axial = EXPECTED_AXIAL_SERIES[vendor_of(study)] + (1 if study.axial_stack else 0)
        assert roles == Counter({"sag_t1": 1, "sag_t2": 1, "ax_t2": expected_axial}), roles


def test_axial_blocks_per_series_follow_the_vendor(studies):
    for study in studies:
        roles = role_of_series(study)
        axial_stacks = Counter(uid for uid, _ in stacks_of(study.datasets.values()) if roles[uid] == "ax_t2")
        blocks_per_series = sorted(axial_stacks.values())
        if vendor_of(study) == "philips":
            assert blocks_per_series == [1] * (5 + study.axial_stack)
        else:  # the five per-level blocks share one series; the straight stack is a series of its own
            assert blocks_per_series == ([1] if study.axial_stack else []) + [5]


def test_file_names_do_not_encode_slice_order(studies):
    checked = 0
    for study in studies:
        by_series: dict[str, list] = {}
        for path, ds in study.datasets.items():
            by_series.setdefault(str(ds.SeriesInstanceUID), []).append((path.name, int(ds.InstanceNumber)))
        for members in by_series.values():
            if len(members) < 8:
                continue
            names_in_instance_order = [name for name, _ in sorted(members, key=lambda m: m[1])]
            assert names_in_instance_order != sorted(names_in_instance_order)
            assert names_in_instance_order != sorted(names_in_instance_order, reverse=True)
            checked += 1
    assert checked >= 6


def test_stacks_are_regular_and_match_the_label_maps(studies):
    """Every DICOM stack (series × orientation) has a label map with its exact geometry, and vice versa."""
    for study in studies:
        maps = label_maps(study)
        used = set()
        for (_, _), stack in stacks_of(study.datasets.values()).items():
            name, image = matching_label_map(study, maps, stack)
            used.add(name)
            position, row_direction, column_direction, (row_spacing, col_spacing) = instance_geometry(stack[0])
            assert image.GetSize() == (stack[0].Columns, stack[0].Rows, len(stack)), name
            assert image.GetPixelID() == sitk.sitkUInt8
            spacing = image.GetSpacing()
            assert spacing[0] == pytest.approx(col_spacing, abs=1e-6)
            assert spacing[1] == pytest.approx(row_spacing, abs=1e-6)
            direction = np.asarray(image.GetDirection()).reshape(3, 3)
            normal = np.cross(row_direction, column_direction)
            assert np.allclose(np.abs(direction[:, 2] @ normal), 1.0, atol=UNIT)
            for ds in stack[1:]:
                _, r, c, s = instance_geometry(ds)
                assert np.allclose(r, row_direction, atol=1e-6) and np.allclose(c, column_direction, atol=1e-6)
                assert s == (row_spacing, col_spacing)
            ipps = np.array([instance_geometry(ds)[0] for ds in stack])
            in_plane = (ipps - ipps[0]) - np.outer((ipps - ipps[0]) @ normal, normal)
            assert np.abs(in_plane).max() < MM, f"{name}: slice origins drift in-plane"
            if len(stack) > 1:
                gaps = np.diff(ipps @ normal)
                assert np.ptp(gaps) < MM, f"{name}: irregular slice spacing"
                assert abs(gaps.mean()) == pytest.approx(float(stack[0].SpacingBetweenSlices), abs=MM)
                assert spacing[2] == pytest.approx(abs(gaps.mean()), abs=MM)
            positions = label_map_slice_positions(image)
            distances = np.linalg.norm(positions[:, None, :] - ipps[None, :, :], axis=-1)
            assert distances.min(axis=1).max() < MM, f"{name}: label-map slice without a DICOM slice"
            assert sorted(distances.argmin(axis=1)) == list(range(len(stack)))
        assert used == set(maps), f"label maps without a DICOM stack: {set(maps) - used}"


def test_single_stack_series_round_trip_through_simpleitk(studies):
    checked = 0
    for study in studies:
        stacks = stacks_of(study.datasets.values())
        per_series = Counter(uid for uid, _ in stacks)
        paths = {str(ds.SOPInstanceUID): path for path, ds in study.datasets.items()}
        for (uid, _), stack in stacks.items():
            if per_series[uid] != 1:
                continue
            folder = paths[str(stack[0].SOPInstanceUID)].parent
            names = sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), uid)
            assert len(names) == len(stack), f"SimpleITK finds {len(names)} files of {len(stack)}"
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(names)
            image = reader.Execute()
            position, row_direction, column_direction, (row_spacing, col_spacing) = instance_geometry(stack[0])
            normal = np.cross(row_direction, column_direction)
            direction = np.asarray(image.GetDirection()).reshape(3, 3)
            assert np.allclose(direction[:, 0], row_direction, atol=UNIT)
            assert np.allclose(direction[:, 1], column_direction, atol=UNIT)
            assert np.allclose(np.abs(direction[:, 2] @ normal), 1.0, atol=UNIT)
            assert image.GetSpacing()[0] == pytest.approx(col_spacing, abs=MM)
            assert image.GetSpacing()[1] == pytest.approx(row_spacing, abs=MM)
            ipps = np.array([instance_geometry(ds)[0] for ds in stack])
            if len(stack) > 1:
                assert image.GetSpacing()[2] == pytest.approx(float(np.diff(ipps @ normal).mean()), abs=MM)
            # SimpleITK's slice k is the k-th image along +normal: same origin, same positions, same pixels
            sitk_positions = label_map_slice_positions(image)
            assert np.abs(sitk_positions - ipps).max() < MM, "SimpleITK geometry differs from the headers"
            assert np.linalg.norm(np.asarray(image.GetOrigin()) - ipps[0]) < MM
            expected = np.stack([apply_modality_lut(ds.pixel_array, ds) for ds in stack])
            assert np.allclose(sitk.GetArrayFromImage(image), expected, rtol=1e-6, atol=1e-3)
            checked += 1
    assert checked >= 3 * 2 + 1 + 5  # sagittal T1/T2 everywhere, the straight stack, Philips' five blocks


def test_box_corners_agree_with_the_referenced_image(studies):
    for study in studies:
        by_sop = study.by_sop()
        maps = label_maps(study)
        stacks = stacks_of(study.datasets.values())
        stack_of_sop = {str(ds.SOPInstanceUID): stack for stack in stacks.values() for ds in stack}
        n_boxes = 0
        for finding in study.truth.findings:
            for box in finding.boxes:
                ds = by_sop.get(box.sop_instance_uid)
                assert ds is not None, f"{finding.key}: box on unknown SOP {box.sop_instance_uid}"
                assert str(ds.SeriesInstanceUID) == box.series_uid
                assert 0 <= box.col_min < box.col_max <= ds.Columns and 0 <= box.row_min < box.row_max <= ds.Rows
                pixel_corners = ((box.col_min, box.row_min), (box.col_max, box.row_min), (box.col_max, box.row_max),
                                 (box.col_min, box.row_max))
                expected = np.array([pixel_edge_to_lps(ds, c, r) for c, r in pixel_corners])
                error = np.abs(np.asarray(box.corners_lps) - expected).max()
                assert error < MM, f"{finding.key}: corners off by {error:.4f} mm"
                # slice_index is the slice's index within its stack, the label map's slice order
                _, image = matching_label_map(study, maps, stack_of_sop[box.sop_instance_uid])
                assert box.slice_index < image.GetSize()[2]
                at_index = label_map_slice_positions(image)[box.slice_index]
                assert np.linalg.norm(at_index - instance_geometry(ds)[0]) < MM, f"{finding.key}: slice_index"
                n_boxes += 1
        assert n_boxes > 25


def test_disc_boxes_reference_sagittal_images(studies):
    for study in studies:
        by_sop = study.by_sop()
        roles = role_of_series(study)
        disc_boxes = study.truth.extra["disc_boxes"]
        boxed = {entry["level"] for entry in disc_boxes}
        lumbar = {level.value for level, _, _ in region_keys()}
        assert lumbar <= boxed <= set(DISCS), boxed
        assert boxed - lumbar, "the discs above L1 in view are boxed too (the detector must learn every disc)"
        for entry in disc_boxes:
            ds = by_sop[entry["sop_instance_uid"]]
            assert roles[entry["series_uid"]] in ("sag_t1", "sag_t2") and str(ds.SeriesInstanceUID) == entry[
                "series_uid"]
            col_min, row_min, col_max, row_max = entry["box"]
            assert 0 <= col_min < col_max <= ds.Columns and 0 <= row_min < row_max <= ds.Rows


def test_foramina_above_l1_are_boxed_on_sagittal_t1_without_a_grade(studies):
    for study in studies:
        roles = role_of_series(study)
        upper = study.truth.extra["foramen_boxes"]
        assert upper, study.folder.name
        assert {entry["level"] for entry in upper} <= set(DISCS[:3])  # T10/T11, T11/T12, T12/L1
        assert {entry["side"] for entry in upper} == {"left", "right"}
        assert {roles[entry["series_uid"]] for entry in upper} == {"sag_t1"}
        assert all("grade" not in entry for entry in upper)


def test_boxes_enclose_their_anatomy_on_the_label_maps(studies):
    """A box's pixels on the label map of its slice hold the tissue the region is made of: every canal and
    foramen box, and the best box of each lateral recess (whose zone also spans the bone around the recess)."""
    expected_tissue = {
        Region.CENTRAL_CANAL: (Tissue.CSF, Tissue.CAUDA_EQUINA),
        Region.LATERAL_RECESS: (Tissue.NERVE_ROOT, Tissue.EPIDURAL_FAT, Tissue.CSF, Tissue.CAUDA_EQUINA,
                                Tissue.HERNIATION),
        Region.NEURAL_FORAMEN: (Tissue.FORAMINAL_FAT, Tissue.NERVE_ROOT, Tissue.HERNIATION),  # a herniated disc
    }  # may fill the space it narrows
    poor = []
    for study in studies:
        images = label_maps(study)
        arrays = {name: sitk.GetArrayFromImage(image) for name, image in images.items()}
        stacks = stacks_of(study.datasets.values())
        stack_of_sop = {str(ds.SOPInstanceUID): stack for stack in stacks.values() for ds in stack}
        for finding in study.truth.findings:
            fractions = []
            for box in finding.boxes:
                name, _ = matching_label_map(study, images, stack_of_sop[box.sop_instance_uid])
                window = arrays[name][box.slice_index, int(box.row_min):int(box.row_max),
                                      int(box.col_min):int(box.col_max)]
                fractions.append(float(np.isin(window, expected_tissue[finding.region]).mean()))
            if not fractions:
                continue  # boxes present at all: test_phantom_geometry
            worst = max(fractions) if finding.region is Region.LATERAL_RECESS else min(fractions)
            if worst <= 0.1:
                poor.append((study.folder.name, finding.level.value, finding.region.value, finding.side.value,
                             round(worst, 3)))
    assert not poor, f"boxes that hardly contain their region (fraction of region tissue): {poor}"


def test_label_maps_are_registered_with_the_pixels(studies):
    """On T2 images CSF is bright and cortical bone dark; on T1 fat is brighter than CSF — at the label map's
    voxels. A flipped or shifted label map would mix the tissues and break these contrasts."""
    for study in studies:
        roles = role_of_series(study)
        maps = label_maps(study)
        for (uid, _), stack in stacks_of(study.datasets.values()).items():
            role = roles[uid]
            _, image = matching_label_map(study, maps, stack)
            labels = sitk.GetArrayFromImage(image)
            positions = label_map_slice_positions(image)
            order = [int(np.argmin(np.linalg.norm(positions - instance_geometry(ds)[0], axis=1))) for ds in stack]
            pixels = np.zeros(labels.shape, dtype=float)
            for ds, k in zip(stack, order, strict=True):
                pixels[k] = apply_modality_lut(ds.pixel_array, ds)
            mean = {tissue: float(pixels[labels == tissue].mean()) for tissue in (Tissue.CSF, Tissue.CORTEX,
                                                                                  Tissue.FAT)
                    if (labels == tissue).sum() > 50}
            if role in ("sag_t2", "ax_t2"):
                assert mean[Tissue.CSF] > 2.0 * mean[Tissue.CORTEX], (study.profile, role, mean)
            if role == "sag_t1":
                assert mean[Tissue.FAT] > 1.5 * mean[Tissue.CSF], (study.profile, role, mean)


def test_legend_names_every_label(studies):
    for study in studies:
        legend = json.loads((study.folder / "labels" / "legend.json").read_text())
        assert legend == {str(int(t)): t.name.lower() for t in Tissue}
        assert {"csf", "cauda_equina", "nerve_root", "foraminal_fat", "cortex"} <= set(legend.values())
        present = set()
        for image in label_maps(study).values():
            present |= {int(v) for v in np.unique(sitk.GetArrayFromImage(image))}
        assert {str(v) for v in present} <= set(legend), f"unnamed labels {present - set(map(int, legend))}"
        assert {int(Tissue.CSF), int(Tissue.NERVE_ROOT), int(Tissue.CORTEX)} <= present


def test_ground_truth_grades_every_key_once_and_matches_the_summary(studies):
    for study in studies:
        keys = [finding.key for finding in study.truth.findings]
        assert sorted(keys, key=str) == sorted(region_keys(), key=str) and len(keys) == len(set(keys)) == 25
        summary = {f"{f.level.value} {f.region.value} {f.side.value}": int(f.grade) for f in study.truth.findings}
        assert summary == study.summary["grades"]
        assert [disc.level for disc in study.truth.discs] == sorted({k[0] for k in keys}, key=lambda lv: lv.index)

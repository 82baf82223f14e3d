"""Series identification: orientation, timing and description keywords across vendors, and overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lss.dicom.identify import identify_series, read_description, stack_plane
from lss.model.geometry import StackGeometry
from lss.model.study import ROLES, SliceRef, Stack, Study
from lss.model.study import Series as DicomSeries

AXIAL = ((1, 0, 0), (0, 1, 0))
SAGITTAL = ((0, 1, 0), (0, 0, -1))
CORONAL = ((1, 0, 0), (0, 0, -1))
TIMING = {"T1": (550.0, 10.0, None), "T2": (3500.0, 100.0, None), "STIR": (4000.0, 60.0, 160.0),
          "PD": (2500.0, 20.0, None)}


def geometry(orientation: tuple, n: int = 5) -> StackGeometry:
    row, col = (np.asarray(v, dtype=float) for v in orientation)
    normal = np.cross(row, col)
    origins = np.array([normal * 4.0 * i for i in range(n)])
    return StackGeometry(origins, row, col, (0.5, 0.5), 64, 64)


def make_series(description: str, contrast: str | None, orientation: tuple | None, uid: str = "1.2.3",
                scanning_sequence: tuple[str, ...] = ("SE",), stacks: int = 1) -> DicomSeries:
    tr, te, ti = TIMING[contrast] if contrast else (None, None, None)
    stack_list = []
    if orientation is not None:
        for i in range(stacks):
            g = geometry(orientation)
            refs = [SliceRef(Path(f"/x/{i}_{k}.dcm"), f"{uid}.{i}.{k}") for k in range(g.n_slices)]
            stack_list.append(Stack(uid, i, g, refs, [(1.0, 0.0)] * g.n_slices))
    return DicomSeries(series_uid=uid, series_number=1, description=description, modality="MR",
                       frame_of_reference_uid="1.2", repetition_time=tr, echo_time=te, inversion_time=ti,
                       image_type=("ORIGINAL", "PRIMARY"), scanning_sequence=scanning_sequence,
                       sequence_variant=("SK",), manufacturer="ACME", transfer_syntax="1.2.840.10008.1.2.1",
                       stacks=stack_list)


VENDOR_CASES = [
    ("T2 TSE AX", "T2", AXIAL, "ax_t2"),
    ("sag t1 tse", "T1", SAGITTAL, "sag_t1"),
    ("Ax T2 FRFSE", "T2", AXIAL, "ax_t2"),
    ("STIR", "STIR", SAGITTAL, "sag_stir"),
    ("T2_TSE_TRA", "T2", AXIAL, "ax_t2"),
    ("Sag T1 FSE", "T1", SAGITTAL, "sag_t1"),
    ("T2W_TSE_SAG", "T2", SAGITTAL, "sag_t2"),
    ("t1_tse_sag", "T1", SAGITTAL, "sag_t1"),
    ("T1W_TSE_SAG", "T1", SAGITTAL, "sag_t1"),
    ("Sag T2 FRFSE", "T2", SAGITTAL, "sag_t2"),
    ("t2_tse_sag", "T2", SAGITTAL, "sag_t2"),
    ("t2_tirm_sag", "STIR", SAGITTAL, "sag_stir"),
    ("T2W_TSE_TRA", "T2", AXIAL, "ax_t2"),
]


@pytest.mark.parametrize(("description", "contrast", "orientation", "role"), VENDOR_CASES)
def test_everything_agrees_gives_high_confidence(description, contrast, orientation, role):
    guess = identify_series(make_series(description, contrast, orientation))
    assert guess.role == role
    assert guess.confidence >= 0.9
    assert description in guess.reason
    assert not guess.overridden


@pytest.mark.parametrize(("description", "contrast", "orientation", "role"), VENDOR_CASES)
def test_description_alone_gives_moderate_confidence(description, contrast, orientation, role):
    guess = identify_series(make_series(description, None, None))
    assert guess.role == role
    assert 0.45 <= guess.confidence <= 0.7


@pytest.mark.parametrize(("contrast", "orientation", "role"), [
    ("T1", SAGITTAL, "sag_t1"), ("T2", SAGITTAL, "sag_t2"), ("T2", AXIAL, "ax_t2"), ("STIR", SAGITTAL, "sag_stir")])
def test_empty_description_falls_back_on_timing_and_orientation(contrast, orientation, role):
    guess = identify_series(make_series("", contrast, orientation))
    assert guess.role == role
    assert 0.8 <= guess.confidence < 0.9
    assert "no description" in guess.reason


def test_reason_reads_like_a_radiographer_would_explain_it():
    reason = identify_series(make_series("t1_tse_sag", "T1", SAGITTAL)).reason
    assert "sagittal (normal 1.00 L-R)" in reason
    assert "TR 550 ms TE 10 ms → T1" in reason
    assert "description 't1_tse_sag' says T1 sagittal" in reason


def test_lying_contrast_in_description_loses_to_timing_and_says_so():
    guess = identify_series(make_series("sag T1 tse", "T2", SAGITTAL))
    assert guess.role == "sag_t2"
    assert guess.confidence < 0.9
    assert "conflict" in guess.reason and "timing wins" in guess.reason


def test_lying_plane_in_description_loses_to_geometry_and_says_so():
    guess = identify_series(make_series("T2 TSE SAG", "T2", AXIAL))
    assert guess.role == "ax_t2"
    assert guess.confidence < 0.9
    assert "geometry wins" in guess.reason


def test_meaningless_description_uses_objective_evidence():
    guess = identify_series(make_series("Series 7 copy", "T1", SAGITTAL))
    assert guess.role == "sag_t1"
    assert guess.confidence >= 0.8


@pytest.mark.parametrize(("description", "contrast", "orientation"), [
    ("Ax T1 FSE", "T1", AXIAL),  # axial T1 is not graded
    ("cor t2", "T2", CORONAL),
    ("sag PD", "PD", SAGITTAL),
    ("3-plane loc", "T1", SAGITTAL),
    ("Survey", None, AXIAL),
    ("", None, None),
])
def test_other_roles(description, contrast, orientation):
    assert identify_series(make_series(description, contrast, orientation)).role == "other"


def test_localizer_with_stacks_in_three_planes_is_other():
    series = make_series("", "T1", SAGITTAL)
    series.stacks.append(Stack("1.2.3", 1, geometry(AXIAL), [], []))
    guess = identify_series(series)
    assert guess.role == "other" and "several planes" in guess.reason


def test_short_ti_inversion_recovery_is_stir_even_without_description():
    series = make_series("", None, SAGITTAL, scanning_sequence=("IR",))
    series.repetition_time, series.echo_time, series.inversion_time = 3800.0, 45.0, 150.0
    assert identify_series(series).role == "sag_stir"


def test_fat_suppressed_t2_ranks_below_plain_t2():
    plain = identify_series(make_series("t2_tse_sag", "T2", SAGITTAL))
    fat_sat = identify_series(make_series("t2_tse_fs_sag", "T2", SAGITTAL))
    assert fat_sat.role == "sag_t2"
    assert fat_sat.confidence < plain.confidence


def oblique_orientation(normal) -> tuple:
    normal = np.asarray(normal, dtype=float) / np.linalg.norm(normal)
    row = np.cross([0.0, 0.0, 1.0], normal)
    row /= np.linalg.norm(row)
    return (row, np.cross(normal, row))


def test_disc_parallel_axial_blocks_count_as_axial():
    tilt = np.deg2rad(45)  # an L5/S1 block: tilted about L-R only
    tilted = ((1, 0, 0), (0, np.cos(tilt), -np.sin(tilt)))
    assert stack_plane(geometry(tilted))[0] == "axial"
    series = make_series("t2_tse_tra", "T2", AXIAL, stacks=2)
    series.stacks.append(Stack("1.2.3", 2, geometry(tilted), [], []))
    guess = identify_series(series)
    assert guess.role == "ax_t2" and guess.confidence >= 0.9
    assert "3 stacks" in guess.reason


def test_oblique_stack_falls_back_on_description_plane():
    orientation = oblique_orientation((0.6, 0.6, 0.53))
    assert stack_plane(geometry(orientation))[0] == "oblique"
    guess = identify_series(make_series("Ax T2", "T2", orientation))
    assert guess.role == "ax_t2" and guess.confidence < 0.9


@pytest.mark.parametrize(("description", "plane", "contrast"), [
    ("T2W_TSE_SAG", "sagittal", "T2"), ("Ax T2 FRFSE", "axial", "T2"), ("t2_tirm_sag", "sagittal", "STIR"),
    ("contrast study", None, None), ("maximum", None, None), ("AxT2", "axial", "T2")])
def test_description_keywords(description, plane, contrast):
    words = read_description(description)
    assert (words.plane, words.contrast) == (plane, contrast)


def make_study() -> Study:
    series = [make_series("t1_tse_sag", "T1", SAGITTAL, uid="1.1"), make_series("t2_tse_tra", "T2", AXIAL, uid="1.2")]
    return Study(study_uid="9.9", patient_id="P", patient_name="", series=series)


def test_assign_roles_sets_every_series():
    from lss.dicom.identify import assign_roles

    study = assign_roles(make_study())
    assert [s.role.role for s in study.series] == ["sag_t1", "ax_t2"]
    assert study.series_by_role("ax_t2")[0].series_uid == "1.2"


def test_override_wins_with_full_confidence():
    from lss.dicom.identify import assign_roles

    study = assign_roles(make_study(), {"1.1": "other"})
    role = study.series_by_uid("1.1").role
    assert role.role == "other" and role.confidence == 1.0 and role.overridden
    assert not study.series_by_uid("1.2").role.overridden


def test_override_to_unknown_role_names_valid_roles():
    from lss.dicom.identify import assign_roles

    with pytest.raises(ValueError) as caught:
        assign_roles(make_study(), {"1.1": "sag_t3"})
    for role in ROLES:
        assert role in str(caught.value)


def test_override_of_unknown_series_is_refused():
    from lss.dicom.identify import assign_roles

    with pytest.raises(ValueError, match="4.4"):
        assign_roles(make_study(), {"4.4": "sag_t1"})

"""The versioned findings JSON format: round trips, atomic writes and precise validation errors."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lss.model.findings import Box, DiscPosition, Finding, FindingsKind, SeriesRecord, StudyFindings
from lss.model.findings_io import (
    PLAIN_VERSION,
    SCHEMA_NAME,
    SCHEMA_VERSION,
    FindingsFileError,
    findings_from_dict,
    findings_from_json,
    findings_to_dict,
    findings_to_json,
    read_findings,
    write_findings,
)
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Grade, Level, Region, Side

AX_UID = "1.2.826.0.1.3680043.8.498.101"
SAG_UID = "1.2.826.0.1.3680043.8.498.102"


def _axial_geometry() -> StackGeometry:
    origins = np.array([[-80.0, -60.0, 10.0 - 4.0 * i] for i in range(12)])
    return StackGeometry(origins, [1.0, 0.0, 0.0], [0.0, 0.96, -0.28], (0.625, 0.625), rows=256, columns=256)


def _sagittal_geometry() -> StackGeometry:
    origins = np.array([[-30.0 + 4.0 * i, -100.0, 120.0] for i in range(15)])
    return StackGeometry(origins, [0.0, 1.0, 0.0], [0.0, 0.0, -1.0], (0.7, 0.7), rows=320, columns=320)


def _ax_box(slice_index: int, col_min: float, row_min: float, col_max: float, row_max: float) -> Box:
    return Box.from_pixels(_axial_geometry(), slice_index, col_min, row_min, col_max, row_max, AX_UID,
                           f"{AX_UID}.{slice_index}")


def _sag_box(slice_index: int, col_min: float, row_min: float, col_max: float, row_max: float) -> Box:
    return Box.from_pixels(_sagittal_geometry(), slice_index, col_min, row_min, col_max, row_max, SAG_UID,
                           f"{SAG_UID}.{slice_index}")


def rich_study() -> StudyFindings:
    """A study exercising every field: several regions, 0-2 boxes, missing optional values, unicode, extra."""
    findings = [
        Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.SEVERE, [_ax_box(6, 100.25, 120.5, 140.75, 150.0)],
                probabilities=(0.01, 0.04, 0.15, 0.8), detection_score=0.9312345678901234, uncertainty=0.1 + 0.2,
                measures={"dural_sac_area_mm2": 61.37, "ap_diameter_mm": 6.0}),
        Finding(Level.L4_L5, Region.LATERAL_RECESS, Side.LEFT, Grade.MODERATE, [_ax_box(6, 150.0, 120.0, 170.0, 140.0)],
                probabilities=(0.1, 0.2, 0.6, 0.1), detection_score=0.7, uncertainty=0.0),
        Finding(Level.L4_L5, Region.LATERAL_RECESS, Side.RIGHT, Grade.NORMAL),
        Finding(Level.L5_S1, Region.NEURAL_FORAMEN, Side.LEFT, Grade.MILD,
                [_sag_box(11, 140.0, 200.0, 160.5, 230.0), _sag_box(12, 141.0, 201.0, 161.0, 229.0)],
                probabilities=(0.2, 0.7, 0.1, 0.0), detection_score=1e-7, uncertainty=None,
                note="fat obliterated cranio-caudally — Lee 2010 grade 1"),
        Finding(Level.L3_L4, Region.CENTRAL_CANAL, Side.NONE, Grade.MILD, [_ax_box(3, 110.0, 118.0, 135.0, 145.0)],
                measures={"dural_sac_area_mm2": 98.5}),
    ]
    discs = [
        DiscPosition(Level.L3_L4, (0.5, 12.25, 40.0), (0.0, 0.28, 0.96)),
        DiscPosition(Level.L4_L5, (0.0, 15.0, 2.0), (0.0, 0.6, 0.8)),
    ]
    series = [
        SeriesRecord(AX_UID, "ax_t2", "AX T2 FSE", 12),
        SeriesRecord(SAG_UID, "sag_t1", "SAG T1", 15),
    ]
    extra = {"phantom": {"seed": 7, "stenosis": [0, 1, 3, 2, 0], "noise_sd": 0.025, "flags": [True, None]},
             "per_level": {"L4/L5": {"dsca_mm2": 61.37}}}
    return StudyFindings("1.2.826.0.1.3680043.8.498.1", FindingsKind.GROUND_TRUTH, findings, discs, series,
                         patient_id="PHANTOM-0007", source="lss phantom 0.1.0 seed 7", extra=extra)


# --------------------------------------------------------------------------------------------- round trip


def test_round_trip_through_file_is_exact(tmp_path: Path) -> None:
    study = rich_study()
    path = write_findings(study, tmp_path / "findings.json")
    loaded = read_findings(path)
    assert loaded == study
    assert loaded.findings[0].uncertainty == 0.1 + 0.2  # floats as-is, not rounded
    assert loaded.findings[3].detection_score == 1e-7
    assert isinstance(loaded.findings[0].grade, Grade) and isinstance(loaded.kind, FindingsKind)
    assert findings_to_json(loaded) == path.read_text(encoding="utf-8")


def test_round_trip_through_dict_and_file_layout() -> None:
    study = rich_study()
    data = findings_to_dict(study)
    assert data["schema"] == SCHEMA_NAME == "lss.findings"
    assert data["schema_version"] == PLAIN_VERSION == "1.0"  # no finding judged: written as 1.0
    assert SCHEMA_VERSION == "1.1"
    first = data["findings"][0]
    assert (first["level"], first["region"], first["side"]) == ("L4/L5", "central_canal", "none")
    assert (first["grade"], first["grade_label"]) == (3, "severe")
    assert np.array(first["boxes"][0]["corners_lps"]).shape == (4, 3)
    json.dumps(data, allow_nan=False)  # plain JSON all the way down
    assert findings_from_dict(copy.deepcopy(data)) == study


def test_extra_numpy_values_become_plain_json(tmp_path: Path) -> None:
    study = StudyFindings("1.2", FindingsKind.PREDICTION,
                          extra={"seed": np.int64(7), "sd": np.float32(0.5), "grid": np.arange(3), "pair": (1, 2)})
    loaded = read_findings(write_findings(study, tmp_path / "f.json"))
    assert loaded.extra == {"seed": 7, "sd": 0.5, "grid": [0, 1, 2], "pair": [1, 2]}
    assert type(loaded.extra["seed"]) is int


@pytest.mark.parametrize(("keep", "drop"), [("grade", "grade_label"), ("grade_label", "grade")])
def test_either_grade_field_is_enough(keep: str, drop: str) -> None:
    data = findings_to_dict(rich_study())
    del data["findings"][1][drop]
    assert findings_from_dict(data).findings[1].grade is Grade.MODERATE


def test_optional_fields_may_be_omitted() -> None:
    data = {"schema": "lss.findings", "schema_version": "1.0", "study_uid": "1.2", "kind": "annotation",
            "findings": [{"level": "L2/L3", "region": "neural_foramen", "side": "right", "grade": 2}]}
    study = findings_from_dict(data)
    assert study.findings == [Finding(Level.L2_L3, Region.NEURAL_FORAMEN, Side.RIGHT, Grade.MODERATE)]
    assert (study.discs, study.series, study.extra, study.patient_id) == ([], [], {}, "")


def test_free_keys_are_allowed_inside_extra_and_measures() -> None:
    data = findings_to_dict(rich_study())
    data["extra"]["anything_goes"] = {"nested": [1, 2]}
    data["findings"][0]["measures"]["new_measure_mm"] = 3.5
    study = findings_from_dict(data)
    assert study.extra["anything_goes"] == {"nested": [1, 2]}
    assert study.findings[0].measures["new_measure_mm"] == 3.5


# ------------------------------------------------------------------------------------------- atomic write


def test_write_leaves_only_the_target_file(tmp_path: Path) -> None:
    write_findings(rich_study(), tmp_path / "findings.json")
    write_findings(rich_study(), tmp_path / "findings.json")  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]


def test_failed_serialisation_keeps_the_existing_file(tmp_path: Path) -> None:
    path = write_findings(rich_study(), tmp_path / "findings.json")
    good = path.read_bytes()
    broken = rich_study()
    broken.extra["phantom"]["callback"] = object()
    with pytest.raises(FindingsFileError) as caught:
        write_findings(broken, path)
    assert str(path) in str(caught.value)
    assert "extra.phantom.callback" in str(caught.value)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]


def test_failed_replace_removes_the_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_findings(rich_study(), tmp_path / "findings.json")
    good = path.read_bytes()

    def refuse(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    changed = rich_study()
    changed.source = "something else"
    with pytest.raises(OSError, match="disk full"):
        write_findings(changed, path)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]


# ------------------------------------------------------------------------------------------- validation


def _set(path: str, value: Any) -> Callable[[dict], None]:
    """A corruption that sets the field at a dotted path, e.g. 'findings.3.boxes.0.col_min'."""

    def corrupt(data: dict) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return corrupt


def _delete(path: str) -> Callable[[dict], None]:
    def corrupt(data: dict) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        del target[last]

    return corrupt


def _same_col_max(data: dict) -> None:
    box = data["findings"][3]["boxes"][0]
    box["col_max"] = box["col_min"]


CORRUPTIONS = {
    "number as text": (_set("findings.3.boxes.0.col_min", "abc"),
                       "findings[3].boxes[0].col_min: expected a number, got 'abc'"),
    "unknown level": (_set("findings.0.level", "L6/L7"),
                      "findings[0].level: unknown level 'L6/L7' (expected one of L1/L2, L2/L3, L3/L4, L4/L5, L5/S1)"),
    "future version": (_set("schema_version", "2.0"), "schema_version: unsupported '2.0'"),
    "other schema": (_set("schema", "lss.models"), "schema: expected 'lss.findings', got 'lss.models'"),
    "missing version": (_delete("schema_version"), "schema_version: missing required field"),
    "missing study uid": (_delete("study_uid"), "study_uid: missing required field"),
    "missing region": (_delete("findings.1.region"), "findings[1].region: missing required field"),
    "missing box field": (_delete("findings.3.boxes.1.sop_instance_uid"),
                          "findings[3].boxes[1].sop_instance_uid: missing required field"),
    "missing grade": (lambda d: [d["findings"][0].pop(k) for k in ("grade", "grade_label")],
                      "findings[0].grade: missing required field"),
    "empty box": (_same_col_max, "findings[3].boxes[0].col_max: must exceed col_min"),
    "three corners": (lambda d: d["findings"][0]["boxes"][0]["corners_lps"].pop(),
                      "findings[0].boxes[0].corners_lps: expected 4 corners, got 3"),
    "flat corner": (_set("findings.0.boxes.0.corners_lps.2", [1.0, 2.0]),
                    "findings[0].boxes[0].corners_lps[2]: expected 3 coordinates (x, y, z), got 2"),
    "corners not a list": (_set("findings.0.boxes.0.corners_lps", "none"),
                           "findings[0].boxes[0].corners_lps: expected a list"),
    "unknown top-level key": (_set("colour", "red"), "colour: unknown field"),
    "unknown finding key": (_set("findings.2.confidence", 0.3), "findings[2].confidence: unknown field"),
    "unknown box key": (_set("findings.0.boxes.0.label", "x"), "findings[0].boxes[0].label: unknown field"),
    "unknown disc key": (_set("discs.1.radius", 3), "discs[1].radius: unknown field"),
    "grade out of range": (_set("findings.0.grade", 5), "findings[0].grade: unknown grade 5"),
    "grade as text": (_set("findings.0.grade", "3"), "findings[0].grade: unknown grade '3'"),
    "grade label mismatch": (_set("findings.0.grade_label", "mild"),
                             "findings[0].grade_label: 'mild' does not match grade 3 (severe)"),
    "unknown grade label": (_set("findings.0.grade_label", "awful"),
                            "findings[0].grade_label: unknown grade label 'awful'"),
    "canal with a side": (_set("findings.4.side", "left"), "findings[4].side: central_canal takes side none"),
    "recess without side": (_set("findings.1.side", "none"),
                            "findings[1].side: lateral_recess takes side left or right"),
    "probabilities sum": (_set("findings.0.probabilities", [0.2, 0.2, 0.2, 0.2]),
                          "findings[0].probabilities: must sum to 1"),
    "probabilities length": (_set("findings.1.probabilities", [0.5, 0.5]),
                             "findings[1].probabilities: expected 4 values"),
    "probability negative": (_set("findings.1.probabilities", [-0.1, 0.5, 0.5, 0.1]),
                             "findings[1].probabilities[0]: must lie in [0, 1]"),
    "bool score": (_set("findings.1.detection_score", True),
                   "findings[1].detection_score: expected a number, got True"),
    "negative uncertainty": (_set("findings.1.uncertainty", -1), "findings[1].uncertainty: must not be negative"),
    "measure as text": (_set("findings.0.measures.dural_sac_area_mm2", "61"),
                        "findings[0].measures.dural_sac_area_mm2: expected a number, got '61'"),
    "measures not an object": (_set("findings.0.measures", [1]), "findings[0].measures: expected an object"),
    "fractional slice": (_set("findings.3.boxes.1.slice_index", 1.5),
                         "findings[3].boxes[1].slice_index: expected a whole number, got 1.5"),
    "unknown kind": (_set("kind", "guess"), "kind: unknown kind 'guess'"),
    "findings not a list": (_set("findings", {}), "findings: expected a list, got {}"),
    "finding not an object": (_set("findings.2", "L4/L5"), "findings[2]: expected an object"),
    "non-unit normal": (_set("discs.0.normal_lps", [0, 0, 2]), "discs[0].normal_lps: must be a unit vector"),
    "duplicate disc": (lambda d: d["discs"].append(copy.deepcopy(d["discs"][0])), "discs[2].level: duplicate level"),
    "unknown role": (_set("series.1.role", "cor_t2"), "series[1].role: unknown role 'cor_t2'"),
    "uid not text": (_set("study_uid", 12), "study_uid: expected a string, got 12"),
    "extra not an object": (_set("extra", []), "extra: expected an object"),
}


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_each_corruption_names_file_and_field(name: str, tmp_path: Path) -> None:
    corrupt, expected = CORRUPTIONS[name]
    data = findings_to_dict(rich_study())
    corrupt(data)
    path = tmp_path / "findings.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(FindingsFileError) as caught:
        read_findings(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert expected in message, message
    assert isinstance(caught.value, ValueError)
    assert caught.value.source_name == str(path)


def test_dict_errors_name_the_given_source() -> None:
    data = findings_to_dict(rich_study())
    data["findings"][0]["level"] = "L6/L7"
    with pytest.raises(FindingsFileError, match=r"^findings\.json: findings\[0\]\.level: unknown level") as caught:
        findings_from_dict(data, source_name="findings.json")
    assert caught.value.field_path == "findings[0].level"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{\n  "schema": "lss.findings",\n  "study_uid": \n}', "malformed JSON at line 4, column 1"),
        ('{"schema": "lss.findings", "schema_version": "1.0",', "malformed JSON at line 1, column 52"),
        ('{"a": NaN}', "malformed JSON: NaN is not a valid JSON number"),
        ('{"schema": "lss.findings", "schema": "lss.findings"}', "malformed JSON: duplicate key 'schema'"),
        ("[1, 2]", "expected a JSON object at top level, got [1, 2]"),
        ("", "malformed JSON at line 1, column 1"),
    ],
)
def test_malformed_json_is_reported_with_position(text: str, expected: str, tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FindingsFileError) as caught:
        read_findings(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert expected in str(caught.value), str(caught.value)


def test_non_utf8_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    path.write_bytes(b'{"study_uid": "\xff"}')
    with pytest.raises(FindingsFileError, match="not UTF-8"):
        read_findings(path)


def test_json_text_helpers_round_trip() -> None:
    study = rich_study()
    assert findings_from_json(findings_to_json(study)) == study


def test_a_frame_of_a_multi_frame_image_round_trips_and_single_frames_write_no_frame() -> None:
    geometry = _axial_geometry()
    framed = Box.from_pixels(geometry, 1, 10.0, 10.0, 20.0, 20.0, "1.2.3", "1.2.3.4", frame=1)
    plain = Box.from_pixels(geometry, 0, 10.0, 10.0, 20.0, 20.0, "1.2.3", "1.2.3.5")
    study = StudyFindings("1.2", FindingsKind.ANNOTATION, findings=[
        Finding(Level.L4_L5, Region.CENTRAL_CANAL, Side.NONE, Grade.MILD, boxes=[framed, plain])])
    data = findings_to_dict(study)
    written = data["findings"][0]["boxes"]
    assert written[0]["frame"] == 1 and "frame" not in written[1]
    assert findings_from_dict(data) == study
    written[0]["frame"] = -1
    with pytest.raises(FindingsFileError, match="frame"):
        findings_from_dict(data)

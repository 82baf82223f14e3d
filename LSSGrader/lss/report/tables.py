"""Tabular outputs: findings.csv (one row per level, region and side) and RSNA-2024-style submission rows."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from lss.atomic import write_text_atomically
from lss.evaluation.rsna import PREDICTION_COLUMNS, findings_to_rsna_rows
from lss.model.findings import StudyFindings
from lss.preprocess.sagittal_canal import graded_on

FINDINGS_COLUMNS = ("level", "region", "side", "grade", "probability", "p_normal", "p_mild", "p_moderate",
                    "p_severe", "uncertainty", "detection_score", "n_slices", "dural_sac_area_mm2", "ap_diameter_mm",
                   "reliability", "reliable", "graded_on")


def findings_rows(study: StudyFindings) -> list[dict[str, str | float | int]]:
    """One row per finding with its grade, the probability of that grade, all four, SD, measures, reliability
    (reliable: yes / no; empty when not judged) and the plane it was graded on (``graded_on``)."""
    rows = []
    for finding in study.findings:
        probabilities = finding.probabilities or tuple(float(g == int(finding.grade)) for g in range(4))
        rows.append({
            "level": finding.level.value, "region": finding.region.value, "side": finding.side.value,
            "grade": finding.grade.label, "probability": round(probabilities[int(finding.grade)], 4),
            **{f"p_{name}": round(p, 4) for name, p in zip(("normal", "mild", "moderate", "severe"), probabilities,
                                                             strict=True)},
            "uncertainty": "" if finding.uncertainty is None else round(finding.uncertainty, 4),
            "detection_score": "" if finding.detection_score is None else round(finding.detection_score, 4),
            "n_slices": len(finding.boxes),
            "dural_sac_area_mm2": finding.measures.get("dural_sac_area_mm2", ""),
            "ap_diameter_mm": finding.measures.get("ap_diameter_mm", ""),
            "reliability": "" if finding.reliability is None else finding.reliability,
            "reliable": "" if finding.reliable is None else ("yes" if finding.reliable else "no"),
            "graded_on": graded_on(finding),
        })
    return rows


def write_csv(rows: list[dict], columns: tuple[str, ...], path: Path) -> Path:
    """Write rows as CSV with a header, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomically(path, buffer.getvalue())


def write_findings_csv(study: StudyFindings, path: Path) -> Path:
    """findings.csv."""
    return write_csv(findings_rows(study), FINDINGS_COLUMNS, path)


def write_rsna_csv(study: StudyFindings, study_id: str, path: Path) -> Path:
    """RSNA 2024 rows: row_id = {study_id}_{condition}_{level}, normal_mild / moderate / severe probabilities."""
    return write_csv(findings_to_rsna_rows(study, study_id), ("row_id", *PREDICTION_COLUMNS), path)

"""The RSNA 2024 Lumbar Spine Degenerative Classification metric, and our findings in the challenge's layout.

Labels use the challenge's ``train.csv`` layout (``study_id`` plus 25 columns such as
``left_neural_foraminal_narrowing_l4_l5`` holding 'Normal/Mild', 'Moderate' or 'Severe'; an empty cell is an
unlabelled row and is skipped). Predictions use its submission layout (``row_id, normal_mild, moderate, severe``
with ``row_id = f"{study_id}_{column}"``).

Score = mean of four terms: the sample-weighted log loss (weights 1/2/4 for normal-mild/moderate/severe) of each
condition family (spinal canal; neural foramina, left and right pooled; subarticular, left and right pooled) and
the "any severe spinal" binary log loss: per study, label = any spinal level severe, prediction = the highest
severe probability over its spinal levels, weight = the highest level weight of the study (as in the challenge's
metric: 4 if any level is severe, 2 if the worst is moderate, else 1). Predicted rows are normalised to sum to 1
and clipped to [1e-15, 1 - 1e-15].
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..model.findings import StudyFindings
from ..model.summary import summarize_by_key
from ..model.vocabulary import Level, Region, Side

CLASS_LABELS: tuple[str, ...] = ("Normal/Mild", "Moderate", "Severe")
PREDICTION_COLUMNS: tuple[str, ...] = ("normal_mild", "moderate", "severe")
CLASS_WEIGHTS: tuple[float, ...] = (1.0, 2.0, 4.0)
EPSILON = 1e-15
FAMILIES: tuple[str, ...] = ("spinal_canal_stenosis", "neural_foraminal_narrowing", "subarticular_stenosis")
CONDITIONS: tuple[str, ...] = (
    "spinal_canal_stenosis",
    "left_neural_foraminal_narrowing",
    "right_neural_foraminal_narrowing",
    "left_subarticular_stenosis",
    "right_subarticular_stenosis",
)
LEVELS: tuple[str, ...] = ("l1_l2", "l2_l3", "l3_l4", "l4_l5", "l5_s1")
LABEL_COLUMNS: tuple[str, ...] = tuple(f"{condition}_{level}" for condition in CONDITIONS for level in LEVELS)
_REGION_CONDITION = {
    (Region.CENTRAL_CANAL, Side.NONE): "spinal_canal_stenosis",
    (Region.LATERAL_RECESS, Side.LEFT): "left_subarticular_stenosis",
    (Region.LATERAL_RECESS, Side.RIGHT): "right_subarticular_stenosis",
    (Region.NEURAL_FORAMEN, Side.LEFT): "left_neural_foraminal_narrowing",
    (Region.NEURAL_FORAMEN, Side.RIGHT): "right_neural_foraminal_narrowing",
}


@dataclass(frozen=True)
class RsnaScore:
    """The challenge score and its four terms (lower is better; 0 is perfect)."""

    score: float
    spinal_canal_stenosis: float | None
    neural_foraminal_narrowing: float | None
    subarticular_stenosis: float | None
    any_severe_spinal: float | None
    n_rows: int
    n_studies: int

    def to_json(self) -> dict[str, float | int | None]:
        """A JSON-ready dictionary."""
        return asdict(self)


def family_of(column: str) -> str:
    """The condition family of a label column or row-id suffix, e.g. 'subarticular_stenosis'."""
    for family in FAMILIES:
        if family in column:
            return family
    raise ValueError(f"{column!r} names no RSNA condition")


def level_column(level: Level) -> str:
    """The challenge's level suffix, e.g. 'l4_l5' for L4/L5."""
    return level.value.lower().replace("/", "_")


def rsna_score(labels: Mapping[str, int], predictions: Mapping[str, Sequence[float]]) -> RsnaScore:
    """Score predictions against labels, both keyed by row_id; labels are class indices 0/1/2.

    Every labelled row needs a prediction (``ValueError`` naming the first missing row); extra predicted rows are
    ignored. A family without labelled rows contributes no term (None) and is left out of the mean.
    """
    if not labels:
        raise ValueError("no labelled rows to score")
    losses: dict[str, list[tuple[float, float]]] = {family: [] for family in FAMILIES}
    spinal: dict[str, list[tuple[int, float]]] = {}
    for row_id in sorted(labels):
        label = labels[row_id]
        if label not in (0, 1, 2):
            raise ValueError(f"row {row_id}: label must be 0, 1 or 2, got {label!r}")
        if row_id not in predictions:
            raise ValueError(f"row {row_id}: no prediction for this labelled row")
        probabilities = _normalised(row_id, predictions[row_id])
        study_id, _, column = row_id.partition("_")
        family = family_of(column)
        weight = CLASS_WEIGHTS[label]
        losses[family].append((weight, -math.log(probabilities[label])))
        if family == "spinal_canal_stenosis":
            spinal.setdefault(study_id, []).append((label, probabilities[2]))
    terms = {family: _weighted_mean(pairs) for family, pairs in losses.items()}
    any_severe = []
    for levels in spinal.values():
        positive = any(label == 2 for label, _ in levels)
        severe = min(max(max(p for _, p in levels), EPSILON), 1.0 - EPSILON)
        weight = max(CLASS_WEIGHTS[label] for label, _ in levels)
        any_severe.append((weight, -math.log(severe if positive else 1.0 - severe)))
    terms["any_severe_spinal"] = _weighted_mean(any_severe)
    present = [value for value in terms.values() if value is not None]
    n_studies = len({row_id.partition("_")[0] for row_id in labels})
    return RsnaScore(score=sum(present) / len(present), n_rows=len(labels), n_studies=n_studies, **terms)


def read_labels(path: Path) -> dict[str, int]:
    """Labels from a ``train.csv``-style file, keyed by row_id (empty cells skipped)."""
    labels: dict[str, int] = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or "study_id" not in reader.fieldnames:
            raise ValueError(f"{path}: needs a study_id column")
        columns = [name for name in reader.fieldnames if name != "study_id"]
        unknown = [name for name in columns if name not in LABEL_COLUMNS]
        if unknown:
            raise ValueError(f"{path}: unknown label column(s) {', '.join(unknown)}")
        for line, row in enumerate(reader, start=2):
            study_id = (row["study_id"] or "").strip()
            if not study_id or "_" in study_id:
                raise ValueError(f"{path}: line {line}: bad study_id {row['study_id']!r}")
            for column in columns:
                value = (row[column] or "").strip()
                if not value:
                    continue
                if value not in CLASS_LABELS:
                    raise ValueError(f"{path}: line {line}: row {study_id}_{column}: unknown label {value!r} "
                                     f"(expected one of {', '.join(CLASS_LABELS)})")
                labels[f"{study_id}_{column}"] = CLASS_LABELS.index(value)
    return labels


def read_predictions(path: Path) -> dict[str, tuple[float, float, float]]:
    """Predictions from a submission-style CSV, keyed by row_id."""
    predictions: dict[str, tuple[float, float, float]] = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in ("row_id", *PREDICTION_COLUMNS) if name not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            row_id = (row["row_id"] or "").strip()
            if not row_id:
                raise ValueError(f"{path}: line {line}: empty row_id")
            if row_id in predictions:
                raise ValueError(f"{path}: line {line}: row {row_id} appears twice")
            try:
                values = tuple(float(row[name]) for name in PREDICTION_COLUMNS)
            except (TypeError, ValueError):
                raise ValueError(f"{path}: line {line}: row {row_id}: probabilities must be numbers") from None
            predictions[row_id] = values  # type: ignore[assignment]
    return predictions


def findings_to_rsna_rows(study: StudyFindings, study_id: str) -> list[dict[str, float | str]]:
    """One submission row per graded key of the study (per-level summary), probabilities merged to 3 classes.

    A finding without probabilities contributes the one-hot of its grade.
    """
    rows = []
    for finding in summarize_by_key(study.findings):
        condition = _REGION_CONDITION[(finding.region, finding.side)]
        probabilities = finding.probabilities or tuple(float(grade == int(finding.grade)) for grade in range(4))
        merged = (probabilities[0] + probabilities[1], probabilities[2], probabilities[3])
        row: dict[str, float | str] = {"row_id": f"{study_id}_{condition}_{level_column(finding.level)}"}
        row.update(zip(PREDICTION_COLUMNS, merged, strict=True))
        rows.append(row)
    return rows


def findings_to_rsna_labels(study: StudyFindings, study_id: str) -> dict[str, int]:
    """The study's per-level grades as RSNA labels (0 normal/mild, 1 moderate, 2 severe), keyed by row_id."""
    return {
        f"{study_id}_{_REGION_CONDITION[(f.region, f.side)]}_{level_column(f.level)}": max(int(f.grade) - 1, 0)
        for f in summarize_by_key(study.findings)
    }


def _normalised(row_id: str, values: Sequence[float]) -> tuple[float, float, float]:
    if len(values) != 3 or not all(math.isfinite(v) and v >= 0 for v in values):
        raise ValueError(f"row {row_id}: expected three finite non-negative probabilities, got {tuple(values)!r}")
    total = sum(values)
    if total <= 0:
        raise ValueError(f"row {row_id}: probabilities sum to zero")
    return tuple(min(max(v / total, EPSILON), 1.0 - EPSILON) for v in values)  # type: ignore[return-value]


def _weighted_mean(pairs: list[tuple[float, float]]) -> float | None:
    if not pairs:
        return None
    return sum(weight * loss for weight, loss in pairs) / sum(weight for weight, _ in pairs)

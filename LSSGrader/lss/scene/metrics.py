"""Evaluation results (``lss.evaluation.evaluate``) as MRML table nodes: agreement per region, and the
4-grade confusion matrix of each region."""

from __future__ import annotations

from typing import Any

from lss.evaluation.detection import threshold_label
from lss.evaluation.grading import GRADE_NAMES
from lss.evaluation.report import REGION_ROWS
from lss.scene.table import add_string_table

METRIC_COLUMNS = ("Region", "Grades", "n", "Gwet AC1", "AC1 95% CI low", "AC1 95% CI high", "Cohen kappa",
                  "Agreement", "Sensitivity", "Specificity", "Recall @ IoU 0.3")


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def metric_rows(metrics: dict[str, Any]) -> list[list[str]]:
    """One row per region (and all regions) and per grade scale (4 and 2)."""
    rows = []
    detection = metrics["detection"]
    for region, name in REGION_ROWS:
        grading = metrics["grading"][region]
        recall_table = detection["overall"] if region == "all" else detection["by_region"][region]
        recall = recall_table.get(threshold_label(0.3), {}).get("recall")
        diagnostic = grading.get("diagnostic") or {}
        for label, key in (("4", "four_grade"), ("2", "dichotomous")):
            stats = grading.get(key) or {}
            rows.append([name, label, _cell(stats.get("n", 0)), _cell(stats.get("gwet_ac1")),
                         _cell(stats.get("gwet_ac1_ci_low")), _cell(stats.get("gwet_ac1_ci_high")),
                         _cell(stats.get("cohen_kappa")), _cell(stats.get("percent_agreement")),
                         _cell(diagnostic.get("sensitivity")) if key == "dichotomous" else "",
                         _cell(diagnostic.get("specificity")) if key == "dichotomous" else "",
                         _cell(recall)])
    return rows


def add_metrics_table(scene, metrics: dict[str, Any], name: str = "LSS evaluation"):
    """The agreement table of an evaluation."""
    return add_string_table(scene, name, METRIC_COLUMNS, metric_rows(metrics), "evaluation")


def add_confusion_tables(scene, metrics: dict[str, Any], prefix: str = "LSS confusion") -> list:
    """One 4 × 4 table per region: rows the reference grade, columns the prediction."""
    tables = []
    for region, name in REGION_ROWS:
        matrix = metrics["grading"][region]["confusion_4"]
        rows = [[GRADE_NAMES[r], *(str(v) for v in values)] for r, values in enumerate(matrix)]
        tables.append(add_string_table(scene, f"{prefix} {name}", ("reference \\ prediction", *GRADE_NAMES),
                                       rows, "confusion"))
    return tables

"""Evaluation results as MRML tables (lss.scene.metrics), on real MRML through slicer-core: the demo read of a
phantom study evaluated against its ground truth, as LSSTraining's Evaluate shows it."""

from __future__ import annotations

import pytest

from lss.evaluation.evaluate import evaluate
from lss.evaluation.grading import GRADE_NAMES
from lss.evaluation.report import REGION_ROWS
from lss.scene.metrics import METRIC_COLUMNS, add_confusion_tables, add_metrics_table
from lss.scene.volumes import lss_attribute


@pytest.fixture(scope="module")
def metrics(demo_read):
    return evaluate(demo_read.study / "ground_truth.json", demo_read.out / "findings.json")


@pytest.fixture(scope="module")
def scene():
    from trame_slicer.core import SlicerApp

    app = SlicerApp()
    yield app.scene
    del app


def cells(table) -> list[list[str]]:
    return [[table.GetCellText(row, column) for column in range(table.GetNumberOfColumns())]
            for row in range(table.GetNumberOfRows())]


def test_metrics_table_has_a_row_per_region_and_grade_scale(scene, metrics):
    table = add_metrics_table(scene, metrics)
    assert table.GetAttribute(lss_attribute("role")) == "evaluation"
    assert [table.GetColumnName(c) for c in range(table.GetNumberOfColumns())] == list(METRIC_COLUMNS)
    rows = cells(table)
    assert [(row[0], row[1]) for row in rows] == [(name, scale) for _, name in REGION_ROWS for scale in ("4", "2")]
    for (region, _), four, two in zip(REGION_ROWS, rows[::2], rows[1::2], strict=True):
        grading = metrics["grading"][region]
        assert int(four[2]) == grading["four_grade"]["n"] > 0
        assert float(four[3]) == pytest.approx(grading["four_grade"]["gwet_ac1"], abs=5e-4)
        assert float(two[3]) == pytest.approx(grading["dichotomous"]["gwet_ac1"], abs=5e-4)
        assert four[8] == four[9] == ""  # sensitivity and specificity belong to the dichotomous row
        assert -1.0 <= float(two[4]) <= float(two[3]) <= float(two[5]) <= 1.0
        assert 0.0 <= float(four[10]) <= 1.0  # recall at IoU 0.3


def test_confusion_tables_hold_each_regions_counts(scene, metrics):
    tables = add_confusion_tables(scene, metrics, prefix="confusion")
    assert [t.GetName() for t in tables] == [f"confusion {name}" for _, name in REGION_ROWS]
    for table, (region, _) in zip(tables, REGION_ROWS, strict=True):
        assert table.GetAttribute(lss_attribute("role")) == "confusion"
        rows = cells(table)
        assert [row[0] for row in rows] == list(GRADE_NAMES)
        counts = [[int(v) for v in row[1:]] for row in rows]
        assert counts == metrics["grading"][region]["confusion_4"]
        assert sum(map(sum, counts)) == metrics["grading"][region]["four_grade"]["n"]

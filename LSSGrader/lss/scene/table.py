"""The per-level results table: one row per (level, region, side) of the read, linked to its ROI nodes."""

from __future__ import annotations

from lss.model.findings import Finding
from lss.preprocess.sagittal_canal import SAGITTAL_ONLY, graded_on
from lss.scene.volumes import lss_attribute

COLUMNS = ("Level", "Region", "Side", "Grade", "Probability (%)", "Uncertainty (SD %)", "Slices",
           "Dural sac area (mm²)", "AP diameter (mm)", "Reliable", "ROI nodes")
ROI_COLUMN = COLUMNS.index("ROI nodes")


def table_rows(summary: list[Finding], roi_ids: dict[tuple, list[str]]) -> list[list[str]]:
    """The table's cells (strings) per finding; ``roi_ids`` maps a finding key to its ROI node IDs."""
    rows = []
    for finding in summary:
        probability = finding.probabilities[int(finding.grade)] * 100 if finding.probabilities else float("nan")
        spread = finding.uncertainty * 100 if finding.uncertainty is not None else float("nan")
        region = finding.region.label + (f" ({SAGITTAL_ONLY})" if graded_on(finding) == SAGITTAL_ONLY else "")
        rows.append([finding.level.value, region, finding.side.value, finding.grade.label,
                     f"{probability:.0f}", f"{spread:.0f}", str(len(finding.boxes)),
                     _measure(finding, "dural_sac_area_mm2", "{:.0f}"), _measure(finding, "ap_diameter_mm", "{:.1f}"),
                     reliable_cell(finding), " ".join(roi_ids.get(finding.key, []))])
    return rows


def reliable_cell(finding: Finding) -> str:
    """The "Reliable" cell: 'yes (0.83)', 'no — do not use (0.12)', or empty when the finding was not judged."""
    if finding.reliable is None:
        return ""
    score = f" ({finding.reliability:.2f})" if finding.reliability is not None else ""
    return f"yes{score}" if finding.reliable else f"no — do not use{score}"


def _measure(finding: Finding, name: str, form: str) -> str:
    return form.format(finding.measures[name]) if name in finding.measures else ""


def add_string_table(scene, name: str, columns: tuple[str, ...], rows: list[list[str]], role: str):
    """A vtkMRMLTableNode of string columns, marked with the adaptor's role attribute."""
    node = scene.AddNewNodeByClass("vtkMRMLTableNode", name)
    for column in columns:
        node.AddColumn().SetName(column)
    for cells in rows:
        row = node.AddEmptyRow()
        for column, value in enumerate(cells):
            node.SetCellText(row, column, value)
    node.SetUseColumnTitleAsColumnHeader(True)
    node.SetAttribute(lss_attribute("role"), role)
    return node


def add_results_table(scene, summary: list[Finding], roi_ids: dict[tuple, list[str]], name: str = "LSS results"):
    """A vtkMRMLTableNode of the read (string columns)."""
    return add_string_table(scene, name, COLUMNS, table_rows(summary, roi_ids), "results")


def row_roi_ids(table, row: int) -> list[str]:
    """The ROI node IDs of one table row (the first is the one to jump to)."""
    return table.GetCellText(row, ROI_COLUMN).split()

"""Write an evaluation (see :func:`lss.evaluation.evaluate.evaluate`) as metrics.json, report.md and figures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lss.atomic import write_text_atomically
from lss.evaluation.detection import threshold_label
from lss.evaluation.grading import DICHOTOMOUS_NAMES, GRADE_NAMES
from lss.evaluation.plots import plot_by_level, plot_confusion
from lss.model.vocabulary import Region

REGION_ROWS: tuple[tuple[str, str], ...] = tuple((r.value, r.label.capitalize()) for r in Region) + (("all", "All"),)
LEVEL_PLOT = "by_level.png"
AGREEMENT_HEADER: tuple[str, ...] = ("Region", "Grades", "n", "Gwet AC1 (95% CI)", "P", "Cohen κ", "Agreement",
                                     "Sensitivity (95% CI)", "Specificity (95% CI)")


def write_report(metrics: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write metrics.json, report.md, confusion_<region>.png per region type and by_level.png into ``out_dir``.

    Every file is written atomically. Returns the written paths by short name.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for region, name in REGION_ROWS:
        path = out_dir / f"confusion_{region}.png"
        plot_confusion(metrics["grading"][region]["confusion_4"], GRADE_NAMES, f"{name}: 4 grades", path)
        written[f"confusion_{region}"] = path
    middle = threshold_label(metrics["thresholds"][len(metrics["thresholds"]) // 2])
    recall = {level: table[middle]["recall"] for level, table in metrics["detection"]["by_level"].items()}
    plot_by_level(metrics["by_level"], recall, middle, out_dir / LEVEL_PLOT)
    written["by_level"] = out_dir / LEVEL_PLOT
    written["metrics"] = write_text_atomically(out_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    written["report"] = write_text_atomically(out_dir / "report.md", render_markdown(metrics))
    return written


def render_markdown(metrics: dict[str, Any]) -> str:
    """The report as Markdown: reference grades, detection recall, grading agreement, confusion matrices, levels,
    and the reliability gate when the metrics have a ``reliability`` section."""
    imputed = metrics["imputed_normal"]
    lines = [
        "# LSS evaluation report",
        "",
        f"{metrics['n_studies']} {'study' if metrics['n_studies'] == 1 else 'studies'}. "
        "Per-level summaries (worst grade per level, region and side). "
        f"Keys graded on one side only were counted as normal on the other "
        f"(reference: {imputed['reference']}, predictions: {imputed['predictions']}).",
        "",
        "Research use only; not for clinical use.",
        "",
        "## Reference grades per region",
        "",
        _row(["Region", "Normal", "Mild", "Moderate", "Severe", "Total"]),
        _row(["---"] * 6),
    ]
    for region, name in REGION_ROWS[:-1]:
        counts = metrics["grade_counts"][region]
        total = counts["total"]
        cells = [f"{counts[grade]} ({_percent(counts[grade] / total if total else None)})" for grade in GRADE_NAMES]
        lines.append(_row([name, *cells, str(total)]))
    lines += ["", "## Detection recall at IoU thresholds", ""]
    labels = [threshold_label(t) for t in metrics["thresholds"]]
    lines += [_row(["Region", *(f"Recall @ {t}" for t in labels), *(f"Precision @ {t}" for t in labels)]),
              _row(["---"] * (1 + 2 * len(labels)))]
    detection = metrics["detection"]
    for region, name in REGION_ROWS:
        table = detection["overall"] if region == "all" else detection["by_region"][region]
        recalls = [f"{_percent(table[t]['recall'])} ({table[t]['tp']}/{table[t]['n_reference']})" for t in labels]
        lines.append(_row([name, *recalls, *(_percent(table[t]["precision"]) for t in labels)]))
    lines += ["", _pairing_note(detection.get("pairing")), *_set_aside_lines(metrics.get("inputs")),
              "", "## Grading agreement", "",
              _row(AGREEMENT_HEADER), _row(["---"] * len(AGREEMENT_HEADER))]
    for region, name in REGION_ROWS:
        lines += _agreement_rows(name, metrics["grading"][region])
    lines += ["", "## Confusion matrices (rows: reference, columns: prediction)", ""]
    for region, name in REGION_ROWS:
        grading = metrics["grading"][region]
        lines += [f"### {name}", "", f"![{name} confusion matrix](confusion_{region}.png)", "",
                  *_matrix(grading["confusion_4"], GRADE_NAMES), "", *_matrix(grading["confusion_2"],
                                                                              DICHOTOMOUS_NAMES), ""]
    lines += ["## Per level", "", f"![Per-level agreement]({LEVEL_PLOT})", "",
              _row(["Level", "n", "AC1 4 grades", "AC1 dichotomous", "Agreement", *(f"Recall @ {t}" for t in labels)]),
              _row(["---"] * (5 + len(labels)))]
    for level, grading in metrics["by_level"].items():
        four, two = grading["four_grade"] or {}, grading["dichotomous"] or {}
        recalls = [_percent(detection["by_level"][level][t]["recall"]) for t in labels]
        lines.append(_row([level, str(grading["n"]), _number(four.get("gwet_ac1")), _number(two.get("gwet_ac1")),
                           _percent(four.get("percent_agreement")), *recalls]))
    lines += _reliability_lines(metrics.get("reliability"))
    return "\n".join(lines) + "\n"


def _reliability_lines(section: dict[str, Any] | None) -> list[str]:
    """The "Reliability gate" section (:mod:`lss.evaluation.reliability_metrics`); nothing without one."""
    if not section:
        return []
    lines = ["", "## Reliability gate", "",
             "A key counts as reliable when its predicted finding is marked reliable. Coverage is the share of the "
             "keys with a reliability that the gate keeps. Keys whose prediction was missing (counted as normal) or "
             "carries no reliability are counted apart, never as reliable. Error: the dichotomous call "
             "(normal/mild vs moderate/severe) differs from the reference.",
             "",
             _row(["Region", "With reliability", "Reliable", "Coverage", "Without reliability (missing / not judged)",
                   "Error, reliable", "Error, unreliable", "Error, without reliability"]),
             _row(["---"] * 8)]
    for region, name in REGION_ROWS:
        gate = section[region]
        without, error = gate["without_reliability"], gate["dichotomous_error"]
        lines.append(_row([name, str(gate["n_with_reliability"]), str(gate["n_reliable"]), _percent(gate["coverage"]),
                           f"{without['n']} ({without['imputed_normal']} / {without['not_judged']})",
                           *(_percent(error[group]) for group in ("reliable", "unreliable", "without_reliability"))]))
    lines += ["", "### Grading agreement of reliable and unreliable findings", "",
              _row(AGREEMENT_HEADER), _row(["---"] * len(AGREEMENT_HEADER))]
    for region, name in REGION_ROWS:
        for group in ("reliable", "unreliable"):
            lines += _agreement_rows(f"{name}, {group}", section[region][group])
    lines += ["", "### Risk–coverage", "",
              "Per reliability threshold: coverage (dichotomous accuracy) of the keys whose reliability is at or "
              "above it.", "",
              _row(["Reliability ≥", *(name for _, name in REGION_ROWS)]), _row(["---"] * (1 + len(REGION_ROWS)))]
    for index, entry in enumerate(section["all"]["risk_coverage"]):
        cells = [section[region]["risk_coverage"][index] for region, _ in REGION_ROWS]
        lines.append(_row([f"{entry['threshold']:.1f}", *(f"{_percent(cell['coverage'])} "
                                                           f"({_percent(cell['dichotomous_accuracy'])})"
                                                           for cell in cells)]))
    return lines


def _pairing_note(pairing: dict[str, dict[str, int]] | None) -> str:
    """How boxes were paired with the other read's: by image, or (stated) by slice index."""
    text = "Boxes were paired by image (series and SOPInstanceUID), not by slice number."
    if not pairing:
        return text
    by_slice = pairing["by_slice_index"]
    if by_slice["reference"] or by_slice["predictions"]:
        text += (f" **{by_slice['reference']} reference and {by_slice['predictions']} predicted boxes had no usable "
                 "SOPInstanceUID and were paired by (series, slice index) instead**: those pairs are right only if "
                 "both reads number the slices in the same order.")
    return text


def _set_aside_lines(inputs: dict[str, Any] | None) -> list[str]:
    lines = []
    for side, reads in (inputs or {}).items():
        for entry in reads.get("set_aside", []):
            lines.append(f"- {side}: {entry['file']} set aside ({entry['reason']})")
    return ["", "Files set aside:", "", *lines] if lines else []


def _agreement_rows(name: str, grading: dict[str, Any]) -> list[str]:
    rows = []
    diagnostic = grading["diagnostic"] or {}
    for label, key in (("4", "four_grade"), ("2", "dichotomous")):
        stats = grading[key]
        if not stats:
            rows.append(_row([name, label, "0", *["–"] * 6]))
            continue
        ac1 = (f"{_number(stats['gwet_ac1'])} ({_number(stats['gwet_ac1_ci_low'])}–"
               f"{_number(stats['gwet_ac1_ci_high'])})")
        accuracy = ["", ""]
        if key == "dichotomous":
            accuracy = [_with_ci(diagnostic.get("sensitivity"), diagnostic.get("sensitivity_ci")),
                        _with_ci(diagnostic.get("specificity"), diagnostic.get("specificity_ci"))]
        rows.append(_row([name, label, str(stats["n"]), ac1, _p_value(stats["p_value"]),
                          _number(stats["cohen_kappa"]), _percent(stats["percent_agreement"]), *accuracy]))
    return rows


def _matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> list[str]:
    lines = [_row(["", *labels]), _row(["---"] * (len(labels) + 1))]
    lines += [_row([f"**{label}**", *(str(count) for count in row)]) for label, row in zip(labels, matrix, strict=True)]
    return lines


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _p_value(value: float | None) -> str:
    if value is None:
        return "–"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _with_ci(value: float | None, interval: Sequence[float] | None) -> str:
    if value is None:
        return "–"
    return f"{_percent(value)} ({_percent(interval[0])}–{_percent(interval[1])})" if interval else _percent(value)

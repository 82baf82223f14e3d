"""report.md: a radiology-style per-level table, the measures and an impression, in plain Markdown."""

from __future__ import annotations

from lss.model.findings import Finding
from lss.model.read import GradingRun, StudyReliability
from lss.model.vocabulary import Grade, Level, Region, Side
from lss.preprocess.sagittal_canal import SAGITTAL_ONLY, graded_on

UNRELIABLE = "unreliable — do not use"
COLUMNS = ((Region.CENTRAL_CANAL, Side.NONE), (Region.LATERAL_RECESS, Side.LEFT), (Region.LATERAL_RECESS, Side.RIGHT),
           (Region.NEURAL_FORAMEN, Side.LEFT), (Region.NEURAL_FORAMEN, Side.RIGHT))


def finding_phrase(finding: Finding) -> str:
    """'severe central canal stenosis (92 %)', 'moderate left lateral recess stenosis (71 %)'."""
    side = "" if finding.side is Side.NONE else f"{finding.side.value} "
    return f"{finding.grade.label} {side}{finding.region.label} stenosis ({_percent(finding)}{_sagittal(finding)})"


def impression(findings: list[Finding], reasons: list[str] | tuple[str, ...] = (),
               reliability: StudyReliability | None = None) -> list[str]:
    """One line per level with reliable moderate or severe findings (worst first), the unreliable ones in one line
    marked "do not use", the mild ones in one line, and what was not assessed. Reassurance is given only for what
    was graded, and only when nothing moderate or severe was found, reliable or not; with nothing graded, or on a
    spine whose lumbar anatomy was not found, only "Not assessed" and why."""
    if not findings:
        why = f" ({'; '.join(reasons[:4])})" if reasons else ""
        return [f"Not assessed: no lumbar level could be graded{why}."]
    if reliability is not None and not reliability.anatomy_found:
        return [f"Not assessed: {reliability.statement} The boxes and grades shown are not findings: do not use "
                "them."]
    missing = not_assessed(findings)
    lines = []
    for level in Level:
        marked = sorted((f for f in findings if f.level is level and f.grade.is_dichotomous_positive
                         and f.reliable is not False), key=lambda f: -int(f.grade))
        if marked:
            lines.append(f"{level.value}: " + "; ".join(finding_phrase(f) for f in marked) + ".")
    doubtful = [f for f in findings if f.grade.is_dichotomous_positive and f.reliable is False]
    if doubtful:
        lines.append(f"Not reliable ({UNRELIABLE}): " + "; ".join(f"{f.level.value} {finding_phrase(f)}"
                                                                   for f in doubtful) + ".")
    if not lines:
        lines.append("No moderate or severe stenosis at the graded levels." if not missing
                     else "No moderate or severe stenosis in the regions graded.")
    mild = [f for f in findings if f.grade is Grade.MILD]
    if mild:
        lines.append("Mild: " + "; ".join(f"{f.level.value} {finding_phrase(f).removeprefix('mild ')}"
                                          + (f" ({UNRELIABLE})" if f.reliable is False else "")
                                          for f in mild) + ".")
    if missing:
        lines.append(f"Not assessed: {describe_keys(missing)} (see the notes).")
    return lines


def not_assessed(findings: list[Finding]) -> list[tuple[Level, Region, Side]]:
    """The (level, region, side) of a full read that have no finding, in table order."""
    graded = {f.key for f in findings}
    return [(level, region, side) for level in Level for region, side in COLUMNS
            if (level, region, side) not in graded]


def describe_keys(keys: list[tuple[Level, Region, Side]]) -> str:
    """'central canal at every level; left lateral recess at L4/L5, L5/S1'."""
    parts = []
    for region, side in COLUMNS:
        levels = [level for level, r, s in keys if (r, s) == (region, side)]
        if levels:
            name = region.label if side is Side.NONE else f"{side.value} {region.label}"
            where = "every level" if len(levels) == len(Level) else ", ".join(level.value for level in levels)
            parts.append(f"{name} at {where}")
    return "; ".join(parts)


def render_report(run: GradingRun) -> str:
    """The whole report.md text."""
    summary = run.findings.findings
    by_key = {f.key: f for f in summary}
    lines = ["# Lumbar spinal stenosis — automated read", "",
             "**Research use only. Not a medical device; not for clinical use.**", "",
             f"- Study: `{run.study_uid}`",
             f"- Model: {run.model.name or '?'} {run.model.version or ''}".rstrip()]
    if run.model.limitations:
        lines.append(f"- Model limitations: {run.model.limitations}")
    if run.reliability is not None:
        lines.append(f"- Reliability: {run.reliability.score:.2f}. {run.reliability.statement}")
    lines += ["", "## Impression", ""]
    lines += [f"- {line}" for line in impression(summary, run.warnings + run.skipped, run.reliability)]
    lines += ["", "## Grades by level", "",
              "| Level | Central canal | Left lateral recess | Right lateral recess | Left foramen | Right foramen |",
              "|---|---|---|---|---|---|"]
    for level in Level:
        cells = [_cell(by_key.get((level, region, side))) for region, side in COLUMNS]
        lines.append(f"| {level.value} | " + " | ".join(cells) + " |")
    legend = "— = not graded." if not not_assessed(summary) else "not assessed: see the notes for why."
    judged = " A grade marked \"" + UNRELIABLE + "\" fell below the reliability threshold." \
        if any(f.reliable is not None for f in summary) else ""
    sagittal = (f" \"{SAGITTAL_ONLY}\": the central canal was graded on the mid-sagittal T2 because no axial image "
                "covers the level — confirm on axial images." if any(_sagittal(f) for f in summary) else "")
    lines += ["", f"Cells: grade (probability of that grade; ± ensemble SD). {legend}{judged}{sagittal}", ""]
    measured = [f for f in summary if f.region is Region.CENTRAL_CANAL and f.measures]
    if measured:
        lines += ["## Canal measures (segmentation)", "", "| Level | Dural sac area (mm²) | AP diameter (mm) |",
                  "|---|---|---|"]
        lines += [f"| {f.level.value} | {f.measures.get('dural_sac_area_mm2', float('nan')):.0f} | "
                  f"{f.measures.get('ap_diameter_mm', float('nan')):.1f} |" for f in measured]
        lines += ["", "Dural sac area < 100 mm² is relative, < 75 mm² absolute stenosis (Hamanishi; Schönström).", ""]
    notes = run.warnings + run.skipped
    if notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
    if run.data_quality:
        lines += ["## Data quality", "", "What the reader noticed about the input (files left out, gaps, uneven "
                  "spacing, mixed frames of reference, shared SOPInstanceUIDs):", ""]
        lines += [f"- {note.text()}" for note in run.data_quality] + [""]
    return "\n".join(lines)


def _cell(finding: Finding | None) -> str:
    if finding is None:
        return "not assessed"
    spread = f" ± {100 * finding.uncertainty:.0f}" if finding.uncertainty is not None else ""
    marker = f" **{UNRELIABLE}**" if finding.reliable is False else ""
    return f"{finding.grade.label} ({_percent(finding)}{spread}{_sagittal(finding)}){marker}"


def _sagittal(finding: Finding) -> str:
    """', sagittal only' for a central canal graded on the mid-sagittal T2 (``graded_on``)."""
    return f", {SAGITTAL_ONLY}" if graded_on(finding) == SAGITTAL_ONLY else ""


def _percent(finding: Finding) -> str:
    if finding.probabilities is None:
        return "n/a"
    return f"{100 * finding.probabilities[int(finding.grade)]:.0f} %"

"""Per-level summary: one finding per (level, region, side) across slices and boxes."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .findings import Finding, FindingKey, key_order


def summarize_by_key(findings: Iterable[Finding]) -> list[Finding]:
    """Collapse findings to one per (level, region, side), sorted by level, region, side in enum order.

    The rule (radiologists grade a level by its worst slice):

    - ``grade``: the highest grade among the key's findings.
    - The *representative* is, among the findings carrying that grade, the one with the highest detection
      score (a missing score ranks lowest; ties go to the first in input order). Its ``probabilities``,
      ``uncertainty``, ``reliability`` and ``reliable`` are the summary's.
    - ``detection_score``: the maximum over the key's findings (None if none has one).
    - ``boxes``: every box of every finding of the key, in input order.
    - ``measures``: per measure, the value from the highest-ranked finding that has it, ranking findings by
      grade, then detection score, then input order (so the representative's own measures win).
    - ``note``: the distinct non-empty notes, in input order, joined by "; ".

    The input findings are not modified.
    """
    groups: dict[FindingKey, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.key, []).append(finding)
    return [_summarize_group(groups[key]) for key in sorted(groups, key=key_order)]


def _summarize_group(group: list[Finding]) -> Finding:
    ranked = sorted(group, key=_rank)  # stable: ties keep input order
    worst = ranked[0]
    scores = [finding.detection_score for finding in group if finding.detection_score is not None]
    measures: dict[str, float] = {}
    for finding in ranked:
        for name, value in finding.measures.items():
            measures.setdefault(name, value)
    notes = list(dict.fromkeys(finding.note for finding in group if finding.note))
    return Finding(
        level=worst.level,
        region=worst.region,
        side=worst.side,
        grade=worst.grade,
        boxes=[box for finding in group for box in finding.boxes],
        probabilities=worst.probabilities,
        detection_score=max(scores) if scores else None,
        uncertainty=worst.uncertainty,
        reliability=worst.reliability,
        reliable=worst.reliable,
        measures=measures,
        note="; ".join(notes),
    )


def _rank(finding: Finding) -> tuple[int, float]:
    score = finding.detection_score if finding.detection_score is not None else -math.inf
    return (-int(finding.grade), -score)

"""Reader comparison: each reader (radiologist or model) against a reference, and an ensemble's mean ± SD."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

from lss.evaluation.grading import grading_metrics

# The per-reader numbers that ensemble_summary averages (name -> path in the grading_metrics dictionary).
SUMMARY_METRICS: dict[str, tuple[str, str]] = {
    "ac1_4": ("four_grade", "gwet_ac1"),
    "kappa_4": ("four_grade", "cohen_kappa"),
    "percent_agreement_4": ("four_grade", "percent_agreement"),
    "ac1_2": ("dichotomous", "gwet_ac1"),
    "kappa_2": ("dichotomous", "cohen_kappa"),
    "percent_agreement_2": ("dichotomous", "percent_agreement"),
    "sensitivity": ("diagnostic", "sensitivity"),
    "specificity": ("diagnostic", "specificity"),
}


def compare_readers(reference: Mapping[Hashable, int],
                    readers: Mapping[str, Mapping[Hashable, int]]) -> list[dict[str, Any]]:
    """One row per reader, in the given order: its grading statistics against the reference.

    Grades are 0–3 keyed by item (e.g. (study_uid, level, region, side)); every reader must grade exactly the
    reference's items (``ValueError`` naming the reader and a few offending keys otherwise). Each row holds
    ``reader``, the flat numbers of :data:`SUMMARY_METRICS` (None where undefined), the AC1 95 % CIs and
    P values (``ac1_4_ci``, ``ac1_4_p``, ``ac1_2_ci``, ``ac1_2_p``), sensitivity/specificity CIs, and the full
    :func:`grading_metrics` dictionary under ``details``.
    """
    keys = list(reference)
    rows = []
    for name, grades in readers.items():
        missing = [key for key in keys if key not in grades]
        extra = [key for key in grades if key not in reference]
        if missing or extra:
            problem = f"misses {_few(missing)}" if missing else f"grades items not in the reference: {_few(extra)}"
            raise ValueError(f"reader {name!r} {problem}")
        details = grading_metrics([reference[key] for key in keys], [grades[key] for key in keys])
        row: dict[str, Any] = {"reader": name, "n": details["n"]}
        for metric, (section, field) in SUMMARY_METRICS.items():
            row[metric] = details[section][field] if details[section] else None
        for suffix, section in (("4", "four_grade"), ("2", "dichotomous")):
            stats = details[section] or {}
            row[f"ac1_{suffix}_ci"] = [stats["gwet_ac1_ci_low"], stats["gwet_ac1_ci_high"]] if stats else None
            row[f"ac1_{suffix}_p"] = stats.get("p_value")
        diagnostic = details["diagnostic"] or {}
        row["sensitivity_ci"] = diagnostic.get("sensitivity_ci")
        row["specificity_ci"] = diagnostic.get("specificity_ci")
        row["details"] = details
        rows.append(row)
    return rows


def ensemble_summary(members: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | int | None]]:
    """Mean and sample SD (n − 1) of each :data:`SUMMARY_METRICS` number over ensemble members' rows.

    Members with an undefined value (None) are left out of that metric; ``n`` says how many counted; the SD of a
    single value is None. This is the reference study's "average DL model".
    """
    if not members:
        raise ValueError("no ensemble members to summarise")
    summary: dict[str, dict[str, float | int | None]] = {}
    for metric in SUMMARY_METRICS:
        values = [float(member[metric]) for member in members if member.get(metric) is not None]
        mean = sum(values) / len(values) if values else None
        sd = None
        if len(values) >= 2 and mean is not None:
            sd = math.sqrt(sum((value - mean) ** 2 for value in values) / (len(values) - 1))
        summary[metric] = {"mean": mean, "sd": sd, "n": len(values)}
    return summary


def _few(keys: list[Hashable], limit: int = 3) -> str:
    shown = ", ".join(repr(key) for key in keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")

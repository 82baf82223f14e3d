"""Know when not to answer: a reliability in [0, 1] per finding and per study, and "lumbar anatomy was not found".

A finding's reliability is the product of four factors, each in [0, 1] (1 = nothing speaks against the finding):

* **Ensemble agreement** — ``(1 − H(p) / log 4) · (1 − SD / 0.5)``: the normalised entropy of the mean
  probabilities and the members' SD of the chosen grade (0.5 is the largest SD a probability can have).
* **Detector confidence** — the best detection score of the finding (1 when there is none, e.g. annotated boxes).
* **Familiarity** — how far the crops' intensity statistics (``crop_statistics``: mean, SD, 10th and 90th
  percentile) lie from those of the training crops, recorded in the bundle per region type: with ``d`` the root
  mean square of the z-scores, ``exp(−max(0, d − 2)² / 2)``. A bundle without reference statistics gives 1.
* **Anatomical plausibility** of the study (``anatomy_check``): 0 when the lumbar anatomy was not found — fewer
  than ``MIN_LUMBAR_DISCS`` discs, no midline, or the disc levels not in a plausible column (half or more of the
  gaps between neighbouring discs outside ``DISC_SPACING_MM`` or tilted more than ``MAX_TILT_DEG`` from the
  spine's axis); otherwise 1 less ``VIOLATION_PENALTY`` per implausible gap. Without a sagittal series the levels
  cannot be checked: ``NO_SAGITTAL_FACTOR`` when at least one central-canal box has a lumbar size (its longer side
  within ``CANAL_BOX_MM``: the dural sac is about 10–25 mm wide and at least about 4 mm deep even when severely
  narrowed, see ``lss.phantom.morphometry``), else not found — a 2-cm field of view of another organ is no spine.

A finding is *reliable* when its reliability is at least the threshold. The threshold is chosen at training time
on held-out keys (``choose_threshold``: the lowest keeping their dichotomous error within ``DEFAULT_MAX_ERROR``,
and at least their ``DEFAULT_QUANTILE`` quantile, so that findings less reliable than 95 % of what the bundle was
tested on are not presented as reliable even when the held-out keys made almost no errors) and recorded in
bundle.json under ``"reliability"`` (``ReliabilitySettings.to_dict``); a bundle without it uses
``DEFAULT_THRESHOLD``. The study's reliability is 0 when its anatomy was not found, else the anatomy factor times
the mean reliability of its findings. Where the anatomy was not found every finding is unreliable and the study is
*not assessed* (``lss grade`` exit 4): its findings stay in findings.json, each marked ``reliable: false``, for
inspection only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lss.model.findings import Box, Finding, FindingKey
from lss.model.read import StudyReliability
from lss.model.vocabulary import Region
from lss.pipeline.spine_levels import SpineLevels, implausible_gap
from lss.preprocess.sagittal_canal import finding_grader

DEFAULT_THRESHOLD = 0.15  # for bundles trained before reliability was recorded
DEFAULT_MAX_ERROR = 0.1  # dichotomous error allowed among held-out keys at or above the chosen threshold
DEFAULT_QUANTILE = 0.05  # the threshold is at least this quantile of the held-out keys' reliability
MIN_LUMBAR_DISCS = 3
MAX_TILT_DEG = 50.0
VIOLATION_PENALTY = 0.25
NO_SAGITTAL_FACTOR = 0.5
CANAL_BOX_MM = (6.0, 45.0)  # plausible longer side of a central-canal box, in millimetres
MAX_MEMBER_SD = 0.5
FAMILIAR_Z = 2.0
STATISTICS = ("mean", "sd", "p10", "p90")
ANATOMY_NOT_FOUND = "lumbar anatomy was not found"


@dataclass
class ReliabilitySettings:
    """What a bundle says about reliability: the threshold, where it came from and how it was chosen, and the
    training crops' intensity statistics per region type (``{"central_canal": {"mean": [...], "sd": [...]}}``)."""

    threshold: float = DEFAULT_THRESHOLD
    source: str = "default"  # "bundle": recorded at training time; "default": DEFAULT_THRESHOLD
    chosen_by: str = "default threshold (the bundle records none)"
    reference: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    @classmethod
    def from_description(cls, description: dict[str, Any]) -> ReliabilitySettings:
        """The settings recorded in a bundle's description (bundle.json), or the defaults when it has none."""
        recorded = description.get("reliability")
        if not isinstance(recorded, dict) or "threshold" not in recorded:
            return cls()
        return cls(float(recorded["threshold"]), "bundle", str(recorded.get("chosen_by", "")),
                   dict(recorded.get("reference", {})))

    def to_dict(self) -> dict[str, Any]:
        """The bundle.json ``"reliability"`` entry."""
        return {"threshold": self.threshold, "chosen_by": self.chosen_by, "statistics": list(STATISTICS),
                "reference": self.reference}


@dataclass
class AnatomyCheck:
    """Whether the lumbar anatomy was found, the study's plausibility factor, and why."""

    found: bool
    factor: float
    reasons: list[str]
    discs: int


@dataclass
class ThresholdChoice:
    """A threshold chosen on held-out keys and how: the rule, the keys used, how many it keeps and their error."""

    threshold: float
    rule: str
    keys: int
    kept: int
    error_kept: float | None


def crop_statistics(crop: np.ndarray) -> np.ndarray:
    """Intensity statistics of one grading crop (any shape): mean, SD, 10th and 90th percentile (``STATISTICS``)."""
    values = np.asarray(crop, dtype=np.float64).ravel()
    return np.array([values.mean(), values.std(), np.percentile(values, 10), np.percentile(values, 90)])


def reference_statistics(statistics: np.ndarray) -> dict[str, list[float]]:
    """Mean and SD (floored at 1e-3) of crop statistics (N, len(STATISTICS)) of training crops."""
    values = np.asarray(statistics, dtype=np.float64).reshape(-1, len(STATISTICS))
    return {"mean": [float(v) for v in values.mean(axis=0)],
            "sd": [float(v) for v in np.maximum(values.std(axis=0), 1e-3)]}


def ensemble_agreement(probabilities: Sequence[float], member_sd: float | None) -> float:
    """1 for a unanimous, certain ensemble; lower with the entropy of the mean probabilities and the members' SD."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    p = p / p.sum() if p.sum() > 0 else np.full(len(p), 1.0 / len(p))
    entropy = float(-(p[p > 0] * np.log(p[p > 0])).sum() / math.log(len(p)))
    spread = min(1.0, (member_sd or 0.0) / MAX_MEMBER_SD)
    return float(np.clip((1.0 - entropy) * (1.0 - spread), 0.0, 1.0))


def detection_confidence(score: float | None) -> float:
    """The detection score clipped to [0, 1]; 1 without one."""
    return 1.0 if score is None else float(np.clip(score, 0.0, 1.0))


def familiarity(statistics: np.ndarray | None, reference: dict[str, list[float]] | None) -> float:
    """1 for crops like the training crops, falling towards 0 the further their statistics lie from them."""
    if statistics is None or not reference:
        return 1.0
    z = (np.asarray(statistics, dtype=np.float64) - np.asarray(reference["mean"])) / np.asarray(reference["sd"])
    distance = float(np.sqrt(np.mean(z * z)))
    return float(math.exp(-0.5 * max(0.0, distance - FAMILIAR_Z) ** 2))


def box_extent_mm(box: Box) -> float:
    """The longer side of a box, in millimetres (from its LPS corners)."""
    corners = np.asarray(box.corners_lps, dtype=np.float64)
    return float(max(np.linalg.norm(corners[1] - corners[0]), np.linalg.norm(corners[3] - corners[0])))


def anatomy_check(levels: SpineLevels, has_sagittal: bool, findings: Sequence[Finding] = ()) -> AnatomyCheck:
    """How plausible the labelled disc levels (or, without a sagittal series, the central-canal boxes among
    ``findings``) are as a lumbar spine (see the module docstring)."""
    if not has_sagittal:
        return _axial_only_check(findings)
    count = len(levels.discs)
    if count < MIN_LUMBAR_DISCS:
        return AnatomyCheck(False, 0.0, [f"{count} lumbar disc(s) found, at least {MIN_LUMBAR_DISCS} expected"], count)
    if levels.midline_point is None:
        return AnatomyCheck(False, 0.0, ["no midline was found"], count)
    centres = np.array([disc.centre_lps for disc in levels.discs])
    steps = np.diff(centres, axis=0)
    axis = centres[-1] - centres[0]
    axis = axis / (np.linalg.norm(axis) or 1.0)
    reasons = []
    for k, step in enumerate(steps):
        length = float(np.linalg.norm(step))
        tilt = math.degrees(math.acos(float(np.clip(step @ axis / (length or 1.0), -1.0, 1.0))))
        gap = implausible_gap(centres[k], centres[k + 1])
        if gap is not None:
            reasons.append(f"{levels.discs[k + 1].level.value} lies {gap:.0f} mm from the disc below it")
        elif tilt > MAX_TILT_DEG or step[2] <= 0:
            reasons.append(f"{levels.discs[k + 1].level.value} is out of line with the other discs")
    if len(reasons) * 2 >= len(steps):
        return AnatomyCheck(False, 0.0, reasons, count)
    return AnatomyCheck(True, max(0.0, 1.0 - VIOLATION_PENALTY * len(reasons)), reasons, count)


def _axial_only_check(findings: Sequence[Finding]) -> AnatomyCheck:
    """Axial images alone: found when some central-canal box has a lumbar size (``CANAL_BOX_MM``)."""
    extents = [box_extent_mm(box) for finding in findings if finding.region is Region.CENTRAL_CANAL
               for box in finding.boxes]
    low, high = CANAL_BOX_MM
    if not any(low <= extent <= high for extent in extents):
        sizes = ", ".join(f"{extent:.1f} mm" for extent in extents) or "none found"
        return AnatomyCheck(False, 0.0, [f"no central canal of lumbar size ({low:g}–{high:g} mm) on the axial images "
                                         f"(canal boxes: {sizes}) and no sagittal series"], 0)
    return AnatomyCheck(True, NO_SAGITTAL_FACTOR, ["disc levels could not be checked: no sagittal series"], 0)


def reliability_score(probabilities: Sequence[float] | None, member_sd: float | None, detection_score: float | None,
                      statistics: np.ndarray | None, reference: dict[str, list[float]] | None,
                      anatomy_factor: float = 1.0) -> float:
    """The product of the four factors (module docstring), rounded to 4 decimals; 0 without probabilities."""
    agreement = ensemble_agreement(probabilities, member_sd) if probabilities is not None else 0.0
    familiar = familiarity(statistics, reference)
    return round(agreement * detection_confidence(detection_score) * familiar * anatomy_factor, 4)


def finding_reliability(finding: Finding, statistics: np.ndarray | None, settings: ReliabilitySettings,
                        anatomy_factor: float) -> float:
    """``reliability_score`` of one finding: its probabilities, SD, detection score and crop statistics against
    the bundle's reference for the grader that graded it (its region type, or the sagittal canal ensemble)."""
    return reliability_score(finding.probabilities, finding.uncertainty, finding.detection_score, statistics,
                             settings.reference.get(finding_grader(finding)), anatomy_factor)


def choose_threshold(scores: Sequence[float], correct: Sequence[bool], max_error: float = DEFAULT_MAX_ERROR,
                     quantile: float = DEFAULT_QUANTILE) -> ThresholdChoice:
    """The lowest reliability at which the held-out keys at or above it have a dichotomous error of at most
    ``max_error`` — but at least the held-out keys' ``quantile`` (a finding less reliable than nearly all held-out
    keys lies outside what the bundle was tested on, however few errors the held-out keys made); above every score
    (nothing reliable) when no threshold reaches the error; the default without keys."""
    values = np.asarray(scores, dtype=np.float64)
    right = np.asarray(correct, dtype=bool)
    rule = (f"lowest held-out reliability keeping the dichotomous error of the keys at or above it <= {max_error:g}, "
            f"and at least the held-out keys' {100 * quantile:g}th percentile")
    if values.size == 0:
        return ThresholdChoice(DEFAULT_THRESHOLD, "default threshold (no held-out keys)", 0, 0, None)
    floor = float(np.quantile(values, quantile)) if quantile > 0 else 0.0
    for threshold in np.unique(values):
        kept = values >= threshold
        error = float(1.0 - right[kept].mean())
        if error <= max_error:
            chosen = max(float(threshold), round(floor, 4))
            kept = values >= chosen
            error = float(1.0 - right[kept].mean())
            return ThresholdChoice(chosen, rule, int(values.size), int(kept.sum()), round(error, 4))
    return ThresholdChoice(float(min(1.0, values.max() + 1e-4)), rule + " (none did: nothing reliable)",
                           int(values.size), 0, None)


def mark_findings(findings: list[Finding], slice_findings: list[Finding],
                  statistics: dict[FindingKey, np.ndarray], settings: ReliabilitySettings,
                  anatomy: AnatomyCheck) -> StudyReliability:
    """Set ``reliability`` and ``reliable`` on every per-level finding (and copy them to the per-slice findings of
    the same key); the study's reliability and its plain statement."""
    for finding in findings:
        finding.reliability = finding_reliability(finding, statistics.get(finding.key), settings, anatomy.factor)
        finding.reliable = anatomy.found and finding.reliability >= settings.threshold
    by_key = {finding.key: finding for finding in findings}
    for finding in slice_findings:
        if finding.key in by_key:
            finding.reliability, finding.reliable = by_key[finding.key].reliability, by_key[finding.key].reliable
    reliable = sum(bool(f.reliable) for f in findings)
    score = round(anatomy.factor * float(np.mean([f.reliability for f in findings])), 4) if findings else 0.0
    where = f"threshold {settings.threshold:.2f}, {settings.source}"
    if not anatomy.found:
        statement = (f"The {ANATOMY_NOT_FOUND} ({'; '.join(anatomy.reasons)}): no finding of this study is reliable "
                     f"and the study is not assessed.")
        score = 0.0
    else:
        doubts = f" Doubts: {'; '.join(anatomy.reasons)}." if anatomy.reasons else ""
        statement = f"{reliable} of {len(findings)} findings reliable ({where}).{doubts}"
    return StudyReliability(score, anatomy.found, statement, settings.threshold, settings.source,
                            list(anatomy.reasons))

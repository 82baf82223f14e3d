"""Which role a series plays in a lumbar read (axial T2, sagittal T1/T2/STIR or other), with a confidence.

Three kinds of evidence are weighed, most trusted first:

1. the orientation of the series' stacks (their slice normal in LPS) — objective, from the geometry;
2. the sequence timing (RepetitionTime, EchoTime, InversionTime, ScanningSequence) — objective contrast;
3. the SeriesDescription keywords — free text typed at the scanner, often right, sometimes a lie.

Where objective evidence and the description disagree the objective evidence wins, the confidence drops and
the reason says so. A description alone (no timing, no geometry) gives a confidence of about 0.6.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lss.model.geometry import StackGeometry
from lss.model.study import ROLES, RoleGuess, Series, Study

PLANE_THRESHOLD = 0.75  # |normal · axis| at or above which a stack counts as that plane
# Disc-parallel axial blocks at L5/S1 tilt up to ~60° about L-R: such a stack (normal in the sagittal plane,
# |normal · S-I| ≥ 0.5) counts as axial, "oblique axial", rather than as oblique.
OBLIQUE_AXIAL_MAX_LR = 0.26
FAT_SUPPRESSION_PENALTY = 0.85  # a fat-suppressed T2 is a poorer sag_t2 than a plain one

AXES = {"axial": (np.array([0.0, 0.0, 1.0]), "S-I"), "sagittal": (np.array([1.0, 0.0, 0.0]), "L-R"),
        "coronal": (np.array([0.0, 1.0, 0.0]), "A-P")}

ROLE_OF = {("axial", "T2"): "ax_t2", ("sagittal", "T1"): "sag_t1", ("sagittal", "T2"): "sag_t2",
           ("sagittal", "STIR"): "sag_stir"}

# Keyword patterns on the lower-cased description; a keyword must not continue a longer word on its left.
_LEFT = r"(?<![a-z0-9])"
_RIGHT = r"(?![a-z])"
_AFTER_PLANE = r"(?:(?<![a-z0-9])|(?<=ax)|(?<=sag)|(?<=tra)|(?<=cor))"  # 'AxT2', 'SagT1'
PLANE_WORDS = {
    "sagittal": re.compile(_LEFT + r"(sag|sagit|sagittal)(?=$|[^a-z]|t[12]|pd|stir)"),
    "axial": re.compile(_LEFT + r"(ax|axi|axial|tra|tran|trans|transverse|transversal)(?=$|[^a-z]|t[12]|pd|stir)"),
    "coronal": re.compile(_LEFT + r"(cor|coro|coronal)(?=$|[^a-z]|t[12]|pd|stir)"),
}
CONTRAST_WORDS = {
    "STIR": re.compile(_LEFT + r"(stir|tirm|tir)" + _RIGHT),
    "T2*": re.compile(_LEFT + r"(t2\*|t2star|t2 star|medic|merge|hemo)"),
    "T1": re.compile(_AFTER_PLANE + r"t1(w|wi)?(?![0-9])"),
    "T2": re.compile(_AFTER_PLANE + r"t2(w|wi)?(?![0-9*])"),
    "PD": re.compile(_LEFT + r"(pd|pdw|proton)" + _RIGHT),
    "DWI": re.compile(_LEFT + r"(dwi|diff|diffusion|adc|trace|ep2d)" + _RIGHT),
}
LOCALIZER_WORDS = re.compile(_LEFT + r"(loc|localizer|localiser|scout|survey|3pl|3plane|tripilot|aahead|"
                                     r"aascout|pilot|calibration)" + _RIGHT)
FAT_WORDS = re.compile(_LEFT + r"(fs|fatsat|fat sat|spair|spir|dixon|ideal|fsat)" + _RIGHT)
FLAIR_WORDS = re.compile(_LEFT + r"flair" + _RIGHT)


@dataclass(frozen=True)
class Evidence:
    """One conclusion (a plane or a contrast), where it came from, and how it was put in words."""

    value: str | None
    text: str


def stack_plane(geometry: StackGeometry) -> tuple[str, str]:
    """('axial' | 'sagittal' | 'coronal' | 'oblique', text like 'normal 0.99 L-R') of one stack.

    A plane is the one whose axis the slice normal is within about 41° of (|normal · axis| ≥ 0.75); a stack
    tilted further only about the L-R axis, up to 60° from S-I, is an oblique axial (disc-parallel) stack.
    """
    normal = geometry.normal
    best, best_dot, best_axis = "oblique", 0.0, "?"
    for plane, (axis, axis_name) in AXES.items():
        dot = abs(float(normal @ axis))
        if dot > best_dot:
            best_dot, best_axis = dot, axis_name
            if dot >= PLANE_THRESHOLD:
                best = plane
    text = f"normal {best_dot:.2f} {best_axis}"
    if best == "oblique" and abs(float(normal[0])) < OBLIQUE_AXIAL_MAX_LR and abs(float(normal[2])) >= 0.5:
        tilt = np.degrees(np.arccos(min(1.0, abs(float(normal[2])))))
        return "axial", f"oblique axial, {text}, tilted {tilt:.0f}° from S-I"
    return best, text


def orientation_evidence(series: Series) -> Evidence:
    """The series' plane from its stacks: the common plane, 'mixed' for several, None without stacks."""
    if not series.stacks:
        return Evidence(None, "no image geometry")
    planes = [stack_plane(stack.geometry) for stack in series.stacks]
    counts = Counter(plane for plane, _ in planes)
    if len(counts) > 1:
        listed = ", ".join(sorted(counts))
        return Evidence("mixed", f"stacks in several planes ({listed})")
    plane = planes[0][0]
    texts = sorted({text for _, text in planes}, key=lambda t: ("oblique" in t, t))
    shown = texts[0] if len(texts) == 1 else f"{texts[0]} … {texts[-1]}"
    stacks = f", {len(planes)} stacks" if len(planes) > 1 else ""
    return Evidence(plane, f"{plane} ({shown}{stacks})")


def timing_evidence(series: Series) -> Evidence:
    """Contrast ('T1', 'T2', 'STIR', 'PD', 'FLAIR' or None when undecided) from TR, TE, TI and the sequence."""
    tr, te, ti = series.repetition_time, series.echo_time, series.inversion_time
    inversion = "IR" in {s.upper() for s in series.scanning_sequence}
    parts = [f"TR {tr:.0f} ms" if tr is not None else "", f"TE {te:.0f} ms" if te is not None else "",
             f"TI {ti:.0f} ms" if ti else ""]
    text = " ".join(p for p in parts if p)
    if ti is not None and 100 <= ti <= 250:
        return Evidence("STIR", f"{text} → STIR")
    if inversion and ti is not None and ti > 0:
        if ti < 300:
            return Evidence("STIR", f"{text}, inversion recovery → STIR")
        if ti >= 1500:
            return Evidence("FLAIR", f"{text}, inversion recovery → FLAIR")
        if te is not None and te < 30:
            return Evidence("T1", f"{text}, inversion recovery → T1 (T1 FLAIR)")
    if tr is None or te is None:
        return Evidence(None, "no TR/TE" if not text else f"{text} → contrast undecided")
    if tr < 1000 and te < 30:
        return Evidence("T1", f"{text} → T1")
    if tr >= 1500 and te >= 60:
        return Evidence("T2", f"{text} → T2")
    if tr >= 1500 and te < 40:
        return Evidence("PD", f"{text} → PD")
    return Evidence(None, f"{text} → contrast undecided")


@dataclass(frozen=True)
class DescriptionWords:
    """What a SeriesDescription claims."""

    plane: str | None
    contrast: str | None
    localizer: bool
    fat_suppressed: bool
    flair: bool

    def claims(self) -> str:
        """E.g. 'T1 sagittal', or 'nothing' when no keyword was recognised."""
        words = [w for w in (self.contrast, self.plane) if w]
        if self.fat_suppressed:
            words.append("fat-suppressed")
        if self.localizer:
            words.append("localizer")
        return " ".join(words) if words else "nothing recognisable"


def read_description(description: str) -> DescriptionWords:
    """Keywords of a SeriesDescription, across vendors ('T2W_TSE_SAG', 'Ax T2 FRFSE', 't2_tirm_sag', …)."""
    text = description.lower().replace("_", " ")
    planes = [plane for plane, pattern in PLANE_WORDS.items() if pattern.search(text)]
    contrasts = [c for c, pattern in CONTRAST_WORDS.items() if pattern.search(text)]
    flair = bool(FLAIR_WORDS.search(text))
    contrast = contrasts[0] if contrasts else ("FLAIR" if flair else None)
    return DescriptionWords(plane=planes[0] if len(planes) == 1 else None, contrast=contrast,
                            localizer=bool(LOCALIZER_WORDS.search(text)),
                            fat_suppressed=bool(FAT_WORDS.search(text)), flair=flair)


def identify_series(series: Series) -> RoleGuess:
    """Guess a series' role from its orientation, timing and description; the reason tells how."""
    words = read_description(series.description)
    geometry = orientation_evidence(series)
    timing = timing_evidence(series)
    said = f"description {series.description!r} says {words.claims()}" if series.description.strip() else (
        "no description")
    if words.localizer or "LOCALIZER" in {t.upper() for t in series.image_type}:
        return RoleGuess("other", 0.9, f"localizer: {geometry.text}, {said}")
    if geometry.value == "mixed":
        return RoleGuess("other", 0.8, f"{geometry.text}, {said}; no graded role spans several planes")

    plane, plane_score, plane_note = _decide_plane(geometry, words)
    contrast, contrast_score, contrast_note = _decide_contrast(timing, words)
    role = ROLE_OF.get((plane or "", contrast or ""), "other")
    notes = [n for n in (plane_note, contrast_note) if n]
    reason = ", ".join([geometry.text, timing.text, said])
    if role == "other":
        confidence = 0.3 if plane is None and contrast is None else max(plane_score, contrast_score) * 0.9
        what = " ".join(w for w in (contrast, plane) if w) or "unknown contrast and plane"
        reason += f"; {what} is no graded role"
    else:
        confidence = min(plane_score, contrast_score)
        if role == "sag_t2" and words.fat_suppressed:
            confidence *= FAT_SUPPRESSION_PENALTY
            notes.append("fat-suppressed, a poorer sag_t2 than a plain one")
    if notes:
        reason += "; " + "; ".join(notes)
    return RoleGuess(role, round(float(confidence), 3), reason)


def _decide_plane(geometry: Evidence, words: DescriptionWords) -> tuple[str | None, float, str]:
    if geometry.value in AXES:
        if words.plane is None or words.plane == geometry.value:
            return geometry.value, 1.0 if words.plane else 0.95, ""
        return geometry.value, 0.75, f"conflict: the description says {words.plane}, the geometry wins"
    if words.plane is not None:
        note = "plane from the description only" + (" (geometry oblique)" if geometry.value == "oblique" else "")
        return words.plane, 0.6, note
    if geometry.value is None and words.contrast == "STIR":
        return "sagittal", 0.5, "plane unknown; a lumbar STIR is assumed sagittal"
    return geometry.value if geometry.value == "oblique" else None, 0.3, ""


def _decide_contrast(timing: Evidence, words: DescriptionWords) -> tuple[str | None, float, str]:
    said = words.contrast
    if timing.value is not None:
        if said is None:
            return timing.value, 0.85, ""
        if said == timing.value or (said == "FLAIR" and timing.value == "T1"):
            return timing.value, 1.0, ""
        return timing.value, 0.7, f"conflict: the description says {said}, the timing wins"
    if said is not None:
        return said, 0.6, "contrast from the description only"
    return None, 0.3, ""


def assign_roles(study: Study, overrides: Mapping[str, str] | None = None) -> Study:
    """Set ``role`` on every series (in place, and return the study); an override by SeriesInstanceUID wins.

    Raises ValueError for an override naming an unknown role or a series the study does not hold.
    """
    overrides = dict(overrides or {})
    for uid, role in overrides.items():
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r} for series {uid}; valid roles: {', '.join(ROLES)}")
    known = {series.series_uid for series in study.series}
    missing = sorted(set(overrides) - known)
    if missing:
        raise ValueError(f"no series {', '.join(missing)} in study {study.study_uid}")
    for series in study.series:
        if series.series_uid in overrides:
            guess = identify_series(series)
            series.set_role(RoleGuess(overrides[series.series_uid], 1.0,
                                      f"set by the user (guessed {guess.role}: {guess.reason})", overridden=True))
        else:
            series.set_role(identify_series(series))
    return study



def role_problems(study: Study) -> list[str]:
    """What the grading will miss in a study whose roles are assigned: no axial T2, no sagittal series."""
    problems = []
    if not study.series_by_role("ax_t2"):
        problems.append("no axial T2 series: the lateral recesses cannot be graded"
                        + (", and the central canal only on the mid-sagittal T2 (sagittal-only)"
                           if study.series_by_role("sag_t2") else ", nor the central canal"))
    if not study.series_by_role("sag_t1"):
        problems.append("no sagittal T1 series: the neural foramina cannot be graded"
                        + (" (a sagittal T2 is present)" if study.series_by_role("sag_t2") else ""))
    if not (study.series_by_role("sag_t1") or study.series_by_role("sag_t2") or study.series_by_role("sag_stir")):
        problems.append("no sagittal series: disc levels cannot be labelled from the images")
    return problems

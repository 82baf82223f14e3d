"""Find the reads (one findings file per study) that ``lss evaluate`` compares, on either side.

A side is one findings JSON file, read whatever its name, or a folder searched recursively:

- an ``lss grade`` output folder (it holds ``findings.json`` and ``run.json``) contributes its ``findings.json``
  only; ``slice_findings.json`` (one finding per graded slice), the CSVs, reports and the rest are not reads;
- a phantom folder contributes its ``ground_truth.json``;
- any other JSON file in the ``lss.findings`` schema is a read, except ``slice_findings.json`` anywhere; JSON
  files in another schema (batch manifests, run records, metrics) are skipped.

One study may have one read per side. When a study turns up twice, the side's own kind of read wins: on the
reference side a ground-truth or annotation read sets a prediction aside (a phantom folder that also holds an
``lss grade`` output, in the same folder or below it), on the predictions side a prediction sets a ground-truth
or annotation read aside. Two reads of the same kind for one study (two predictions, two references) are an
error naming both files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from lss.model.findings import FindingsKind, StudyFindings
from lss.model.findings_io import SCHEMA_NAME, FindingsFileError, read_findings

GRADE_FINDINGS = "findings.json"
GRADE_RUN_RECORD = "run.json"
NOT_READS = frozenset({"slice_findings.json"})
REFERENCE_KINDS = frozenset({FindingsKind.GROUND_TRUTH, FindingsKind.ANNOTATION})
SIDES = ("reference", "predictions")


class EvaluationInputError(ValueError):
    """The reference or prediction files cannot be evaluated together; the message says which and why."""


@dataclass
class SideReads:
    """The reads of one side keyed by study UID, the file each came from, and the reads set aside."""

    studies: dict[str, StudyFindings] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    set_aside: list[dict[str, str]] = field(default_factory=list)  # {"file", "study_uid", "reason"}

    def summary(self) -> dict:
        """JSON-ready: the file of each study and the files set aside."""
        return {"files": {uid: str(path) for uid, path in sorted(self.files.items())}, "set_aside": self.set_aside}


def load_side(path: Path, side: str) -> SideReads:
    """The reads of one side (``"reference"`` or ``"predictions"``) from a findings file or a folder of them."""
    if side not in SIDES:
        raise ValueError(f"side must be one of {', '.join(SIDES)}, got {side!r}")
    path = Path(path)
    if path.is_file():
        files = [path]
    elif path.is_dir():
        files = candidate_files(path)
    else:
        raise EvaluationInputError(f"{path}: no such file or folder")
    reads = SideReads()
    for file in files:
        try:
            study = read_findings(file)
        except (FindingsFileError, OSError) as error:
            raise EvaluationInputError(str(error)) from None
        _add(reads, study, file, side)
    if not reads.studies:
        raise EvaluationInputError(f"{path}: no findings files ({SCHEMA_NAME} JSON) found")
    return reads


def candidate_files(folder: Path) -> list[Path]:
    """Findings-schema JSON files under ``folder`` that may be reads (see the module docstring), sorted."""
    found = []
    for directory, subfolders, names in os.walk(folder):
        subfolders.sort()
        here = Path(directory)
        if GRADE_FINDINGS in names and GRADE_RUN_RECORD in names:
            subfolders.clear()  # an `lss grade` output folder: its findings.json is its read
            found.append(here / GRADE_FINDINGS)
            continue
        found += [here / name for name in sorted(names)
                  if name.lower().endswith(".json") and name not in NOT_READS and _is_findings_file(here / name)]
    return found


def _add(reads: SideReads, study: StudyFindings, file: Path, side: str) -> None:
    uid = study.study_uid
    if uid not in reads.studies:
        reads.studies[uid], reads.files[uid] = study, file
        return
    kept, kept_file = reads.studies[uid], reads.files[uid]
    kept_own, new_own = _own_kind(kept, side), _own_kind(study, side)
    if kept_own == new_own:
        raise EvaluationInputError(
            f"study {uid} appears twice among the {side} ({_kind_name(kept)} {kept_file} and {_kind_name(study)} "
            f"{file}); keep one read per study on each side")
    if new_own:
        reads.studies[uid], reads.files[uid] = study, file
        winner, winner_file, loser_file = study, file, kept_file
    else:
        winner, winner_file, loser_file = kept, kept_file, file
    reads.set_aside.append({"file": str(loser_file), "study_uid": uid,
                            "reason": f"the {side} side reads the {_kind_name(winner)} {winner_file} instead"})


def _own_kind(study: StudyFindings, side: str) -> bool:
    """Whether a read is the kind a side is made of: ground truth or annotation for the reference, a prediction
    for the predictions."""
    return (study.kind in REFERENCE_KINDS) == (side == "reference")


def _kind_name(study: StudyFindings) -> str:
    return study.kind.value.replace("_", "-")


def _is_findings_file(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            document = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise EvaluationInputError(f"{path}: not readable JSON ({error})") from None
    return isinstance(document, dict) and document.get("schema") == SCHEMA_NAME

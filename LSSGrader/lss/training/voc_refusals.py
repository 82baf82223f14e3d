"""Why a Pascal VOC file or object was refused, and the import's summary table (accepted / refused by reason).

Every refusal carries a short reason (the table's row) and a detail naming what exactly is wrong; the detail
goes to ``ImportReport.problems`` with the file (and object) it concerns, the table to ``ImportReport.notes``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from lss.training.annotations import ImportReport


class Refusal(ValueError):
    """A refused file or object: ``reason`` is the summary table's row, the message the detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class VocTally:
    """Counts of accepted and refused files and objects, by reason."""

    files_accepted: int = 0
    objects_accepted: int = 0
    files_refused: Counter = field(default_factory=Counter)
    objects_refused: Counter = field(default_factory=Counter)
    matched_by: Counter = field(default_factory=Counter)  # how accepted files' images were found

    def refuse_file(self, report: ImportReport, where: str, reason: str, detail: str) -> None:
        """Record a refused file (or folder) in the report and the table."""
        self.files_refused[reason] += 1
        report.refuse(where, detail)

    def refuse_object(self, report: ImportReport, where: str, reason: str, detail: str) -> None:
        """Record a refused object of an otherwise usable file."""
        self.objects_refused[reason] += 1
        report.refuse(where, detail)

    def table(self) -> list[str]:
        """The summary table, one line a row: accepted, then refused counts by reason (most frequent first)."""
        lines = [f"VOC files: {self.files_accepted} accepted, {sum(self.files_refused.values())} refused",
                 *(f"  file refused, {reason}: {count}" for reason, count in _ordered(self.files_refused)),
                 *(f"  image found by {how}: {count}" for how, count in _ordered(self.matched_by)),
                 f"VOC objects (boxes): {self.objects_accepted} accepted, "
                 f"{sum(self.objects_refused.values())} refused",
                 *(f"  object refused, {reason}: {count}" for reason, count in _ordered(self.objects_refused))]
        return lines


def _ordered(counts: Counter) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

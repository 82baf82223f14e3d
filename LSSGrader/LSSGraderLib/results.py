"""What LSSGraderLogic.process returns: the engine's grading outcome and the nodes it added to the scene."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GradingInScene:
    """One grading run: ``outcome`` (lss.entry.grade.GradeOutcome) and ``scene`` (lss.scene.results.SceneResults)."""

    outcome: Any
    scene: Any

    @property
    def studyUID(self) -> str:
        """StudyInstanceUID of the graded study."""
        return self.outcome.study.study_uid

    @property
    def outDir(self) -> Path:
        """Folder holding the run's findings, tables, report and heatmaps."""
        return Path(self.outcome.out_dir)

    @property
    def impressionText(self) -> str:
        """The report's impression, one line per statement."""
        return "\n".join(self.outcome.impression)

    @property
    def table(self) -> Any:
        """The results table node."""
        return self.scene.table

    @property
    def firstHeatmap(self) -> Any:
        """The first heatmap volume node, or None when the run made none."""
        return self.scene.heatmaps[0] if self.scene.heatmaps else None

    @property
    def findingCount(self) -> int:
        """How many per-level findings the run graded."""
        return len(self.outcome.run.findings.findings)

    @property
    def reliability(self) -> Any:
        """How far to trust the run (lss.model.read.StudyReliability), or None when it was not judged."""
        return self.outcome.run.reliability

    @property
    def dataQuality(self) -> list[str]:
        """What the reader noticed about the input data (files left out, gaps, …), one line each."""
        return [note.text() for note in self.outcome.run.data_quality]


EXPORTED_OUTPUTS = ("findings.json", "slice_findings.json", "findings.csv", "rsna.csv", "report.md", "run.json")


def exportOutputs(outDir: Path | str, folder: Path | str) -> list[str]:
    """Copy a run's findings, tables, report and run record (those that exist) into ``folder``."""
    import shutil

    sources = [Path(outDir) / name for name in EXPORTED_OUTPUTS]
    return [str(shutil.copy(source, folder)) for source in sources if source.is_file()]

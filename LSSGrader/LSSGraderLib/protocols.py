"""What the panels need from a logic, a view and a parameter node: typing.Protocols, so tests can pass fakes.

The real logic classes (LSSGraderLogic, LSSTrainingLogic), the Qt widgets and the parameter-node wrappers
satisfy these structurally; nothing here imports Qt or slicer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from LSSGraderLib.engine import EngineSummary


@dataclass(frozen=True)
class Controls:
    """Which controls are usable: start a run, cancel it, the progress bar, the actions on finished results."""

    start: bool
    cancel: bool
    progress: bool
    results: bool = False


class ProgressEvent(Protocol):
    """One progress report of a run (lss.control.Progress)."""

    stage: str
    step: int
    total: int
    message: str


ProgressCallback = Callable[[ProgressEvent], None]
CancelCheck = Callable[[], bool]


class RunView(Protocol):
    """What any LSS panel shows: control states, status, progress, engine status."""

    def setControls(self, controls: Controls) -> None: ...
    def setStatus(self, text: str) -> None: ...
    def setProgress(self, step: int, total: int) -> None: ...
    def processEvents(self) -> None: ...
    def setEngineStatus(self, text: str) -> None: ...


class EngineLogic(Protocol):
    """What any LSS logic offers about the engine itself."""

    def ensureDependencies(self, askConfirmation: bool = True) -> bool: ...
    def engineSummary(self) -> EngineSummary: ...


class GradingView(RunView, Protocol):
    """The grader panel's view: the study list, the results, and file choosers."""

    def setStudies(self, studies: list[tuple[str, str]], selectedUID: str) -> None: ...
    def showResults(self, table: Any, impression: str) -> None: ...
    def askSaveFile(self, title: str, defaultName: str, fileFilter: str) -> str: ...
    def askFolder(self, title: str) -> str: ...


class GradingResult(Protocol):
    """One finished grading shown in the scene (LSSGraderLib.results.GradingInScene)."""

    @property
    def studyUID(self) -> str: ...
    @property
    def outDir(self) -> Path: ...
    @property
    def impressionText(self) -> str: ...
    @property
    def table(self) -> Any: ...
    @property
    def firstHeatmap(self) -> Any: ...
    @property
    def findingCount(self) -> int: ...
    @property
    def reliability(self) -> Any: ...


class GradingLogic(EngineLogic, Protocol):
    """What the grader panel asks of its logic (LSSGraderLogic)."""

    def databaseStudies(self) -> list[tuple[str, str]]: ...
    def inputFiles(self, studyUID: str, volumeNodes: list) -> list[str]: ...
    def process(self, files: list[str], outDir: str | None = None, modelFolder: str | None = None,
                heatmaps: str = "abnormal", device: str = "auto", progress: ProgressCallback | None = None,
                cancelRequested: CancelCheck | None = None) -> GradingResult | None: ...
    def jumpToRow(self, table: Any, row: int) -> None: ...
    def showGrades(self, grades: list[str]) -> int: ...
    def showHeatmap(self, volume: Any, visible: bool, opacity: float) -> None: ...
    def saveCorrections(self, studyUID: str, path: str) -> str: ...
    def exportOutputs(self, outDir: str, folder: str) -> list[str]: ...
    def saveScene(self, path: str) -> str: ...


class GraderParameters(Protocol):
    """The grader's parameter node (LSSGraderParameterNode): inputs, settings and the last run."""

    studyUID: str
    axialT2Volume: Any
    sagittalT1Volume: Any
    modelFolder: str
    heatmaps: str
    device: str
    lastStudyUID: str
    lastOutputFolder: str
    lastImpression: str
    resultsTable: Any
    heatmapVolume: Any

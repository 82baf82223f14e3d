"""Make the Slicer modules' Qt-free libraries (LSSGraderLib, LSSTrainingLib) importable in pytest, as Slicer
does by putting each module folder on sys.path; and plain-Python fakes of what the panels talk to."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

REPO_ROOT = Path(__file__).resolve().parents[1]
MODULE_FOLDERS = (REPO_ROOT / "LSSGrader", REPO_ROOT / "LSSTraining")

for _folder in MODULE_FOLDERS:
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))


def load_tool(name: str) -> ModuleType:
    """A developer script of tools/ (e.g. 'sync_requirements'), loaded as a module."""
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def play_events(fake, progress, cancel_requested) -> bool:
    """Send a fake logic's progress ``events``, pressing Cancel after event ``cancelAfter``; True if cancelled."""
    for index, event in enumerate(fake.events):
        progress(event)
        if fake.cancelAfter == index:
            fake.panel.onCancel()
        if cancel_requested():
            return True
    return False


@dataclass(frozen=True)
class Event:
    """A progress event shaped like lss.control.Progress."""

    stage: str
    step: int
    total: int
    loss: float | None = None
    message: str = ""


@dataclass
class RecordingView:
    """A view that records what the panel shows; answers file dialogs with ``answers``."""

    answers: list[str] = field(default_factory=list)
    controls: list = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    progress: list[tuple[int, int]] = field(default_factory=list)
    processed: int = 0
    engineStatus: str = ""
    studies: tuple = ((), "")
    results: list[tuple] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    metrics: list = field(default_factory=list)
    asked: list[str] = field(default_factory=list)

    def setControls(self, controls) -> None:
        self.controls.append(controls)

    def setStatus(self, text: str) -> None:
        self.statuses.append(text)

    def setProgress(self, step: int, total: int) -> None:
        self.progress.append((step, total))

    def processEvents(self) -> None:
        self.processed += 1

    def setEngineStatus(self, text: str) -> None:
        self.engineStatus = text

    def setStudies(self, studies, selectedUID: str) -> None:
        self.studies = (list(studies), selectedUID)

    def showResults(self, table, impression: str) -> None:
        self.results.append((table, impression))

    def askSaveFile(self, title: str, defaultName: str, fileFilter: str) -> str:
        self.asked.append(defaultName)
        return self.answers.pop(0) if self.answers else ""

    def askFolder(self, title: str) -> str:
        self.asked.append(title)
        return self.answers.pop(0) if self.answers else ""

    def appendLog(self, text: str) -> None:
        self.log.append(text)

    def showMetrics(self, table) -> None:
        self.metrics.append(table)

"""What the training panel needs from its logic, view and parameter node (typing.Protocols, for fakes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from LSSGraderLib.protocols import CancelCheck, EngineLogic, ProgressCallback, RunView


class TrainingView(RunView, Protocol):
    """The training panel's view: a log and the evaluation table."""

    def appendLog(self, text: str) -> None: ...
    def showMetrics(self, table: Any) -> None: ...


class TrainingResult(Protocol):
    """A finished training (lss.entry.train.TrainOutcome)."""

    summary: list[str]
    pool_studies: int
    heldout_studies: int
    out: Path


class TrainingLogic(EngineLogic, Protocol):
    """What the training panel asks of its logic (LSSTrainingLogic)."""

    def train(self, dataset: Path, datasetFormat: str, output: Path, preset: str = "demo",
              members: int | None = None, epochs: int | None = None, device: str = "auto", synthetic: bool = False,
              progress: ProgressCallback | None = None, cancelRequested: CancelCheck | None = None,
              holdoutFraction: float = 0.2, intensity: str = "slice_percentile", cropIntensity: str = "as_image",
              augment: bool = True) -> TrainingResult | None: ...
    def evaluate(self, reference: Path, predictions: Path, outDir: Path | None = None) -> Any: ...


class TrainingParameters(Protocol):
    """The training parameter node (LSSTrainingParameterNode)."""

    datasetDirectory: Path
    datasetFormat: str
    outputDirectory: Path
    preset: str
    members: int
    epochs: int
    device: str
    synthetic: bool
    intensity: str
    cropIntensity: str
    augment: bool
    referenceDirectory: Path
    predictionsDirectory: Path

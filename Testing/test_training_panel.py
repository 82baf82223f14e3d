"""The LSS Training panel's decisions (LSSTrainingLib.training_panel), driven with a fake logic and a fake view."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

import module_libraries  # first: puts the module folders on sys.path, as Slicer does
from LSSGraderLib.engine import EngineSummary
from LSSGraderLib.protocols import Controls
from LSSTrainingLib.training_panel import TrainingPanel, checkpointFolder, chosenFolder

Event = module_libraries.Event


@dataclass
class Parameters:
    """Stands in for LSSTrainingParameterNode (an empty path field reads as Path('.'))."""

    datasetDirectory: Path = Path("/data/studies")
    datasetFormat: str = "voc"
    outputDirectory: Path = Path("/models/new")
    preset: str = "fast"
    members: int = 0
    epochs: int = 3
    device: str = "cpu"
    synthetic: bool = True
    intensity: str = "series_robust"
    cropIntensity: str = "context_robust"
    augment: bool = False
    referenceDirectory: Path = Path(".")
    predictionsDirectory: Path = Path(".")


@dataclass
class FakeLogic:
    """Records the calls of TrainingLogic; ``train`` replays ``events`` and honours cancelling."""

    events: list = field(default_factory=lambda: [Event("detector axial", 1, 2, 0.5, "epoch 1 loss 0.5"),
                                                  Event("grader", 2, 2)])
    cancelAfter: int | None = None
    dependenciesInstalled: bool = True
    calls: list = field(default_factory=list)

    def ensureDependencies(self, askConfirmation: bool = True) -> bool:
        return self.dependenciesInstalled

    def engineSummary(self) -> EngineSummary:
        return EngineSummary("9.9", "/engine", True, [])

    def train(self, dataset, datasetFormat, output, preset="demo", members=None, epochs=None, device="auto",
              synthetic=False, progress=None, cancelRequested=None, holdoutFraction=0.2, intensity="slice_percentile",
              cropIntensity="as_image", augment=True):
        self.calls.append(("train", dataset, datasetFormat, output, preset, members, epochs, device, synthetic,
                           intensity, cropIntensity, augment))
        if module_libraries.play_events(self, progress, cancelRequested):
            return None
        return SimpleNamespace(summary=["AC1 central canal 0.91"], pool_studies=8, heldout_studies=2, out=output)

    def evaluate(self, reference, predictions, outDir=None):
        self.calls.append(("evaluate", reference, predictions))
        return "metrics-table"


@pytest.fixture
def setup():
    logic, view = FakeLogic(), module_libraries.RecordingView()
    panel = TrainingPanel(logic, view)
    logic.panel = panel
    parameters = Parameters()
    panel.setParameters(parameters)
    return panel, logic, view, parameters


def test_train_passes_the_settings_and_logs_the_held_out_summary(setup) -> None:
    panel, logic, view, _parameters = setup
    panel.onTrain()
    assert logic.calls == [("train", Path("/data/studies"), "voc", Path("/models/new"), "fast", None, 3, "cpu", True,
                            "series_robust", "context_robust", False)]
    assert "Intensity series_robust, grading crops context_robust, augmentation off." in view.log
    assert "detector axial: epoch 1 loss 0.5" in view.log
    assert view.log[-1] == "AC1 central canal 0.91"
    assert view.statuses[-1] == f"Bundle written to {Path('/models/new')} (8 training, 2 held-out studies)."
    assert Controls(start=False, cancel=True, progress=True) in view.controls
    assert view.controls[-1] == Controls(start=True, cancel=False, progress=False)


@pytest.mark.parametrize(("intensity", "crop", "augment"), [("slice_percentile", "as_image", True),
                                                             ("series_robust", "as_image", True),
                                                             ("slice_percentile", "context_robust", False)])
def test_the_intensity_and_augmentation_choices_reach_the_logic(setup, intensity: str, crop: str,
                                                                augment: bool) -> None:
    panel, logic, view, parameters = setup
    parameters.intensity, parameters.cropIntensity, parameters.augment = intensity, crop, augment
    panel.onTrain()
    assert logic.calls[-1][-3:] == (intensity, crop, augment)
    assert f"Intensity {intensity}, grading crops {crop}, augmentation {'on' if augment else 'off'}." in view.log


def test_cancelled_training_says_where_the_checkpoints_are(setup) -> None:
    panel, logic, view, _parameters = setup
    logic.cancelAfter = 0
    panel.onTrain()
    assert "Cancelling after the current step; the last checkpoint is kept." in view.statuses
    assert view.statuses[-1] == f"Cancelled; checkpoints kept in {Path('/models/new.checkpoints')}."
    assert not panel.running


@pytest.mark.parametrize("field_name", ["datasetDirectory", "outputDirectory"])
def test_training_needs_a_dataset_and_an_output_folder(setup, field_name: str) -> None:
    panel, logic, _view, parameters = setup
    setattr(parameters, field_name, Path("."))
    with pytest.raises(ValueError, match="Choose the folder"):
        panel.onTrain()
    assert not logic.calls


def test_declined_dependencies_train_nothing(setup) -> None:
    panel, logic, view, _parameters = setup
    logic.dependenciesInstalled = False
    panel.onTrain()
    assert not logic.calls and "not installed" in view.statuses[-1]


def test_evaluate_needs_both_folders_then_shows_the_metrics(setup) -> None:
    panel, logic, view, parameters = setup
    with pytest.raises(ValueError, match="reference and the predicted"):
        panel.onEvaluate()
    parameters.referenceDirectory, parameters.predictionsDirectory = Path("/ref"), Path("/pred")
    panel.onEvaluate()
    assert logic.calls == [("evaluate", Path("/ref"), Path("/pred"))]
    assert view.metrics == ["metrics-table"]


def test_check_engine_is_shared_with_the_grader(setup) -> None:
    panel, _logic, view, _parameters = setup
    panel.onCheckEngine()
    assert view.engineStatus == "Engine 9.9 at /engine\nPyTorch: installed\nMissing: none"


def test_folder_helpers() -> None:
    assert checkpointFolder(Path("/models/new")) == Path("/models/new.checkpoints")
    assert checkpointFolder("/models/new/") == Path("/models/new.checkpoints")
    assert chosenFolder(Path(".")) is None and chosenFolder("") is None and chosenFolder(None) is None
    assert chosenFolder("/data") == Path("/data")

"""The LSS Training panel's decisions, free of Qt: Train with progress, log and Cancel; Evaluate.

The Qt widget (LSSTrainingWidget) forwards its signals here and implements ``TrainingView``; the logic is
injected as a ``TrainingLogic``, so tests drive the panel with fakes.
"""

from __future__ import annotations

from pathlib import Path

from LSSGraderLib.i18n import tr as _
from LSSGraderLib.protocols import ProgressEvent
from LSSGraderLib.run_panel import RunPanel
from LSSTrainingLib.protocols import TrainingLogic, TrainingParameters, TrainingView


def checkpointFolder(output: Path | str) -> Path:
    """Where a training into ``output`` keeps its checkpoints (a cancelled run resumes from them)."""
    return Path(f"{Path(output)}.checkpoints")


def chosenFolder(path: Path | str | None) -> Path | None:
    """A folder the user chose, or None for an empty path field (which the parameter node reads as '.')."""
    if path is None or str(path).strip() in ("", "."):
        return None
    return Path(path)


class TrainingPanel(RunPanel):
    """Dataset and settings, Train with progress, log and Cancel, and Evaluate."""

    def __init__(self, logic: TrainingLogic, view: TrainingView) -> None:
        super().__init__(logic, view)
        self.logic: TrainingLogic = logic
        self.view: TrainingView = view
        self.parameters: TrainingParameters | None = None

    def setParameters(self, parameters: TrainingParameters | None) -> None:
        """Follow a (new) parameter node."""
        self.parameters = parameters
        self.refreshControls()

    def cancellingText(self) -> str:
        """What the status says once Cancel was clicked."""
        return _("Cancelling after the current step; the last checkpoint is kept.")

    def onProgress(self, event: ProgressEvent) -> None:
        """Show a progress event; its message, if any, goes to the log."""
        if event.message:
            self.view.appendLog(f"{event.stage}: {event.message}")
        super().onProgress(event)

    def onTrain(self) -> None:
        """Train a model bundle from the chosen dataset; log the held-out summary."""
        parameters = self.parameters
        if self.running or parameters is None:
            return
        dataset, output = chosenFolder(parameters.datasetDirectory), chosenFolder(parameters.outputDirectory)
        if dataset is None:
            raise ValueError(_("Choose the folder of annotated studies."))
        if output is None:
            raise ValueError(_("Choose the folder to write the model bundle to."))
        if not self.ensureDependencies():
            return
        self.view.appendLog(_("Training on {dataset} ({format}, preset {preset}).").format(
            dataset=dataset, format=parameters.datasetFormat, preset=parameters.preset))
        self.view.appendLog(_("Intensity {intensity}, grading crops {crop}, augmentation {augment}.").format(
            intensity=parameters.intensity, crop=parameters.cropIntensity,
            augment=_("on") if parameters.augment else _("off")))
        outcome = self.runWork(lambda: self.logic.train(
            dataset, parameters.datasetFormat, output, parameters.preset, parameters.members or None,
            parameters.epochs or None, parameters.device, parameters.synthetic, progress=self.onProgress,
            cancelRequested=self.cancelRequested, intensity=parameters.intensity,
            cropIntensity=parameters.cropIntensity, augment=parameters.augment))
        if outcome is None:
            self.view.setStatus(_("Cancelled; checkpoints kept in {folder}.").format(folder=checkpointFolder(output)))
            return
        self.view.appendLog("\n".join(outcome.summary))
        self.view.setStatus(_("Bundle written to {folder} ({pool} training, {heldout} held-out studies).").format(
            folder=outcome.out, pool=outcome.pool_studies, heldout=outcome.heldout_studies))

    def onEvaluate(self) -> None:
        """Compare predicted with reference findings; show the metrics table (plots go to the scene)."""
        parameters = self.parameters
        if self.running or parameters is None:
            return
        reference, predictions = chosenFolder(parameters.referenceDirectory), chosenFolder(
            parameters.predictionsDirectory)
        if reference is None or predictions is None:
            raise ValueError(_("Choose the reference and the predicted findings folders."))
        self.view.showMetrics(self.logic.evaluate(reference, predictions))
        self.view.setStatus(_("Evaluation tables and plots added to the scene."))

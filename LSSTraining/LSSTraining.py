"""LSS Training: train and evaluate lumbar spinal stenosis models with the `lss` engine, inside 3D Slicer.

This file holds only the Slicer side: module description, parameter node, a thin Qt widget, a thin logic and
the self-test. The widget's decisions live in LSSTrainingLib.training_panel (Qt-free, tested with fakes); the
logic calls the engine's one train entry (lss.entry.train.run_training). The engine package `lss` ships with
the LSS Grader module; torch, torchvision and captum are imported lazily, inside the engine.
"""

import pathlib
import tempfile
from typing import Annotated

import slicer
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, Minimum, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

from LSSTrainingLib.shared import (
    CROP_INTENSITY_CHOICES,
    DEVICE_CHOICES,
    FORMAT_CHOICES,
    INTENSITY_CHOICES,
    PRESET_CHOICES,
    EngineLogicMixin,
    RunViewMixin,
)
from LSSTrainingLib.training_panel import TrainingPanel, checkpointFolder

#
# LSSTraining
#


class LSSTraining(ScriptedLoadableModule):
    """Module description shown in Slicer's module panel and help."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("LSS Training")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = ["LSSGrader"]
        self.parent.contributors = ["LSS authors"]
        self.parent.helpText = _(
            "Trains, ensembles and evaluates the lumbar spinal stenosis detection and grading models used by"
            " LSS Grader, from annotated MRI studies. <b>Research use only, not for clinical use.</b>"
            ' See the <a href="https://github.com/lss-project/SlicerLSS">project page</a>.'
        )
        self.parent.acknowledgementText = _(
            "The grading task follows Hallinan JTPD, Zhu L, Yang K, et al. Deep learning model for automated"
            " detection and classification of central canal, lateral recess, and neural foraminal stenosis"
            " at lumbar spine MRI. Radiology 2021;300(1):130-138."
        )


#
# LSSTrainingParameterNode
#


@parameterNodeWrapper
class LSSTrainingParameterNode:
    """Training settings, saved with the scene.

    datasetDirectory - folder of annotated studies to train on.
    datasetFormat - native, voc, rsna or markups.
    outputDirectory - folder the trained model bundle is written to.
    preset - demo, fast or paper.
    members - grader ensemble members (0: the preset's).
    epochs - grader epochs (0: the preset's).
    device - auto, cpu or cuda.
    synthetic - the studies are synthetic phantoms (the bundle says so).
    intensity - image intensity normalisation: slice_percentile or series_robust (recorded in the bundle).
    cropIntensity - grading-crop normalisation: as_image or context_robust (recorded in the bundle).
    augment - augment the training images (random spatial, resolution and intensity changes; no flips).
    referenceDirectory - evaluation: reference findings (e.g. phantom ground truth).
    predictionsDirectory - evaluation: predicted findings (lss grade outputs).
    """

    datasetDirectory: pathlib.Path
    datasetFormat: Annotated[str, Choice(FORMAT_CHOICES)] = "native"
    outputDirectory: pathlib.Path
    preset: Annotated[str, Choice(PRESET_CHOICES)] = "demo"
    members: Annotated[int, Minimum(0)] = 0
    epochs: Annotated[int, Minimum(0)] = 0
    device: Annotated[str, Choice(DEVICE_CHOICES)] = "auto"
    synthetic: bool = False
    intensity: Annotated[str, Choice(INTENSITY_CHOICES)] = "slice_percentile"
    cropIntensity: Annotated[str, Choice(CROP_INTENSITY_CHOICES)] = "as_image"
    augment: bool = True
    referenceDirectory: pathlib.Path
    predictionsDirectory: pathlib.Path


#
# LSSTrainingWidget
#


class LSSTrainingWidget(ScriptedLoadableModuleWidget, VTKObservationMixin, RunViewMixin):
    """Qt skin of the training panel: connects the .ui to TrainingPanel and shows what it decides."""

    def __init__(self, parent=None, logic=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = logic
        self.panel = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/LSSTraining.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = self.logic or LSSTrainingLogic()
        self.panel = TrainingPanel(self.logic, self)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.connectAction(self.ui.trainButton, _("Training failed."), self.panel.onTrain, waitCursor=False)
        self.connectAction(self.ui.cancelButton, _("Cancelling failed."), self.panel.onCancel, waitCursor=False)
        self.connectAction(self.ui.evaluateButton, _("Evaluation failed."), self.panel.onEvaluate)
        self.connectAction(self.ui.checkEngineButton, _("Failed to load the LSS engine."), self.panel.onCheckEngine)
        self.initializeParameterNode()

    def connectAction(self, button, failure: str, action, waitCursor: bool = True) -> None:
        """Run ``action`` when ``button`` is clicked, showing any error with ``failure`` as the headline."""

        def run(*_args) -> None:
            with slicer.util.tryWithErrorDisplay(failure, waitCursor=waitCursor):
                action()

        button.connect("clicked(bool)", run)

    def cleanup(self) -> None:
        self.removeObservers()

    def enter(self) -> None:
        self.initializeParameterNode()

    def exit(self) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None

    def onSceneStartClose(self, caller, event) -> None:
        self.setParameterNode(None)

    def onSceneEndClose(self, caller, event) -> None:
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self) -> None:
        self.setParameterNode(self.logic.getParameterNode())

    def setParameterNode(self, inputParameterNode) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
        self.panel.setParameters(self._parameterNode)

    # --- TrainingView -----------------------------------------------------------------------------------------

    def setControls(self, controls) -> None:
        self.ui.trainButton.enabled = controls.start
        self.ui.evaluateButton.enabled = controls.start
        self.ui.cancelButton.enabled = controls.cancel
        self.ui.progressBar.visible = controls.progress

    def appendLog(self, text: str) -> None:
        self.ui.logTextEdit.appendPlainText(text)

    def showMetrics(self, table) -> None:
        self.ui.metricsTableView.setMRMLTableNode(table)


#
# LSSTrainingLogic
#


class LSSTrainingLogic(ScriptedLoadableModuleLogic, EngineLogicMixin):
    """Thin bridge to the `lss` engine's train entry; usable without the widget (e.g. from the Python console)."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self) -> LSSTrainingParameterNode:
        return LSSTrainingParameterNode(super().getParameterNode())

    def train(self, dataset, datasetFormat: str, output, preset: str = "demo", members: int | None = None,
              epochs: int | None = None, device: str = "auto", synthetic: bool = False, progress=None,
              cancelRequested=None, holdoutFraction: float = 0.2, intensity: str = "slice_percentile",
              cropIntensity: str = "as_image", augment: bool = True):
        """Train a model bundle from ``dataset`` into ``output`` through the engine's train entry.

        Returns the engine's TrainOutcome, or None when cancelled. Checkpoints go to ``output`` + '.checkpoints',
        so a cancelled run resumes when started again. ``intensity`` (INTENSITY_CHOICES) and ``cropIntensity``
        (CROP_INTENSITY_CHOICES) choose the intensity normalisation the bundle records; ``augment`` False trains
        without augmentation.
        """
        self.importEngine()
        from lss.control import RunCancelled, RunControl
        from lss.entry.train import TrainRequest, run_training

        request = TrainRequest(
            data=pathlib.Path(dataset), out=pathlib.Path(output), format=datasetFormat, preset=preset,
            members=members, epochs=epochs, holdout_fraction=holdoutFraction, device=device,
            work_dir=checkpointFolder(output), synthetic=synthetic, intensity=intensity,
            crop_intensity=cropIntensity, augment=augment,
        )
        control = RunControl(progress=progress, cancel_requested=cancelRequested or (lambda: False))
        try:
            return run_training(request, control)
        except RunCancelled:
            return None

    def evaluate(self, reference, predictions, outDir=None):
        """Evaluate predictions against a reference; show the agreement and confusion tables and the plots."""
        self.importEngine()
        from lss.evaluation.evaluate import evaluate
        from lss.evaluation.report import write_report
        from lss.scene.metrics import add_confusion_tables, add_metrics_table

        metrics = evaluate(pathlib.Path(reference), pathlib.Path(predictions))
        written = write_report(metrics, pathlib.Path(outDir or tempfile.mkdtemp(prefix="lss-evaluation-")))
        table = add_metrics_table(slicer.mrmlScene, metrics)
        add_confusion_tables(slicer.mrmlScene, metrics)
        for path in written.values():
            if str(path).endswith(".png"):
                slicer.util.loadVolume(str(path), {"singleFile": True, "show": False})
        return table


#
# LSSTrainingTest
#


class LSSTrainingTest(ScriptedLoadableModuleTest):
    """Self-test, run from Slicer's Reload & Test button or by ctest (slicer_add_python_unittest)."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_EngineImports()
        self.setUp()
        self.test_TrainOnTinyPhantomDataset()

    def test_EngineImports(self):
        self.delayDisplay("Importing the LSS engine")
        logic = LSSTrainingLogic()
        lss = logic.importEngine()
        self.assertIsInstance(lss.__version__, str)
        self.assertEqual(logic.engineSummary().version, lss.__version__)
        self.assertIsInstance(logic.getParameterNode(), LSSTrainingParameterNode)
        self.delayDisplay("Test passed")

    def test_TrainOnTinyPhantomDataset(self):
        """Four phantom studies, the fast preset cut to one epoch and two members: a loadable bundle."""
        logic = LSSTrainingLogic()
        if not logic.ensureDependencies(askConfirmation=False):
            self.fail("the engine's dependencies could not be installed")
        logic.importEngine()
        from lss.bundle.store import load_bundle
        from lss.phantom.generate import PhantomOptions, generate_batch

        root = pathlib.Path(tempfile.mkdtemp(prefix="lss-training-selftest-"))
        self.delayDisplay("Generating four phantom studies")
        generate_batch(root / "data", 4, 4242, PhantomOptions(enriched=True), workers=1)
        events = []
        outcome = logic.train(root / "data", "native", root / "bundle", "fast", members=2, epochs=1,
                              device="cpu", synthetic=True, progress=events.append, holdoutFraction=0.25)
        self.assertIsNotNone(outcome)
        self.assertTrue(events)
        self.assertEqual(outcome.pool_studies + outcome.heldout_studies, 4)
        bundle = load_bundle(outcome.out)
        self.assertEqual(len(bundle.graders), 3)
        self.delayDisplay("Test passed")

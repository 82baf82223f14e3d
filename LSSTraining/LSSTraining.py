"""LSS Training: train and evaluate lumbar spinal stenosis models with the `lss` engine, inside 3D Slicer.

This file holds only the Slicer side (module description, parameter node, widget, thin logic, self-test).
The engine package `lss` is shipped with the LSS Grader module; torch, torchvision and captum are imported
lazily, inside the engine, never at the top of this module.
"""

import importlib.util
import os
import pathlib
import sys
import tempfile

import slicer
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

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
    referenceDirectory - evaluation: reference findings (e.g. phantom ground truth).
    predictionsDirectory - evaluation: predicted findings (lss grade outputs).
    """

    datasetDirectory: pathlib.Path
    datasetFormat: str = "native"
    outputDirectory: pathlib.Path
    preset: str = "demo"
    members: int = 0
    epochs: int = 0
    device: str = "auto"
    referenceDirectory: pathlib.Path
    predictionsDirectory: pathlib.Path


#
# LSSTrainingWidget
#


class LSSTrainingWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """Module panel: dataset and settings, Train with progress, log and Cancel, and Evaluate."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._cancelRequested = False

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/LSSTraining.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = LSSTrainingLogic()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.trainButton.connect("clicked(bool)", self.onTrainButton)
        self.ui.cancelButton.connect("clicked(bool)", self.onCancelButton)
        self.ui.evaluateButton.connect("clicked(bool)", self.onEvaluateButton)
        self.ui.checkEngineButton.connect("clicked(bool)", self.onCheckEngineButton)
        self.initializeParameterNode()
        self.setRunning(False)

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

    def setRunning(self, running: bool) -> None:
        self.ui.trainButton.enabled = not running
        self.ui.evaluateButton.enabled = not running
        self.ui.cancelButton.enabled = running
        self.ui.progressBar.visible = running

    def onCancelButton(self) -> None:
        self._cancelRequested = True
        self.ui.logTextEdit.appendPlainText(_("Cancelling after the current step; the last checkpoint is kept."))

    def onProgress(self, event) -> None:
        self.ui.progressBar.maximum = max(event.total, 1)
        self.ui.progressBar.value = event.step
        self.ui.statusLabel.text = event.stage
        if event.message:
            self.ui.logTextEdit.appendPlainText(f"{event.stage}: {event.message}")
        slicer.app.processEvents()  # keeps the UI responsive and lets Cancel be clicked

    def onTrainButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Training failed."), waitCursor=False):
            node = self._parameterNode
            self._cancelRequested = False
            self.setRunning(True)
            try:
                summary = self.logic.train(node.datasetDirectory, node.datasetFormat, node.outputDirectory,
                                           node.preset, node.members or None, node.epochs or None, node.device,
                                           progress=self.onProgress, cancelRequested=lambda: self._cancelRequested)
            finally:
                self.setRunning(False)
            if summary is None:
                self.ui.statusLabel.text = _("Cancelled; checkpoints kept in {folder}.").format(
                    folder=self.logic.workDirectory)
                return
            self.ui.logTextEdit.appendPlainText("\n".join(summary))
            self.ui.statusLabel.text = _("Bundle written to {folder}.").format(folder=node.outputDirectory)

    def onEvaluateButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Evaluation failed."), waitCursor=True):
            node = self._parameterNode
            table = self.logic.evaluate(node.referenceDirectory, node.predictionsDirectory)
            self.ui.metricsTableView.setMRMLTableNode(table)

    def onCheckEngineButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to load the LSS engine."), waitCursor=True):
            summary = self.logic.engineSummary()
            torchText = _("installed") if summary["torchInstalled"] else _("not installed (use the PyTorch extension)")
            self.ui.engineStatusLabel.text = _("Engine {version} at {location}\nPyTorch: {torch}").format(
                version=summary["version"], location=summary["location"], torch=torchText
            )


#
# LSSTrainingLogic
#


class LSSTrainingLogic(ScriptedLoadableModuleLogic):
    """Thin bridge to the `lss` engine; usable without the widget (e.g. from the Python console)."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)
        self.workDirectory = None

    def getParameterNode(self) -> LSSTrainingParameterNode:
        return LSSTrainingParameterNode(super().getParameterNode())

    @staticmethod
    def addEngineToPath() -> str:
        """Put the folder holding the `lss` package on sys.path and return it.

        Installed, every scripted module of the extension shares one folder, so `lss` sits next to this file;
        in a source checkout it sits in the sibling LSSGrader folder.
        """
        here = pathlib.Path(__file__).resolve().parent
        for candidate in (here, here.parent / "LSSGrader"):
            if (candidate / "lss" / "__init__.py").is_file():
                engineParent = str(candidate)
                if engineParent not in sys.path:
                    sys.path.insert(0, engineParent)
                return engineParent
        raise RuntimeError(_("The LSS engine (lss package) was not found next to {path}.").format(path=here))

    def importEngine(self):
        """Return the `lss` engine package."""
        self.addEngineToPath()
        import lss

        return lss

    def engineSummary(self) -> dict:
        """Version and location of the engine, and whether torch is installed (without importing torch)."""
        lss = self.importEngine()
        return {
            "version": lss.__version__,
            "location": os.path.dirname(os.path.abspath(lss.__file__)),
            "torchInstalled": importlib.util.find_spec("torch") is not None,
        }

    def train(self, dataset, datasetFormat: str, output, preset: str = "demo", members=None, epochs=None,
              device: str = "auto", progress=None, cancelRequested=None, holdoutFraction: float = 0.2):
        """Import ``dataset``, train a bundle into ``output``; the held-out summary lines, or None if cancelled.

        Checkpoints go to a work folder beside the output, so a cancelled run resumes when started again.
        """
        self.addEngineToPath()
        from lss.training.control import TrainingCancelled, TrainingControl
        from lss.training.importers import import_studies
        from lss.training.presets import preset as named_preset
        from lss.training.run import TrainingData, hold_out, train_bundle

        if not dataset or not pathlib.Path(dataset).is_dir():
            raise ValueError(_("Choose the folder of annotated studies."))
        if not output:
            raise ValueError(_("Choose the folder to write the model bundle to."))
        studies, report = import_studies(pathlib.Path(dataset), datasetFormat)
        if not studies:
            raise ValueError(_("No usable annotated studies in {folder}: {summary}").format(
                folder=dataset, summary=report.summary()))
        plan = named_preset(preset, members, None, epochs)
        pool, heldout = hold_out(studies, holdoutFraction, 0)
        self.workDirectory = pathlib.Path(str(output) + ".checkpoints")
        control = TrainingControl(progress=progress, cancel_requested=cancelRequested or (lambda: False))
        try:
            manifest = train_bundle(TrainingData(pool, heldout, [report]), plan, pathlib.Path(output), device, 0,
                                    control, self.workDirectory)
        except TrainingCancelled:
            return None
        return list(manifest.get("metrics", {}).get("summary", []))

    def evaluate(self, reference, predictions, outDir=None):
        """Evaluate predictions against a reference; show the agreement and confusion tables and the plots."""
        self.addEngineToPath()
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
        self.assertEqual(logic.engineSummary()["version"], lss.__version__)
        self.assertIsInstance(logic.getParameterNode(), LSSTrainingParameterNode)
        self.delayDisplay("Test passed")

    def test_TrainOnTinyPhantomDataset(self):
        """Four phantom studies, the fast preset cut to one epoch and two members: a loadable bundle."""
        logic = LSSTrainingLogic()
        logic.addEngineToPath()
        from lss.bundle.store import load_bundle
        from lss.phantom.generate import PhantomOptions, generate_batch

        root = pathlib.Path(tempfile.mkdtemp(prefix="lss-training-selftest-"))
        self.delayDisplay("Generating four phantom studies")
        generate_batch(root / "data", 4, 4242, PhantomOptions(enriched=True), workers=1)
        events = []
        summary = logic.train(root / "data", "native", root / "bundle", "fast", members=2, epochs=1,
                              device="cpu", progress=events.append, holdoutFraction=0.25)
        self.assertIsNotNone(summary)
        self.assertTrue(events)
        bundle = load_bundle(root / "bundle")
        self.assertEqual(len(bundle.graders), 3)
        self.delayDisplay("Test passed")

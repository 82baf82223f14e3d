"""LSS Grader: detection and grading of lumbar spinal stenosis on MRI, inside 3D Slicer.

This file holds only the Slicer side (module description, parameter node, widget, thin logic, self-test).
All computation lives in the bundled `lss` engine package next to this file, which runs without Qt: the
pipeline (`lss.pipeline`), the outputs (`lss.report`) and the MRML adaptor (`lss.scene`). torch, torchvision
and captum are imported lazily, inside the engine, never at the top of this module.
"""

import importlib.util
import os
import sys
import tempfile

import qt
import slicer
from slicer import vtkMRMLScalarVolumeNode
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

# import name -> pip requirement of what the engine needs besides torch (installed through PyTorchUtils)
ENGINE_PACKAGES = {
    "torchvision": "torchvision",
    "captum": "captum",
    "pydicom": "pydicom",
    "safetensors": "safetensors",
    "monai": "monai",
    "tqdm": "tqdm",
    "scipy": "scipy",
    "SimpleITK": "SimpleITK",
    "PIL": "pillow",
}
GRADES = ("normal", "mild", "moderate", "severe")

#
# LSSGrader
#


class LSSGrader(ScriptedLoadableModule):
    """Module description shown in Slicer's module panel and help."""

    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("LSS Grader")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = []
        self.parent.contributors = ["LSS authors"]
        self.parent.helpText = _(
            "Detects and grades lumbar spinal stenosis on lumbar spine MRI: central canal and lateral"
            " recesses on axial T2, neural foramina on sagittal T1 (normal, mild, moderate, severe)."
            " Pick a study, click Detect &amp; Grade; boxes are coloured by grade (normal white, mild blue,"
            " moderate orange, severe red). <b>Research use only, not for clinical use.</b>"
            ' See the <a href="https://github.com/lss-project/SlicerLSS">project page</a>.'
        )
        self.parent.acknowledgementText = _(
            "The grading task follows Hallinan JTPD, Zhu L, Yang K, et al. Deep learning model for automated"
            " detection and classification of central canal, lateral recess, and neural foraminal stenosis"
            " at lumbar spine MRI. Radiology 2021;300(1):130-138."
        )


#
# LSSGraderParameterNode
#


@parameterNodeWrapper
class LSSGraderParameterNode:
    """Inputs of the grader, saved with the scene.

    axialT2Volume - an already loaded axial T2 series (used when no DICOM study is chosen).
    sagittalT1Volume - an already loaded sagittal T1 series (idem).
    modelFolder - the model bundle folder; empty means the bundled demo model.
    heatmaps - which findings get Integrated Gradients heatmaps: abnormal, all or none.
    device - auto, cpu or cuda.
    """

    axialT2Volume: vtkMRMLScalarVolumeNode
    sagittalT1Volume: vtkMRMLScalarVolumeNode
    modelFolder: str = ""
    heatmaps: str = "abnormal"
    device: str = "auto"


#
# LSSGraderWidget
#


class LSSGraderWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """Module panel: inputs, Detect & Grade with progress and Cancel, and the results panel."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._cancelRequested = False
        self._run = None  # (study UID, output folder, scene results) of the last run

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/LSSGrader.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = LSSGraderLogic()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.refreshStudiesButton.connect("clicked(bool)", self.onRefreshStudies)
        self.ui.applyButton.connect("clicked(bool)", self.onApplyButton)
        self.ui.cancelButton.connect("clicked(bool)", self.onCancelButton)
        self.ui.checkEngineButton.connect("clicked(bool)", self.onCheckEngineButton)
        self.ui.resultsTableView.connect("selectionChanged()", self.onTableSelection)
        for checkBox in self.gradeCheckBoxes():
            checkBox.connect("toggled(bool)", self.onGradeFilter)
        self.ui.heatmapCheckBox.connect("toggled(bool)", self.onHeatmapDisplay)
        self.ui.heatmapOpacitySlider.connect("valueChanged(double)", self.onHeatmapDisplay)
        self.ui.saveCorrectionsButton.connect("clicked(bool)", self.onSaveCorrections)
        self.ui.exportButton.connect("clicked(bool)", self.onExport)
        self.ui.saveSceneButton.connect("clicked(bool)", self.onSaveScene)

        self.initializeParameterNode()
        self.onRefreshStudies()
        self.setRunning(False)

    def gradeCheckBoxes(self) -> list:
        return [self.ui.showNormalCheckBox, self.ui.showMildCheckBox, self.ui.showModerateCheckBox,
                self.ui.showSevereCheckBox]

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
        self._run = None
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

    # --- inputs ---------------------------------------------------------------------------------------------

    def onRefreshStudies(self) -> None:
        self.ui.studyComboBox.clear()
        self.ui.studyComboBox.addItem(_("(use the loaded volumes below)"), "")
        for studyUID, label in self.logic.databaseStudies():
            self.ui.studyComboBox.addItem(label, studyUID)

    def inputFiles(self) -> list:
        studyUID = self.ui.studyComboBox.currentData
        if studyUID:
            return self.logic.studyFiles(studyUID)
        volumes = [self._parameterNode.axialT2Volume, self._parameterNode.sagittalT1Volume]
        return self.logic.volumeFiles([volume for volume in volumes if volume is not None])

    # --- Detect & Grade -------------------------------------------------------------------------------------

    def setRunning(self, running: bool) -> None:
        self.ui.applyButton.enabled = not running
        self.ui.cancelButton.enabled = running
        self.ui.progressBar.visible = running

    def onCancelButton(self) -> None:
        self._cancelRequested = True
        self.ui.statusLabel.text = _("Cancelling…")

    def onProgress(self, event) -> None:
        self.ui.progressBar.maximum = max(event.total, 1)
        self.ui.progressBar.value = event.step
        self.ui.statusLabel.text = event.stage
        slicer.app.processEvents()  # keeps the UI responsive and lets Cancel be clicked

    def onApplyButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Detect & Grade failed."), waitCursor=True):
            if not self.logic.ensureDependencies(askConfirmation=True):
                return
            files = self.inputFiles()
            self._cancelRequested = False
            self.setRunning(True)
            try:
                outDir = tempfile.mkdtemp(prefix="lss-grade-")
                run = self.logic.process(files, outDir, self._parameterNode.modelFolder or None,
                                         self._parameterNode.heatmaps, self._parameterNode.device,
                                         progress=self.onProgress, cancelRequested=lambda: self._cancelRequested)
            finally:
                self.setRunning(False)
            if run is None:
                self.ui.statusLabel.text = _("Cancelled.")
                return
            self._run = run
            self.ui.resultsTableView.setMRMLTableNode(run["scene"].table)
            self.ui.impressionLabel.text = "\n".join(run["impression"])
            self.ui.statusLabel.text = _("Done: {count} findings.").format(count=len(run["result"].summary))

    # --- results ----------------------------------------------------------------------------------------------

    def onTableSelection(self) -> None:
        if not self._run:
            return
        rows = self.ui.resultsTableView.selectedMRMLTableRows()
        if rows:
            self.logic.jumpToRow(self._run["scene"].table, rows[0])

    def onGradeFilter(self) -> None:
        visible = [grade for grade, box in zip(GRADES, self.gradeCheckBoxes(), strict=True) if box.checked]
        self.logic.showGrades(visible)

    def onHeatmapDisplay(self) -> None:
        if self._run:
            self.logic.showHeatmap(self._run["scene"], self.ui.heatmapCheckBox.checked,
                                   self.ui.heatmapOpacitySlider.value)

    def onSaveCorrections(self) -> None:
        if not self._run:
            return
        path = qt.QFileDialog.getSaveFileName(None, _("Save corrections"), "annotation.json", "JSON (*.json)")
        if path:
            with slicer.util.tryWithErrorDisplay(_("Saving the corrections failed."), waitCursor=True):
                self.logic.saveCorrections(self._run["studyUID"], path)

    def onExport(self) -> None:
        if not self._run:
            return
        folder = qt.QFileDialog.getExistingDirectory(None, _("Export findings, tables and report to"))
        if folder:
            with slicer.util.tryWithErrorDisplay(_("Export failed."), waitCursor=True):
                self.logic.exportOutputs(self._run["outDir"], folder)

    def onSaveScene(self) -> None:
        path = qt.QFileDialog.getSaveFileName(None, _("Save scene"), "lss-read.mrb", "Medical Reality Bundle (*.mrb)")
        if path:
            with slicer.util.tryWithErrorDisplay(_("Saving the scene failed."), waitCursor=True):
                self.logic.saveScene(path)

    def onCheckEngineButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to load the LSS engine."), waitCursor=True):
            summary = self.logic.engineSummary()
            torchText = _("installed") if summary["torchInstalled"] else _("not installed (use the PyTorch extension)")
            missing = ", ".join(summary["missing"]) or _("none")
            self.ui.engineStatusLabel.text = _("Engine {version} at {location}\nPyTorch: {torch}\nMissing: {missing}"
                                               ).format(version=summary["version"], location=summary["location"],
                                                        torch=torchText, missing=missing)


#
# LSSGraderLogic
#


class LSSGraderLogic(ScriptedLoadableModuleLogic):
    """Thin bridge to the `lss` engine; usable without the widget (e.g. from the Python console)."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self) -> LSSGraderParameterNode:
        return LSSGraderParameterNode(super().getParameterNode())

    @staticmethod
    def addEngineToPath() -> str:
        """Put the folder holding the bundled `lss` package (this module's folder) on sys.path; return it."""
        engineParent = os.path.dirname(os.path.abspath(__file__))
        if engineParent not in sys.path:
            sys.path.insert(0, engineParent)
        return engineParent

    def importEngine(self):
        """Return the bundled `lss` package, imported from this module's folder."""
        self.addEngineToPath()
        import lss

        return lss

    @staticmethod
    def missingPackages() -> list:
        """pip requirements of engine packages that cannot be imported (torch is handled by PyTorchUtils)."""
        return [pip for name, pip in ENGINE_PACKAGES.items() if importlib.util.find_spec(name) is None]

    def engineSummary(self) -> dict:
        """Version and location of the engine, whether torch is installed, what is missing (imports no torch)."""
        lss = self.importEngine()
        return {
            "version": lss.__version__,
            "location": os.path.dirname(os.path.abspath(lss.__file__)),
            "torchInstalled": importlib.util.find_spec("torch") is not None,
            "missing": self.missingPackages(),
        }

    def ensureDependencies(self, askConfirmation: bool = True) -> bool:
        """torch through the PyTorch extension, the rest through pip after asking; False if the user declines."""
        if importlib.util.find_spec("torch") is None:
            import PyTorchUtils

            if PyTorchUtils.PyTorchUtilsLogic().installTorch(askConfirmation=askConfirmation) is None:
                return False
        missing = self.missingPackages()
        if missing:
            if askConfirmation and not slicer.util.confirmOkCancelDisplay(
                    _("LSS needs these Python packages: {packages}. Install them now?").format(
                        packages=", ".join(missing))):
                return False
            slicer.util.pip_install(missing)
        return True

    # --- inputs ---------------------------------------------------------------------------------------------

    @staticmethod
    def databaseStudies() -> list:
        """(StudyInstanceUID, label) of every study in Slicer's DICOM database."""
        database = slicer.dicomDatabase
        if database is None or not database.isOpen:
            return []
        studies = []
        for patient in database.patients():
            for study in database.studiesForPatient(patient):
                name = database.nameForPatient(patient) if hasattr(database, "nameForPatient") else patient
                studies.append((study, f"{name} — {study}"))
        return studies

    @staticmethod
    def studyFiles(studyUID: str) -> list:
        """Every file of every series of a study in Slicer's DICOM database."""
        database = slicer.dicomDatabase
        files = [path for series in database.seriesForStudy(studyUID) for path in database.filesForSeries(series)]
        if not files:
            raise ValueError(_("The DICOM database has no files for study {uid}.").format(uid=studyUID))
        return files

    @staticmethod
    def volumeFiles(volumeNodes: list) -> list:
        """The DICOM files of the whole series behind loaded volumes (from their DICOM.instanceUIDs)."""
        database = slicer.dicomDatabase
        files = []
        for node in volumeNodes:
            uids = (node.GetAttribute("DICOM.instanceUIDs") or "").split()
            if not uids:
                raise ValueError(_("{name} was not loaded from DICOM: choose a study from the DICOM database.")
                                 .format(name=node.GetName()))
            series = database.seriesForFile(database.fileForInstance(uids[0]))
            files += list(database.filesForSeries(series))
        if not files:
            raise ValueError(_("Choose a DICOM study, or load its axial T2 and sagittal T1 series first."))
        return files

    # --- Detect & Grade -------------------------------------------------------------------------------------

    def process(self, files: list, outDir: str, modelFolder=None, heatmaps: str = "abnormal", device: str = "auto",
                progress=None, cancelRequested=None):
        """Read the study from ``files``, grade it, write the outputs to ``outDir`` and show them in the scene.

        Returns a dict (studyUID, outDir, result, scene, impression), or None when cancelled.
        """
        self.addEngineToPath()
        from pathlib import Path

        from lss.bundle.demo import DEMO_BUNDLE
        from lss.bundle.store import load_bundle
        from lss.dicom.identify import assign_roles
        from lss.dicom.reader import read_study
        from lss.pipeline.result import GradingOptions
        from lss.pipeline.run import grade_study
        from lss.report.markdown import impression
        from lss.report.outputs import write_outputs
        from lss.scene.results import show_results
        from lss.training.control import TrainingCancelled, TrainingControl

        bundleFolder = Path(modelFolder) if modelFolder else self.demoBundle(DEMO_BUNDLE)
        bundle = load_bundle(bundleFolder)
        study = assign_roles(read_study([Path(f) for f in files]))
        options = GradingOptions(device=device, heatmaps=heatmaps)
        control = TrainingControl(progress=progress, cancel_requested=cancelRequested or (lambda: False))
        try:
            result = grade_study(study, bundle, options, control)
        except TrainingCancelled:
            return None
        write_outputs(result, Path(outDir), bundleFolder, bundle.description, options)
        sceneResults = show_results(slicer.mrmlScene, study, Path(outDir))
        return {"studyUID": study.study_uid, "outDir": outDir, "result": result, "scene": sceneResults,
                "impression": impression(result.summary)}

    def demoBundle(self, engineDefault):
        """The bundled demo model: in this module's Resources when installed, else the source tree's."""
        from pathlib import Path

        installed = Path(os.path.dirname(os.path.abspath(__file__))) / "Resources" / "Models" / "demo"
        return installed if installed.is_dir() else Path(engineDefault)

    # --- results ----------------------------------------------------------------------------------------------

    def jumpToRow(self, table, row: int) -> None:
        """Centre the slice views on the finding of a results-table row."""
        from lss.scene.navigation import jump_to_finding
        from lss.scene.table import row_roi_ids

        ids = row_roi_ids(table, row)
        node = slicer.mrmlScene.GetNodeByID(ids[0]) if ids else None
        if node is not None:
            jump_to_finding(slicer.mrmlScene, node)

    def showGrades(self, grades: list) -> int:
        """Show only the finding boxes of these grades (names as in GRADES)."""
        from lss.model.vocabulary import Grade
        from lss.scene.navigation import show_grades

        return show_grades(slicer.mrmlScene, {Grade[name.upper()] for name in grades})

    def showHeatmap(self, sceneResults, visible: bool, opacity: float) -> None:
        """Heatmap on or off as the foreground layer, at ``opacity``."""
        from lss.scene.layers import show_in_slice_views

        if sceneResults.heatmaps:
            show_in_slice_views(slicer.mrmlScene, None, sceneResults.heatmaps[0].GetID() if visible else "", opacity)

    def saveCorrections(self, studyUID: str, path: str) -> str:
        """Write the (edited) finding boxes and grades as the project's annotation JSON."""
        from pathlib import Path

        from lss.scene.results import save_corrections

        return str(save_corrections(slicer.mrmlScene, studyUID, Path(path)))

    def exportOutputs(self, outDir: str, folder: str) -> list:
        """Copy findings.json/.csv, rsna.csv and report.md of the last run into ``folder``."""
        import shutil

        copied = []
        for name in ("findings.json", "slice_findings.json", "findings.csv", "rsna.csv", "report.md", "run.json"):
            source = os.path.join(outDir, name)
            if os.path.exists(source):
                copied.append(shutil.copy(source, folder))
        return copied

    def saveScene(self, path: str) -> str:
        """Save the scene as a .mrb bundle."""
        if not slicer.util.saveScene(path):
            raise OSError(_("The scene could not be saved to {path}.").format(path=path))
        return path


#
# LSSGraderTest
#


class LSSGraderTest(ScriptedLoadableModuleTest):
    """Self-test, run from Slicer's Reload & Test button or by ctest (slicer_add_python_unittest)."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_EngineImports()
        self.setUp()
        self.test_DetectAndGradeOnPhantomStudy()

    def test_EngineImports(self):
        self.delayDisplay("Importing the bundled LSS engine")
        logic = LSSGraderLogic()
        lss = logic.importEngine()
        self.assertIsInstance(lss.__version__, str)
        self.assertEqual(logic.engineSummary()["version"], lss.__version__)
        self.assertIsInstance(logic.getParameterNode(), LSSGraderParameterNode)
        self.delayDisplay("Test passed")

    def test_DetectAndGradeOnPhantomStudy(self):
        """Generate a phantom study, import it into a temporary DICOM database, grade it, check the scene."""
        from DICOMLib import DICOMUtils

        logic = LSSGraderLogic()
        if not logic.ensureDependencies(askConfirmation=False):
            self.fail("the engine's dependencies could not be installed")
        logic.addEngineToPath()
        import numpy as np

        from lss.model.vocabulary import Grade
        from lss.phantom.generate import PhantomOptions, generate_study

        self.delayDisplay("Generating a phantom study")
        root = tempfile.mkdtemp(prefix="lss-selftest-")
        generate_study(root, 7, 0, PhantomOptions(label_maps=False))
        with DICOMUtils.TemporaryDICOMDatabase() as database:
            DICOMUtils.importDicom(os.path.join(root, "PHANTOM_0000"), database)
            studyUID = database.studiesForPatient(database.patients()[0])[0]
            files = logic.studyFiles(studyUID)
            self.delayDisplay("Detect & Grade")
            run = logic.process(files, tempfile.mkdtemp(prefix="lss-selftest-out-"))
        results = run["scene"]
        self.assertEqual(results.table.GetNumberOfRows(), 25)
        self.assertEqual(len(results.rois), sum(len(f.boxes) for f in run["result"].slice_findings().findings))
        for node in results.rois:
            grade = Grade[node.GetAttribute("LSS.grade").upper()]
            self.assertTrue(np.allclose(node.GetDisplayNode().GetSelectedColor(), grade.colour_rgb))
        from pathlib import Path

        from lss.dicom.reader import read_study
        from lss.scene.volumes import ijk_to_ras

        study = read_study([Path(f) for f in files])
        for volume in results.volumes:
            series = study.series_by_uid(volume.GetAttribute("LSS.series_uid"))
            geometry = series.stacks[int(volume.GetAttribute("LSS.stack_index"))].geometry
            self.assertTrue(np.allclose(ijk_to_ras(volume), geometry.index_to_ras_affine(), atol=1e-3))
        self.delayDisplay("Test passed")

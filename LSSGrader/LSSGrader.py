"""LSS Grader: detection and grading of lumbar spinal stenosis on MRI, inside 3D Slicer.

This file holds only the Slicer side: module description, parameter node, a thin Qt widget, a thin logic and
the self-test. The widget's decisions live in LSSGraderLib.grading_panel (Qt-free, tested with fakes); the
logic calls the engine's one grade entry (lss.entry.grade.run_grading) and shows its outcome with
lss.scene.results.show_results. torch, torchvision and captum are imported lazily, inside the engine.
"""

import os
import tempfile
from pathlib import Path
from typing import Annotated

import qt
import slicer
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLTableNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

from lss.entry.choices import DEVICE_CHOICES, HEATMAP_CHOICES
from LSSGraderLib import engine, inputs
from LSSGraderLib.engine_logic import EngineLogicMixin
from LSSGraderLib.grading_panel import GRADES, GradingPanel
from LSSGraderLib.protocols import Controls, GradingLogic, ProgressCallback
from LSSGraderLib.results import GradingInScene, exportOutputs
from LSSGraderLib.run_view import RunViewMixin

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
            " moderate orange, severe red); a faint box named '(unreliable)' is a finding not to trust."
            " <b>Research use only, not for clinical use.</b>"
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
    """Inputs, settings and the last run of the grader, saved with the scene.

    studyUID - the chosen DICOM database study; empty means the loaded volumes below.
    axialT2Volume, sagittalT1Volume - already loaded series (used when no study is chosen).
    modelFolder - the model bundle folder; empty means the bundled demo model.
    heatmaps - which findings get Integrated Gradients heatmaps: abnormal, all or none.
    device - auto, cpu or cuda.
    lastStudyUID, lastOutputFolder, lastImpression - the last run: its study, output files and impression.
    resultsTable, heatmapVolume - the last run's results table and first heatmap.
    """

    studyUID: str = ""
    axialT2Volume: vtkMRMLScalarVolumeNode
    sagittalT1Volume: vtkMRMLScalarVolumeNode
    modelFolder: str = ""
    heatmaps: Annotated[str, Choice(HEATMAP_CHOICES)] = "abnormal"
    device: Annotated[str, Choice(DEVICE_CHOICES)] = "auto"
    lastStudyUID: str = ""
    lastOutputFolder: str = ""
    lastImpression: str = ""
    resultsTable: vtkMRMLTableNode
    heatmapVolume: vtkMRMLScalarVolumeNode


#
# LSSGraderWidget
#


class LSSGraderWidget(ScriptedLoadableModuleWidget, VTKObservationMixin, RunViewMixin):
    """Qt skin of the grader panel: connects the .ui to GradingPanel and shows what it decides."""

    def __init__(self, parent=None, logic: GradingLogic | None = None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = logic
        self.panel = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(self.resourcePath("UI/LSSGrader.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = self.logic or LSSGraderLogic()
        self.panel = GradingPanel(self.logic, self)

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        panel, ui = self.panel, self.ui
        connect = self.connectAction
        connect(ui.refreshStudiesButton, "clicked(bool)", _("Reading the DICOM database failed."),
                panel.onRefreshStudies, waitCursor=True)
        connect(ui.studyComboBox, "currentIndexChanged(int)", _("Choosing the study failed."),
                lambda: panel.onStudyChosen(ui.studyComboBox.currentData or ""))
        connect(ui.applyButton, "clicked(bool)", _("Detect & Grade failed."), panel.onApply, waitCursor=True)
        connect(ui.cancelButton, "clicked(bool)", _("Cancelling failed."), panel.onCancel)
        connect(ui.checkEngineButton, "clicked(bool)", _("Failed to load the LSS engine."), panel.onCheckEngine,
                waitCursor=True)
        connect(ui.resultsTableView, "selectionChanged()", _("Jumping to the finding failed."),
                lambda: panel.onTableRowSelected(self.selectedRow()))
        for checkBox in self.gradeCheckBoxes().values():
            connect(checkBox, "toggled(bool)", _("Filtering the findings failed."),
                    lambda: panel.onGradeFilter(self.gradesShown()))
        heatmapControls = ((ui.heatmapCheckBox, "toggled(bool)"), (ui.heatmapOpacitySlider, "valueChanged(double)"))
        for control, signal in heatmapControls:
            connect(control, signal, _("Showing the heatmap failed."),
                    lambda: panel.onHeatmapDisplay(ui.heatmapCheckBox.checked, ui.heatmapOpacitySlider.value))
        connect(ui.saveCorrectionsButton, "clicked(bool)", _("Saving the corrections failed."),
                panel.onSaveCorrections, waitCursor=True)
        connect(ui.exportButton, "clicked(bool)", _("Export failed."), panel.onExport, waitCursor=True)
        connect(ui.saveSceneButton, "clicked(bool)", _("Saving the scene failed."), panel.onSaveScene, waitCursor=True)

        self.initializeParameterNode()

    def connectAction(self, control, signal: str, failure: str, action, waitCursor: bool = False) -> None:
        """Run ``action`` on ``signal``, showing any error to the user with ``failure`` as the headline."""

        def run(*_args) -> None:
            with slicer.util.tryWithErrorDisplay(failure, waitCursor=waitCursor):
                action()

        control.connect(signal, run)

    def gradeCheckBoxes(self) -> dict:
        return dict(zip(GRADES, (self.ui.showNormalCheckBox, self.ui.showMildCheckBox, self.ui.showModerateCheckBox,
                                 self.ui.showSevereCheckBox), strict=True))

    def gradesShown(self) -> dict:
        return {grade: checkBox.checked for grade, checkBox in self.gradeCheckBoxes().items()}

    def selectedRow(self) -> int | None:
        rows = self.ui.resultsTableView.selectedMRMLTableRows()
        return rows[0] if rows else None

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

    # --- GradingView ------------------------------------------------------------------------------------------

    def setControls(self, controls: Controls) -> None:
        self.ui.applyButton.enabled = controls.start
        self.ui.cancelButton.enabled = controls.cancel
        self.ui.progressBar.visible = controls.progress
        self.ui.saveCorrectionsButton.enabled = controls.results
        self.ui.exportButton.enabled = controls.results

    def setStudies(self, studies: list, selectedUID: str) -> None:
        combo = self.ui.studyComboBox
        wasBlocked = combo.blockSignals(True)
        combo.clear()
        for studyUID, label in studies:
            combo.addItem(label, studyUID)
        combo.currentIndex = max(combo.findData(selectedUID), 0)
        combo.blockSignals(wasBlocked)

    def showResults(self, table, impression: str) -> None:
        self.ui.resultsTableView.setMRMLTableNode(table)
        self.ui.impressionLabel.text = impression

    def askSaveFile(self, title: str, defaultName: str, fileFilter: str) -> str:
        return qt.QFileDialog.getSaveFileName(None, title, defaultName, fileFilter)

    def askFolder(self, title: str) -> str:
        return qt.QFileDialog.getExistingDirectory(None, title)


#
# LSSGraderLogic
#


class LSSGraderLogic(ScriptedLoadableModuleLogic, EngineLogicMixin):
    """Thin bridge to the `lss` engine's grade entry; usable without the widget (e.g. from the Python console)."""

    def __init__(self) -> None:
        ScriptedLoadableModuleLogic.__init__(self)

    def getParameterNode(self) -> LSSGraderParameterNode:
        return LSSGraderParameterNode(super().getParameterNode())

    # --- inputs ---------------------------------------------------------------------------------------------

    @staticmethod
    def databaseStudies() -> list:
        """(StudyInstanceUID, label) of every study in Slicer's DICOM database."""
        return inputs.databaseStudies(slicer.dicomDatabase)

    @staticmethod
    def inputFiles(studyUID: str, volumeNodes: list) -> list:
        """The files to grade: the chosen database study, else the whole series behind the loaded volumes."""
        return inputs.inputFiles(slicer.dicomDatabase, studyUID, volumeNodes)

    @staticmethod
    def studyFiles(studyUID: str) -> list:
        """Every file of every series of a study in Slicer's DICOM database."""
        return inputs.studyFiles(slicer.dicomDatabase, studyUID)

    # --- Detect & Grade -------------------------------------------------------------------------------------

    def process(self, files: list, outDir: str | None = None, modelFolder: str | None = None,
                heatmaps: str = "abnormal", device: str = "auto", progress: ProgressCallback | None = None,
                cancelRequested=None) -> GradingInScene | None:
        """Grade the study in ``files`` through the engine's grade entry and show the outcome in the scene.

        Outputs go to ``outDir`` (a new temporary folder when None); an empty ``modelFolder`` means the bundled
        demo model. Returns the outcome and its scene nodes, or None when cancelled.
        """
        engine.addEngineToPath()
        from lss.control import RunCancelled, RunControl
        from lss.entry.grade import GradeRequest, run_grading
        from lss.pipeline.result import GradingOptions
        from lss.scene.results import show_results

        request = GradeRequest(
            study=[Path(f) for f in files],
            out_dir=Path(outDir or tempfile.mkdtemp(prefix="lss-grade-")),
            model=Path(modelFolder) if modelFolder else engine.demoBundle(),
            options=GradingOptions(device=device, heatmaps=heatmaps),
        )
        control = RunControl(progress=progress, cancel_requested=cancelRequested or (lambda: False))
        try:
            outcome = run_grading(request, control)
        except RunCancelled:
            return None
        return GradingInScene(outcome, show_results(slicer.mrmlScene, outcome.study, outcome.run))

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

    def showHeatmap(self, volume, visible: bool, opacity: float) -> None:
        """A heatmap volume on or off as the foreground layer, at ``opacity``."""
        from lss.scene.layers import show_in_slice_views

        show_in_slice_views(slicer.mrmlScene, None, volume.GetID() if visible else "", opacity)

    def saveCorrections(self, studyUID: str, path: str) -> str:
        """Write the (edited) finding boxes and grades as the project's annotation JSON."""
        from lss.scene.results import save_corrections

        return str(save_corrections(slicer.mrmlScene, studyUID, Path(path)))

    @staticmethod
    def exportOutputs(outDir: str, folder: str) -> list:
        """Copy findings.json/.csv, rsna.csv, report.md and run.json of a run into ``folder``."""
        return exportOutputs(outDir, folder)

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
        self.assertEqual(logic.engineSummary().version, lss.__version__)
        self.assertIsInstance(logic.getParameterNode(), LSSGraderParameterNode)
        self.delayDisplay("Test passed")

    def test_DetectAndGradeOnPhantomStudy(self):
        """Generate a phantom study, import it into a temporary DICOM database, grade it, check the scene."""
        from DICOMLib import DICOMUtils

        logic = LSSGraderLogic()
        if not logic.ensureDependencies(askConfirmation=False):
            self.fail("the engine's dependencies could not be installed")
        logic.importEngine()
        import numpy as np

        from lss.model.vocabulary import Grade
        from lss.phantom.generate import PhantomOptions, generate_study
        from lss.scene.volumes import ijk_to_ras

        self.delayDisplay("Generating a phantom study")
        root = tempfile.mkdtemp(prefix="lss-selftest-")
        generate_study(root, 7, 0, PhantomOptions(label_maps=False))
        with DICOMUtils.TemporaryDICOMDatabase() as database:
            DICOMUtils.importDicom(os.path.join(root, "PHANTOM_0000"), database)
            studyUID = database.studiesForPatient(database.patients()[0])[0]
            files = logic.studyFiles(studyUID)
            self.delayDisplay("Detect & Grade")
            graded = logic.process(files, tempfile.mkdtemp(prefix="lss-selftest-out-"))
        self.assertIsInstance(graded, GradingInScene)
        results = graded.scene
        self.assertEqual(results.table.GetNumberOfRows(), 25)
        slices = graded.outcome.run.slice_findings
        self.assertEqual(len(results.rois), sum(len(finding.boxes) for finding in slices.findings))
        for node in results.rois:
            grade = Grade[node.GetAttribute("LSS.grade").upper()]
            self.assertTrue(np.allclose(node.GetDisplayNode().GetSelectedColor(), grade.colour_rgb))
        study = graded.outcome.study
        for volume in results.volumes:
            series = study.series_by_uid(volume.GetAttribute("LSS.series_uid"))
            geometry = series.stacks[int(volume.GetAttribute("LSS.stack_index"))].geometry
            self.assertTrue(np.allclose(ijk_to_ras(volume), geometry.index_to_ras_affine(), atol=1e-3))
        self.delayDisplay("Test passed")

"""LSS Grader: detection and grading of lumbar spinal stenosis on MRI, inside 3D Slicer.

This file holds only the Slicer side (module description, parameter node, widget, thin logic, self-test).
All computation lives in the bundled `lss` engine package next to this file, which runs without Qt.
torch, torchvision and captum are imported lazily, inside the engine, never at the top of this module.
"""

import importlib.util
import os
import sys

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
    """Inputs of the grader, saved with the scene.

    axialT2Volume - axial T2-weighted series (central canal, lateral recesses).
    sagittalT1Volume - sagittal T1-weighted series (neural foramina).
    """

    axialT2Volume: vtkMRMLScalarVolumeNode
    sagittalT1Volume: vtkMRMLScalarVolumeNode


#
# LSSGraderWidget
#


class LSSGraderWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    """Module panel: loads the .ui file and binds it to the parameter node."""

    def __init__(self, parent=None) -> None:
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self) -> None:
        ScriptedLoadableModuleWidget.setup(self)

        uiWidget = slicer.util.loadUI(self.resourcePath("UI/LSSGrader.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)

        self.logic = LSSGraderLogic()

        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)

        self.ui.checkEngineButton.connect("clicked(bool)", self.onCheckEngineButton)

        self.initializeParameterNode()

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

    def setParameterNode(self, inputParameterNode: LSSGraderParameterNode | None) -> None:
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)

    def onCheckEngineButton(self) -> None:
        with slicer.util.tryWithErrorDisplay(_("Failed to load the LSS engine."), waitCursor=True):
            summary = self.logic.engineSummary()
            torchText = _("installed") if summary["torchInstalled"] else _("not installed (use the PyTorch extension)")
            self.ui.engineStatusLabel.text = _("Engine {version} at {location}\nPyTorch: {torch}").format(
                version=summary["version"], location=summary["location"], torch=torchText
            )


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

    def engineSummary(self) -> dict:
        """Version and location of the engine, and whether torch is installed (without importing torch)."""
        lss = self.importEngine()
        return {
            "version": lss.__version__,
            "location": os.path.dirname(os.path.abspath(lss.__file__)),
            "torchInstalled": importlib.util.find_spec("torch") is not None,
        }


#
# LSSGraderTest
#


class LSSGraderTest(ScriptedLoadableModuleTest):
    """Self-test, run from Slicer's Reload & Test button or by ctest."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_EngineImports()

    def test_EngineImports(self):
        self.delayDisplay("Importing the bundled LSS engine")
        logic = LSSGraderLogic()
        lss = logic.importEngine()
        self.assertIsInstance(lss.__version__, str)
        self.assertEqual(logic.engineSummary()["version"], lss.__version__)
        self.assertIsInstance(logic.getParameterNode(), LSSGraderParameterNode)
        self.delayDisplay("Test passed")

"""The modules' real Logic classes on real MRML (slicer-core + trame-slicer): LSSGrader.py and LSSTraining.py are
loaded with small stand-ins for the Slicer-application-only parts (qt, i18n, the parameter-node wrapper, the
scripted-module base classes), then graded and trained through exactly the code Slicer runs."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

import module_libraries
from LSSGraderLib.grading_panel import GradingPanel

_APPS = []  # trame-slicer applications live as long as their scenes


class _Base:
    def __init__(self, *args, **kwargs) -> None:
        pass


def _application_stand_ins(scene) -> dict[str, types.ModuleType]:
    i18n = types.ModuleType("slicer.i18n")
    i18n.tr = lambda text: text
    i18n.translate = lambda context, text: text
    wrapper = types.ModuleType("slicer.parameterNodeWrapper")
    wrapper.parameterNodeWrapper = lambda cls: cls
    wrapper.Choice = wrapper.Minimum = lambda value: value
    scripted = types.ModuleType("slicer.ScriptedLoadableModule")
    for name in ("ScriptedLoadableModule", "ScriptedLoadableModuleLogic", "ScriptedLoadableModuleTest",
                 "ScriptedLoadableModuleWidget"):
        setattr(scripted, name, type(name, (_Base,), {}))
    return {"qt": types.ModuleType("qt"), "slicer.i18n": i18n, "slicer.parameterNodeWrapper": wrapper,
            "slicer.ScriptedLoadableModule": scripted}


@pytest.fixture
def slicer_modules(monkeypatch):
    """Load LSSGrader.py and LSSTraining.py against a fresh scene; returns (scene, grader module, training module)."""
    import slicer
    from trame_slicer.core import SlicerApp

    _APPS.append(SlicerApp())
    scene = _APPS[-1].scene
    for _ in range(2):
        scene.AddNewNodeByClass("vtkMRMLSliceCompositeNode")
    scene.AddNewNodeByClass("vtkMRMLSliceNode")
    for name, module in _application_stand_ins(scene).items():
        monkeypatch.setitem(sys.modules, name, module)
        if name.startswith("slicer."):
            monkeypatch.setattr(slicer, name.split(".")[1], module, raising=False)
    monkeypatch.setattr(slicer, "mrmlScene", scene, raising=False)
    loaded = []
    for module in ("LSSGrader", "LSSTraining"):
        spec = importlib.util.spec_from_file_location(f"{module}_under_test",
                                                      module_libraries.REPO_ROOT / module / f"{module}.py")
        loaded.append(importlib.util.module_from_spec(spec))
        spec.loader.exec_module(loaded[-1])
    return scene, *loaded


def test_grader_logic_returns_none_when_cancelled(slicer_modules, phantom_studies, tmp_path: Path) -> None:
    _scene, grader, _training = slicer_modules
    files = [str(path) for path in phantom_studies[0].dicom_files]
    assert grader.LSSGraderLogic().process(files, str(tmp_path), cancelRequested=lambda: True) is None


def test_grading_panel_drives_the_real_logic_on_mrml(slicer_modules, phantom_studies, tmp_path: Path) -> None:
    """Detect & Grade as the widget runs it: the panel, the real logic, the grade entry, the scene."""
    scene, grader, _training = slicer_modules
    logic = grader.LSSGraderLogic()
    logic.ensureDependencies = lambda askConfirmation=True: True  # the test environment has every package
    logic.databaseStudies = lambda: []
    logic.inputFiles = lambda studyUID, volumes: [str(path) for path in phantom_studies[0].dicom_files]
    view = module_libraries.RecordingView()
    panel = GradingPanel(logic, view)
    parameters = types.SimpleNamespace(studyUID="", axialT2Volume=None, sagittalT1Volume=None, modelFolder="",
                                       heatmaps="none", device="cpu", lastStudyUID="", lastOutputFolder="",
                                       lastImpression="", resultsTable=None, heatmapVolume=None)
    panel.setParameters(parameters)
    panel.onApply()

    assert view.statuses[-1].startswith("Done: 25 findings. Reliability: ") and view.progress
    table = parameters.resultsTable
    assert table.GetNumberOfRows() == 25 and view.results[-1][0] is table
    assert Path(parameters.lastOutputFolder, "findings.json").is_file()
    rois = [scene.GetNthNodeByClass(i, "vtkMRMLMarkupsROINode")
            for i in range(scene.GetNumberOfNodesByClass("vtkMRMLMarkupsROINode"))]
    assert rois and logic.showGrades(["normal", "mild", "moderate", "severe"]) == len(rois)
    panel.onTableRowSelected(0)
    assert parameters.heatmapVolume is None  # heatmaps "none" (Integrated Gradients is minutes on a CPU)
    volume = scene.GetNthNodeByClass(0, "vtkMRMLScalarVolumeNode")
    logic.showHeatmap(volume, True, 0.3)
    assert scene.GetNthNodeByClass(0, "vtkMRMLSliceCompositeNode").GetForegroundVolumeID() == volume.GetID()
    view.answers = [str(tmp_path)]
    panel.onExport()
    assert (tmp_path / "findings.json").is_file()


def test_training_logic_returns_none_when_cancelled_and_keeps_its_checkpoint_folder(slicer_modules, phantom_studies,
                                                                                   tmp_path: Path) -> None:
    _scene, _grader, training = slicer_modules
    out = tmp_path / "bundle"
    outcome = training.LSSTrainingLogic().train(phantom_studies[0].root, "native", out, "fast", members=1,
                                                epochs=1, device="cpu", cancelRequested=lambda: True,
                                                holdoutFraction=0.0)  # three studies: too few to hold one out
    assert outcome is None
    assert not (out / "bundle.json").exists()


def test_training_logic_passes_the_intensity_and_augmentation_choices_to_the_train_entry(slicer_modules, monkeypatch,
                                                                                        tmp_path: Path) -> None:
    """The real LSSTrainingLogic.train builds the engine's TrainRequest: the chosen normalisation and augmentation
    reach it, and leaving them out (like the parameter node's defaults) gives the engine's own defaults."""
    import lss.entry.train as train_entry

    _scene, _grader, training = slicer_modules
    requests = []
    monkeypatch.setattr(train_entry, "run_training", lambda request, control=None: requests.append(request) or "done")
    logic = training.LSSTrainingLogic()
    assert logic.train(tmp_path, "native", tmp_path / "bundle", "fast", device="cpu", intensity="series_robust",
                       cropIntensity="context_robust", augment=False) == "done"
    logic.train(tmp_path, "native", tmp_path / "bundle", "fast", device="cpu")
    chosen, defaults = requests
    assert (chosen.intensity, chosen.crop_intensity, chosen.augment) == ("series_robust", "context_robust", False)
    assert (chosen.preset, chosen.device, chosen.work_dir) == ("fast", "cpu", tmp_path / "bundle.checkpoints")
    engine = train_entry.TrainRequest(tmp_path, tmp_path)
    assert (defaults.intensity, defaults.crop_intensity, defaults.augment) == (
        engine.intensity, engine.crop_intensity, engine.augment)
    node = training.LSSTrainingParameterNode  # the stand-in wrapper leaves the field defaults as class attributes
    assert (node.intensity, node.cropIntensity, node.augment) == (
        engine.intensity, engine.crop_intensity, engine.augment)

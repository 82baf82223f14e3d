"""The LSS Grader panel's decisions (LSSGraderLib.grading_panel), driven with a fake logic and a fake view."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

import module_libraries  # first: puts the module folders on sys.path, as Slicer does
from LSSGraderLib.engine import EngineSummary
from LSSGraderLib.grading_panel import GRADES, GradingPanel
from LSSGraderLib.protocols import Controls

Event = module_libraries.Event
RecordingView = module_libraries.RecordingView


@dataclass
class Parameters:
    """Stands in for LSSGraderParameterNode."""

    studyUID: str = ""
    axialT2Volume: object = None
    sagittalT1Volume: object = None
    modelFolder: str = ""
    heatmaps: str = "abnormal"
    device: str = "auto"
    lastStudyUID: str = ""
    lastOutputFolder: str = ""
    lastImpression: str = ""
    resultsTable: object = None
    heatmapVolume: object = None


@dataclass
class FakeLogic:
    """Records the calls of GradingLogic; ``process`` replays ``events`` and honours cancelling."""

    dependenciesInstalled: bool = True
    studies: list = field(default_factory=lambda: [("1.2.3", "Phantom — 1.2.3")])
    events: list = field(default_factory=lambda: [Event("detect", 1, 3), Event("grade", 2, 3)])
    cancelAfter: int | None = None
    calls: list = field(default_factory=list)
    result: object = None

    def ensureDependencies(self, askConfirmation: bool = True) -> bool:
        self.calls.append(("ensureDependencies", askConfirmation))
        return self.dependenciesInstalled

    def engineSummary(self) -> EngineSummary:
        return EngineSummary("9.9", "/engine", False, ["captum>=0.7"])

    def databaseStudies(self) -> list:
        return list(self.studies)

    def inputFiles(self, studyUID: str, volumeNodes: list) -> list:
        self.calls.append(("inputFiles", studyUID, list(volumeNodes)))
        return ["a.dcm", "b.dcm"]

    def process(self, files, outDir=None, modelFolder=None, heatmaps="abnormal", device="auto", progress=None,
                cancelRequested=None):
        self.calls.append(("process", files, outDir, modelFolder, heatmaps, device))
        if module_libraries.play_events(self, progress, cancelRequested):
            return None
        return self.result

    def jumpToRow(self, table, row: int) -> None:
        self.calls.append(("jumpToRow", table, row))

    def showGrades(self, grades: list) -> int:
        self.calls.append(("showGrades", grades))
        return len(grades)

    def showHeatmap(self, volume, visible: bool, opacity: float) -> None:
        self.calls.append(("showHeatmap", volume, visible, opacity))

    def saveCorrections(self, studyUID: str, path: str) -> str:
        self.calls.append(("saveCorrections", studyUID, path))
        return path

    def exportOutputs(self, outDir: str, folder: str) -> list:
        self.calls.append(("exportOutputs", outDir, folder))
        return [f"{folder}/findings.json"]

    def saveScene(self, path: str) -> str:
        self.calls.append(("saveScene", path))
        return path

    def called(self, name: str) -> list:
        return [call for call in self.calls if call[0] == name]


GRADED = SimpleNamespace(studyUID="1.2.3", outDir=Path("/tmp/run"), impressionText="L4/L5: moderate canal",
                         table="table-node", firstHeatmap="heat-node", findingCount=25, dataQuality=[],
                         reliability=None)


@pytest.fixture
def setup():
    logic, view = FakeLogic(result=GRADED), RecordingView()
    panel = GradingPanel(logic, view)
    logic.panel = panel
    parameters = Parameters(studyUID="1.2.3", modelFolder="/models/b", heatmaps="all", device="cpu")
    panel.setParameters(parameters)
    return panel, logic, view, parameters


def test_apply_grades_the_chosen_study_and_keeps_the_run_in_the_parameter_node(setup) -> None:
    panel, logic, view, parameters = setup
    panel.onApply()
    assert logic.called("inputFiles") == [("inputFiles", "1.2.3", [])]
    assert logic.called("process") == [("process", ["a.dcm", "b.dcm"], None, "/models/b", "all", "cpu")]
    assert (parameters.lastStudyUID, parameters.lastOutputFolder) == ("1.2.3", str(Path("/tmp/run")))
    assert (parameters.resultsTable, parameters.heatmapVolume) == ("table-node", "heat-node")
    assert parameters.lastImpression == "L4/L5: moderate canal"
    assert view.results[-1] == ("table-node", "L4/L5: moderate canal")
    assert view.statuses[-1] == "Done: 25 findings."
    running = Controls(start=False, cancel=True, progress=True, results=False)
    assert running in view.controls
    assert view.controls[-1] == Controls(start=True, cancel=False, progress=False, results=True)


def test_apply_without_a_study_grades_the_loaded_volumes_and_the_demo_model(setup) -> None:
    panel, logic, _view, parameters = setup
    parameters.studyUID, parameters.modelFolder = "", ""
    parameters.axialT2Volume, parameters.sagittalT1Volume = "axial-node", None
    panel.onApply()
    assert logic.called("inputFiles") == [("inputFiles", "", ["axial-node"])]
    assert logic.called("process")[0][3] is None


def test_progress_is_shown_and_keeps_the_ui_responsive(setup) -> None:
    panel, _logic, view, _parameters = setup
    panel.onApply()
    assert view.progress[-2:] == [(1, 3), (2, 3)]
    assert "detect" in view.statuses and "grade" in view.statuses
    assert view.processed == 2
    panel.onProgress(Event("load", 0, 0))
    assert view.progress[-1] == (0, 1)


def test_cancel_during_a_run_stops_it_and_keeps_the_previous_run(setup) -> None:
    panel, logic, view, parameters = setup
    logic.cancelAfter = 0
    panel.onApply()
    assert "Cancelling…" in view.statuses
    assert view.statuses[-1] == "Cancelled."
    assert parameters.lastOutputFolder == "" and parameters.resultsTable is None
    assert view.controls[-1] == Controls(start=True, cancel=False, progress=False, results=False)
    logic.cancelAfter = None
    panel.onApply()  # a new run starts with the cancel flag cleared
    assert view.statuses[-1] == "Done: 25 findings."


def test_cancel_when_idle_does_nothing(setup) -> None:
    panel, _logic, view, _parameters = setup
    panel.onCancel()
    assert not panel.cancelRequested()
    assert "Cancelling…" not in view.statuses


def test_declined_dependencies_grade_nothing(setup) -> None:
    panel, logic, view, _parameters = setup
    logic.dependenciesInstalled = False
    panel.onApply()
    assert logic.called("ensureDependencies") == [("ensureDependencies", True)]
    assert not logic.called("process")
    assert "not installed" in view.statuses[-1]


def test_a_failing_run_restores_the_controls(setup) -> None:
    panel, logic, view, _parameters = setup

    def fail(*args, **kwargs):
        raise RuntimeError("engine failed")

    logic.process = fail
    with pytest.raises(RuntimeError):
        panel.onApply()
    assert not panel.running
    assert view.controls[-1].start and not view.controls[-1].cancel


def test_result_actions_need_a_run(setup) -> None:
    panel, logic, view, _parameters = setup
    view.answers = ["/out/annotation.json", "/out/folder"]
    panel.onTableRowSelected(0)
    panel.onHeatmapDisplay(True, 0.4)
    panel.onSaveCorrections()
    panel.onExport()
    assert not logic.called("jumpToRow") and not logic.called("showHeatmap")
    assert not logic.called("saveCorrections") and not logic.called("exportOutputs") and not view.asked


def test_result_actions_after_a_run(setup) -> None:
    panel, logic, view, _parameters = setup
    panel.onApply()
    panel.onTableRowSelected(4)
    panel.onTableRowSelected(None)
    panel.onHeatmapDisplay(False, 0.25)
    view.answers = ["/out/annotation.json", "", "/out/folder"]
    panel.onSaveCorrections()
    panel.onSaveCorrections()  # the file dialog was cancelled
    panel.onExport()
    assert logic.called("jumpToRow") == [("jumpToRow", "table-node", 4)]
    assert logic.called("showHeatmap") == [("showHeatmap", "heat-node", False, 0.25)]
    assert logic.called("saveCorrections") == [("saveCorrections", "1.2.3", "/out/annotation.json")]
    assert logic.called("exportOutputs") == [("exportOutputs", str(Path("/tmp/run")), "/out/folder")]
    assert view.statuses[-1] == "1 files exported to /out/folder."


def test_grade_filter_shows_the_ticked_grades_in_grade_order(setup) -> None:
    panel, logic, _view, _parameters = setup
    panel.onGradeFilter({"severe": True, "normal": False, "moderate": True, "mild": False})
    assert logic.called("showGrades") == [("showGrades", ["moderate", "severe"])]
    assert GRADES == ("normal", "mild", "moderate", "severe")


def test_save_scene_asks_for_a_path(setup) -> None:
    panel, logic, view, _parameters = setup
    view.answers = ["/out/read.mrb"]
    panel.onSaveScene()
    panel.onSaveScene()
    assert logic.called("saveScene") == [("saveScene", "/out/read.mrb")]


def test_studies_are_listed_with_the_chosen_one_selected(setup) -> None:
    panel, logic, view, parameters = setup
    studies, selected = view.studies
    assert studies[0][0] == "" and studies[1:] == [("1.2.3", "Phantom — 1.2.3")]
    assert selected == "1.2.3"
    panel.onStudyChosen("")
    assert parameters.studyUID == ""
    parameters.studyUID = "gone"
    panel.onRefreshStudies()
    assert view.studies[1] == "" and parameters.studyUID == ""


def test_a_saved_run_is_shown_when_its_parameter_node_comes_back(setup) -> None:
    panel, _logic, view, _parameters = setup
    saved = Parameters(lastStudyUID="9", lastOutputFolder="/tmp/old", lastImpression="old read", resultsTable="t")
    panel.setParameters(saved)
    assert view.results[-1] == ("t", "old read")
    assert view.controls[-1].results
    panel.setParameters(None)
    assert not view.controls[-1].results


def test_check_engine_reports_version_torch_and_missing_packages(setup) -> None:
    panel, _logic, view, _parameters = setup
    panel.onCheckEngine()
    assert view.engineStatus == "Engine 9.9 at /engine\nPyTorch: not installed (use the PyTorch extension)\n" \
                                "Missing: captum>=0.7"


def test_the_panel_library_imports_no_qt_slicer_or_torch() -> None:
    import subprocess

    code = ("import sys, module_libraries\n"
            "import LSSGraderLib.grading_panel, LSSGraderLib.dependencies, LSSGraderLib.engine_logic\n"
            "import LSSGraderLib.inputs, LSSGraderLib.results, LSSTrainingLib.training_panel\n"
            "heavy = {'qt', 'slicer', 'torch', 'vtk'} & set(sys.modules)\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parent)
    assert result.returncode == 0, result.stderr


def test_the_status_says_when_nothing_was_assessed_and_counts_data_quality_notes():
    from LSSGraderLib.grading_panel import statusAfterGrading

    assert statusAfterGrading(25, []) == "Done: 25 findings."
    assert statusAfterGrading(0, []).startswith("Not assessed: no region could be graded")
    status = statusAfterGrading(10, ["a.dcm: truncated", "series 1 stack 0: gap"])
    assert status == "Done: 10 findings. Data quality: 2 note(s), first: a.dcm: truncated"

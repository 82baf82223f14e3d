"""The Qt-free helpers of LSSGraderLib: requirements, engine summary, DICOM inputs, run results and export."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import module_libraries  # first: puts the module folders on sys.path, as Slicer does
from LSSGraderLib import engine, inputs, requirements
from LSSGraderLib.results import GradingInScene, exportOutputs


def test_requirement_lines_names_and_specifiers(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("# header\n\nnumpy>=1.24  # arrays\nSimpleITK>=2.3\ntorchvision>=0.19,<1\n", encoding="utf-8")
    lines = requirements.readRequirements(path)
    assert lines == ["numpy>=1.24", "SimpleITK>=2.3", "torchvision>=0.19,<1"]
    assert [requirements.requirementName(line) for line in lines] == ["numpy", "SimpleITK", "torchvision"]
    assert requirements.requirementSpecifier(lines, "simpleitk") == ">=2.3"
    assert requirements.requirementSpecifier(lines, "torchvision") == ">=0.19,<1"
    assert requirements.requirementSpecifier(lines, "captum") == ""
    with pytest.raises(ValueError):
        requirements.requirementName(">=1")


def test_missing_requirements_checks_presence_and_version() -> None:
    import numpy

    assert requirements.missingRequirements([f"numpy>={numpy.__version__}", "pytest"]) == []
    absent = ["lss-no-such-package>=1", "numpy>=999"]
    assert requirements.missingRequirements(absent) == absent


def test_engine_summary_reads_the_shipped_requirements() -> None:
    import lss

    summary = engine.engineSummary()
    assert summary.version == lss.__version__
    assert Path(summary.location) == Path(lss.__file__).resolve().parent
    assert summary.torchInstalled  # the test environment has torch
    assert summary.missing == requirements.missingRequirements(requirements.readRequirements())
    assert requirements.REQUIREMENTS_FILE == module_libraries.REPO_ROOT / "LSSGrader" / "Resources" / "requirements.txt"


def test_demo_bundle_is_the_engine_default_in_a_source_checkout() -> None:
    assert engine.demoBundle() is None  # only the installed module has Resources/Models/demo beside it


class FakeDatabase:
    """The parts of ctkDICOMDatabase the inputs use."""

    isOpen = True

    def patients(self) -> list:
        return ["p1"]

    def nameForPatient(self, patient: str) -> str:
        return "Phantom^One"

    def studiesForPatient(self, patient: str) -> list:
        return ["1.2", "1.3"]

    def seriesForStudy(self, study: str) -> list:
        return {"1.2": ["s1", "s2"], "1.3": []}[study]

    def filesForSeries(self, series: str) -> list:
        return [f"/dicom/{series}/{index}.dcm" for index in range(2)]

    def fileForInstance(self, uid: str) -> str:
        return f"/dicom/{uid}.dcm"

    def seriesForFile(self, path: str) -> str:
        return "s2"


class FakeVolume:
    def __init__(self, uids: str) -> None:
        self.uids = uids

    def GetAttribute(self, name: str) -> str:
        return self.uids if name == "DICOM.instanceUIDs" else ""

    def GetName(self) -> str:
        return "Volume"


def test_database_studies_and_files() -> None:
    database = FakeDatabase()
    assert inputs.databaseStudies(database) == [("1.2", "Phantom^One — 1.2"), ("1.3", "Phantom^One — 1.3")]
    assert inputs.databaseStudies(None) == []
    assert inputs.inputFiles(database, "1.2", []) == [f"/dicom/{s}/{i}.dcm" for s in ("s1", "s2") for i in range(2)]
    with pytest.raises(ValueError, match="no files for study 1.3"):
        inputs.inputFiles(database, "1.3", [])


def test_loaded_volumes_grade_their_whole_series() -> None:
    database = FakeDatabase()
    assert inputs.inputFiles(database, "", [FakeVolume("9.1 9.2")]) == ["/dicom/s2/0.dcm", "/dicom/s2/1.dcm"]
    with pytest.raises(ValueError, match="not loaded from DICOM"):
        inputs.inputFiles(database, "", [FakeVolume("")])
    with pytest.raises(ValueError, match="Choose a DICOM study"):
        inputs.inputFiles(database, "", [])


def test_grading_in_scene_exposes_what_the_panel_shows(tmp_path: Path) -> None:
    findings = SimpleNamespace(findings=[object()] * 25)
    outcome = SimpleNamespace(study=SimpleNamespace(study_uid="1.2"), out_dir=str(tmp_path),
                              impression=["L4/L5 moderate", "L5/S1 mild"], run=SimpleNamespace(findings=findings))
    graded = GradingInScene(outcome, SimpleNamespace(table="table", heatmaps=["heat", "heat2"]))
    assert (graded.studyUID, graded.outDir, graded.table, graded.firstHeatmap) == ("1.2", tmp_path, "table", "heat")
    assert graded.impressionText == "L4/L5 moderate\nL5/S1 mild" and graded.findingCount == 25
    assert GradingInScene(outcome, SimpleNamespace(table=None, heatmaps=[])).firstHeatmap is None


def test_export_copies_the_outputs_that_exist(tmp_path: Path) -> None:
    run, target = tmp_path / "run", tmp_path / "export"
    run.mkdir()
    target.mkdir()
    for name in ("findings.json", "report.md", "heatmap.nrrd"):
        (run / name).write_text(name, encoding="utf-8")
    copied = exportOutputs(run, target)
    assert sorted(Path(path).name for path in copied) == ["findings.json", "report.md"]
    assert (target / "report.md").read_text(encoding="utf-8") == "report.md"

"""Static checks that the Slicer modules keep their contracts without a Slicer application: the logic and the
widget implement the panels' Protocols, the parameter nodes hold what the panels use, typed choices match the
.ui combo boxes and the engine, and the logic reaches the engine only through its grade and train entries."""

from __future__ import annotations

import ast
import subprocess
import sys
import typing
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import module_libraries  # noqa: F401  (puts LSSGraderLib and LSSTrainingLib on sys.path)
from LSSGraderLib import protocols as grader_protocols
from LSSGraderLib.engine_logic import EngineLogicMixin
from LSSGraderLib.run_view import RunViewMixin
from LSSTrainingLib import protocols as training_protocols

CONTRACTS = {
    "LSSGrader": (grader_protocols.GradingLogic, grader_protocols.GradingView, grader_protocols.GraderParameters),
    "LSSTraining": (training_protocols.TrainingLogic, training_protocols.TrainingView,
                    training_protocols.TrainingParameters),
}
ENTRY_CALLS = {"LSSGrader": {"run_grading", "show_results"}, "LSSTraining": {"run_training"}}
ENGINE_MODULES_ALLOWED = {"lss.pipeline.result"}  # GradingOptions: the grade request's options


def _classes(repo_root: Path, module: str) -> dict[str, ast.ClassDef]:
    tree = ast.parse((repo_root / module / f"{module}.py").read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def _methods(node: ast.ClassDef) -> set[str]:
    return {item.name for item in node.body if isinstance(item, ast.FunctionDef)}


def _fields(node: ast.ClassDef) -> dict[str, ast.expr]:
    return {item.target.id: item.annotation for item in node.body if isinstance(item, ast.AnnAssign)}


def _protocol_members(protocol: type) -> set[str]:
    skip = (object, typing.Protocol, typing.Generic)
    return {name for klass in protocol.__mro__ if klass not in skip for name in vars(klass)
            if not name.startswith("_")}


@pytest.mark.parametrize("module", sorted(CONTRACTS))
def test_logic_implements_the_logic_protocol(repo_root: Path, module: str) -> None:
    logic = _classes(repo_root, module)[f"{module}Logic"]
    assert "EngineLogicMixin" in {base.id for base in logic.bases if isinstance(base, ast.Name)}
    offered = _methods(logic) | _protocol_members(EngineLogicMixin)
    missing = _protocol_members(CONTRACTS[module][0]) - offered
    assert not missing, f"{module}Logic lacks {sorted(missing)}"


@pytest.mark.parametrize("module", sorted(CONTRACTS))
def test_widget_implements_the_view_protocol(repo_root: Path, module: str) -> None:
    widget = _classes(repo_root, module)[f"{module}Widget"]
    assert "RunViewMixin" in {base.id for base in widget.bases if isinstance(base, ast.Name)}
    missing = _protocol_members(CONTRACTS[module][1]) - _methods(widget) - _protocol_members(RunViewMixin)
    assert not missing, f"{module}Widget lacks {sorted(missing)}"


@pytest.mark.parametrize("module", sorted(CONTRACTS))
def test_parameter_node_holds_what_the_panel_uses(repo_root: Path, module: str) -> None:
    fields = _fields(_classes(repo_root, module)[f"{module}ParameterNode"])
    missing = set(typing.get_type_hints(CONTRACTS[module][2])) - set(fields)
    assert not missing, f"{module}ParameterNode lacks {sorted(missing)}"


def _choice_fields(repo_root: Path, module: str) -> dict[str, str]:
    """Parameter-node field -> name of the choices constant in its Annotated[str, Choice(NAME)]."""
    choices = {}
    for name, annotation in _fields(_classes(repo_root, module)[f"{module}ParameterNode"]).items():
        calls = [node for node in ast.walk(annotation) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Name) and node.func.id == "Choice"]
        if calls:
            choices[name] = calls[0].args[0].id
    return choices


def _combo_items(repo_root: Path, module: str) -> dict[str, tuple[str, ...]]:
    """Parameter name -> the item texts of the QComboBox bound to it in the .ui file."""
    root = ET.parse(repo_root / module / "Resources" / "UI" / f"{module}.ui").getroot()
    combos = {}
    for widget in root.iter("widget"):
        bound = [p.findtext("string") for p in widget.findall("property") if p.get("name") == "SlicerParameterName"]
        if widget.get("class") == "QComboBox" and bound:
            combos[bound[0]] = tuple(item.findtext("property/string") for item in widget.findall("item"))
    return combos


@pytest.mark.parametrize(("module", "expected"), [
    ("LSSGrader", {"heatmaps": "HEATMAP_CHOICES", "device": "DEVICE_CHOICES"}),
    ("LSSTraining", {"datasetFormat": "FORMAT_CHOICES", "preset": "PRESET_CHOICES", "device": "DEVICE_CHOICES",
                     "intensity": "INTENSITY_CHOICES", "cropIntensity": "CROP_INTENSITY_CHOICES"}),
])
def test_choice_fields_match_the_engine_and_the_ui(repo_root: Path, module: str, expected: dict) -> None:
    from lss.entry import choices

    assert _choice_fields(repo_root, module) == expected
    combos = _combo_items(repo_root, module)
    for field_name, constant in expected.items():
        assert combos[field_name] == tuple(getattr(choices, constant)), f"{module}.ui {field_name} items"


def test_heatmap_choices_are_the_grading_options_choices() -> None:
    from lss.entry.choices import HEATMAP_CHOICES
    from lss.pipeline.result import HEATMAP_CHOICES as OPTIONS_CHOICES

    assert tuple(HEATMAP_CHOICES) == tuple(OPTIONS_CHOICES)


def test_the_choices_module_is_light_enough_for_slicer_start_up() -> None:
    """LSSGrader.py imports lss.entry.choices when Slicer starts, before torch may even be installed."""
    code = ("import sys\nimport lss.entry.choices\n"
            "heavy = {'torch', 'torchvision', 'captum', 'monai', 'SimpleITK', 'pydicom', 'scipy'} & set(sys.modules)\n"
            "assert not heavy, heavy\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", sorted(CONTRACTS))
def test_logic_reaches_the_engine_only_through_its_entries(repo_root: Path, module: str) -> None:
    source = (repo_root / module / f"{module}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    engine_modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
                      and node.module.split(".")[0] == "lss"}
    internals = {name for name in engine_modules if name.split(".")[1] in ("training", "pipeline")}
    assert internals <= ENGINE_MODULES_ALLOWED, sorted(internals - ENGINE_MODULES_ALLOWED)
    called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert ENTRY_CALLS[module] <= called
    for stale in ("TrainingControl", "TrainingCancelled", "self._run", "ENGINE_PACKAGES", "lss.training.control"):
        assert stale not in source, stale


def test_grader_logic_returns_a_dataclass_not_a_dict(repo_root: Path) -> None:
    logic = _classes(repo_root, "LSSGrader")["LSSGraderLogic"]
    process = next(item for item in logic.body if isinstance(item, ast.FunctionDef) and item.name == "process")
    assert ast.unparse(process.returns) == "GradingInScene | None"
    assert not [node for node in ast.walk(process) if isinstance(node, ast.Dict)]

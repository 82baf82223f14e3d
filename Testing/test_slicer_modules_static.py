"""Static checks of the Slicer module files (the Slicer application cannot run here): every widget the code
uses exists in its .ui file, ruff passes, the self-tests and template parts are there."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

MODULES = ["LSSGrader", "LSSTraining"]


def ui_names(repo_root: Path, module: str) -> set[str]:
    root = ET.parse(repo_root / module / "Resources" / "UI" / f"{module}.ui").getroot()
    return {element.get("name") for element in root.iter() if element.tag in ("widget", "layout")}


@pytest.mark.parametrize("module", MODULES)
def test_every_ui_widget_the_code_uses_exists(repo_root: Path, module: str) -> None:
    source = (repo_root / module / f"{module}.py").read_text(encoding="utf-8")
    used = set(re.findall(r"self\.ui\.(\w+)", source))
    assert used, "the widget uses no .ui widgets?"
    assert used <= ui_names(repo_root, module), sorted(used - ui_names(repo_root, module))


@pytest.mark.parametrize("module", MODULES)
def test_parameter_names_in_the_ui_are_parameter_node_fields(repo_root: Path, module: str) -> None:
    root = ET.parse(repo_root / module / "Resources" / "UI" / f"{module}.ui").getroot()
    bound = {prop.findtext("string") for prop in root.iter("property") if prop.get("name") == "SlicerParameterName"}
    tree = ast.parse((repo_root / module / f"{module}.py").read_text(encoding="utf-8"))
    node_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == f"{module}ParameterNode")
    fields = {statement.target.id for statement in node_class.body if isinstance(statement, ast.AnnAssign)}
    assert bound and bound <= fields, sorted(bound - fields)


@pytest.mark.parametrize("module", MODULES)
def test_module_follows_the_scripted_module_template(repo_root: Path, module: str) -> None:
    tree = ast.parse((repo_root / module / f"{module}.py").read_text(encoding="utf-8"))
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    for suffix in ("", "ParameterNode", "Widget", "Logic", "Test"):
        assert f"{module}{suffix}" in classes
    tests = [f.name for f in classes[f"{module}Test"].body
             if isinstance(f, ast.FunctionDef) and f.name.startswith("test_")]
    assert len(tests) >= 2, tests


@pytest.mark.parametrize("module", MODULES)
def test_every_engine_name_the_module_imports_exists(repo_root: Path, module: str) -> None:
    """The modules import the engine lazily, inside functions (Slicer imports every module at start-up), so a
    renamed function would only fail when a user clicks: resolve every ``from lss… import name`` here."""
    import importlib

    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in module_files(repo_root, module)]
    imports = [node for tree in trees for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
               and node.module.split(".")[0] == "lss"]
    assert imports
    missing = [f"{node.module}.{alias.name}" for node in imports for alias in node.names
               if not hasattr(importlib.import_module(node.module), alias.name)]
    assert not missing, missing


def module_files(repo_root: Path, module: str) -> list[Path]:
    """The module script and its Qt-free library's files."""
    return [repo_root / module / f"{module}.py", *sorted((repo_root / module / f"{module}Lib").glob("*.py"))]


def test_module_files_pass_ruff(repo_root: Path) -> None:
    files = [str(path) for module in MODULES for path in module_files(repo_root, module)]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", *files], capture_output=True, text=True,
                            cwd=repo_root)
    assert result.returncode == 0, result.stdout + result.stderr


def test_extension_index_entry_agrees_with_the_cmake_description(repo_root: Path) -> None:
    import json

    entry = json.loads((repo_root / "LSS.json").read_text(encoding="utf-8"))
    allowed = {"$schema", "build_dependencies", "build_subdirectory", "category", "scm_revision", "scm_type",
               "scm_url", "tier"}
    assert {"$schema", "category", "scm_url"} <= set(entry) <= allowed
    cmake = (repo_root / "CMakeLists.txt").read_text(encoding="utf-8")
    category = re.search(r'set\(EXTENSION_CATEGORY "([^"]+)"\)', cmake).group(1)
    depends = re.search(r'set\(EXTENSION_DEPENDS "([^"]*)"\)', cmake).group(1).split()
    assert entry["category"] == category and entry["build_dependencies"] == depends
    assert (repo_root / "Resources" / "Models" / "demo" / "bundle.json").is_file()
    assert "Resources/Models/demo" in (repo_root / "LSSGrader" / "CMakeLists.txt").read_text(encoding="utf-8")

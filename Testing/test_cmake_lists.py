"""The Slicer extension's CMake files agree with the files on disk, and the module scripts stay light.

Slicer installs only the files a module's CMakeLists.txt names, so a Python file that is on disk but not
listed works in a source checkout and is missing from the packaged extension.
"""

import ast
import py_compile
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

MODULES = ["LSSGrader", "LSSTraining"]
HEAVY_PACKAGES = {"torch", "torchvision", "captum"}


def _strip_cmake_comments(text: str) -> str:
    return re.sub(r"#[^\n]*", "", text)


def _cmake_set_values(text: str, variable: str) -> list[str]:
    """Whitespace-separated values of `set(variable ...)`, with ${MODULE_NAME} expanded."""
    text = _strip_cmake_comments(text)
    match = re.search(rf"\bset\(\s*{re.escape(variable)}\s+([^)]*)\)", text)
    assert match, f"set({variable} ...) not found"
    module_name_match = re.search(r"\bset\(\s*MODULE_NAME\s+(\S+?)\s*\)", text)
    values = match.group(1).split()
    if module_name_match:
        values = [value.replace("${MODULE_NAME}", module_name_match.group(1)) for value in values]
    unexpanded = [value for value in values if "${" in value]
    assert not unexpanded, f"{variable} uses variables this test cannot expand: {unexpanded}"
    return values


def _module_cmake(repo_root: Path, module: str) -> str:
    return (repo_root / module / "CMakeLists.txt").read_text(encoding="utf-8")


def _python_files_on_disk(module_dir: Path) -> set[str]:
    return {
        path.relative_to(module_dir).as_posix() for path in module_dir.rglob("*.py") if "__pycache__" not in path.parts
    }


@pytest.mark.parametrize("module", MODULES)
def test_every_python_file_is_listed(repo_root: Path, module: str) -> None:
    listed = set(_cmake_set_values(_module_cmake(repo_root, module), "MODULE_PYTHON_SCRIPTS"))
    missing = sorted(_python_files_on_disk(repo_root / module) - listed)
    assert not missing, (
        f"{module}/CMakeLists.txt MODULE_PYTHON_SCRIPTS lacks these files (add them):\n  " + "\n  ".join(missing)
    )


@pytest.mark.parametrize("module", MODULES)
def test_every_listed_script_exists_once(repo_root: Path, module: str) -> None:
    listed = _cmake_set_values(_module_cmake(repo_root, module), "MODULE_PYTHON_SCRIPTS")
    assert f"{module}.py" in listed
    duplicates = sorted({name for name in listed if listed.count(name) > 1})
    assert not duplicates, f"listed more than once: {duplicates}"
    absent = [name for name in listed if not (repo_root / module / name).is_file()]
    assert not absent, f"{module}/CMakeLists.txt lists files that do not exist: {absent}"
    not_python = [name for name in listed if not name.endswith(".py")]
    assert not not_python, f"MODULE_PYTHON_SCRIPTS should hold .py files only: {not_python}"


@pytest.mark.parametrize("module", MODULES)
def test_every_listed_resource_exists(repo_root: Path, module: str) -> None:
    listed = _cmake_set_values(_module_cmake(repo_root, module), "MODULE_PYTHON_RESOURCES")
    assert f"Resources/Icons/{module}.png" in listed
    assert f"Resources/UI/{module}.ui" in listed
    absent = [name for name in listed if not (repo_root / module / name).is_file()]
    assert not absent, f"{module}/CMakeLists.txt lists resources that do not exist: {absent}"


@pytest.mark.parametrize("module", MODULES)
def test_module_is_built_as_scripted_module_with_tests(repo_root: Path, module: str) -> None:
    text = _strip_cmake_comments(_module_cmake(repo_root, module))
    build = re.search(r"slicerMacroBuildScriptedModule\((.*?)\)", text, re.DOTALL)
    assert build, "slicerMacroBuildScriptedModule(...) missing"
    arguments = build.group(1).split()
    for expected in ("NAME", "SCRIPTS", "${MODULE_PYTHON_SCRIPTS}", "RESOURCES", "${MODULE_PYTHON_RESOURCES}"):
        assert expected in arguments
    assert "WITH_GENERIC_TESTS" in arguments
    testing = re.search(r"if\(\s*BUILD_TESTING\s*\)(.*?)endif\(", text, re.DOTALL)
    assert testing, "if(BUILD_TESTING) block missing"
    assert re.search(r"slicer_add_python_unittest\(\s*SCRIPT\s+\$\{MODULE_NAME\}\.py\s*\)", testing.group(1))


def test_top_level_cmake_declares_extension(repo_root: Path) -> None:
    text = _strip_cmake_comments((repo_root / "CMakeLists.txt").read_text(encoding="utf-8"))
    for module in MODULES:
        assert re.search(rf"add_subdirectory\(\s*{module}\s*\)", text), f"add_subdirectory({module}) missing"
    depends = re.search(r'set\(\s*EXTENSION_DEPENDS\s+"?([^")]*)"?\s*\)', text)
    assert depends, "EXTENSION_DEPENDS not set"
    assert "PyTorch" in depends.group(1).split()
    assert re.search(r"find_package\(\s*Slicer\s+REQUIRED\s*\)", text)
    for include in ("Slicer_USE_FILE", "Slicer_EXTENSION_GENERATE_CONFIG", "Slicer_EXTENSION_CPACK"):
        assert f"include(${{{include}}})" in text, f"include(${{{include}}}) missing"


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


@pytest.mark.parametrize(
    "icon",
    [
        "Resources/Icons/LSS.png",
        "LSSGrader/Resources/Icons/LSSGrader.png",
        "LSSTraining/Resources/Icons/LSSTraining.png",
    ],
)
def test_icons_are_128_pixel_pngs(repo_root: Path, icon: str) -> None:
    assert _png_size(repo_root / icon) == (128, 128)


@pytest.mark.parametrize("module", MODULES)
def test_ui_file_has_mrml_widget_root(repo_root: Path, module: str) -> None:
    root = ET.parse(repo_root / module / "Resources" / "UI" / f"{module}.ui").getroot()
    top_widget = root.find("widget")
    assert top_widget is not None
    assert top_widget.get("class") == "qMRMLWidget"
    assert top_widget.get("name") == module
    assert any(widget.get("class") == "ctkCollapsibleButton" for widget in root.iter("widget"))


class _ImportTimeImports(ast.NodeVisitor):
    """Collects the top-level package names imported when the module is loaded.

    Function bodies run later, so imports inside them are lazy and allowed; everything else
    (module body, class bodies, try/if blocks at module level) runs at import time.
    """

    def __init__(self) -> None:
        self.packages: list[tuple[str, int]] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        return None

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        return None

    def visit_Lambda(self, node: ast.Lambda) -> None:
        return None

    def visit_Import(self, node: ast.Import) -> None:
        self.packages.extend((alias.name.split(".")[0], node.lineno) for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and node.level == 0:
            self.packages.append((node.module.split(".")[0], node.lineno))


@pytest.mark.parametrize("module", MODULES)
def test_module_script_compiles_and_imports_no_heavy_package(repo_root: Path, module: str, tmp_path: Path) -> None:
    script = repo_root / module / f"{module}.py"
    py_compile.compile(str(script), cfile=str(tmp_path / f"{module}.pyc"), doraise=True)
    collector = _ImportTimeImports()
    collector.visit(ast.parse(script.read_text(encoding="utf-8"), filename=str(script)))
    heavy = [(name, line) for name, line in collector.packages if name in HEAVY_PACKAGES]
    assert not heavy, f"{script.name} imports heavy packages at load time (package, line): {heavy}"
    assert any(name == "slicer" for name, _ in collector.packages), f"{script.name} does not import slicer"


def test_import_checker_sees_top_level_but_not_lazy_imports() -> None:
    source = (
        "import os\n"
        "try:\n    import torch\nexcept ImportError:\n    pass\n"
        "from captum.attr import IntegratedGradients\n"
        "class A:\n    import torchvision\n"
        "def lazy():\n    import torch\n"
    )
    collector = _ImportTimeImports()
    collector.visit(ast.parse(source))
    assert [name for name, _ in collector.packages] == ["os", "torch", "captum", "torchvision"]

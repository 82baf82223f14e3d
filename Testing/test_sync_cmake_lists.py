"""tools/sync_cmake_lists.py lists every .py file of a module folder, libraries included, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from module_libraries import load_tool

CMAKE = """set(MODULE_NAME Demo)

set(MODULE_PYTHON_SCRIPTS
  ${MODULE_NAME}.py
  old/gone.py
  )

set(MODULE_PYTHON_RESOURCES
  Resources/UI/${MODULE_NAME}.ui
  Resources/requirements.txt
  )
"""


@pytest.fixture(scope="module")
def sync_tool():
    return load_tool("sync_cmake_lists")


def test_sync_lists_the_engine_and_the_module_library(tmp_path: Path, sync_tool) -> None:
    module = tmp_path / "Demo"
    for name in ("Demo.py", "DemoLib/__init__.py", "DemoLib/panel.py", "lss/__init__.py", "lss/entry/grade.py",
                 "lss/__pycache__/grade.cpython-311.py", "Resources/requirements.txt"):
        (module / name).parent.mkdir(parents=True, exist_ok=True)
        (module / name).write_text("", encoding="utf-8")
    (module / "CMakeLists.txt").write_text(CMAKE, encoding="utf-8")
    assert sync_tool.sync(module) == 4
    text = (module / "CMakeLists.txt").read_text(encoding="utf-8")
    assert ("set(MODULE_PYTHON_SCRIPTS\n  ${MODULE_NAME}.py\n  DemoLib/__init__.py\n  DemoLib/panel.py\n"
            "  lss/__init__.py\n  lss/entry/grade.py\n  )") in text
    assert "old/gone.py" not in text and "__pycache__" not in text
    assert "  Resources/requirements.txt\n  )" in text  # resources are left as they are


def test_sync_covers_both_modules(sync_tool) -> None:
    assert sync_tool.MODULES == ("LSSGrader", "LSSTraining")

"""Rewrite each module's MODULE_PYTHON_SCRIPTS in its CMakeLists.txt from the .py files on disk (`make cmake-sync`).

Slicer installs only the scripts a module's CMakeLists.txt names, so every .py file under a module folder is
listed: the module script, the bundled `lss` engine (LSSGrader) and the Qt-free module libraries
(LSSGraderLib, LSSTrainingLib). Resources (MODULE_PYTHON_RESOURCES) are listed by hand and left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("LSSGrader", "LSSTraining")
SCRIPTS_BLOCK = re.compile(r"set\(MODULE_PYTHON_SCRIPTS\n.*?\n  \)", flags=re.S)


def module_scripts(module_dir: Path) -> list[str]:
    """Every .py file under a module folder except the module script itself, as sorted relative paths."""
    return sorted(
        path.relative_to(module_dir).as_posix()
        for path in module_dir.rglob("*.py")
        if "__pycache__" not in path.parts and path.name != f"{module_dir.name}.py"
    )


def scripts_block(module_dir: Path) -> str:
    """The `set(MODULE_PYTHON_SCRIPTS ...)` block listing the module script first, then every other .py file."""
    lines = "".join(f"  {script}\n" for script in module_scripts(module_dir))
    return "set(MODULE_PYTHON_SCRIPTS\n  ${MODULE_NAME}.py\n" + lines + "  )"


def sync(module_dir: Path) -> int:
    """Rewrite the module's MODULE_PYTHON_SCRIPTS block; returns how many files besides the script it lists."""
    cmake = module_dir / "CMakeLists.txt"
    text, count = SCRIPTS_BLOCK.subn(lambda _: scripts_block(module_dir), cmake.read_text(), count=1)
    if count != 1:
        raise ValueError(f"no set(MODULE_PYTHON_SCRIPTS ...) block in {cmake}")
    cmake.write_text(text)
    return len(module_scripts(module_dir))


def main() -> None:
    """Sync the CMakeLists.txt of every module of the extension."""
    for module in MODULES:
        print(f"{sync(ROOT / module)} files listed in {ROOT / module / 'CMakeLists.txt'}")


if __name__ == "__main__":
    main()

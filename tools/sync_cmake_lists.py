"""Rewrite LSSGrader/CMakeLists.txt's MODULE_PYTHON_SCRIPTS from the engine files on disk (`make cmake-sync`)."""

from __future__ import annotations

import re
from pathlib import Path

MODULE = Path(__file__).resolve().parent.parent / "LSSGrader"


def main() -> None:
    """List every .py file of the bundled engine in the module's CMakeLists.txt."""
    cmake = MODULE / "CMakeLists.txt"
    files = sorted(
        p.relative_to(MODULE).as_posix() for p in (MODULE / "lss").rglob("*.py") if "__pycache__" not in p.parts
    )
    block = "set(MODULE_PYTHON_SCRIPTS\n  ${MODULE_NAME}.py\n" + "".join(f"  {f}\n" for f in files) + "  )"
    text = re.sub(r"set\(MODULE_PYTHON_SCRIPTS\n.*?\n  \)", lambda _: block, cmake.read_text(), count=1, flags=re.S)
    cmake.write_text(text)
    print(f"{len(files)} engine files listed in {cmake}")


if __name__ == "__main__":
    main()

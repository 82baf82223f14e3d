"""Write LSSGrader/Resources/requirements.txt from pyproject.toml (`make requirements-sync`).

The file ships with the Slicer module, which installs it with Slicer's pip_ensure: the engine's
[project].dependencies plus its `ml` extra, without torch (the PyTorch extension installs torch, through
PyTorchUtils, for the user's GPU). ``--check`` exits 1 when the file is stale instead of writing it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
REQUIREMENTS = ROOT / "LSSGrader" / "Resources" / "requirements.txt"
EXTRA = "ml"
FROM_PYTORCH_EXTENSION = {"torch"}
HEADER = (
    "# The LSS engine's Python requirements, installed by the LSS Grader module with Slicer's pip_ensure.\n"
    "# Generated from pyproject.toml ([project].dependencies + the 'ml' extra) by tools/sync_requirements.py:\n"
    "# do not edit, run `make requirements-sync`. torch is left out: the PyTorch extension installs it.\n"
)


def distribution_name(requirement: str) -> str:
    """The canonical distribution name of a requirement string ('SimpleITK>=2.3' -> 'simpleitk')."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def engine_requirements(pyproject: Path = PYPROJECT) -> list[str]:
    """[project].dependencies, then the `ml` extra, without what the PyTorch extension provides."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = [*project["dependencies"], *project["optional-dependencies"][EXTRA]]
    return [r for r in requirements if distribution_name(r) not in FROM_PYTORCH_EXTENSION]


def render(requirements: list[str]) -> str:
    """The requirements file's text: the header, then one requirement a line."""
    return HEADER + "".join(f"{requirement}\n" for requirement in requirements)


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, verify) the requirements file; the exit status."""
    args = sys.argv[1:] if argv is None else argv
    requirements = engine_requirements()
    text = render(requirements)
    if "--check" in args:
        current = REQUIREMENTS.read_text(encoding="utf-8") if REQUIREMENTS.is_file() else ""
        if current != text:
            print(f"{REQUIREMENTS} is out of date: run `make requirements-sync`", file=sys.stderr)
            return 1
        return 0
    REQUIREMENTS.write_text(text, encoding="utf-8")
    print(f"{len(requirements)} requirements written to {REQUIREMENTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

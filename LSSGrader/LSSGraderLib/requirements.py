"""The engine's Python requirements, read from the requirements file shipped with the module.

The file (Resources/requirements.txt) is generated from pyproject.toml by tools/sync_requirements.py and lists
everything the engine needs except torch, which comes from the PyTorch extension. Checking what is missing
uses importlib.metadata only: no pip, no Qt, no torch.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

REQUIREMENTS_FILE = Path(__file__).resolve().parent.parent / "Resources" / "requirements.txt"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def readRequirements(path: Path = REQUIREMENTS_FILE) -> list[str]:
    """The requirement lines of a requirements file, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in Path(path).read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def requirementName(requirement: str) -> str:
    """The distribution name of a requirement string ('SimpleITK>=2.3' -> 'SimpleITK')."""
    match = _NAME.match(requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return match.group(1)


def requirementSpecifier(requirements: list[str], name: str) -> str:
    """The version specifier of ``name`` in ``requirements`` ('>=0.19'), or '' if absent or unversioned."""
    for requirement in requirements:
        if _canonical(requirementName(requirement)) == _canonical(name):
            return requirement[len(requirementName(requirement)):].strip()
    return ""


def isSatisfied(requirement: str) -> bool:
    """Whether the requirement's distribution is installed (at a version it accepts, when `packaging` exists)."""
    try:
        installed = metadata.version(requirementName(requirement))
    except metadata.PackageNotFoundError:
        return False
    try:
        from packaging.requirements import Requirement
    except ImportError:  # no version check without packaging; presence is the best we can say
        return True
    return Requirement(requirement).specifier.contains(installed, prereleases=True)


def missingRequirements(requirements: list[str]) -> list[str]:
    """The requirements that are not installed, or installed at a version they exclude."""
    return [requirement for requirement in requirements if not isSatisfied(requirement)]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()

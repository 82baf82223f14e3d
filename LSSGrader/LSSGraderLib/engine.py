"""Where the bundled `lss` engine lives and what state it is in (version, PyTorch, missing packages).

Installed, every scripted module of the extension shares one folder, holding `lss/` and `LSSGraderLib/` side by
side; in a source checkout both sit in the LSSGrader module folder. Either way the engine's parent folder is
this package's parent folder. Nothing here imports torch.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path

from LSSGraderLib.requirements import missingRequirements, readRequirements

MODULE_FOLDER = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class EngineSummary:
    """The engine's version and location, whether torch is installed, which requirements are missing."""

    version: str
    location: str
    torchInstalled: bool
    missing: list[str] = field(default_factory=list)


def addEngineToPath() -> str:
    """Put the folder holding the `lss` package on sys.path (if it is not there yet) and return it."""
    if not (MODULE_FOLDER / "lss" / "__init__.py").is_file():
        raise RuntimeError(f"The LSS engine (lss package) was not found in {MODULE_FOLDER}.")
    folder = str(MODULE_FOLDER)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return folder


def engineSummary() -> EngineSummary:
    """Import the (light) `lss` package and report its version, location and what it still needs."""
    addEngineToPath()
    import lss

    return EngineSummary(
        version=lss.__version__,
        location=str(Path(lss.__file__).resolve().parent),
        torchInstalled=importlib.util.find_spec("torch") is not None,
        missing=missingRequirements(readRequirements()),
    )


def demoBundle() -> Path | None:
    """The bundled demo model installed beside the module's resources, or None (the engine's own default)."""
    installed = MODULE_FOLDER / "Resources" / "Models" / "demo"
    return installed if (installed / "bundle.json").is_file() else None

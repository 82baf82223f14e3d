"""Install what the engine needs inside Slicer: torch through the PyTorch extension, the rest through pip.

Both LSS modules call ``ensureDependencies`` before running the engine. slicer, PyTorchUtils and
Slicer's pip_ensure module are imported only when it runs, so this file stays importable in plain Python.
"""

from __future__ import annotations

import importlib.util

from LSSGraderLib.i18n import tr as _
from LSSGraderLib.requirements import REQUIREMENTS_FILE, missingRequirements, readRequirements, requirementSpecifier

REQUESTER = "LSS"


def ensureDependencies(askConfirmation: bool = True) -> bool:
    """Make torch and every requirement of the engine importable; False if the user declined an installation.

    torch (with a torchvision the requirements accept) comes from the PyTorch extension's PyTorchUtils; the
    other packages of Resources/requirements.txt from Slicer's ``pip_ensure`` (``slicer.pydeps`` since Slicer
    5.11, ``slicer.packaging`` in preview builds before it), which asks first when ``askConfirmation`` is true
    and never lets pip replace the PyTorch extension's torch (``skip_packages``).
    """
    requirements = readRequirements()
    if importlib.util.find_spec("torch") is None and not _installTorch(requirements, askConfirmation):
        return False
    if not missingRequirements(requirements):
        return True
    packaging = _packagingModule()
    if packaging is None:  # Slicer before pip_ensure (5.10): plain pip after asking
        return _pipInstall(missingRequirements(requirements), askConfirmation)
    try:
        packaging.pip_ensure(packaging.load_requirements(str(REQUIREMENTS_FILE)), skip_packages=["torch"],
                             prompt_install=askConfirmation, requester=REQUESTER, skip_in_testing=False)
    except RuntimeError:  # pip_ensure's answer when the user declines
        if askConfirmation:
            return False
        raise
    return True


def _packagingModule():
    """Slicer's module with ``pip_ensure`` and ``load_requirements``, or None in a Slicer without it."""
    import importlib

    for name in ("slicer.pydeps", "slicer.packaging"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if hasattr(module, "pip_ensure") and hasattr(module, "load_requirements"):
            return module
    return None


def _installTorch(requirements: list[str], askConfirmation: bool) -> bool:
    try:
        import PyTorchUtils
    except ImportError as error:
        raise RuntimeError(_("LSS needs the PyTorch extension: install it from the Extensions Manager.")) from error
    torchvision = requirementSpecifier(requirements, "torchvision") or None
    torch = PyTorchUtils.PyTorchUtilsLogic().installTorch(askConfirmation=askConfirmation,
                                                           torchvisionVersionRequirement=torchvision)
    return torch is not None


def _pipInstall(missing: list[str], askConfirmation: bool) -> bool:
    import slicer

    if askConfirmation and not slicer.util.confirmOkCancelDisplay(
            _("LSS needs these Python packages: {packages}. Install them now?").format(packages=", ".join(missing))):
        return False
    slicer.util.pip_install(missing)
    return True

"""What both LSS panels do alike: run long work with progress and Cancel, enable controls, check the engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from LSSGraderLib.i18n import tr as _
from LSSGraderLib.protocols import Controls, EngineLogic, ProgressEvent, RunView

T = TypeVar("T")


class RunPanel:
    """Decision logic shared by the grader and training panels; subclasses add their own actions."""

    def __init__(self, logic: EngineLogic, view: RunView) -> None:
        self.logic = logic
        self.view = view
        self.running = False
        self._cancelRequested = False

    # --- long work --------------------------------------------------------------------------------------------

    def cancelRequested(self) -> bool:
        """Whether the user asked the running work to stop (polled by the engine between steps)."""
        return self._cancelRequested

    def onCancel(self) -> None:
        """Ask the running work to stop at its next step."""
        if not self.running:
            return
        self._cancelRequested = True
        self.view.setStatus(self.cancellingText())

    def cancellingText(self) -> str:
        """What the status says once Cancel was clicked."""
        return _("Cancelling…")

    def onProgress(self, event: ProgressEvent) -> None:
        """Show a progress event and let the UI breathe (so Cancel can be clicked)."""
        self.view.setProgress(event.step, max(event.total, 1))
        self.view.setStatus(event.stage)
        self.view.processEvents()

    def runWork(self, work: Callable[[], T]) -> T:
        """Run ``work`` with the controls in their running state, restoring them however it ends."""
        self._cancelRequested = False
        self.running = True
        self.view.setProgress(0, 1)
        self.refreshControls()
        try:
            return work()
        finally:
            self.running = False
            self.refreshControls()

    # --- controls ---------------------------------------------------------------------------------------------

    def hasResults(self) -> bool:
        """Whether finished results exist for the result actions to work on (none by default)."""
        return False

    def controls(self) -> Controls:
        """Which controls are usable now."""
        idle = not self.running
        return Controls(start=idle, cancel=self.running, progress=self.running, results=idle and self.hasResults())

    def refreshControls(self) -> None:
        """Push the current control states to the view."""
        self.view.setControls(self.controls())

    def ensureDependencies(self) -> bool:
        """Install what the engine needs (asking first); say so and return False when the user declines."""
        if self.logic.ensureDependencies(askConfirmation=True):
            return True
        self.view.setStatus(_("The engine's Python packages are not installed; nothing was run."))
        return False

    # --- engine -----------------------------------------------------------------------------------------------

    def onCheckEngine(self) -> None:
        """Show the engine's version, location, PyTorch state and missing packages."""
        summary = self.logic.engineSummary()
        torch = _("installed") if summary.torchInstalled else _("not installed (use the PyTorch extension)")
        missing = ", ".join(summary.missing) or _("none")
        self.view.setEngineStatus(_("Engine {version} at {location}\nPyTorch: {torch}\nMissing: {missing}").format(
            version=summary.version, location=summary.location, torch=torch, missing=missing))

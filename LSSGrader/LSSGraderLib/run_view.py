"""What both module widgets show of a run in the same way: status line, progress bar, engine status (the shared
part of the RunView protocol, on a widget whose .ui has statusLabel, progressBar and engineStatusLabel)."""

from __future__ import annotations


class RunViewMixin:
    """RunView methods shared by the LSSGrader and LSSTraining widgets (``self.ui`` is the loaded .ui)."""

    def setStatus(self, text: str) -> None:
        self.ui.statusLabel.text = text

    def setProgress(self, step: int, total: int) -> None:
        self.ui.progressBar.maximum = total
        self.ui.progressBar.value = step

    def processEvents(self) -> None:
        import slicer

        slicer.app.processEvents()  # keeps the UI responsive and lets Cancel be clicked

    def setEngineStatus(self, text: str) -> None:
        self.ui.engineStatusLabel.text = text

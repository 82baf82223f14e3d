"""The LSS Grader panel's decisions, free of Qt: what each button does, what the status says, what is enabled.

The Qt widget (LSSGraderWidget) forwards its signals here and implements ``GradingView``; the logic is
injected as a ``GradingLogic``, so tests drive the panel with fakes.
"""

from __future__ import annotations

from typing import Any

from LSSGraderLib.i18n import tr as _
from LSSGraderLib.protocols import GraderParameters, GradingLogic, GradingView
from LSSGraderLib.run_panel import RunPanel

GRADES = ("normal", "mild", "moderate", "severe")


class GradingPanel(RunPanel):
    """Inputs, Detect & Grade with progress and Cancel, and the actions on the last run's results."""

    def __init__(self, logic: GradingLogic, view: GradingView) -> None:
        super().__init__(logic, view)
        self.logic: GradingLogic = logic
        self.view: GradingView = view
        self.parameters: GraderParameters | None = None

    def setParameters(self, parameters: GraderParameters | None) -> None:
        """Follow a (new) parameter node: show its last run, if any, and its chosen study."""
        self.parameters = parameters
        if parameters is not None:
            self.view.showResults(parameters.resultsTable, parameters.lastImpression)
            self.onRefreshStudies()
        self.refreshControls()

    def hasResults(self) -> bool:
        """Whether the parameter node holds a finished run."""
        return self.parameters is not None and bool(self.parameters.lastOutputFolder)

    # --- inputs -----------------------------------------------------------------------------------------------

    def onRefreshStudies(self) -> None:
        """List the DICOM database's studies, keeping the chosen one selected."""
        studies = [("", _("(use the loaded volumes below)")), *self.logic.databaseStudies()]
        chosen = self.parameters.studyUID if self.parameters is not None else ""
        if chosen not in {uid for uid, _label in studies}:
            chosen = ""
            self.onStudyChosen("")
        self.view.setStudies(studies, chosen)

    def onStudyChosen(self, studyUID: str) -> None:
        """Remember the chosen study (empty: grade the loaded volumes)."""
        if self.parameters is not None:
            self.parameters.studyUID = studyUID or ""

    # --- Detect & Grade ---------------------------------------------------------------------------------------

    def onApply(self) -> None:
        """Grade the chosen study (or the loaded series), then show and remember the results."""
        parameters = self.parameters
        if self.running or parameters is None or not self.ensureDependencies():
            return
        volumes = [node for node in (parameters.axialT2Volume, parameters.sagittalT1Volume) if node is not None]
        files = self.logic.inputFiles(parameters.studyUID, volumes)
        self.view.setStatus(_("Reading {count} DICOM files…").format(count=len(files)))
        result = self.runWork(lambda: self.logic.process(
            files, None, parameters.modelFolder or None, parameters.heatmaps, parameters.device,
            progress=self.onProgress, cancelRequested=self.cancelRequested))
        if result is None:
            self.view.setStatus(_("Cancelled."))
            return
        parameters.lastStudyUID = result.studyUID
        parameters.lastOutputFolder = str(result.outDir)
        parameters.lastImpression = result.impressionText
        parameters.resultsTable = result.table
        parameters.heatmapVolume = result.firstHeatmap
        self.view.showResults(result.table, result.impressionText)
        self.refreshControls()
        self.view.setStatus(statusAfterGrading(result.findingCount, result.dataQuality, result.reliability))

    # --- results ----------------------------------------------------------------------------------------------

    def onTableRowSelected(self, row: int | None) -> None:
        """Centre the slice views on the finding of a results-table row."""
        table = self.parameters.resultsTable if self.parameters is not None else None
        if table is not None and row is not None and row >= 0:
            self.logic.jumpToRow(table, row)

    def onGradeFilter(self, shown: dict[str, bool]) -> None:
        """Show only the boxes of the ticked grades (``shown`` maps a name of GRADES to its tick)."""
        self.logic.showGrades([grade for grade in GRADES if shown.get(grade, False)])

    def onHeatmapDisplay(self, visible: bool, opacity: float) -> None:
        """Heatmap layer on or off, at ``opacity``."""
        volume = self.parameters.heatmapVolume if self.parameters is not None else None
        if volume is not None:
            self.logic.showHeatmap(volume, visible, opacity)

    def onSaveCorrections(self) -> None:
        """Write the (edited) boxes and grades of the last run as an annotation JSON."""
        if not self.hasResults():
            return
        path = self.view.askSaveFile(_("Save corrections"), "annotation.json", "JSON (*.json)")
        if path:
            written = self.logic.saveCorrections(self.parameters.lastStudyUID, path)
            self.view.setStatus(_("Corrections saved to {path}.").format(path=written))

    def onExport(self) -> None:
        """Copy the last run's findings, tables and report into a folder."""
        if not self.hasResults():
            return
        folder = self.view.askFolder(_("Export findings, tables and report to"))
        if folder:
            copied = self.logic.exportOutputs(self.parameters.lastOutputFolder, folder)
            self.view.setStatus(_("{count} files exported to {folder}.").format(count=len(copied), folder=folder))

    def onSaveScene(self) -> None:
        """Save the scene, results included, as a Medical Reality Bundle."""
        path = self.view.askSaveFile(_("Save scene"), "lss-read.mrb", "Medical Reality Bundle (*.mrb)")
        if path:
            self.view.setStatus(_("Scene saved to {path}.").format(path=self.logic.saveScene(path)))


def statusAfterGrading(findingCount: int, dataQuality: list[str], reliability: Any = None) -> str:
    """The status line after a run: what was graded (or that nothing was, or that the lumbar anatomy was not found),
    how far to trust it (``reliability``: the run's lss.model.read.StudyReliability, or None), and how many
    data-quality notes."""
    if findingCount and reliability is not None and not reliability.anatomy_found:
        text = _("Not assessed: {statement}").format(statement=reliability.statement)
    elif findingCount:
        text = _("Done: {count} findings.").format(count=findingCount)
        if reliability is not None:
            text += " " + _("Reliability: {statement}").format(statement=reliability.statement)
    else:
        text = _("Not assessed: no region could be graded (see the report's notes).")
    if dataQuality:
        text += " " + _("Data quality: {count} note(s), first: {first}").format(count=len(dataQuality),
                                                                              first=dataQuality[0])
    return text

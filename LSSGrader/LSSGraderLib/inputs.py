"""Which DICOM files to grade, from Slicer's DICOM database (passed in, so tests can use a fake one)."""

from __future__ import annotations

from typing import Any

from LSSGraderLib.i18n import tr as _


def databaseStudies(database: Any) -> list[tuple[str, str]]:
    """(StudyInstanceUID, label) of every study in an open DICOM database; none when it is closed or absent."""
    if database is None or not database.isOpen:
        return []
    studies = []
    for patient in database.patients():
        name = database.nameForPatient(patient) if hasattr(database, "nameForPatient") else patient
        studies += [(study, f"{name} — {study}") for study in database.studiesForPatient(patient)]
    return studies


def studyFiles(database: Any, studyUID: str) -> list[str]:
    """Every file of every series of a study in the DICOM database."""
    files = [path for series in database.seriesForStudy(studyUID) for path in database.filesForSeries(series)]
    if not files:
        raise ValueError(_("The DICOM database has no files for study {uid}.").format(uid=studyUID))
    return files


def volumeFiles(database: Any, volumeNodes: list) -> list[str]:
    """The DICOM files of the whole series behind loaded volumes (found from their DICOM.instanceUIDs)."""
    files: list[str] = []
    for node in volumeNodes:
        uids = (node.GetAttribute("DICOM.instanceUIDs") or "").split()
        if not uids:
            raise ValueError(_("{name} was not loaded from DICOM: choose a study from the DICOM database.")
                             .format(name=node.GetName()))
        files += list(database.filesForSeries(database.seriesForFile(database.fileForInstance(uids[0]))))
    if not files:
        raise ValueError(_("Choose a DICOM study, or load its axial T2 and sagittal T1 series first."))
    return files


def inputFiles(database: Any, studyUID: str, volumeNodes: list) -> list[str]:
    """The chosen study's files, or (no study chosen) those of the series behind the loaded volumes."""
    return studyFiles(database, studyUID) if studyUID else volumeFiles(database, volumeNodes)

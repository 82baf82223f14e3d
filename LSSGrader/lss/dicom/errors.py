"""The error the DICOM reader raises for a study or file it cannot use."""

from __future__ import annotations


class DicomReadError(Exception):
    """A study (or a file of it) cannot be used; the message names the file(s) and the problem."""

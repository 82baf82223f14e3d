"""The errors every entry (command line, Slicer logic) reports to its user: bad usage and unusable input data."""

from __future__ import annotations


class UsageError(Exception):
    """The request itself is wrong: a bad option or argument (the command line exits with code 2)."""


class InputDataError(Exception):
    """The input data cannot be used; the message names the file or study and the problem (exit code 3)."""

"""Exit codes and the error types the command line maps onto them (DESIGN.md §6)."""

from __future__ import annotations

from lss.errors import InputDataError, UsageError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_NOT_ASSESSED = 4  # lss grade: the outputs are written, but no region could be graded (see report.md)

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_NOT_ASSESSED", "EXIT_OK", "EXIT_USAGE", "InputDataError",
           "UsageError"]

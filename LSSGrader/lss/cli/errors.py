"""Exit codes and the error types the command line maps onto them (DESIGN.md §6)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3


class UsageError(Exception):
    """The command line itself is wrong (exit code 2)."""


class InputDataError(Exception):
    """The input data cannot be used (exit code 3)."""

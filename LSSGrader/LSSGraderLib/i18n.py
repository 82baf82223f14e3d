"""Translation of user-visible strings: Slicer's ``tr`` inside Slicer, the text unchanged elsewhere (pytest).

Inside Slicer the `slicer` package is always loaded before any module script; outside it (plain Python,
slicer-core) this module neither imports `slicer` nor needs it.
"""

from __future__ import annotations

import sys


def _untranslated(text: str) -> str:
    """Return ``text`` as it is."""
    return text


tr = _untranslated
if "slicer" in sys.modules:
    try:
        from slicer.i18n import tr
    except ImportError:  # slicer-core has no i18n module
        tr = _untranslated

__all__ = ["tr"]

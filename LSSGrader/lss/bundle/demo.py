"""Where the bundled demo model lives (Resources/Models/demo in the extension's source tree)."""

from __future__ import annotations

from pathlib import Path

DEMO_BUNDLE = Path(__file__).resolve().parents[3] / "Resources" / "Models" / "demo"

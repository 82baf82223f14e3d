"""What LSS Training takes from the grader's library and the engine: the engine logic and run view mixins and the
settings' choices (from the light lss.entry.choices, no torch). Import it through here, after LSSTrainingLib has
made LSSGraderLib importable."""

from LSSGraderLib.engine import addEngineToPath
from LSSGraderLib.engine_logic import EngineLogicMixin
from LSSGraderLib.run_view import RunViewMixin

addEngineToPath()

from lss.entry.choices import (  # noqa: E402
    CROP_INTENSITY_CHOICES,
    DEVICE_CHOICES,
    FORMAT_CHOICES,
    INTENSITY_CHOICES,
    PRESET_CHOICES,
)

__all__ = ["CROP_INTENSITY_CHOICES", "DEVICE_CHOICES", "FORMAT_CHOICES", "INTENSITY_CHOICES", "PRESET_CHOICES",
           "EngineLogicMixin", "RunViewMixin"]

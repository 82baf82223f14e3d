"""The choices a user makes for a run, named once for the command line, the Slicer parameter nodes and the engine
(imports nothing, so a Slicer widget can read them at start-up)."""

from __future__ import annotations

DEVICE_CHOICES = ("auto", "cpu", "cuda")
HEATMAP_CHOICES = ("abnormal", "all", "none")  # Integrated Gradients for moderate/severe findings, all, none
FORMAT_CHOICES = ("native", "voc", "rsna", "markups")  # annotation formats training imports
PRESET_CHOICES = ("demo", "fast", "paper")  # training presets (lss.training.presets)
INTENSITY_CHOICES = ("slice_percentile", "series_robust")  # image intensity normalisation (lss.preprocess.intensity)
CROP_INTENSITY_CHOICES = ("as_image", "context_robust")  # grading-crop intensity normalisation

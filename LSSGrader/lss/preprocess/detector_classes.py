"""What the two region detectors find, on which series, and how many boxes of a class one slice can hold.

The axial detector runs on axial T2 slices and tells the lateral recess sides apart (on images in the
canonical view, ``lss.preprocess.canonical``, so its left and right are the patient's); the sagittal detector
runs on sagittal T1 slices and finds foramina of either side and intervertebral discs (for level labelling).
An axial slice shows one canal and one recess a side; a sagittal slice from T9 to the sacrum up to nine
foramina and discs.
"""

from __future__ import annotations

from lss.model.vocabulary import Plane, Region, Side

DISC = "disc"  # detector class of an intervertebral disc on sagittal images
AXIAL_CLASSES = ("central_canal", "lateral_recess_left", "lateral_recess_right")
SAGITTAL_CLASSES = ("neural_foramen", DISC)
DETECTOR_ROLES = {Plane.AXIAL: "ax_t2", Plane.SAGITTAL: "sag_t1"}
DETECTOR_CLASSES = {Plane.AXIAL: AXIAL_CLASSES, Plane.SAGITTAL: SAGITTAL_CLASSES}
MAX_PER_IMAGE = {"central_canal": 1, "lateral_recess_left": 1, "lateral_recess_right": 1, "neural_foramen": 9,
                 DISC: 9}
AXIAL_CLASS_KEYS = {"central_canal": (Region.CENTRAL_CANAL, Side.NONE),
                    "lateral_recess_left": (Region.LATERAL_RECESS, Side.LEFT),
                    "lateral_recess_right": (Region.LATERAL_RECESS, Side.RIGHT)}


def detector_class(region: Region | None, side: Side) -> str:
    """The detector class name of a region box (``region=None``: an intervertebral disc)."""
    if region is None:
        return DISC
    if region is Region.LATERAL_RECESS:
        return f"lateral_recess_{side.value}"
    return region.value

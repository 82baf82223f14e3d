"""What the two region detectors find, on which series, and how many boxes of a class one slice can hold.

The axial detector runs on axial T2 slices and tells the lateral recess sides apart (on images in the
canonical view, ``lss.preprocess.canonical``, so its left and right are the patient's); the sagittal detector
runs on sagittal slices and finds foramina of either side, intervertebral discs, vertebral bodies and the sacrum's
first segment (the last three for level labelling, never graded). It is trained on every sagittal series of
``SAGITTAL_ROLES`` (T1, T2, STIR: ``TRAINING_ROLES``) so that it does not depend on one contrast; the foramina are
graded on the T1 (``DETECTOR_ROLES``). An axial slice shows one canal and one recess a side; a sagittal slice from
T9 to the sacrum up to nine foramina, discs and vertebral bodies and one sacrum.

A bundle's detector knows the classes it was trained with (``DetectorConfig.class_names``, stored in the
bundle): detectors trained before the landmark classes existed know only ``("neural_foramen", "disc")`` and
work unchanged.
"""

from __future__ import annotations

from lss.model.vocabulary import Plane, Region, Side

DISC = "disc"  # detector class of an intervertebral disc on sagittal images
FORAMEN = Region.NEURAL_FORAMEN.value
SACRUM = "sacrum"  # the first sacral segment's body (S1), on the sagittal slices that show it
VERTEBRAL_BODY = "vertebral_body"  # a vertebral body above the sacrum (L5 … L1, T12 …)
LANDMARK_CLASSES = (SACRUM, VERTEBRAL_BODY)  # detected for level naming only, never graded
AXIAL_CLASSES = ("central_canal", "lateral_recess_left", "lateral_recess_right")
SAGITTAL_CLASSES = (FORAMEN, DISC, SACRUM, VERTEBRAL_BODY)
SAGITTAL_ROLES = ("sag_t1", "sag_t2", "sag_stir")  # sagittal series the disc levels are found on, preferred first
DETECTOR_ROLES = {Plane.AXIAL: "ax_t2", Plane.SAGITTAL: "sag_t1"}  # where the regions are graded
TRAINING_ROLES = {Plane.AXIAL: (DETECTOR_ROLES[Plane.AXIAL],), Plane.SAGITTAL: SAGITTAL_ROLES}  # detector images
DETECTOR_CLASSES = {Plane.AXIAL: AXIAL_CLASSES, Plane.SAGITTAL: SAGITTAL_CLASSES}
MAX_PER_IMAGE = {"central_canal": 1, "lateral_recess_left": 1, "lateral_recess_right": 1, FORAMEN: 9,
                 DISC: 9, SACRUM: 1, VERTEBRAL_BODY: 9}
AXIAL_CLASS_KEYS = {"central_canal": (Region.CENTRAL_CANAL, Side.NONE),
                    "lateral_recess_left": (Region.LATERAL_RECESS, Side.LEFT),
                    "lateral_recess_right": (Region.LATERAL_RECESS, Side.RIGHT)}


def detector_class(region: Region | None, side: Side, landmark: str | None = None) -> str:
    """The detector class name of a region box (``region=None``: an intervertebral disc, or the ``landmark``
    class — one of LANDMARK_CLASSES — when one is given)."""
    if landmark is not None:
        if landmark not in LANDMARK_CLASSES:
            raise ValueError(f"unknown landmark class {landmark!r} (expected one of {', '.join(LANDMARK_CLASSES)})")
        return landmark
    if region is None:
        return DISC
    if region is Region.LATERAL_RECESS:
        return f"lateral_recess_{side.value}"
    return region.value

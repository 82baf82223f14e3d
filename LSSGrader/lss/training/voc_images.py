"""VOC exports without DICOM: each annotated PNG/JPG becomes a one-slice stack with a DECLARED geometry.

Nothing in a PNG or JPG says how it lies in the patient, so this importer assumes it and records that it did:

- plane: from the labels — central canal and lateral recess boxes make an axial image (role ``ax_t2``),
  foramen and disc boxes a sagittal one (``sag_t1``);
- orientation: the image is taken as DISPLAYED RADIOLOGICALLY, i.e. already in the canonical view of
  ``lss.preprocess.canonical`` — axial: columns run to the patient's left (the patient's left on the image's
  right), rows to posterior (anterior at the top); sagittal: columns run to posterior (anterior on the left),
  rows to inferior (superior at the top). "left"/"right" in the labels are then the patient's sides. An export
  flipped left–right would swap every lateral recess side without anything here noticing;
- pixel spacing: one value for every image (``--voc-pixel-spacing``, default 1 mm), as the images carry none;
- UIDs: made up, deterministic, ``2.25.`` + 128 bits of a SHA-256 (as UUID-derived UIDs are): the study's from
  the content of its images (the same images give the same study wherever they lie, so a study in both
  ``--data`` and ``--holdout`` is caught), one series per plane, one SOPInstanceUID per image.

Grey levels are read with Pillow as float32 (colour images are converted to luminance; 16-bit PNGs keep their
values).
"""

from __future__ import annotations

import hashlib
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from lss.model.geometry import StackGeometry
from lss.model.study import SliceRef, Stack
from lss.model.vocabulary import Plane
from lss.preprocess.canonical import VIEW_AXES
from lss.preprocess.detector_classes import DETECTOR_ROLES

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
DEFAULT_PIXEL_SPACING_MM = 1.0


def assumption_note(pixel_spacing: float) -> str:
    """What the bundle and the report say about studies imported from 2-D images."""
    return (f"2-D images without DICOM: geometry and patient orientation are ASSUMED, not read — plane from the "
            f"labels (canal/recess axial ax_t2, foramen/disc sagittal sag_t1), pixel spacing {pixel_spacing:g} mm "
            f"for every image, each image taken as displayed radiologically (axial: patient left on the image's "
            f"right, anterior up; sagittal: anterior left, superior up), so 'left'/'right' in the labels are taken "
            f"as the patient's sides; UIDs made up (2.25. + SHA-256 of the image content)")


def read_grey(path: Path) -> np.ndarray:
    """The image's grey levels (rows, columns) float32: colour converted to luminance, 16-bit values kept."""
    with Image.open(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            return np.asarray(image, dtype=np.float32)
        return np.asarray(image.convert("L"), dtype=np.float32)


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of an image file, read from its header; OSError when it is not an image."""
    try:
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError) as error:
        raise OSError(f"{path} is not a readable image ({error})") from None


def made_up_uid(*parts: str) -> str:
    """A deterministic UID: ``2.25.`` and the first 128 bits of the SHA-256 of the parts, as a decimal."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return f"2.25.{int.from_bytes(digest[:16], 'big')}"


def content_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def study_uid_of(digests: list[str]) -> str:
    """The made-up StudyInstanceUID of a study whose images have these content digests (any order)."""
    return made_up_uid("lss-voc-study", *sorted(set(digests)))


def series_uid_of(study_uid: str, plane: Plane) -> str:
    """The made-up SeriesInstanceUID of a study's images of one plane."""
    return made_up_uid(study_uid, "series", DETECTOR_ROLES[plane])


def image_stack(path: Path, digest: str, plane: Plane, series_uid: str, index: int, size: tuple[int, int],
                pixel_spacing: float) -> Stack:
    """A one-slice stack of an image: canonical-view orientation of ``plane``, the declared pixel spacing, pixels
    read lazily."""
    columns, rows = size
    row_direction, column_direction = VIEW_AXES[plane]
    geometry = StackGeometry(np.zeros((1, 3)), row_direction, column_direction, (pixel_spacing, pixel_spacing),
                             rows, columns)
    slices = [SliceRef(Path(path), made_up_uid(series_uid, "image", digest))]
    stack = Stack(series_uid, index, geometry, slices, [(1.0, 0.0)], role=DETECTOR_ROLES[plane])
    stack.pixel_source = partial(_pixels, Path(path), (rows, columns))
    return stack


def _pixels(path: Path, shape: tuple[int, int]) -> np.ndarray:
    grey = read_grey(path)
    if grey.shape != shape:
        raise ValueError(f"{path}: image is {grey.shape[1]}×{grey.shape[0]}, was {shape[1]}×{shape[0]} at import")
    return grey[None]

"""Which DICOM image a VOC file annotates: by DICOM file path or name, by SOPInstanceUID (with a frame number for
multi-frame files), by a mapping CSV, or by pixel content.

Multi-frame (Enhanced MR) files hold many images under one SOPInstanceUID, so a VOC file naming one must name
the frame too — ``<SOP>_frame12``, ``<SOP>_f12``, ``<SOP>-12`` or ``<SOP>#12`` (1-based, DICOM's frame numbers),
or the mapping CSV's frame column; without it the file is refused, never put on some frame.

Pixel content: the exported image and every slice of the study's engine series (of the same aspect ratio) are
resampled to one small grid and compared by normalised correlation (Pearson's r of the intensities, which does
not depend on window/level or bit depth). The best slice is taken when r ≥ ``MATCH_MIN_R`` and no other slice
comes within ``MATCH_MARGIN`` of it; otherwise the file is refused with both candidates named.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from lss.model.study import Stack, Study
from lss.training.voc_files import ImageFiles
from lss.training.voc_images import read_grey
from lss.training.voc_mapping import ImageMapping
from lss.training.voc_refusals import Refusal

MATCH_GRID = 96  # pixels a side of the grid images are compared on
MATCH_MIN_R = 0.90
MATCH_MARGIN = 0.005
ASPECT_TOLERANCE = 0.02

_FRAME_SUFFIX = re.compile(r"^(?P<base>.+?)(?:[_\-#\s]+(?:frame|fr|f)?[_\-\s]*|\.(?:frame|fr|f)[_\-\s]*)"
                           r"(?P<frame>\d+)$", re.IGNORECASE)

Key = tuple[str, int]


@dataclass(frozen=True)
class _Image:
    key: Key  # (series UID, stack index)
    slice_index: int
    sop_instance_uid: str
    frame: int | None  # 0-based in the file, None for single-frame files


@dataclass(frozen=True)
class Match:
    """The stack and slice a VOC file's image is, how it was found, and the exported image file if one was used."""

    key: Key
    slice_index: int
    how: str
    image_file: Path | None = None


def split_frame(name: str) -> tuple[str, int] | None:
    """(base name, 1-based frame) of a name with a frame suffix such as ``<SOP>_frame12``; None without one."""
    match = _FRAME_SUFFIX.match(name)
    return (match.group("base"), int(match.group("frame"))) if match else None


class DicomImages:
    """A read study's images by path, file name and SOPInstanceUID, and by pixel content on demand."""

    def __init__(self, dicom: Study, stacks: list[Stack]) -> None:
        self.stacks = {stack.key: stack for stack in stacks}
        self.roles = {series.series_uid: (series.role.role if series.role else "?") for series in dicom.series}
        self.by_path: dict[Path, list[_Image]] = defaultdict(list)
        self.by_name: dict[str, list[_Image]] = defaultdict(list)
        self.by_sop: dict[str, list[_Image]] = defaultdict(list)
        for series in dicom.series:
            for stack in series.stacks:
                for index, ref in enumerate(stack.slices):
                    image = _Image(stack.key, index, ref.sop_instance_uid, ref.frame)
                    self.by_path[ref.path.resolve()].append(image)
                    self.by_name[ref.path.name].append(image)
                    self.by_sop[ref.sop_instance_uid].append(image)
        self._signatures: tuple[list[_Image], list[float], np.ndarray] | None = None

    def find(self, filename: str, path_text: str, xml_path: Path, study_folder: Path,
             mapping: ImageMapping | None, files: ImageFiles) -> Match:
        """The image a VOC file names; Refusal saying why when none, several, or no frame of a multi-frame file."""
        names = list(dict.fromkeys(name for name in (filename, Path(path_text).name) if name))
        for base in (xml_path.parent, study_folder):
            images = self.by_path.get((base / filename).resolve(), [])
            if images:
                return self._pick(filename, images, None, "DICOM file path")
        for name in names:
            if self.by_name.get(name):
                return self._pick(name, self.by_name[name], None, "DICOM file name")
        for name in names:
            for text in dict.fromkeys((name, Path(name).stem)):
                if self.by_sop.get(text):
                    return self._pick(text, self.by_sop[text], None, "SOPInstanceUID")
                split = split_frame(text)
                if split and (split[0] in self.by_sop or split[0] in self.by_name):
                    images = self.by_sop.get(split[0]) or self.by_name[split[0]]
                    return self._pick(text, images, split[1], "SOPInstanceUID and frame")
        if mapping is not None:
            rows = [row for row in mapping.lookup(*names) if row.sop_instance_uid in self.by_sop]
            if len(rows) > 1:
                raise Refusal("mapping CSV ambiguous", f"image {filename!r} has {len(rows)} rows in {mapping.path} "
                                                       f"(lines {', '.join(str(row.line) for row in rows)})")
            if rows:
                row = rows[0]
                return self._pick(f"{filename} → {row.sop_instance_uid}", self.by_sop[row.sop_instance_uid],
                                  row.frame, f"mapping CSV line {row.line}")
        image_file = files.find(filename, path_text, xml_path)
        if image_file is None:
            mapped = ", mapping CSV" if mapping is not None else ""
            raise Refusal("image not found", f"image {filename!r} is not in the study's DICOM (by path, file name, "
                                             f"SOPInstanceUID{mapped}) and no image file of that name is in the "
                                             f"study folder to match by pixel content")
        return self.match_pixels(image_file)

    def match_pixels(self, image_file: Path) -> Match:
        """The slice whose pixels correlate best with an exported image; Refusal when none or ambiguous."""
        images, aspects, vectors = self._all_signatures()
        grey = read_grey(image_file)
        aspect = grey.shape[1] / grey.shape[0]
        same = np.flatnonzero(np.abs(np.asarray(aspects) / aspect - 1) <= ASPECT_TOLERANCE)
        if same.size == 0:
            raise Refusal("no pixel match", f"image {image_file} ({grey.shape[1]}×{grey.shape[0]}): no slice of the "
                                            f"study's engine series has its aspect ratio")
        scores = vectors[same] @ signature(grey)
        order = np.argsort(-scores)
        best = images[same[order[0]]]
        if scores[order[0]] < MATCH_MIN_R:
            raise Refusal("no pixel match", f"image {image_file} matches no DICOM slice by pixel content (best r = "
                                            f"{scores[order[0]]:.3f} < {MATCH_MIN_R}, {self.describe(best)})")
        if order.size > 1 and scores[order[1]] >= scores[order[0]] - MATCH_MARGIN:
            other = images[same[order[1]]]
            raise Refusal("ambiguous pixel match",
                          f"image {image_file} matches {self.describe(best)} (r = {scores[order[0]]:.4f}) and "
                          f"{self.describe(other)} (r = {scores[order[1]]:.4f}) alike: name it by SOPInstanceUID "
                          f"or in a mapping CSV")
        return Match(best.key, best.slice_index, f"pixel content (r = {scores[order[0]]:.4f})", image_file)

    def describe(self, image: _Image) -> str:
        """Series, role, stack, slice and SOPInstanceUID (with frame) of an image, for messages."""
        frame = f" frame {image.frame + 1}" if image.frame is not None else ""
        return (f"series {image.key[0]} ({self.roles.get(image.key[0], '?')}) stack {image.key[1]} slice "
                f"{image.slice_index}, SOP {image.sop_instance_uid}{frame}")

    def _pick(self, label: str, images: list[_Image], frame: int | None, how: str) -> Match:
        frames = [image for image in images if image.frame is not None]
        if frame is None:
            if len(images) > 1 and len(frames) == len(images) and len({i.sop_instance_uid for i in images}) == 1:
                raise Refusal("multi-frame image without a frame",
                              f"image {label!r} is a multi-frame file of {len(images)} frames: name the frame "
                              f"(1-based), e.g. '{images[0].sop_instance_uid}_frame{len(images) // 2 + 1}', or give "
                              f"it in the mapping CSV's frame column")
            if len(images) > 1:
                raise Refusal("image name ambiguous", f"image {label!r} matches {len(images)} images (files of one "
                                                      f"name); name it by SOPInstanceUID")
            chosen = images[0]
        else:
            wanted = [image for image in images if (image.frame or 0) == frame - 1]
            if not wanted:
                count = len(frames) or 1
                raise Refusal("frame not in the file", f"image {label!r}: frame {frame} is not among the file's "
                                                       f"{count} frame(s) (1-based)")
            chosen = wanted[0]
        if chosen.key not in self.stacks:
            series_uid = chosen.key[0]
            raise Refusal("not an engine series", f"image {label!r} is in series {series_uid}, identified as "
                                                  f"{self.roles.get(series_uid, '?')}, not a series the networks "
                                                  f"train on")
        return Match(chosen.key, chosen.slice_index, how)

    def _all_signatures(self) -> tuple[list[_Image], list[float], np.ndarray]:
        if self._signatures is None:
            images, aspects, vectors = [], [], []
            for stack in self.stacks.values():
                pixels = stack.load_pixels()
                geometry = stack.geometry
                for index, ref in enumerate(stack.slices):
                    images.append(_Image(stack.key, index, ref.sop_instance_uid, ref.frame))
                    aspects.append(geometry.columns / geometry.rows)
                    vectors.append(signature(pixels[index]))
            matrix = np.stack(vectors) if vectors else np.zeros((0, MATCH_GRID * MATCH_GRID), np.float32)
            self._signatures = (images, aspects, matrix)
        return self._signatures


def signature(image: np.ndarray) -> np.ndarray:
    """An image resampled to MATCH_GRID² (bilinear), centred and scaled to unit length: dot products of two
    signatures are Pearson correlations."""
    grid = Image.fromarray(np.asarray(image, dtype=np.float32)).resize((MATCH_GRID, MATCH_GRID),
                                                                                  Image.Resampling.BILINEAR)
    vector = np.asarray(grid, dtype=np.float64).ravel()
    vector = vector - vector.mean()
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm > 0 else vector).astype(np.float32)

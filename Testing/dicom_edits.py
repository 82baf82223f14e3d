"""Test helpers that rewrite a phantom study's DICOM files: keep some series, flip images, cut the field of view.

Every edit keeps the patient where it is: pixel data and ImagePositionPatient / ImageOrientationPatient change
together, so the same anatomy sits at the same LPS coordinates in a differently stored image.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pydicom

from lss.dicom.identify import assign_roles
from lss.dicom.reader import read_study


def files_by_role(study_folder: Path) -> dict[str, list[Path]]:
    """The study's DICOM files grouped by the role the engine identifies for their series."""
    study = assign_roles(read_study(study_folder))
    roles: dict[str, list[Path]] = {}
    for series in study.series:
        role = series.role.role if series.role else "other"
        roles.setdefault(role, []).extend(ref.path for stack in series.stacks for ref in stack.slices)
    return roles


def copy_study(source: Path, target: Path, roles: tuple[str, ...],
               edits: dict[str, Callable[[pydicom.Dataset], None]] | None = None) -> Path:
    """Copy the files of the given roles (and ground_truth.json) to ``target``, editing some roles on the way."""
    target.mkdir(parents=True, exist_ok=True)
    for role, paths in files_by_role(source).items():
        if role not in roles:
            continue
        for k, path in enumerate(paths):
            destination = target / "dicom" / role / f"{k:04d}.dcm"
            destination.parent.mkdir(parents=True, exist_ok=True)
            if edits and role in edits:
                dataset = pydicom.dcmread(path)
                edits[role](dataset)
                dataset.save_as(destination, enforce_file_format=True)
            else:
                shutil.copyfile(path, destination)
    shutil.copyfile(source / "ground_truth.json", target / "ground_truth.json")
    return target


def _set_pixels(dataset: pydicom.Dataset, pixels: np.ndarray) -> None:
    dataset.set_pixel_data(np.ascontiguousarray(pixels), dataset.PhotometricInterpretation, dataset.BitsStored,
                           generate_instance_uid=False)


def flip_columns(dataset: pydicom.Dataset) -> None:
    """Store the image mirrored left–right: last column first, row direction reversed, same anatomy in LPS."""
    pixels = dataset.pixel_array
    row_dir = np.asarray(dataset.ImageOrientationPatient[:3], dtype=float)
    column_spacing = float(dataset.PixelSpacing[1])
    origin = np.asarray(dataset.ImagePositionPatient, dtype=float) + (pixels.shape[1] - 1) * column_spacing * row_dir
    _set_pixels(dataset, pixels[:, ::-1])
    dataset.ImageOrientationPatient = [*(-row_dir).tolist(), *[float(v) for v in dataset.ImageOrientationPatient[3:]]]
    dataset.ImagePositionPatient = origin.tolist()


def cut_rows_above(point_lps: np.ndarray, margin_mm: float) -> Callable[[pydicom.Dataset], None]:
    """An edit that drops the image rows lying more than ``margin_mm`` above ``point_lps`` (a field of view
    that starts lower). Rows must run from head to foot; every slice of a stack loses the same rows."""
    point = np.asarray(point_lps, dtype=float)

    def edit(dataset: pydicom.Dataset) -> None:
        column_dir = np.asarray(dataset.ImageOrientationPatient[3:], dtype=float)
        assert column_dir[2] < -0.5, "rows must run from head to foot"
        row_spacing = float(dataset.PixelSpacing[0])
        origin = np.asarray(dataset.ImagePositionPatient, dtype=float)
        dropped = int(np.floor((np.dot(point - origin, column_dir) - margin_mm) / row_spacing))
        assert 0 < dropped < dataset.Rows
        _set_pixels(dataset, dataset.pixel_array[dropped:])
        dataset.ImagePositionPatient = (origin + dropped * row_spacing * column_dir).tolist()

    return edit

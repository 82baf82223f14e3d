"""Patient left/right from geometry: flipped, rotated and reversed images, oblique patients, sagittal slices."""

from __future__ import annotations

import numpy as np
import pytest

from lss.dicom.laterality import patient_left_in_image, pixel_side, point_side, slice_side
from lss.model.geometry import StackGeometry
from lss.model.vocabulary import Side


def stack(row, col, n: int = 3, step: float = 4.0, origin=(-100.0, -100.0, 0.0), spacing=(1.0, 1.0),
          size: int = 201) -> StackGeometry:
    row, col = np.asarray(row, dtype=float), np.asarray(col, dtype=float)
    normal = np.cross(row, col)
    origins = np.array([np.asarray(origin) + normal * step * i for i in range(n)])
    return StackGeometry(origins, row, col, spacing, size, size)


def rotation_z(degrees: float) -> np.ndarray:
    a = np.deg2rad(degrees)
    return np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])


def test_standard_axial_left_is_increasing_column():
    # IOP 1\0\0\0\1\0: columns run R→L, so the patient's left is on the image's right (radiological view)
    assert patient_left_in_image(stack((1, 0, 0), (0, 1, 0))) == pytest.approx((1.0, 0.0))


def test_flipped_row_direction_puts_left_at_decreasing_column():
    assert patient_left_in_image(stack((-1, 0, 0), (0, -1, 0))) == pytest.approx((-1.0, 0.0))


def test_rotated_in_plane_puts_left_along_rows():
    assert patient_left_in_image(stack((0, 1, 0), (-1, 0, 0))) == pytest.approx((0.0, -1.0))
    assert patient_left_in_image(stack((0, -1, 0), (1, 0, 0))) == pytest.approx((0.0, 1.0))


def test_anisotropic_pixels_scale_the_pixel_direction():
    geometry = stack(np.array([1, 1, 0]) / np.sqrt(2), np.array([-1, 1, 0]) / np.sqrt(2), spacing=(2.0, 1.0))
    d_col, d_row = patient_left_in_image(geometry)
    # +x has equal mm along both axes; rows are twice as far apart, so fewer rows per mm
    assert d_col == pytest.approx(2 * -d_row)
    assert np.hypot(d_col, d_row) == pytest.approx(1.0)


def test_sagittal_image_has_no_in_plane_left():
    assert patient_left_in_image(stack((0, 1, 0), (0, 0, -1))) == (0.0, 0.0)


def test_coronal_image_left_is_increasing_column():
    assert patient_left_in_image(stack((1, 0, 0), (0, 0, -1))) == pytest.approx((1.0, 0.0))


@pytest.mark.parametrize("orientation", [
    ((1, 0, 0), (0, 1, 0)), ((-1, 0, 0), (0, -1, 0)), ((0, 1, 0), (-1, 0, 0)), ((0, -1, 0), (1, 0, 0)),
    ((-1, 0, 0), (0, 1, 0)), ((1, 0, 0), (0, 0, -1))])
@pytest.mark.parametrize("reverse", [False, True])
def test_walking_towards_patient_left_moves_to_a_left_pixel(orientation, reverse):
    geometry = stack(*orientation, origin=(0.0, 0.0, 0.0))
    if reverse:
        geometry = geometry.subset([2, 1, 0])
    d_col, d_row = patient_left_in_image(geometry)
    centre = np.array([100.0, 100.0])
    left_pixel = centre + 40 * np.array([d_col, d_row])
    midline = geometry.pixel_to_lps(*centre, 0)
    assert geometry.pixel_to_lps(*left_pixel, 0)[0] > midline[0] + 39
    assert pixel_side(geometry, 0, *left_pixel, midline) is Side.LEFT
    right_pixel = centre - 40 * np.array([d_col, d_row])
    assert pixel_side(geometry, 0, *right_pixel, midline) is Side.RIGHT
    assert pixel_side(geometry, 0, *centre, midline) is Side.NONE


@pytest.mark.parametrize("yaw", [0.0, 20.0, -35.0])
def test_patient_rotated_about_the_long_axis(yaw):
    # patient lying rotated: the image axes follow the patient; the midline plane turns with them
    turn = rotation_z(yaw)
    geometry = stack(turn @ [1, 0, 0], turn @ [0, 1, 0], origin=(0.0, 0.0, 0.0))
    midline_normal = turn @ [1, 0, 0]
    midline = geometry.pixel_to_lps(100, 100, 0)
    d_col, d_row = patient_left_in_image(geometry)
    assert d_col > 0.5  # still mostly along the columns
    left_pixel = np.array([100.0, 100.0]) + 30 * np.array([d_col, d_row])
    assert pixel_side(geometry, 0, *left_pixel, midline, midline_normal) is Side.LEFT


@pytest.mark.parametrize("row", [(0, 1, 0), (0, -1, 0)])
@pytest.mark.parametrize("reverse", [False, True])
def test_sagittal_slice_side(row, reverse):
    geometry = stack(row, (0, 0, -1), n=9, step=4.0, origin=(0.0, -100.0, 100.0))
    if reverse:
        geometry = geometry.subset(list(range(8, -1, -1)))
    midline = np.array([float(geometry.slice_origins[4][0]), 0.0, 0.0])
    sides = [slice_side(geometry, i, midline) for i in range(9)]
    xs = geometry.slice_origins[:, 0] - midline[0]
    assert sides[int(np.argmin(np.abs(xs)))] is Side.NONE
    for x, side in zip(xs, sides, strict=True):
        if x > 1:
            assert side is Side.LEFT
        elif x < -1:
            assert side is Side.RIGHT


@pytest.mark.parametrize("normal", [(1, 0, 0), (-1, 0, 0), (0.9, 0.3, 0.1)])
def test_point_at_larger_x_is_left_whatever_the_normal_sign(normal):
    assert point_side((12.0, 5.0, -3.0), (0.0, 5.0, -3.0), normal) is Side.LEFT
    assert point_side((-12.0, 5.0, -3.0), (0.0, 5.0, -3.0), normal) is Side.RIGHT


def test_midline_normal_must_be_left_right():
    with pytest.raises(ValueError, match="left-right"):
        point_side((1.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 1.0, 0.0))


def test_slice_index_out_of_range():
    with pytest.raises(IndexError):
        slice_side(stack((0, 1, 0), (0, 0, -1)), 7, (0.0, 0.0, 0.0))

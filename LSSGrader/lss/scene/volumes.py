"""Stacks and stack-shaped arrays as MRML volume nodes with the stack's exact IJK→RAS geometry.

The engine works in LPS; Slicer's world is RAS. The only conversion is here: IJK→RAS = diag(−1, −1, 1) ·
IJK→LPS (``StackGeometry.index_to_ras_affine``), so oblique axial blocks keep their exact orientation.
"""

from __future__ import annotations

import numpy as np
import vtk
from vtk.util import numpy_support

from lss.model.geometry import StackGeometry

LSS_ATTRIBUTE = "LSS"  # prefix of every attribute the adaptor sets on nodes


def lss_attribute(name: str) -> str:
    """The node attribute name the adaptor uses for ``name`` (e.g. 'LSS.grade')."""
    return f"{LSS_ATTRIBUTE}.{name}"


def vtk_matrix(array: np.ndarray) -> vtk.vtkMatrix4x4:
    """A vtkMatrix4x4 from a 4×4 array."""
    matrix = vtk.vtkMatrix4x4()
    for row in range(4):
        for column in range(4):
            matrix.SetElement(row, column, float(array[row, column]))
    return matrix


def numpy_matrix(matrix: vtk.vtkMatrix4x4) -> np.ndarray:
    """A 4×4 array from a vtkMatrix4x4."""
    return np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])


def image_data(array: np.ndarray) -> vtk.vtkImageData:
    """vtkImageData holding a (slices, rows, columns) array: i = column, j = row, k = slice."""
    array = np.ascontiguousarray(array)
    image = vtk.vtkImageData()
    image.SetDimensions(array.shape[2], array.shape[1], array.shape[0])
    scalars = numpy_support.numpy_to_vtk(array.ravel(), deep=True)
    image.GetPointData().SetScalars(scalars)
    return image


def add_volume(scene, array: np.ndarray, geometry: StackGeometry, name: str,
               class_name: str = "vtkMRMLScalarVolumeNode"):
    """Add a volume node showing ``array`` (slices, rows, columns) at the stack's patient position."""
    if array.shape != geometry.shape:
        raise ValueError(f"{name}: array shape {array.shape} does not match the stack's {geometry.shape}")
    node = scene.AddNewNodeByClass(class_name, name)
    node.SetIJKToRASMatrix(vtk_matrix(geometry.index_to_ras_affine()))
    node.SetAndObserveImageData(image_data(array))
    node.CreateDefaultDisplayNodes()
    return node


def volume_array(node) -> np.ndarray:
    """The (slices, rows, columns) array of a volume node."""
    image = node.GetImageData()
    columns, rows, slices = image.GetDimensions()
    return numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(slices, rows, columns)


def ijk_to_ras(node) -> np.ndarray:
    """A volume node's 4×4 IJK→RAS matrix."""
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    return numpy_matrix(matrix)
